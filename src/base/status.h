// Errors are values: Status and Expected<T> carry a code and a message that
// names the file, node or tensor concerned. No exception crosses a library
// boundary; nothing here aborts.
#pragma once

#include <sstream>
#include <string>
#include <utility>
#include <variant>

namespace kiln {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,   // malformed input: bad attribute, wrong shape, bad file
  kUnsupported,       // valid input that Kiln does not handle (op, dtype, ...)
  kOutOfRange,        // index, axis or size outside what is allowed
  kResourceExhausted, // a configured limit (bytes, nesting) would be exceeded
  kIoError,           // file system failure
  kInternal,          // a Kiln bug
};

const char* error_code_name(ErrorCode code);

// Concatenates anything streamable: str("node '", name, "' axis ", axis).
template <typename... Args>
std::string str(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

  // Returns a copy whose message starts with `context: `.
  Status with_context(const std::string& context) const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

template <typename... Args>
Status Error(ErrorCode code, const Args&... args) {
  return Status(code, str(args...));
}
template <typename... Args>
Status InvalidArgument(const Args&... args) {
  return Error(ErrorCode::kInvalidArgument, args...);
}
template <typename... Args>
Status Unsupported(const Args&... args) {
  return Error(ErrorCode::kUnsupported, args...);
}
template <typename... Args>
Status OutOfRange(const Args&... args) {
  return Error(ErrorCode::kOutOfRange, args...);
}
template <typename... Args>
Status ResourceExhausted(const Args&... args) {
  return Error(ErrorCode::kResourceExhausted, args...);
}
template <typename... Args>
Status Internal(const Args&... args) {
  return Error(ErrorCode::kInternal, args...);
}

// A value or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}
  Expected(Status status) : v_(std::move(status)) {
    if (std::get<Status>(v_).ok()) v_ = Internal("Expected constructed from an ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kiln

#define KILN_CONCAT_INNER(a, b) a##b
#define KILN_CONCAT(a, b) KILN_CONCAT_INNER(a, b)

#define KILN_RETURN_IF_ERROR(expr)             \
  do {                                         \
    ::kiln::Status kiln_status_ = (expr);      \
    if (!kiln_status_.ok()) return kiln_status_; \
  } while (0)

#define KILN_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

// KILN_ASSIGN_OR_RETURN(auto x, make_x());
#define KILN_ASSIGN_OR_RETURN(lhs, expr) \
  KILN_ASSIGN_OR_RETURN_IMPL(KILN_CONCAT(kiln_expected_, __LINE__), lhs, expr)
