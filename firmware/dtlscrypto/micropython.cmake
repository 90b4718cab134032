# _dtlscrypto as a user C module for CMake-based ports (esp32, rp2):
#     make USER_C_MODULES=/path/to/microdtls/firmware/micropython.cmake
# With DTLSCRYPTO_MBEDTLS=1 in the environment (or -DDTLSCRYPTO_MBEDTLS=1) AES-CCM and P-256
# come from the port's mbedtls: on ESP32 that is ESP-IDF's, which drives the AES and bignum
# accelerators. SHA-256/HMAC/PRF stay portable (the binding needs a copyable state).
add_library(usermod_dtlscrypto INTERFACE)

if(NOT DEFINED DTLSCRYPTO_MBEDTLS)
    set(DTLSCRYPTO_MBEDTLS "$ENV{DTLSCRYPTO_MBEDTLS}")
endif()

set(DTLSCRYPTO_DIR ${CMAKE_CURRENT_LIST_DIR})
target_sources(usermod_dtlscrypto INTERFACE
    ${DTLSCRYPTO_DIR}/moddtlscrypto.c
    ${DTLSCRYPTO_DIR}/sha256.c
    ${DTLSCRYPTO_DIR}/hmac.c
)
if(DTLSCRYPTO_MBEDTLS)
    target_sources(usermod_dtlscrypto INTERFACE ${DTLSCRYPTO_DIR}/mbedtls_backend.c)
    target_compile_definitions(usermod_dtlscrypto INTERFACE DTLSCRYPTO_MBEDTLS=1)
else()
    target_sources(usermod_dtlscrypto INTERFACE
        ${DTLSCRYPTO_DIR}/aes.c
        ${DTLSCRYPTO_DIR}/ccm.c
        ${DTLSCRYPTO_DIR}/p256_field.c
        ${DTLSCRYPTO_DIR}/p256_point.c
        ${DTLSCRYPTO_DIR}/ecdsa.c
    )
endif()
target_include_directories(usermod_dtlscrypto INTERFACE ${DTLSCRYPTO_DIR})

target_link_libraries(usermod INTERFACE usermod_dtlscrypto)
