#include "kube/credentials.h"

#include "common/strings.h"

namespace ebb::kube {

CredentialSource::CredentialSource(const RestConfig& config, const Clock& clock, ExecRunner runner)
    : config_(config), clock_(clock), runner_(std::move(runner)) {
  if (!runner_) runner_ = [](const ExecConfig& c) { return RunExecPlugin(c); };
}

void CredentialSource::Invalidate() {
  std::lock_guard lock(mu_);
  file_read_at_.reset();
  exec_invalid_ = true;
}

bool CredentialSource::WouldBlock() {
  if (!config_.exec) return false;
  std::lock_guard lock(mu_);
  Time now = clock_.Now();
  return !exec_ || exec_invalid_ ||
         (exec_->expiration && now + kExpiryMargin >= *exec_->expiration);
}

Status CredentialSource::RefreshTokenFile(Time now) {
  if (file_read_at_ && now - *file_read_at_ < kTokenFileRefresh) return Status::Ok();
  Result<std::string> text = ReadFileText(config_.token_file);
  if (!text.ok()) {
    // A rotation in progress can briefly hide the file: keep the last token.
    if (!file_token_.empty()) return Status::Ok();
    return InvalidConfig("bearer token file " + config_.token_file + " cannot be read");
  }
  std::string token(Trim(*text));
  if (token.empty()) return InvalidConfig("bearer token file " + config_.token_file + " is empty");
  file_token_ = SecretString(token);
  file_read_at_ = now;
  return Status::Ok();
}

Status CredentialSource::RefreshExec(Time now) {
  bool fresh =
      exec_ && !exec_invalid_ && (!exec_->expiration || now + kExpiryMargin < *exec_->expiration);
  if (fresh) return Status::Ok();
  Result<ExecCredential> c = runner_(*config_.exec);
  if (!c.ok()) {
    bool still_valid = exec_ && !exec_invalid_ && exec_->expiration && now < *exec_->expiration;
    return still_valid ? Status::Ok() : c.status();
  }
  exec_ = std::move(c).value();
  exec_invalid_ = false;
  return Status::Ok();
}

Result<Credentials> CredentialSource::Get() {
  std::lock_guard lock(mu_);
  Time now = clock_.Now();
  Credentials c;
  c.client_cert_file = config_.client_cert_file;
  c.client_key_file = config_.client_key_file;
  c.client_cert_pem = config_.client_cert_pem;
  c.client_key_pem = config_.client_key_pem;
  if (config_.exec) {
    EBB_RETURN_IF_ERROR(RefreshExec(now));
    c.bearer = exec_->token;
    if (!exec_->client_cert_pem.empty()) {
      c.client_cert_pem = exec_->client_cert_pem;
      c.client_key_pem = exec_->client_key_pem;
      c.client_cert_file.clear();
      c.client_key_file.clear();
    }
    return c;
  }
  if (!config_.token_file.empty()) {
    EBB_RETURN_IF_ERROR(RefreshTokenFile(now));
    c.bearer = file_token_;
  } else if (!config_.token.empty()) {
    c.bearer = config_.token;
  } else if (!config_.username.empty()) {
    c.basic_user = config_.username;
    c.basic_password = config_.password;
  }
  return c;
}

}  // namespace ebb::kube
