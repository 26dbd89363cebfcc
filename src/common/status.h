// Status and Result<T>: ebb's error values.
//
// Every recoverable failure in ebb is a value, never an exception across a
// module boundary. A Status carries a code that tells the caller what to do
// (retry, refresh credentials, fix configuration) and a message to which
// context is added on the way up:
//
//   Result<double> v = ParseThreshold(text);
//   if (!v.ok()) return v.status().WithContext("spec.triggers[0].metadata.threshold");
//
// Messages must never hold a secret (token, password, key, token-endpoint
// body): see common/secret.h.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ebb {

enum class StatusCode {
  kOk = 0,
  kInvalidConfig,      // fix the configuration: retrying will not help
  kUnauthenticated,    // credentials missing, invalid or expired: refresh them
  kPermissionDenied,   // authenticated but not allowed: grant a role
  kUnavailable,        // transient: retry with backoff
  kDeadlineExceeded,   // timed out: retry, or raise the timeout
  kNotFound,           // the thing named does not exist
  kCancelled,          // the caller gave up (shutdown)
  kInternal,           // a bug or an answer we cannot interpret
};

// Stable snake_case name of a code, used in JSON output ("unauthenticated").
std::string_view StatusCodeName(StatusCode code);

// True for codes where the same request may succeed later.
bool IsRetryable(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message reads "context: message".
  Status WithContext(std::string_view context) const;

  // "unauthenticated: message", or "ok".
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidConfig(std::string m) { return {StatusCode::kInvalidConfig, std::move(m)}; }
inline Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Either a T or a non-ok Status. Accessing the value of a failed Result is a
// programmer error (asserts).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : data_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(data_).ok() && "Result built from an ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  // The error; Status::Ok() when this holds a value.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(data_); }

  const T& value() const& { return Checked(); }
  T& value() & { return const_cast<T&>(Checked()); }
  T&& value() && { return std::move(const_cast<T&>(Checked())); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  T value_or(T fallback) const { return ok() ? std::get<T>(data_) : std::move(fallback); }

 private:
  const T& Checked() const {
    assert(ok() && "value() of a failed Result");
    return std::get<T>(data_);
  }
  std::variant<T, Status> data_;
};

}  // namespace ebb

// Returns early with the Status of a failed expression.
#define EBB_RETURN_IF_ERROR(expr)          \
  do {                                     \
    ::ebb::Status ebb_status_ = (expr);    \
    if (!ebb_status_.ok()) return ebb_status_; \
  } while (0)
