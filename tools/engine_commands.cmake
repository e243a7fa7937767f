# The engine's CLI sub-commands (`inspect`, `infer`). tools/CMakeLists.txt
# globs tools/*.cc, so these are already compiled into edgepipe_cli; they need
# edgepipe_engine and OpenCV, which the `edgepipe` library links publicly.
# main.cc calls AddInspectCommand(app) and AddInferCommand(app).
set(EDGEPIPE_ENGINE_COMMAND_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/cmd_inspect.cc
  ${CMAKE_CURRENT_LIST_DIR}/cmd_infer.cc)
