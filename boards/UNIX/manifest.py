# The unix port's standard frozen modules (asyncio, ...) plus the dtls package.
include("$(PORT_DIR)/variants/manifest.py")
package("dtls", base_path="../../lib")
