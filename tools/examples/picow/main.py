"""Raspberry Pi Pico W: join WiFi, send one CoAP GET over DTLS-PSK, print the answer,
blink the LED, sleep, repeat.

On the board (tools/deploy.py --packages coap --credentials DIR --file config.json
--main tools/examples/picow/main.py puts them there):
    /lib/dtls, /lib/coap              the PSK-only packages (no ECC code)
    /credentials/credentials.json     from tools/credentials.py: psk_identity, psk_key (hex)
    /config.json                      wifi_ssid, wifi_password, country (WiFi regulatory
                                      domain), server, port, path, interval_s

The RP2040 has no memory that survives machine.deepsleep() (it ends in a reset), so the
DTLS session is kept in RAM and resumed while the board stays up between requests
(lightsleep); after a reset the first handshake is a full one.
"""
import json
import time

import machine
import network
import rp2

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
                raise OSError("WiFi: no connection to %r (status %d)" % (ssid, wlan.status()))
            time.sleep_ms(100)
    return wlan


def main():
    cfg = load_json("config.json")
    creds = load_json("credentials/credentials.json")
    rp2.country(cfg.get("country", "XX"))
    led = machine.Pin("LED", machine.Pin.OUT)
    ctx = dtls.Context(psk=(creds["psk_identity"], bytes.fromhex(creds["psk_key"])),
                       handshake_timeout_ms=30000)
    session = None
    while True:
        led.on()
        try:
            wlan = wifi_connect(cfg["wifi_ssid"], cfg["wifi_password"])
            print("wifi:", wlan.ifconfig()[0])
            t0 = time.ticks_ms()
            conn = ctx.connect(cfg["server"], cfg.get("port", 5684), session=session)
            print("dtls: %s, resumed %s, %d ms" % (conn.cipher_suite, conn.resumed,
                                                   time.ticks_diff(time.ticks_ms(), t0)))
            with coap.Client(conn) as client:
                r = client.get(cfg.get("path", "time"))
                print("coap:", r.name, r.payload)
            session = conn.session
        except (OSError, dtls.DTLSError, coap.CoAPError) as e:
            print("error:", e)
            session = None
        led.off()
        interval = cfg.get("interval_s", 0)
        if not interval:
            return
        machine.lightsleep(interval * 1000)


main()
