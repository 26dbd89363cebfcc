#include "testing/aws/account.h"

#include <nlohmann/json.hpp>
#include <random>

#include "auth/sigv4.h"
#include "common/strings.h"

namespace ebb::testing::aws {

namespace {

std::string RandomText(size_t n, const char* alphabet) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  std::string out;
  size_t size = std::char_traits<char>::length(alphabet);
  for (size_t i = 0; i < n; ++i) out += alphabet[rng() % size];
  return out;
}

constexpr char kUpper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr char kMixed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

Denial Deny(int status, std::string code, std::string message) {
  return Denial{status, std::move(code), std::move(message)};
}

Status Fail(Denial* out, Denial d) {
  std::string message = d.message;
  if (out) *out = std::move(d);
  return Unauthenticated(message);
}

// The values of a signed header, joined as the canonical form expects.
auth::HeaderList SignedHeaderValues(const httplib::Request& req, const std::string& signed_headers) {
  auth::HeaderList out;
  for (const std::string& name : Split(signed_headers, ';')) {
    size_t n = req.get_header_value_count(name);
    for (size_t i = 0; i < n; ++i) out.emplace_back(name, req.get_header_value(name, i));
  }
  return out;
}

}  // namespace

AwsAccount::AwsAccount(const Clock& clock, AccountOptions options) : clock_(clock), options_(std::move(options)) {}

std::string AwsAccount::RoleArn(const std::string& name) const {
  return "arn:aws:iam::" + options_.account_id + ":role/" + name;
}

std::string AwsAccount::UserArn(const std::string& name) const {
  return "arn:aws:iam::" + options_.account_id + ":user/" + name;
}

void AwsAccount::AddOidcProvider(const std::string& issuer_url, const std::string& public_key_pem) {
  std::lock_guard lock(mu_);
  oidc_providers_[issuer_url] = public_key_pem;
}

void AwsAccount::AddRole(Role role) {
  std::lock_guard lock(mu_);
  std::string arn = RoleArn(role.name);
  roles_[arn] = std::move(role);
}

std::string AwsAccount::AddUser(const std::string& name, const std::string& access_key_id, const std::string& secret) {
  std::lock_guard lock(mu_);
  std::string arn = UserArn(name);
  keys_[access_key_id] = Key{secret, "", std::nullopt, Principal{arn, arn}};
  return arn;
}

void AwsAccount::GrantQuery(const std::string& principal_arn, const std::string& workspace_id) {
  std::lock_guard lock(mu_);
  grants_.insert({principal_arn, workspace_id});
}

void AwsAccount::AddPodIdentityAssociation(const std::string& ns, const std::string& service_account,
                                           const std::string& role_name) {
  std::lock_guard lock(mu_);
  pod_identity_["system:serviceaccount:" + ns + ":" + service_account] = role_name;
}

std::optional<std::string> AwsAccount::PodIdentityRole(const std::string& subject) const {
  std::lock_guard lock(mu_);
  auto it = pod_identity_.find(subject);
  if (it == pod_identity_.end()) return std::nullopt;
  return it->second;
}

void AwsAccount::SetInstanceProfileRole(const std::string& role_name) {
  std::lock_guard lock(mu_);
  instance_role_ = role_name;
}

std::string AwsAccount::InstanceProfileRole() const {
  std::lock_guard lock(mu_);
  return instance_role_;
}

std::optional<Role> AwsAccount::FindRole(const std::string& arn) const {
  std::lock_guard lock(mu_);
  auto it = roles_.find(arn);
  if (it == roles_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> AwsAccount::OidcProviderKey(const std::string& issuer_url) const {
  std::lock_guard lock(mu_);
  auto it = oidc_providers_.find(issuer_url);
  if (it == oidc_providers_.end()) return std::nullopt;
  return it->second;
}

bool AwsAccount::CanQuery(const Principal& p, const std::string& workspace_id) const {
  std::lock_guard lock(mu_);
  return grants_.count({p.arn, workspace_id}) > 0 || grants_.count({p.role_arn, workspace_id}) > 0;
}

IssuedCredentials AwsAccount::Issue(const std::string& role_arn, const std::string& session_name) {
  std::lock_guard lock(mu_);
  IssuedCredentials c;
  c.access_key_id = "ASIA" + std::to_string(next_key_++) + RandomText(12, kUpper);
  c.secret_access_key = RandomText(40, kMixed);
  c.session_token = "IQoJb3JpZ2luX2Vj" + RandomText(120, kMixed);
  c.expiration = std::chrono::time_point_cast<std::chrono::seconds>(clock_.Now() + options_.session_lifetime);
  std::string role_name = role_arn.substr(role_arn.rfind('/') + 1);
  c.assumed_role_arn = "arn:aws:sts::" + options_.account_id + ":assumed-role/" + role_name + "/" + session_name;
  keys_[c.access_key_id] = Key{c.secret_access_key, c.session_token, c.expiration, Principal{c.assumed_role_arn, role_arn}};
  return c;
}

void AwsAccount::ExpireSessions() {
  std::lock_guard lock(mu_);
  for (auto& [id, key] : keys_) {
    if (key.expiration) key.expiration = clock_.Now();
  }
}

std::vector<std::string> AwsAccount::Secrets() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [id, key] : keys_) {
    out.push_back(key.secret);
    if (!key.session_token.empty()) out.push_back(key.session_token);
  }
  return out;
}

Result<Principal> AwsAccount::VerifySigV4(const httplib::Request& req, const std::string& service,
                                          Denial* denial) const {
  const std::string header = req.get_header_value("Authorization");
  if (header.empty()) return Fail(denial, Deny(403, "MissingAuthenticationTokenException", "Missing Authentication Token"));
  Result<auth::SigV4Authorization> a = auth::ParseSigV4Authorization(header);
  if (!a.ok()) return Fail(denial, Deny(403, "IncompleteSignatureException", a.status().message()));
  if (a->service != service) {
    return Fail(denial, Deny(403, "InvalidSignatureException", "Credential should be scoped to correct service: '" + service + "'. "));
  }
  if (a->region != options_.region) {
    return Fail(denial, Deny(403, "InvalidSignatureException", "Credential should be scoped to a valid region. "));
  }
  Time signed_at;
  const std::string amz_date = req.get_header_value("X-Amz-Date");
  if (!auth::ParseAmzDate(amz_date, &signed_at) || amz_date.substr(0, 8) != a->date) {
    return Fail(denial, Deny(403, "IncompleteSignatureException", "X-Amz-Date is missing or does not match the credential scope"));
  }
  const Time now = clock_.Now();
  if (signed_at + options_.max_skew < now || signed_at - options_.max_skew > now) {
    return Fail(denial, Deny(403, "InvalidSignatureException",
                             "Signature expired: " + amz_date + " is now earlier than " +
                                 auth::FormatAmzDate(now - options_.max_skew) + " (" + auth::FormatAmzDate(now) +
                                 " - 5 min.)"));
  }
  Key key;
  {
    std::lock_guard lock(mu_);
    auto it = keys_.find(a->access_key_id);
    if (it == keys_.end()) {
      return Fail(denial, Deny(403, "UnrecognizedClientException", "The security token included in the request is invalid."));
    }
    key = it->second;
  }
  if (!key.session_token.empty() && req.get_header_value("X-Amz-Security-Token") != key.session_token) {
    return Fail(denial, Deny(403, "UnrecognizedClientException", "The security token included in the request is invalid."));
  }
  if (key.expiration && now >= *key.expiration) {
    return Fail(denial, Deny(403, "ExpiredTokenException", "The security token included in the request is expired"));
  }
  std::vector<std::string> names = Split(a->signed_headers, ';');
  if (std::find(names.begin(), names.end(), "host") == names.end() ||
      std::find(names.begin(), names.end(), "x-amz-date") == names.end()) {
    return Fail(denial, Deny(403, "IncompleteSignatureException", "host and x-amz-date must be signed"));
  }
  size_t q = req.target.find('?');
  std::string path = req.target.substr(0, q);
  std::string query = q == std::string::npos ? "" : req.target.substr(q + 1);
  auth::CanonicalRequest canonical = auth::BuildCanonicalRequest(
      req.method, path, query, SignedHeaderValues(req, a->signed_headers), auth::HexSha256(req.body), true);
  auth::SigV4Options scope{a->region, a->service};
  std::string sts = auth::StringToSign(amz_date, auth::CredentialScope(amz_date, scope), canonical.text);
  if (auth::Signature(SecretString(key.secret), amz_date, scope, sts) != a->signature) {
    return Fail(denial, Deny(403, "SignatureDoesNotMatch",
                             "The request signature we calculated does not match the signature you provided. Check "
                             "your AWS Secret Access Key and signing method. Consult the service documentation for "
                             "details."));
  }
  return key.principal;
}

std::string AmpErrorJson(const Denial& d) { return nlohmann::json{{"message", d.message}}.dump(); }

std::string StsErrorXml(const Denial& d) {
  auto escape = [](const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '&') out += "&amp;";
      else if (c == '<') out += "&lt;";
      else if (c == '>') out += "&gt;";
      else out += c;
    }
    return out;
  };
  return "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>Sender</Type>\n"
         "    <Code>" + escape(d.code) + "</Code>\n    <Message>" + escape(d.message) +
         "</Message>\n  </Error>\n  <RequestId>" + RandomText(8, "0123456789abcdef") + "-emulated</RequestId>\n"
         "</ErrorResponse>\n";
}

}  // namespace ebb::testing::aws
