// Unix variant "microdtls": the standard variant's features (dtls needs asyncio, select,
// socket, hashlib, cryptolib, os.urandom) with lib/dtls frozen and _dtlscrypto linked in.
#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)
#include "variants/mpconfigvariant_common.h"
