// A packet is an immutable, shared, type-erased payload plus a timestamp.
// Copying a packet copies a reference, never the payload. Reading it as the
// wrong type is an error naming both types.
#pragma once

#include <memory>
#include <string>
#include <typeindex>
#include <typeinfo>
#include <utility>

#include "core/status.h"
#include "core/timestamp.h"

namespace edgepipe {

// Human-readable name of a C++ type (demangled), used in every type error.
std::string DemangledTypeName(const std::type_info& type);

// Identifies a payload type; `Any()` accepts every type on a port.
class TypeId {
 public:
  constexpr TypeId() = default;
  template <typename T>
  static TypeId Of() { return TypeId(&typeid(T)); }
  static constexpr TypeId Any() { return TypeId(); }
  static TypeId FromTypeInfo(const std::type_info& type) { return TypeId(&type); }

  bool is_any() const { return type_ == nullptr; }
  std::string name() const { return type_ == nullptr ? "Any" : DemangledTypeName(*type_); }
  bool operator==(const TypeId& other) const {
    return type_ == other.type_ || (type_ && other.type_ && *type_ == *other.type_);
  }
  // Two port types are compatible when equal or when either side is Any.
  bool CompatibleWith(const TypeId& other) const { return is_any() || other.is_any() || *this == other; }

 private:
  constexpr explicit TypeId(const std::type_info* type) : type_(type) {}
  const std::type_info* type_ = nullptr;
};

namespace internal {
class PayloadBase {
 public:
  virtual ~PayloadBase() = default;
  virtual const std::type_info& type() const = 0;
};
template <typename T>
class Payload final : public PayloadBase {
 public:
  template <typename... Args>
  explicit Payload(Args&&... args) : value(std::forward<Args>(args)...) {}
  const std::type_info& type() const override { return typeid(T); }
  const T value;
};
}  // namespace internal

class Packet {
 public:
  Packet() = default;

  bool IsEmpty() const { return payload_ == nullptr; }
  Timestamp timestamp() const { return timestamp_; }
  // The same payload at another timestamp (shares the payload).
  Packet At(Timestamp timestamp) const& {
    Packet copy = *this;
    copy.timestamp_ = timestamp;
    return copy;
  }
  Packet At(Timestamp timestamp) && {
    timestamp_ = timestamp;
    return std::move(*this);
  }

  TypeId type() const;
  std::string TypeName() const { return IsEmpty() ? "empty" : DemangledTypeName(payload_->type()); }

  template <typename T>
  bool Holds() const {
    return payload_ != nullptr && payload_->type() == typeid(T);
  }

  // The payload as T, or an InvalidArgument error naming expected and actual type.
  template <typename T>
  Result<const T*> Get() const {
    if (Holds<T>()) return &static_cast<const internal::Payload<T>*>(payload_.get())->value;
    return TypeMismatch(typeid(T));
  }
  // The payload as T, or nullptr; for code that already validated the type.
  template <typename T>
  const T* TryGet() const {
    return Holds<T>() ? &static_cast<const internal::Payload<T>*>(payload_.get())->value : nullptr;
  }
  template <typename T>
  Status ValidateAsType() const {
    return Holds<T>() ? OkStatus() : TypeMismatch(typeid(T));
  }

  std::string DebugString() const;

  template <typename T, typename... Args>
  friend Packet MakePacket(Args&&... args);

 private:
  Status TypeMismatch(const std::type_info& expected) const;

  std::shared_ptr<const internal::PayloadBase> payload_;
  Timestamp timestamp_ = Timestamp::Unset();
};

// Builds a packet holding a T constructed from `args` (one allocation), at Unset.
template <typename T, typename... Args>
Packet MakePacket(Args&&... args) {
  Packet packet;
  packet.payload_ = std::make_shared<const internal::Payload<T>>(std::forward<Args>(args)...);
  return packet;
}

}  // namespace edgepipe
