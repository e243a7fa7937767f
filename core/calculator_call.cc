#include "core/calculator_call.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace edgepipe {

std::string ExceptionTypeName(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name != nullptr ? std::string(name.get()) : std::string(type.name());
}

}  // namespace edgepipe
