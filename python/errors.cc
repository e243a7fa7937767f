#include "python/errors.h"

#include <array>
#include <vector>

namespace py = pybind11;

namespace edgepipe::python {
namespace {

struct ErrorClass {
  StatusCode code;
  const char* name;
  std::vector<PyObject*> extra_bases;  // built-in bases besides edgepipe.Error
  const char* doc;
};

// Indexed by StatusCode; index 0 (kOk) is the base class.
std::array<PyObject*, static_cast<size_t>(StatusCode::kDataLoss) + 1> g_classes{};

}  // namespace

void BindErrors(py::module_& m) {
  PyObject* base = PyErr_NewExceptionWithDoc(
      "edgepipe.Error", "Base of every error edgepipe raises; str(error) is the C++ message, error.code its code.",
      PyExc_RuntimeError, nullptr);
  if (base == nullptr) throw py::error_already_set();
  m.add_object("Error", py::handle(base));
  // Older name of the base class, kept so existing code keeps working.
  m.add_object("GraphError", py::reinterpret_borrow<py::object>(base));
  g_classes[0] = base;
  const std::vector<ErrorClass> classes = {
      {StatusCode::kCancelled, "CancelledError", {}, "The graph run was cancelled."},
      {StatusCode::kUnknown, "UnknownError", {}, "An error without a more specific code (e.g. a callback raised)."},
      {StatusCode::kInvalidArgument, "InvalidArgumentError", {PyExc_ValueError}, "A value or config was invalid."},
      {StatusCode::kNotFound, "NotFoundError", {PyExc_LookupError, PyExc_ValueError},
       "A named thing (stream, calculator, file, side packet) does not exist."},
      {StatusCode::kAlreadyExists, "AlreadyExistsError", {}, "A name is already taken."},
      {StatusCode::kFailedPrecondition, "FailedPreconditionError", {},
       "The call is not valid in the current state (e.g. add() before start())."},
      {StatusCode::kOutOfRange, "OutOfRangeError", {PyExc_ValueError, PyExc_IndexError},
       "A value or index is outside its allowed range."},
      {StatusCode::kUnimplemented, "UnimplementedError", {PyExc_NotImplementedError}, "Not supported."},
      {StatusCode::kInternal, "InternalError", {}, "A bug in edgepipe."},
      {StatusCode::kUnavailable, "UnavailableError", {}, "A queue is full (add(block=False))."},
      {StatusCode::kDeadlock, "DeadlockError", {}, "The graph, or this call, cannot make progress."},
      {StatusCode::kDataLoss, "DataLossError", {}, "Data is truncated or corrupted."},
  };
  for (const ErrorClass& error_class : classes) {
    py::tuple bases(1 + error_class.extra_bases.size());
    bases[0] = py::reinterpret_borrow<py::object>(base);
    for (size_t i = 0; i < error_class.extra_bases.size(); ++i) {
      bases[i + 1] = py::reinterpret_borrow<py::object>(error_class.extra_bases[i]);
    }
    const std::string qualified = std::string("edgepipe.") + error_class.name;
    PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), error_class.doc, bases.ptr(), nullptr);
    if (cls == nullptr) throw py::error_already_set();
    m.add_object(error_class.name, py::handle(cls));
    g_classes[static_cast<size_t>(error_class.code)] = cls;
  }
}

void RaiseError(StatusCode code, const std::string& message) {
  const size_t index = static_cast<size_t>(code);
  PyObject* cls = index < g_classes.size() && g_classes[index] != nullptr ? g_classes[index] : g_classes[0];
  py::object error = py::reinterpret_borrow<py::object>(cls)(message);
  error.attr("code") = StatusCodeName(code);
  PyErr_SetObject(cls, error.ptr());
  throw py::error_already_set();
}

void RaiseStatus(const Status& status) { RaiseError(status.code(), status.ToString()); }

}  // namespace edgepipe::python
