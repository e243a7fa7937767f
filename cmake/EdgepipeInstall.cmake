# The installable SDK: `cmake --install build --prefix P` puts the libraries,
# public headers (and the generated .pb.h they include), the CLI, the ready
# graphs, a CMake package (find_package(edgepipe CONFIG) → edgepipe::edgepipe)
# and a pkg-config file under P. `cpack -G DEB` packs the same tree as the
# edgepipe (CLI, graphs) and edgepipe-dev (libraries, headers, CMake files) packages.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(EDGEPIPE_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/edgepipe)
set(EDGEPIPE_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/edgepipe)

# Headers include each other as "core/...", "engine/...", "calculators/...":
# the include root is include/edgepipe.
target_include_directories(edgepipe_base INTERFACE $<INSTALL_INTERFACE:${EDGEPIPE_INSTALL_INCLUDEDIR}>)

set(EDGEPIPE_SDK_LIBRARIES edgepipe edgepipe_base edgepipe_engine edgepipe_cpu edgepipe_tensor
                           edgepipe_thread_pool edgepipe_kernels)
install(TARGETS ${EDGEPIPE_SDK_LIBRARIES} EXPORT edgepipeTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(TARGETS edgepipe_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)

foreach(dir core engine calculators)
  install(DIRECTORY ${CMAKE_SOURCE_DIR}/${dir}/ DESTINATION ${EDGEPIPE_INSTALL_INCLUDEDIR}/${dir} COMPONENT dev
          FILES_MATCHING PATTERN "*.h" PATTERN "*.proto")
  install(DIRECTORY ${CMAKE_BINARY_DIR}/${dir}/ DESTINATION ${EDGEPIPE_INSTALL_INCLUDEDIR}/${dir} COMPONENT dev
          FILES_MATCHING PATTERN "*.pb.h" PATTERN "*_generated.h" PATTERN "CMakeFiles" EXCLUDE)
endforeach()
# `edgepipe bench --chart` finds plot.py in share/edgepipe beside bin/ (tools/bench_chart.cc).
install(FILES ${CMAKE_SOURCE_DIR}/bench/plot.py DESTINATION ${CMAKE_INSTALL_DATADIR}/edgepipe COMPONENT runtime)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/graphs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/edgepipe/graphs COMPONENT runtime
        FILES_MATCHING PATTERN "*.pbtxt")

install(EXPORT edgepipeTargets NAMESPACE edgepipe:: DESTINATION ${EDGEPIPE_INSTALL_CMAKEDIR} COMPONENT dev)
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/edgepipeConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/cmake/edgepipeConfig.cmake
                              INSTALL_DESTINATION ${EDGEPIPE_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/cmake/edgepipeConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/cmake/edgepipeConfig.cmake ${CMAKE_BINARY_DIR}/cmake/edgepipeConfigVersion.cmake
        DESTINATION ${EDGEPIPE_INSTALL_CMAKEDIR} COMPONENT dev)

# pkg-config: static libraries, so the dependencies are listed as Requires (those
# with .pc files) and Libs (XNNPACK and cpuinfo, which have none).
file(RELATIVE_PATH EDGEPIPE_PC_PREFIX_FROM_PCDIR /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${CMAKE_SOURCE_DIR}/cmake/edgepipe.pc.in ${CMAKE_BINARY_DIR}/cmake/edgepipe.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/cmake/edgepipe.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# Debian packages (cpack -G DEB in the build tree).
set(CPACK_PACKAGE_NAME edgepipe)
set(CPACK_PACKAGE_VENDOR edgepipe)
set(CPACK_PACKAGE_CONTACT "edgepipe developers <dev@edgepipe.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Real-time on-device ML pipelines: graphs of calculators and a TFLite engine")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME edgepipe)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME edgepipe-dev)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
# The CLI links OpenCV, protobuf, XNNPACK, cpuinfo and FlatBuffers dynamically; the
# -dev package carries static libraries, so users link the same -dev packages.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "edgepipe (= ${PROJECT_VERSION}), libopencv-dev (>= 4.6), libprotobuf-dev, protobuf-compiler, libfmt-dev, libflatbuffers-dev, libxnnpack-dev, libcpuinfo-dev")
include(CPack)
