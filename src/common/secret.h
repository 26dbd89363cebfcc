// SecretString and redaction helpers.
//
// A SecretString holds a password, token, private key or any other value
// that must never reach a log, an error, an event or a metric. Its
// ToString() prints "REDACTED"; only Reveal() gives the value, and the call
// sites of Reveal() are the places to audit (building a header, signing).
//
//   SecretString pw("hunter2");
//   Log().Info("using basic auth", {{"password", pw.ToString()}});  // REDACTED
//   headers.push_back({"Authorization", "Basic " + Base64(user + ":" + pw.Reveal())});
#pragma once

#include <string>
#include <string_view>

namespace ebb {

// Value type. Not thread-safe for concurrent mutation (like std::string).
class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string value) : value_(std::move(value)) {}

  const std::string& Reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  // "REDACTED", or "" when empty (so "was a value given?" stays visible).
  std::string ToString() const { return value_.empty() ? "" : "REDACTED"; }

  friend bool operator==(const SecretString& a, const SecretString& b) {
    return a.value_ == b.value_;
  }

 private:
  std::string value_;
};

// Returns "REDACTED" for any non-empty input, "" for empty input.
std::string Redact(std::string_view secret);

// Returns `url` with userinfo ("user:pass@") replaced by "REDACTED@".
std::string RedactUrl(std::string_view url);

// Returns true when `text` contains `secret` (non-empty). Tests use it to
// assert that no secret leaked into logs or errors.
bool ContainsSecret(std::string_view text, std::string_view secret);

}  // namespace ebb
