// Errors as values. A Status carries a code and a message that says what was
// wrong and where; Result<T> is either a value or a non-OK Status. Nothing in
// edgepipe aborts on bad input: every fallible call returns one of these.
#pragma once

#include <cassert>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace edgepipe {

enum class StatusCode {
  kOk = 0,
  kCancelled,
  kUnknown,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kOutOfRange,
  kUnimplemented,
  kInternal,
  kUnavailable,
  kDeadlock,
  kDataLoss,
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // Messages longer than this keep their start and end with the middle elided:
  // a 10 MB option value or file line quoted in an error stays readable.
  static constexpr size_t kMaxMessageBytes = 4096;

  Status() = default;
  Status(StatusCode code, std::string message)
      : rep_(code == StatusCode::kOk ? nullptr : std::make_unique<Rep>(Rep{code, Capped(std::move(message))})) {}
  Status(const Status& other) : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}
  Status& operator=(const Status& other) {
    if (this != &other) rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  const std::string& message() const;
  std::string ToString() const;

  // Returns a copy with `context` prepended ("context: message"), used to add
  // the node, stream or file a lower layer did not know about.
  Status WithContext(const std::string& context) const;

  bool operator==(const Status& other) const { return code() == other.code() && message() == other.message(); }

 private:
  // An OK status is a null pointer: returning OK costs nothing on hot paths.
  struct Rep {
    StatusCode code;
    std::string message;
  };
  static std::string Capped(std::string message) {
    return message.size() <= kMaxMessageBytes ? message : ElideMiddle(message);
  }
  static std::string ElideMiddle(const std::string& message);
  std::unique_ptr<Rep> rep_;
};

inline Status OkStatus() { return {}; }

std::ostream& operator<<(std::ostream& os, const Status& status);

#define EDGEPIPE_STATUS_FACTORY(Name, Code)                                        \
  template <typename... Args>                                                     \
  Status Name(fmt::format_string<Args...> format, Args&&... args) {               \
    return Status(StatusCode::Code, fmt::format(format, std::forward<Args>(args)...)); \
  }
EDGEPIPE_STATUS_FACTORY(InvalidArgumentError, kInvalidArgument)
EDGEPIPE_STATUS_FACTORY(NotFoundError, kNotFound)
EDGEPIPE_STATUS_FACTORY(AlreadyExistsError, kAlreadyExists)
EDGEPIPE_STATUS_FACTORY(FailedPreconditionError, kFailedPrecondition)
EDGEPIPE_STATUS_FACTORY(OutOfRangeError, kOutOfRange)
EDGEPIPE_STATUS_FACTORY(UnimplementedError, kUnimplemented)
EDGEPIPE_STATUS_FACTORY(InternalError, kInternal)
EDGEPIPE_STATUS_FACTORY(UnavailableError, kUnavailable)
EDGEPIPE_STATUS_FACTORY(CancelledError, kCancelled)
EDGEPIPE_STATUS_FACTORY(DeadlockError, kDeadlock)
EDGEPIPE_STATUS_FACTORY(DataLossError, kDataLoss)
EDGEPIPE_STATUS_FACTORY(UnknownError, kUnknown)
#undef EDGEPIPE_STATUS_FACTORY

// A value or an error. Construct from a T (success) or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : value_(value) {}                        // NOLINT
  Result(T&& value) : value_(std::move(value)) {}                  // NOLINT
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U&&, T> &&
                                                    !std::is_same_v<std::decay_t<U>, Status> &&
                                                    !std::is_same_v<std::decay_t<U>, T>>>
  Result(U&& value) : value_(T(std::forward<U>(value))) {}         // NOLINT
  Result(Status status) : status_(std::move(status)) {             // NOLINT
    if (status_.ok()) status_ = InternalError("Result constructed from an OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T value_or(T fallback) const { return ok() ? *value_ : std::move(fallback); }

 private:
  std::optional<T> value_;
  Status status_;
};

namespace internal {
inline const Status& GetStatus(const Status& status) { return status; }
template <typename T>
const Status& GetStatus(const Result<T>& result) { return result.status(); }
}  // namespace internal

#define EP_CONCAT_INNER(a, b) a##b
#define EP_CONCAT(a, b) EP_CONCAT_INNER(a, b)

// Returns early from the enclosing function when `expr` (a Status or Result) is not OK.
#define EP_RETURN_IF_ERROR(expr)                                          \
  do {                                                                    \
    auto&& ep_status_or_result_ = (expr);                                 \
    if (!ep_status_or_result_.ok())                                       \
      return ::edgepipe::internal::GetStatus(ep_status_or_result_);      \
  } while (0)

// `EP_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a Result or returns its error.
#define EP_ASSIGN_OR_RETURN(lhs, expr) \
  EP_ASSIGN_OR_RETURN_IMPL(EP_CONCAT(ep_result_, __LINE__), lhs, expr)
#define EP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

}  // namespace edgepipe
