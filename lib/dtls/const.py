"""Protocol numbers (RFC 5246, RFC 6347, RFC 4279, RFC 6655, RFC 7251, RFC 7627, RFC 5746).

Module-level names without a leading underscore are public; MicroPython's const() keeps
them cheap.
"""
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

# Record layer (RFC 6347 §4.1)
DTLS_1_2 = const(0xFEFD)
DTLS_1_0 = const(0xFEFF)
RECORD_HEADER_LEN = const(13)
MAX_PLAINTEXT = const(16384)  # 2^14, RFC 5246 §6.2.1
MAX_CIPHERTEXT = const(18432)  # 2^14 + 2048, RFC 5246 §6.2.3

CT_CHANGE_CIPHER_SPEC = const(20)
CT_ALERT = const(21)
CT_HANDSHAKE = const(22)
CT_APPLICATION_DATA = const(23)
CT_HEARTBEAT = const(24)  # RFC 6520
CT_TLS12_CID = const(25)  # RFC 9146

# Handshake messages (RFC 5246 §7.4, RFC 6347 §4.3.2)
HS_HEADER_LEN = const(12)
HS_HELLO_REQUEST = const(0)
HS_CLIENT_HELLO = const(1)
HS_SERVER_HELLO = const(2)
HS_HELLO_VERIFY_REQUEST = const(3)
HS_NEW_SESSION_TICKET = const(4)
HS_CERTIFICATE = const(11)
HS_SERVER_KEY_EXCHANGE = const(12)
HS_CERTIFICATE_REQUEST = const(13)
HS_SERVER_HELLO_DONE = const(14)
HS_CERTIFICATE_VERIFY = const(15)
HS_CLIENT_KEY_EXCHANGE = const(16)
HS_FINISHED = const(20)

# Alerts (RFC 5246 §7.2; the subset RFC 7925 §6 lists, plus what RFC 4279/5746 add)
ALERT_WARNING = const(1)
ALERT_FATAL = const(2)

CLOSE_NOTIFY = const(0)
UNEXPECTED_MESSAGE = const(10)
BAD_RECORD_MAC = const(20)
RECORD_OVERFLOW = const(22)
HANDSHAKE_FAILURE = const(40)
BAD_CERTIFICATE = const(42)
UNSUPPORTED_CERTIFICATE = const(43)
CERTIFICATE_REVOKED = const(44)
CERTIFICATE_EXPIRED = const(45)
CERTIFICATE_UNKNOWN = const(46)
ILLEGAL_PARAMETER = const(47)
UNKNOWN_CA = const(48)
ACCESS_DENIED = const(49)
DECODE_ERROR = const(50)
DECRYPT_ERROR = const(51)
PROTOCOL_VERSION = const(70)
INSUFFICIENT_SECURITY = const(71)
INTERNAL_ERROR = const(80)
USER_CANCELED = const(90)
NO_RENEGOTIATION = const(100)
UNSUPPORTED_EXTENSION = const(110)
UNKNOWN_PSK_IDENTITY = const(115)

ALERT_NAMES = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
    21: "decryption_failed", 22: "record_overflow", 30: "decompression_failure",
    40: "handshake_failure", 42: "bad_certificate", 43: "unsupported_certificate",
    44: "certificate_revoked", 45: "certificate_expired", 46: "certificate_unknown",
    47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied", 50: "decode_error",
    51: "decrypt_error", 60: "export_restriction", 70: "protocol_version",
    71: "insufficient_security", 80: "internal_error", 86: "inappropriate_fallback",
    90: "user_canceled", 100: "no_renegotiation", 110: "unsupported_extension",
    111: "certificate_unobtainable", 112: "unrecognized_name",
    113: "bad_certificate_status_response", 114: "bad_certificate_hash_value",
    115: "unknown_psk_identity",
}

# Extensions
EXT_SERVER_NAME = const(0)
EXT_MAX_FRAGMENT_LENGTH = const(1)
EXT_SUPPORTED_GROUPS = const(10)
EXT_EC_POINT_FORMATS = const(11)
EXT_SIGNATURE_ALGORITHMS = const(13)
EXT_HEARTBEAT = const(15)
EXT_CLIENT_CERTIFICATE_TYPE = const(19)
EXT_SERVER_CERTIFICATE_TYPE = const(20)
EXT_EXTENDED_MASTER_SECRET = const(23)
EXT_RECORD_SIZE_LIMIT = const(28)
EXT_SESSION_TICKET = const(35)
EXT_CONNECTION_ID = const(54)
EXT_RENEGOTIATION_INFO = const(0xFF01)

# Cipher suites (RFC 6655 for PSK-CCM, RFC 7251 for ECDHE-ECDSA-CCM)
TLS_PSK_WITH_AES_128_CCM = const(0xC0A4)
TLS_PSK_WITH_AES_128_CCM_8 = const(0xC0A8)
TLS_ECDHE_ECDSA_WITH_AES_128_CCM = const(0xC0AC)
TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 = const(0xC0AE)
TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256 = const(0xD003)  # RFC 8442
TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256 = const(0xD005)

KX_PSK = const(1)
KX_ECDHE_ECDSA = const(2)
KX_ECDHE_PSK = const(3)

# suite -> (IANA name, key exchange, AEAD tag length). Every suite here is AES-128-CCM
# with a 4-byte implicit salt and 8-byte explicit nonce (RFC 6655 §3) and the SHA-256 PRF.
SUITES = {
    TLS_PSK_WITH_AES_128_CCM_8: ("TLS_PSK_WITH_AES_128_CCM_8", KX_PSK, 8),
    TLS_PSK_WITH_AES_128_CCM: ("TLS_PSK_WITH_AES_128_CCM", KX_PSK, 16),
    TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8: ("TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", KX_ECDHE_ECDSA, 8),
    TLS_ECDHE_ECDSA_WITH_AES_128_CCM: ("TLS_ECDHE_ECDSA_WITH_AES_128_CCM", KX_ECDHE_ECDSA, 16),
    TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256: ("TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256",
                                              KX_ECDHE_PSK, 8),
    TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256: ("TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256",
                                            KX_ECDHE_PSK, 16),
}


def suite_by_name(name):
    for code, info in SUITES.items():
        if info[0] == name:
            return code
    raise ValueError("unsupported cipher suite: " + name)


def suite_name(code):
    info = SUITES.get(code)
    return info[0] if info else "0x%04X" % code


def alert_name(code):
    return ALERT_NAMES.get(code, "alert %d" % code)
