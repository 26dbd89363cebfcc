// CredentialSource: the credentials of a RestConfig as they are now. A
// token file is re-read at least every minute and after a 401 (service
// account tokens rotate); an exec plugin's credential is cached until its
// expirationTimestamp (minus a small margin) or a 401.
//
//   CredentialSource creds(config, RealClock::Instance());
//   Result<Credentials> c = creds.Get();   // may read a file or run a plugin
//   ... answer was 401 ... creds.Invalidate(); c = creds.Get();
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/secret.h"
#include "common/status.h"
#include "kube/config.h"
#include "kube/exec_plugin.h"

namespace ebb::kube {

struct Credentials {
  SecretString bearer;  // "Authorization: Bearer ..." when not empty
  std::string basic_user;
  SecretString basic_password;
  std::string client_cert_file;
  std::string client_key_file;
  std::string client_cert_pem;
  SecretString client_key_pem;
};

// Thread-safe. Get() blocks while a plugin runs; concurrent callers wait
// for that one run instead of starting their own.
class CredentialSource {
 public:
  // A token file is re-read after this long even without a 401.
  static constexpr Duration kTokenFileRefresh = std::chrono::minutes(1);
  // An exec credential is renewed this long before it expires.
  static constexpr Duration kExpiryMargin = std::chrono::seconds(10);

  // `clock` must outlive this. `runner` defaults to RunExecPlugin.
  CredentialSource(const RestConfig& config, const Clock& clock, ExecRunner runner = nullptr);

  // The credentials to send now. kInvalidConfig when a token file is
  // unreadable or a plugin fails (the previous credential keeps serving
  // while it has not expired), kDeadlineExceeded when a plugin hangs.
  Result<Credentials> Get();
  // Forgets cached tokens (after a 401): the next Get re-reads or re-runs.
  void Invalidate();
  // True when the next Get would run the exec plugin (callers on an I/O
  // thread move the call elsewhere first).
  bool WouldBlock();

 private:
  Status RefreshTokenFile(Time now);
  Status RefreshExec(Time now);

  const RestConfig config_;
  const Clock& clock_;
  ExecRunner runner_;

  std::mutex mu_;
  SecretString file_token_;             // guarded by mu_
  std::optional<Time> file_read_at_;    // guarded by mu_
  std::optional<ExecCredential> exec_;  // guarded by mu_
  bool exec_invalid_ = false;           // guarded by mu_
};

}  // namespace ebb::kube
