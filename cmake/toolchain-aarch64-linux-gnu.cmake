# Cross-compile for a 64-bit Raspberry Pi OS / Debian arm64 with Debian's
# cross toolchain (crossbuild-essential-arm64) and the arm64 -dev packages
# installed multiarch (dpkg --add-architecture arm64). See the README.
#   cmake -S . -B build-arm64 \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake
# For armhf (32-bit Raspberry Pi OS), pass -DCB_CROSS_TRIPLET=arm-linux-gnueabihf.
set(CB_CROSS_TRIPLET aarch64-linux-gnu CACHE STRING "GNU triplet of the target")

set(CMAKE_SYSTEM_NAME Linux)
if(CB_CROSS_TRIPLET MATCHES "^aarch64")
  set(CMAKE_SYSTEM_PROCESSOR aarch64)
else()
  set(CMAKE_SYSTEM_PROCESSOR arm)
endif()
set(CMAKE_C_COMPILER ${CB_CROSS_TRIPLET}-gcc)

# No sysroot: Debian multiarch keeps the target's libraries in
# /usr/lib/<triplet> next to the build machine's, and pkg-config (below)
# points there. Programs (pkg-config, cmake helpers) are the build machine's.
set(CMAKE_LIBRARY_ARCHITECTURE ${CB_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# pkg-config must report the target's .pc files, not the build machine's:
# Debian's <triplet>-pkg-config wrapper does that (package pkg-config).
set(PKG_CONFIG_EXECUTABLE ${CB_CROSS_TRIPLET}-pkg-config CACHE FILEPATH "")

# Test programs built for the target cannot run here; qemu-user can, if
# installed (package qemu-user with binfmt support).
find_program(CB_QEMU qemu-${CMAKE_SYSTEM_PROCESSOR})
if(CB_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${CB_QEMU})
endif()
