#include "core/packet.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace edgepipe {

std::string DemangledTypeName(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  std::string name = (status == 0 && demangled) ? demangled.get() : type.name();
  // The standard library spells std::string out in full; users do not.
  const std::string long_string =
      "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >";
  for (size_t at = name.find(long_string); at != std::string::npos; at = name.find(long_string)) {
    name.replace(at, long_string.size(), "std::string");
  }
  return name;
}

TypeId Packet::type() const {
  if (IsEmpty()) return TypeId::Any();
  return TypeId::FromTypeInfo(payload_->type());
}

Status Packet::TypeMismatch(const std::type_info& expected) const {
  if (IsEmpty()) {
    return InvalidArgumentError("packet is empty; expected a {}", DemangledTypeName(expected));
  }
  return InvalidArgumentError("packet at {} holds {}, not the expected {}", timestamp_.DebugString(),
                              TypeName(), DemangledTypeName(expected));
}

std::string Packet::DebugString() const {
  return fmt::format("Packet(type={}, timestamp={})", TypeName(), timestamp_.DebugString());
}

}  // namespace edgepipe
