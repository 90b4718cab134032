"""ESP32: join WiFi, send one CoAP GET over DTLS-PSK, print the answer, deep-sleep, repeat.

On the board (tools/deploy.py --packages coap --credentials DIR --file config.json
--main tools/examples/esp32/main.py puts them there):
    /lib/dtls, /lib/coap              the PSK-only packages (no ECC code)
    /credentials/credentials.json     from tools/credentials.py: psk_identity, psk_key (hex)
    /config.json                      wifi_ssid, wifi_password, server, port, path,
                                      interval_s (0: stay awake, no deep sleep)

The DTLS session is kept in RTC memory, which survives deep sleep, so each wake-up
resumes it (an abbreviated handshake, RFC 5246 §7.4.1.2: no key exchange, two fewer
round trips) when the server has it cached, and falls back to a full handshake if not.
"""
import hashlib
import json
import time

import machine
import network

import coap
import dtls


def load_json(path):
    # Relative paths: a board runs main.py with / as the current directory.
    with open(path) as f:
        return json.load(f)


def wifi_connect(ssid, password, timeout_ms=20000):
    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    if not wlan.isconnected():
        wlan.connect(ssid, password)
        start = time.ticks_ms()
        while not wlan.isconnected():
            if time.ticks_diff(time.ticks_ms(), start) > timeout_ms:
                raise OSError("WiFi: no connection to %r" % ssid)
            time.sleep_ms(100)
    return wlan


def saved_session(rtc, key):
    blob = rtc.memory()
    if not blob:
        return None
    try:
        return dtls.Session.from_bytes(blob, key)
    except ValueError:
        return None     # damaged or from another key: do a full handshake


def main():
    cfg = load_json("config.json")
    creds = load_json("credentials/credentials.json")
    psk = bytes.fromhex(creds["psk_key"])
    # Authenticates the session blob in RTC memory; derived, so the PSK is not reused as is.
    blob_key = hashlib.sha256(b"microdtls session blob" + psk).digest()
    rtc = machine.RTC()

    wlan = wifi_connect(cfg["wifi_ssid"], cfg["wifi_password"])
    print("wifi:", wlan.ifconfig()[0])

    ctx = dtls.Context(psk=(creds["psk_identity"], psk), handshake_timeout_ms=30000)
    t0 = time.ticks_ms()
    try:
        conn = ctx.connect(cfg["server"], cfg.get("port", 5684),
                           session=saved_session(rtc, key=blob_key))
        print("dtls: %s, resumed %s, %d ms" % (conn.cipher_suite, conn.resumed,
                                               time.ticks_diff(time.ticks_ms(), t0)))
        with coap.Client(conn) as client:
            r = client.get(cfg.get("path", "time"))
            print("coap:", r.name, r.payload)
        if conn.session is not None:
            rtc.memory(conn.session.to_bytes(blob_key))
    except (OSError, dtls.DTLSError, coap.CoAPError) as e:
        print("error:", e)
        rtc.memory(b"")

    interval = cfg.get("interval_s", 0)
    if interval:
        wlan.active(False)
        machine.deepsleep(interval * 1000)   # wakes by reset: main.py runs again


main()
