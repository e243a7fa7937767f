// One exception hierarchy for the whole Python module: every failed Status
// becomes an `edgepipe.Error` subclass chosen by its code, carrying the C++
// message and the code's name (`error.code`).
//
//   edgepipe.Error (RuntimeError)
//     InvalidArgumentError (also ValueError)
//     OutOfRangeError (also ValueError and IndexError)
//     NotFoundError (also LookupError and ValueError)
//     UnimplementedError (also NotImplementedError)
//     FailedPreconditionError, CancelledError, DeadlockError, UnavailableError,
//     AlreadyExistsError, InternalError, DataLossError, UnknownError
#pragma once

#include <pybind11/pybind11.h>

#include <string>

#include "core/status.h"

namespace edgepipe::python {

// Creates the exception classes in `m`; call once, before anything raises.
void BindErrors(pybind11::module_& m);

// Raises the Python exception for `status` (which must not be OK).
[[noreturn]] void RaiseStatus(const Status& status);

inline void ThrowIfError(const Status& status) {
  if (!status.ok()) RaiseStatus(status);
}

// Raises edgepipe.<code's class> with `message` (for errors found in the bindings).
[[noreturn]] void RaiseError(StatusCode code, const std::string& message);

}  // namespace edgepipe::python
