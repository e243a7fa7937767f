// Which graphs' Python callbacks the current thread is running. A call that
// waits for a graph cannot work from inside one of that graph's callbacks (the
// graph waits for the callback, the callback for the graph), so the bindings
// ask before they block.
#pragma once

#include <pybind11/pybind11.h>

#include <utility>

namespace edgepipe::python {

class CallbackScope {
 public:
  explicit CallbackScope(const void* graph) : graph_(graph), outer_(innermost_) { innermost_ = this; }
  ~CallbackScope() { innermost_ = outer_; }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;

  // True when this thread is inside a callback of `graph` (at any depth).
  static bool Inside(const void* graph) {
    for (const CallbackScope* scope = innermost_; scope != nullptr; scope = scope->outer_) {
      if (scope->graph_ == graph || scope->graph_ == AnyGraph()) return true;
    }
    return false;
  }
  // The scope of a Python calculator's code: it does not know which Python
  // graph object runs it, so it counts as inside every graph's callbacks.
  static const void* AnyGraph() {
    static const char tag = 0;
    return &tag;
  }

 private:
  const void* graph_;
  const CallbackScope* outer_;
  static inline thread_local const CallbackScope* innermost_ = nullptr;
};

// True while the interpreter exits (or has not started). A graph thread must
// not take the GIL then: Python ends such a thread by a forced unwind, which the
// runtime's exception guards turn into an abort (issue 14).
inline bool InterpreterExiting() { return !Py_IsInitialized() || _Py_IsFinalizing(); }

// A Python object owned by C++ code that graph threads destroy: the reference
// is dropped with the GIL taken (and leaked if the interpreter is finalizing,
// when taking the GIL would end the thread).
class PyOwned {
 public:
  explicit PyOwned(pybind11::object object) : object_(std::move(object)) {}
  ~PyOwned() {
    if (!object_) return;
    if (InterpreterExiting()) {
      object_.release();
      return;
    }
    pybind11::gil_scoped_acquire gil;
    object_ = pybind11::object();
  }
  PyOwned(const PyOwned&) = delete;
  PyOwned& operator=(const PyOwned&) = delete;
  const pybind11::object& get() const { return object_; }

 private:
  pybind11::object object_;
};

}  // namespace edgepipe::python
