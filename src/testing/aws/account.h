// AwsAccount: what the emulated AWS account knows, shared by the STS,
// EKS Pod Identity agent, IMDSv2 and AMP front-door emulators: IAM users
// with long-term keys, roles with their trust policies (OIDC web identity,
// principals allowed to AssumeRole, an external id), pod identity
// associations, the instance profile role, aps:QueryMetrics grants, and the
// temporary credentials it has issued. It also verifies SigV4 signatures
// the way AWS does (recomputes the signature from the received request).
//
//   AwsAccount account(clock, {.account_id = "111122223333", .region = "eu-west-1"});
//   account.AddOidcProvider(issuer->issuer_url(), issuer->signing_key().public_key_pem());
//   account.AddRole({.name = "ebb-amp", .web_identity = {{issuer_url, "system:serviceaccount:keda:ebb"}}});
//   account.GrantQuery(account.RoleArn("ebb-amp"), "ws-1");
//
// The signature check reuses ebb's canonicalisation functions (auth/sigv4.h),
// which are held to AWS's published vectors; everything else (dates,
// scopes, keys, session tokens, expiry) is checked independently here.
// Thread-safe.
#pragma once

#include <httplib.h>

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace ebb::testing::aws {

inline constexpr char kStsAudience[] = "sts.amazonaws.com";
inline constexpr char kPodIdentityAudience[] = "pods.eks.amazonaws.com";

struct AccountOptions {
  std::string account_id = "111122223333";
  std::string region = "eu-west-1";
  // Lifetime of issued temporary credentials. Default 1 h (STS's default).
  std::chrono::seconds session_lifetime{3600};
  // Largest accepted difference between X-Amz-Date and now. Default 5 min.
  std::chrono::seconds max_skew{300};
};

// An OIDC subject a role trusts for AssumeRoleWithWebIdentity.
struct WebIdentityTrust {
  std::string issuer;   // issuer URL, exactly as the token's "iss"
  std::string subject;  // "system:serviceaccount:NS:SA"
  std::string audience = kStsAudience;
};

struct Role {
  std::string name;
  std::vector<WebIdentityTrust> web_identity;
  std::vector<std::string> trusted_principals;  // ARNs allowed to AssumeRole
  std::string external_id;                      // required ExternalId ("" = none)
};

// Who signed a request, once the signature checked out.
struct Principal {
  std::string arn;       // user or assumed-role ARN
  std::string role_arn;  // the role for assumed-role sessions, else the user ARN
};

// An AWS-style refusal: HTTP status, error code, message.
struct Denial {
  int status = 403;
  std::string code;
  std::string message;
};

// Temporary credentials as issued. Value type (test code: holds secrets).
struct IssuedCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  Time expiration{};
  std::string assumed_role_arn;  // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
};

class AwsAccount {
 public:
  AwsAccount(const Clock& clock, AccountOptions options = {});

  const AccountOptions& options() const { return options_; }
  const Clock& clock() const { return clock_; }
  std::string RoleArn(const std::string& name) const;
  std::string UserArn(const std::string& name) const;

  void AddOidcProvider(const std::string& issuer_url, const std::string& public_key_pem);
  void AddRole(Role role);
  // Long-term keys of an IAM user; returns its ARN.
  std::string AddUser(const std::string& name, const std::string& access_key_id, const std::string& secret);
  // aps:QueryMetrics for `principal_arn` (a user or a role) on workspace `workspace_id`.
  void GrantQuery(const std::string& principal_arn, const std::string& workspace_id);
  // EKS Pod Identity: the role for a namespace/service account.
  void AddPodIdentityAssociation(const std::string& ns, const std::string& service_account, const std::string& role_name);
  std::optional<std::string> PodIdentityRole(const std::string& subject) const;
  // The role of the instance profile IMDS serves ("" = none).
  void SetInstanceProfileRole(const std::string& role_name);
  std::string InstanceProfileRole() const;

  std::optional<Role> FindRole(const std::string& arn) const;
  std::optional<std::string> OidcProviderKey(const std::string& issuer_url) const;
  bool CanQuery(const Principal& p, const std::string& workspace_id) const;

  // New temporary credentials for `role_arn`, valid options().session_lifetime.
  IssuedCredentials Issue(const std::string& role_arn, const std::string& session_name);
  // Makes issued credentials expire now (tests of refresh on 403).
  void ExpireSessions();
  // Every secret key and session token the account knows (tests assert that
  // none reached a log).
  std::vector<std::string> Secrets() const;

  // Verifies the SigV4 signature of `req` for `service` in the account's
  // region: the Authorization header's form and scope, X-Amz-Date skew,
  // the key (and session token for temporary keys) and the recomputed
  // signature. The principal, or the denial AWS would send.
  Result<Principal> VerifySigV4(const httplib::Request& req, const std::string& service, Denial* denial) const;

 private:
  struct Key {
    std::string secret;
    std::string session_token;  // "" for long-term keys
    std::optional<Time> expiration;
    Principal principal;
  };

  const Clock& clock_;
  const AccountOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> oidc_providers_;          // issuer -> public key PEM
  std::map<std::string, Role> roles_;                          // ARN -> role
  std::map<std::string, Key> keys_;                            // access key id -> key
  std::set<std::pair<std::string, std::string>> grants_;       // (principal/role ARN, workspace)
  std::map<std::string, std::string> pod_identity_;            // subject -> role name
  std::string instance_role_;
  int64_t next_key_ = 1;
};

// {"message": ...} as AMP (API Gateway style) answers, or STS's
// <ErrorResponse> XML.
std::string AmpErrorJson(const Denial& d);
std::string StsErrorXml(const Denial& d);

}  // namespace ebb::testing::aws
