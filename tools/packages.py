"""The installable packages of microdtls and their files, read from the package.json
files that mip uses (the single list of what each package holds; lib/*/manifest.py
mirror it for freezing, and tests_host/test_packaging.py checks that they agree).

    dtls       the DTLS client with PSK suites and the blocking driver (base)
    dtls-aio   the asyncio driver (extension of dtls)
    dtls-ecc   ECDHE-ECDSA, P-256, X.509, raw public keys (extension of dtls)
    coap       the CoAP client (needs dtls)

CPython only (host tools).
"""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = {
    "dtls": "lib/dtls/package.json",
    "dtls-aio": "lib/dtls/package-aio.json",
    "dtls-ecc": "lib/dtls/package-ecc.json",
    "coap": "lib/coap/package.json",
}
REQUIRES = {"dtls": [], "dtls-aio": ["dtls"], "dtls-ecc": ["dtls"], "coap": ["dtls", "dtls-aio"]}


def package_json(name):
    with open(os.path.join(ROOT, PACKAGES[name])) as f:
        return json.load(f)


def files(name):
    """[(source path, target path on the device)] of a package, e.g.
    ("/.../lib/dtls/client.py", "dtls/client.py")."""
    base = os.path.dirname(os.path.join(ROOT, PACKAGES[name]))
    return [(os.path.normpath(os.path.join(base, url)), target)
            for target, url in package_json(name)["urls"]]


def with_requirements(names):
    """names plus what they require, base packages first, no duplicates."""
    out = []

    def add(name):
        if name not in PACKAGES:
            raise ValueError("unknown package %r (known: %s)" % (name, ", ".join(PACKAGES)))
        for dep in REQUIRES[name]:
            add(dep)
        if name not in out:
            out.append(name)

    for n in names:
        add(n)
    return out
