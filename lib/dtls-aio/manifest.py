# dtls-aio: the asyncio driver of dtls (dtls.aio: connect, Connection with async send/recv).
# A device that only uses the blocking driver (dtls.connection) leaves it out. The file lives
# in lib/dtls (one Python package); this manifest only selects it and requires the base.
metadata(description="DTLS 1.2 client for MicroPython: asyncio driver", version="0.1.0")
add_library("microdtls", "..")
require("dtls", library="microdtls")
package("dtls", files=("aio.py",), base_path="..")
