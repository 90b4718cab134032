#!/usr/bin/env bash
# make demo: the MicroPython DTLS client against a real local OpenSSL DTLS 1.2 server.
#
# Starts `openssl s_server -dtls1_2` on 127.0.0.1 (PSK, PSK-AES128-CCM8 only, one
# connection), runs tools/dtls_client.py in the MicroPython unix port, has the server
# send a line back once the handshake is done, shows both sides and a SUCCESS/FAILURE
# summary. The server is always stopped (trap), whatever happens.
#
# Environment: MICROPYTHON (interpreter, default .venv/bin/micropython),
# DEMO_CLIENT (client script, default tools/dtls_client.py), DEMO_TIMEOUT (s, default 30).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)

MICROPYTHON=${MICROPYTHON:-$ROOT/.venv/bin/micropython}
CLIENT=${DEMO_CLIENT:-tools/dtls_client.py}
DEMO_TIMEOUT=${DEMO_TIMEOUT:-30}
# A fixed, published demo key: it protects nothing. Never reuse it on a real device.
IDENTITY="microdtls-demo"
KEY_HEX="00112233445566778899aabbccddeeff"
MESSAGE="hello from microdtls"
REPLY="hello from openssl s_server"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/microdtls-demo.XXXXXX")
SERVER_PID=""
FEEDER_PID=""

stop_pid() {    # stop one process we started, by its PID
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill "$pid" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

cleanup() {
    exec 3>&- 2>/dev/null
    stop_pid "$FEEDER_PID"
    stop_pid "$SERVER_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM

bar() { printf '\n==== %s\n' "$*"; }

for tool in openssl "$MICROPYTHON"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "FAILURE: $tool not found; run 'make setup' first."
        exit 1
    fi
done

PORT=$("$ROOT/.venv/bin/python" -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')

bar "starting openssl s_server -dtls1_2 on 127.0.0.1:$PORT (PSK identity $IDENTITY, PSK-AES128-CCM8)"
mkfifo "$WORK/server-stdin"
openssl s_server -dtls1_2 -accept "127.0.0.1:$PORT" -nocert \
    -psk "$KEY_HEX" -psk_identity "$IDENTITY" -psk_hint "microdtls demo" \
    -cipher PSK-AES128-CCM8 -naccept 1 \
    < "$WORK/server-stdin" > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
exec 3> "$WORK/server-stdin"    # our end of the server's stdin (also unblocks its open)

ready=no
for _ in $(seq 100); do
    if grep -q '^ACCEPT' "$WORK/server.log"; then ready=yes; break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
done
if [ "$ready" != yes ]; then
    echo "FAILURE: openssl s_server did not start:"
    cat "$WORK/server.log"
    exit 1
fi
echo "server ready (pid $SERVER_PID)"

# s_server sends the lines of its stdin to the connected client; a line written before
# the handshake is done would derail it, so wait for its "CIPHER is" line first.
(
    for _ in $(seq $((DEMO_TIMEOUT * 20))); do
        if grep -q '^CIPHER is' "$WORK/server.log"; then
            echo "$REPLY" >&3
            exit 0
        fi
        sleep 0.05
    done
) &
FEEDER_PID=$!

bar "running the MicroPython client: $CLIENT"
CMD=("$MICROPYTHON" "$CLIENT" 127.0.0.1 "$PORT" --psk-identity "$IDENTITY" --psk-key "$KEY_HEX"
     --send "$MESSAGE" --wait 3 -v)
echo "MICROPYPATH=.frozen:$ROOT/lib ${CMD[*]}"
if [ -f "$CLIENT" ]; then
    # stderr (the -v trace) and stdout interleaved, as they happen
    MICROPYPATH=".frozen:$ROOT/lib" timeout "$DEMO_TIMEOUT" "${CMD[@]}" < /dev/null 2>&1 \
        | tee "$WORK/client.out"
    CLIENT_RC=${PIPESTATUS[0]}
else
    echo "$CLIENT does not exist (the client is not written yet)" | tee "$WORK/client.out"
    CLIENT_RC=127
fi

exec 3>&-   # end of the server's stdin
for _ in $(seq 40); do      # -naccept 1: it exits after the client's close_notify
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
done

bar "what openssl s_server printed (received data appears verbatim)"
# Leave out the base64 session blob, the signature-algorithm lists and the counters.
sed -E -e '/BEGIN SSL SESSION PARAMETERS/,/END SSL SESSION PARAMETERS/d' \
    -e '/Signature Algorithms/d' -e '/^ +[0-9]+ /d' "$WORK/server.log"

# The summary: each check with what was seen.
checks=0
failed=0
check() {   # check "description" command...
    local what=$1
    shift
    checks=$((checks + 1))
    if "$@"; then
        echo "  ok      $what"
    else
        echo "  FAILED  $what"
        failed=$((failed + 1))
    fi
}
bar "summary"
case $CLIENT_RC in
    0) rc_text="exit 0" ;;
    124) rc_text="killed after ${DEMO_TIMEOUT} s (timeout)" ;;
    127) rc_text="not run: $CLIENT missing" ;;
    *) rc_text="exit $CLIENT_RC" ;;
esac
check "client finished successfully ($rc_text)" test "$CLIENT_RC" -eq 0
check "client negotiated TLS_PSK_WITH_AES_128_CCM_8" \
    grep -q '^cipher: TLS_PSK_WITH_AES_128_CCM_8' "$WORK/client.out"
check "server negotiated PSK-AES128-CCM8 with the client" \
    grep -q '^CIPHER is PSK-AES128-CCM8' "$WORK/server.log"
check "server received \"$MESSAGE\"" grep -qF "$MESSAGE" "$WORK/server.log"
check "client received the server's reply \"$REPLY\"" \
    grep -qF "recv: $REPLY" "$WORK/client.out"
crypto=$(sed -n 's/^crypto: //p' "$WORK/client.out" | head -1)
echo
if [ "$failed" -eq 0 ]; then
    echo "SUCCESS: DTLS 1.2 handshake with PSK and AES-128-CCM-8 against OpenSSL, data both ways (crypto: ${crypto:-?})."
    exit 0
fi
echo "FAILURE: $failed of $checks checks failed."
if [ -s "$WORK/client.out" ]; then
    echo "Last lines of the client's output:"
    tail -n 5 "$WORK/client.out" | sed 's/^/    /'
fi
exit 1
