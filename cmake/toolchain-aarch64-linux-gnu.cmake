# Cross-compiling for aarch64 Linux with Debian's GCC cross compiler
# (crossbuild-essential-arm64) against an arm64 sysroot holding the arm64 -dev
# packages; scripts/test-arm64.sh makes the sysroot and uses this file.
#
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake ...
#
# The sysroot is EDGEPIPE_ARM64_SYSROOT from the environment, else
# build-arm64/sysroot in the source tree. Code generators (protoc, flatc) are
# the host's: they run at build time.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

if(DEFINED ENV{EDGEPIPE_ARM64_SYSROOT})
  set(CMAKE_SYSROOT "$ENV{EDGEPIPE_ARM64_SYSROOT}")
else()
  get_filename_component(CMAKE_SYSROOT "${CMAKE_CURRENT_LIST_DIR}/../build-arm64/sysroot" ABSOLUTE)
endif()
if(NOT EXISTS "${CMAKE_SYSROOT}/usr/include")
  message(FATAL_ERROR "no arm64 sysroot at ${CMAKE_SYSROOT} (scripts/test-arm64.sh makes one)")
endif()

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Libraries, headers and CMake packages from the sysroot only; programs from the host.
set(CMAKE_FIND_ROOT_PATH "${CMAKE_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(ENV{PKG_CONFIG_SYSROOT_DIR} "${CMAKE_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR} "${CMAKE_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${CMAKE_SYSROOT}/usr/share/pkgconfig")

# The host's generators (the sysroot has none; FindProtobuf and our
# find_program(FLATC) would otherwise look there first).
set(Protobuf_PROTOC_EXECUTABLE /usr/bin/protoc CACHE FILEPATH "host protoc")
set(FLATC /usr/bin/flatc CACHE FILEPATH "host flatc")

# Test discovery and ctest run the arm64 binaries under user-mode qemu.
find_program(EDGEPIPE_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(EDGEPIPE_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${EDGEPIPE_QEMU_AARCH64};-L;${CMAKE_SYSROOT}")
endif()
