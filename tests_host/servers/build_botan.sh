#!/bin/sh
# Build tests_host/servers/botan_psk_peer.cpp (the ECDHE_PSK + CCM peer, RFC 8442) against
# Debian bookworm's Botan 2.19.
#
#   sh tests_host/servers/build_botan.sh [OUT]      (default OUT: build/botan)
#
# Needs the runtime package libbotan-2-19 (make setup installs it) and g++. The headers
# come from libbotan-2-dev of exactly the installed version, downloaded with the system's
# apt lists into OUT and unpacked there (only usr/include: the package's 250 MB static
# library is not needed); nothing is installed. Idempotent: later runs only recompile
# when the source changed.
#
# Output: OUT/bin/botan_psk_peer.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/build/botan}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SRC=$HERE/botan_psk_peer.cpp
BIN=$OUT/bin/botan_psk_peer
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
LIB=/usr/lib/$MULTIARCH/libbotan-2.so.19

version=$(dpkg-query -W -f='${Version}' libbotan-2-19 2>/dev/null || true)
if [ -z "$version" ] || [ ! -f "$LIB" ]; then
    echo "build_botan: libbotan-2-19 is not installed (make setup installs it)" >&2
    exit 1
fi

if [ "$(cat "$OUT/VERSION" 2>/dev/null || true)" != "$version" ]; then
    rm -rf "$OUT/include" "$OUT/deb"
    mkdir -p "$OUT/deb"
    echo "build_botan: fetching the headers of libbotan-2-dev $version"
    fetch() {
        (cd "$OUT/deb" && apt-get -o APT::Sandbox::User="$(id -un)" -qq download \
            "libbotan-2-dev=$version")
    }
    # the package lists may be missing (cleaned image) or older than the installed version
    if ! fetch; then
        [ "$(id -u)" = 0 ] || { echo "build_botan: apt-get download failed" >&2; exit 1; }
        apt-get -o DPkg::Lock::Timeout=300 -qq update
        fetch
    fi
    mkdir -p "$OUT/include"
    dpkg-deb --fsys-tarfile "$OUT"/deb/libbotan-2-dev_*.deb \
        | tar -x -C "$OUT/include" --strip-components=4 ./usr/include/botan-2
    rm -rf "$OUT/deb"
    echo "$version" > "$OUT/VERSION"
fi

mkdir -p "$OUT/bin"
if [ ! -x "$BIN" ] || [ "$SRC" -nt "$BIN" ] || [ "$0" -nt "$BIN" ]; then
    g++ -O1 -std=c++17 -Wall -Wextra -o "$BIN.tmp" -I"$OUT/include" "$SRC" "$LIB"
    mv "$BIN.tmp" "$BIN"
    echo "build_botan: built $BIN (Botan $version)"
fi
