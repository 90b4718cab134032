#!/bin/sh
# Build the Mbed TLS 3.6 Connection ID peers (tests_host/servers/mbedtls_cid_server.c and
# mbedtls_cid_client.c) against Debian trixie's Mbed TLS 3.6 static libraries.
#
#   sh tests_host/servers/build_mbedtls36.sh [OUT]      (default OUT: build/mbedtls36)
#
# Debian 12 ships Mbed TLS 2.28, whose Connection ID is a pre-RFC draft. Trixie's 3.6 has
# RFC 9146 CID, and its static libraries link on bookworm. The .debs come from Debian's
# registry through a private apt state directory (OUT/apt): the system's apt sources,
# lists and caches are not touched, nothing is installed. Needs apt-get, dpkg-deb and
# gcc; root is not needed. Idempotent: a second run only recompiles changed sources.
#
# Output: OUT/bin/mbedtls_cid_server, OUT/bin/mbedtls_cid_client, OUT/VERSION.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/build/mbedtls36}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SUITE=trixie
PACKAGES="libmbedtls-dev libmbedtls21 libmbedx509-7 libmbedcrypto16"
SYSROOT=$OUT/root
LIBDIR=$SYSROOT/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)

fetch() {
    APTDIR=$OUT/apt
    rm -rf "$APTDIR" "$OUT/debs" "$SYSROOT"
    mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$OUT/debs"
    echo "deb http://deb.debian.org/debian $SUITE main" > "$APTDIR/sources.list"
    # Everything apt writes goes under $APTDIR (lists, package caches); the sandbox user
    # is root so that apt can write into a root-owned build directory.
    set -- -o Dir::Etc::sourcelist="$APTDIR/sources.list" -o Dir::Etc::sourceparts=/dev/null \
        -o Dir::State::Lists="$APTDIR/lists" -o Dir::Cache="$APTDIR/cache" \
        -o APT::Sandbox::User="$(id -un)" -o Debug::NoLocking=1
    echo "build_mbedtls36: fetching $PACKAGES from Debian $SUITE"
    if ! apt-get "$@" -qq update || [ -z "$(ls "$APTDIR/lists" | grep _Packages)" ]; then
        echo "build_mbedtls36: could not fetch the Debian $SUITE package list; the trixie" \
            "signing keys come with debian-archive-keyring >= 2023.3+deb12u1" >&2
        exit 1
    fi
    (cd "$OUT/debs" && apt-get "$@" -qq download $PACKAGES)
    for f in "$OUT"/debs/*.deb; do
        dpkg-deb -x "$f" "$SYSROOT"
    done
    version=$(dpkg-deb -f "$OUT"/debs/libmbedtls-dev_*.deb Version)
    case "$version" in
        3.6.*) ;;
        *) echo "build_mbedtls36: expected Mbed TLS 3.6.x, got $version" >&2; exit 1 ;;
    esac
    echo "$version" > "$OUT/VERSION"
    rm -rf "$APTDIR"        # the trixie package lists are 10 MB and no longer needed
}

if [ ! -f "$LIBDIR/libmbedtls.a" ] || [ ! -f "$OUT/VERSION" ]; then
    fetch
fi

mkdir -p "$OUT/bin"
for prog in mbedtls_cid_server mbedtls_cid_client; do
    src=$HERE/$prog.c
    bin=$OUT/bin/$prog
    [ -f "$src" ] || continue
    if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ] || [ "$0" -nt "$bin" ]; then
        # -I first: the trixie headers win over bookworm's libmbedtls-dev 2.28 if installed.
        gcc -O2 -Wall -Wextra -o "$bin.tmp" -I"$SYSROOT/usr/include" "$src" \
            "$LIBDIR/libmbedtls.a" "$LIBDIR/libmbedx509.a" "$LIBDIR/libmbedcrypto.a"
        mv "$bin.tmp" "$bin"
        echo "build_mbedtls36: built $bin (Mbed TLS $(cat "$OUT/VERSION"))"
    fi
done
