# USER_C_MODULES entry point for CMake-based ports: every C module of microdtls.
include(${CMAKE_CURRENT_LIST_DIR}/dtlscrypto/micropython.cmake)
