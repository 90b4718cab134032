# coap: a small CoAP client (RFC 7252, block-wise RFC 7959) over dtls connections,
# blocking (coap.Client) and asyncio (coap.aio.Client, over dtls.aio). Needs dtls and dtls-aio.
metadata(description="CoAP client (RFC 7252, RFC 7959) over DTLS for MicroPython",
         version="0.1.0")
add_library("microdtls", "..")
require("dtls", library="microdtls")
require("dtls-aio", library="microdtls")
package("coap", files=(
    "__init__.py", "aio.py", "client.py", "endpoint.py", "message.py", "uri.py",
), base_path="..")
