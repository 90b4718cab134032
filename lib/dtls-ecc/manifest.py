# dtls-ecc: the extension of dtls for TLS_ECDHE_ECDSA_WITH_AES_128_CCM(_8): P-256 ECDH and
# ECDSA, DER/PEM and X.509 certificate or raw-public-key (RFC 7250) authentication.
# The files live in lib/dtls (one Python package); this manifest only selects them and
# requires the base (lib/dtls/manifest.py).
metadata(description="DTLS 1.2 client for MicroPython: ECDHE-ECDSA, P-256, X.509 extension",
         version="0.1.0")
add_library("microdtls", "..")
require("dtls", library="microdtls")
package("dtls", files=(
    "der.py", "ecdhe.py", "ecdhe_psk.py", "ecdsa.py", "p256.py", "pem.py", "x509.py",
), base_path="..")
