#pragma once
// Status and Result<T>: the one error type of platops. Expected failures are values, never
// exceptions. Thread-safety: value types; safe to copy between threads.

#include <cassert>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace platops {

// A closed set of failure classes; api/ maps each to exactly one HTTP status and error code.
enum class StatusCode {
  kOk,
  kInvalidArgument,   // 400 validation_failed: the input is malformed or a field is invalid.
  kUnauthenticated,   // 401 unauthenticated
  kPermissionDenied,  // 403 forbidden
  kNotFound,          // 404 not_found
  kMethodNotAllowed,  // 405 method_not_allowed
  kConflict,          // 409 conflict: stale version, already exists, still referenced.
  kPayloadTooLarge,   // 413 payload_too_large
  kUnprocessable,     // 422 unprocessable: well-formed but refers to something that does not exist.
  kResourceExhausted,  // 429 rate_limited
  kUnavailable,        // 503 unavailable: retryable trouble (store busy, shutting down).
  kDeadlineExceeded,   // 504 timeout
  kInternal,           // 500 internal: a bug or an unexpected environment failure.
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, std::string field = {})
      : code_(code), message_(std::move(message)), field_(std::move(field)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The offending input field as a dotted path (`depends_on[1].service`), or empty.
  const std::string& field() const { return field_; }
  std::string ToString() const;

  // Returns a copy whose field is `prefix` + "." + field (or `prefix` when field is empty).
  Status WithFieldPrefix(std::string_view prefix) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string field_;
};

inline Status InvalidArgument(std::string message, std::string field = {}) {
  return {StatusCode::kInvalidArgument, std::move(message), std::move(field)};
}
inline Status NotFound(std::string message) { return {StatusCode::kNotFound, std::move(message)}; }
inline Status Conflict(std::string message, std::string field = {}) {
  return {StatusCode::kConflict, std::move(message), std::move(field)};
}
// The 409 of an update whose expected version is not the current one.
inline Status StaleVersion(int64_t expected, int64_t current) {
  return {StatusCode::kConflict,
          "version " + std::to_string(expected) + " is stale; current is " +
              std::to_string(current) + " (re-read and retry)",
          "version"};
}
inline Status Unprocessable(std::string message, std::string field = {}) {
  return {StatusCode::kUnprocessable, std::move(message), std::move(field)};
}
inline Status Internal(std::string message) { return {StatusCode::kInternal, std::move(message)}; }
inline Status Unavailable(std::string message) {
  return {StatusCode::kUnavailable, std::move(message)};
}

// Result<T> holds a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace platops

// Returns early from the enclosing function when `expr` (a Status) is not OK.
#define PLATOPS_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::platops::Status platops_status_ = (expr);        \
    if (!platops_status_.ok()) return platops_status_; \
  } while (false)

#define PLATOPS_CONCAT_INNER_(a, b) a##b
#define PLATOPS_CONCAT_(a, b) PLATOPS_CONCAT_INNER_(a, b)
// Declares `lhs` from a Result<T> expression or returns its Status.
#define PLATOPS_ASSIGN_OR_RETURN(lhs, expr) \
  PLATOPS_ASSIGN_OR_RETURN_IMPL_(PLATOPS_CONCAT_(platops_result_, __LINE__), lhs, expr)
#define PLATOPS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()
