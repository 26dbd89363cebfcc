// Exec credential plugins (client.authentication.k8s.io): run the command a
// kubeconfig names and read the ExecCredential it prints.
//
//   Result<ExecCredential> c = RunExecPlugin(config.exec.value(), clock);
//   // c->token, c->expiration (nullopt: valid until a 401)
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/secret.h"
#include "common/status.h"
#include "kube/config.h"

namespace ebb::kube {

struct ExecCredential {
  SecretString token;
  std::string client_cert_pem;
  SecretString client_key_pem;
  std::optional<Time> expiration;  // status.expirationTimestamp
};

// The most a plugin may print on stdout (a token or a certificate and key
// is a few KiB); more is an error, and RunExecPlugin stops reading there.
inline constexpr size_t kMaxExecCredentialBytes = 1024 * 1024;

// Parses the plugin's stdout. kInvalidConfig when it is not an
// ExecCredential with a token or a certificate and key. The message never
// quotes the output (it holds the credential).
Result<ExecCredential> ParseExecCredential(const std::string& stdout_text);

// Runs the plugin (fork + execvp, the environment plus the config's env and
// KUBERNETES_EXEC_INFO, stdin closed) and waits at most `timeout`.
// kInvalidConfig when it cannot start (with the install hint) or exits
// non-zero (with the first line of its stderr); kDeadlineExceeded on timeout
// (the plugin is killed). Blocks the calling thread.
Result<ExecCredential> RunExecPlugin(const ExecConfig& config,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(30));

// What credentials.h calls; tests substitute a fake.
using ExecRunner = std::function<Result<ExecCredential>(const ExecConfig&)>;

}  // namespace ebb::kube
