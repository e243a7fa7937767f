// The `_edgepipe` extension module. Each area adds its bindings through one
// Bind* function; edgepipe/__init__.py re-exports them.
#include <pybind11/pybind11.h>

#include "python/errors.h"
#include "python/numpy_interop.h"

void BindEngine(pybind11::module_& m);
void BindGraph(pybind11::module_& m);
void BindPythonCalculators(pybind11::module_& m);
void BindGraphConfigTools(pybind11::module_& m);

PYBIND11_MODULE(_edgepipe, m) {
  m.doc() = "edgepipe: MediaPipe-style graphs and a TFLite engine on XNNPACK";
  edgepipe::python::BindErrors(m);  // first: every binding raises these
  BindEngine(m);
  edgepipe::python::BindNumpyInterop(m);
  BindGraph(m);
  BindPythonCalculators(m);
  BindGraphConfigTools(m);
}
