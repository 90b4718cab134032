"""A small CoAP client (RFC 7252, block-wise RFC 7959) over DTLS connections.

    import dtls, coap
    ctx = dtls.Context(psk=(b"Client_identity", b"secretPSK"))
    with coap.Client(ctx.connect("192.0.2.10", 5684)) as client:
        print(client.get("time").payload)

coap.Client is blocking (over dtls.Connection); coap.aio.Client is the asyncio one (over
dtls.aio.Connection); coap.endpoint.Endpoint is the sans-I/O core under both.
"""
from .client import Client
from .endpoint import CoAPReset, CoAPTimeout, Endpoint, Exchange, Response
from .message import (ACK, CBOR, CON, DELETE, GET, JSON, LINK_FORMAT, NON, OCTET_STREAM,
                      POST, PUT, RST, TEXT_PLAIN, XML, CoAPError, Message,
                      MessageFormatError, code_name, code_text)
from .uri import split_uri

__version__ = "0.1.0"
