// Every call into a calculator's code goes through CallCalculator. Calculators
// use libraries that report errors by throwing (OpenCV's cv::Exception, the
// standard library, allocation); an exception escaping onto a worker thread
// would terminate the process. Here it becomes an error that the caller names
// the node in, like any error the calculator returns.
#pragma once

#include <exception>
#include <string>
#include <typeinfo>

#include "core/status.h"

namespace edgepipe {

std::string ExceptionTypeName(const std::type_info& type);

template <typename Call>
Status CallCalculator(Call&& call) noexcept {
  try {
    return call();
  } catch (const std::exception& e) {
    return InternalError("threw {}: {}", ExceptionTypeName(typeid(e)), e.what());
  } catch (...) {
    return InternalError("threw an exception that is not a std::exception");
  }
}

}  // namespace edgepipe
