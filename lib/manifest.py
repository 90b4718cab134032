# Everything microdtls offers: dtls (PSK base, blocking driver), dtls-aio (asyncio driver),
# dtls-ecc (ECDHE-ECDSA, X.509) and coap.
# In a board manifest:  include("path/to/microdtls/lib")
# Or pick packages:     add_library("microdtls", "path/to/microdtls/lib")
#                       require("dtls", library="microdtls")      # PSK only
#                       require("dtls-aio", library="microdtls")  # + asyncio
#                       require("coap", library="microdtls")
metadata(description="microdtls: DTLS 1.2 client (PSK, ECDHE-ECDSA) and CoAP for MicroPython",
         version="0.1.0")
add_library("microdtls", ".")
require("dtls", library="microdtls")
require("dtls-aio", library="microdtls")
require("dtls-ecc", library="microdtls")
require("coap", library="microdtls")
