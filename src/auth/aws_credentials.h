// AWS credential providers, each a TokenSource whose AccessToken carries a
// key pair (access_key_id, secret_access_key, token = session token), so
// that AWS credentials share the one TokenCache with its refresh ahead of
// Expiration, single flight per identity and backoff (token_cache.h):
//
//   StaticAwsCredentialsSource     awsAccessKeyID / awsSecretAccessKey / awsSessionToken parameters
//   WebIdentityCredentialsSource   IRSA: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE -> STS AssumeRoleWithWebIdentity
//   ContainerCredentialsSource     EKS Pod Identity: AWS_CONTAINER_CREDENTIALS_FULL_URI + ..._AUTHORIZATION_TOKEN_FILE
//   Ec2MetadataCredentialsSource   IMDSv2 on an EC2 instance (instance profile)
//   AssumeRoleCredentialsSource    KEDA's roleArn / awsRoleArn: STS AssumeRole signed with any of the above
//
//   Result<TokenSourcePtr> base = ResolveAwsAmbientSource(AwsEnvironmentFromProcess(), opts, clock);
//   auto role = std::make_shared<AssumeRoleCredentialsSource>(cfg, *base, cache, clock);
//   cache->Get(role, client, [](Result<AccessToken> c) { SignRequest(req, ToAwsCredentials(*c), ...); });
//
// Every endpoint (STS, the pod-identity agent, IMDS) comes from ebb's own
// environment (aws_sts.h), never from a TriggerAuthentication. No source
// puts a key, session token or token-file content into a log or error.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "auth/aws_sts.h"
#include "auth/sigv4.h"
#include "auth/token_cache.h"
#include "auth/token_source.h"
#include "common/clock.h"
#include "common/status.h"

namespace ebb::auth {

inline constexpr char kDefaultEc2MetadataEndpoint[] = "http://169.254.169.254";

// The key pair of an AccessToken from one of these sources.
AwsCredentials ToAwsCredentials(const AccessToken& token);

// What the operator's configuration adds. Value type.
struct AwsSourceOptions {
  // Region for the regional STS endpoint when AWS_REGION is not set (the
  // trigger's awsRegion). Default "".
  std::string region;
  // Permit http:// STS endpoints (local emulators only). Default false.
  bool allow_insecure = false;
  // Timeout of one request. Default 10 s.
  std::chrono::milliseconds timeout{10000};
};

// Long-term or temporary keys given as TriggerAuthentication parameters.
// Thread-safe (immutable). Fetch answers at once; the "expiry" is a day
// ahead so the cache keeps the keys without asking again.
class StaticAwsCredentialsSource final : public TokenSource {
 public:
  StaticAwsCredentialsSource(AwsCredentials credentials, const Clock& clock);
  void Fetch(http::HttpClient& client, TokenCallback done) override;
  // "aws-static|{key id}|{digest of secret and session token}".
  std::string CacheKey() const override;
  // "AWS access key AKIA..."; never the secret.
  std::string Describe() const override;

 private:
  const AwsCredentials credentials_;
  const Clock& clock_;
};

struct WebIdentityConfig {
  std::string role_arn;
  std::string token_file;
  std::string session_name;
  std::string sts_endpoint;  // no trailing '/'
  std::chrono::milliseconds timeout{10000};
};

// IRSA. Re-reads the token file for every exchange (kubelet rotates it).
// Thread-safe (immutable). `clock` must outlive the source.
class WebIdentityCredentialsSource final : public TokenSource {
 public:
  WebIdentityCredentialsSource(WebIdentityConfig config, const Clock& clock);
  // Errors mapped by MapStsError with the token's issuer, audience, subject.
  void Fetch(http::HttpClient& client, TokenCallback done) override;
  // "aws-web-identity|{sts endpoint}|{role arn}|{token file}".
  std::string CacheKey() const override;
  std::string Describe() const override;
  const WebIdentityConfig& config() const { return config_; }

 private:
  const WebIdentityConfig config_;
  const Clock& clock_;
};

struct ContainerCredentialsConfig {
  std::string full_uri;
  std::string token_file;  // "" when the agent needs no Authorization
  std::chrono::milliseconds timeout{10000};
};

// EKS Pod Identity agent (or any container credentials endpoint).
// Thread-safe (immutable). `clock` must outlive the source.
class ContainerCredentialsSource final : public TokenSource {
 public:
  ContainerCredentialsSource(ContainerCredentialsConfig config, const Clock& clock);
  void Fetch(http::HttpClient& client, TokenCallback done) override;
  std::string CacheKey() const override;
  std::string Describe() const override;

 private:
  const ContainerCredentialsConfig config_;
  const Clock& clock_;
};

// Instance-profile credentials through IMDSv2 (PUT token, then GET the role
// and its credentials). Never through a proxy: the endpoint is link-local.
// Thread-safe (immutable). `clock` must outlive the source.
class Ec2MetadataCredentialsSource final : public TokenSource {
 public:
  Ec2MetadataCredentialsSource(std::string endpoint, const Clock& clock,
                               std::chrono::milliseconds timeout = std::chrono::seconds(5));
  void Fetch(http::HttpClient& client, TokenCallback done) override;
  std::string CacheKey() const override;
  std::string Describe() const override;

  struct Exchange;  // the state of one Fetch (aws_metadata_sources.cc)

 private:
  const std::string endpoint_;
  const Clock& clock_;
  const std::chrono::milliseconds timeout_;
};

struct AssumeRoleConfig {
  std::string role_arn;
  std::string external_id;  // "" when none
  std::string session_name;
  std::string sts_endpoint;  // no trailing '/'
  std::string sts_region;    // signing region of the STS call
  std::chrono::milliseconds timeout{10000};
};

// A role assumed on top of `base`'s credentials, which come from the same
// cache (so the base identity is exchanged once for every role on it).
// Thread-safe (immutable). Shares ownership of base and cache; `clock`
// must outlive the source.
class AssumeRoleCredentialsSource final : public TokenSource {
 public:
  AssumeRoleCredentialsSource(AssumeRoleConfig config, TokenSourcePtr base, std::shared_ptr<TokenCache> cache,
                              const Clock& clock);
  void Fetch(http::HttpClient& client, TokenCallback done) override;
  // "aws-assume-role|{base key}|{role arn}|{external id digest}".
  std::string CacheKey() const override;
  // "AWS role R assumed with <base>".
  std::string Describe() const override;

 private:
  const AssumeRoleConfig config_;
  const TokenSourcePtr base_;
  const std::shared_ptr<TokenCache> cache_;
  const Clock& clock_;
};

// The ambient identity of ebb's pod or VM, in the AWS SDKs' order: web
// identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE), then the container
// credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI), then IMDSv2
// (unless AWS_EC2_METADATA_DISABLED=true). kInvalidConfig naming what is
// missing (half of a pair, a plain-http container URI on a host the SDKs
// refuse) and how ebb's pod gets it (IRSA annotation, pod identity
// association).
Result<TokenSourcePtr> ResolveAwsAmbientSource(const AwsEnvironment& env, const AwsSourceOptions& options,
                                               const Clock& clock);

// Checks a container credentials URI as the AWS SDKs do: https, or plain
// http only to loopback, 169.254.170.23 or fd00:ec2::23 (or any host with
// `allow_insecure`). kInvalidConfig otherwise.
Status CheckContainerCredentialsUri(const std::string& uri, bool allow_insecure);

// "ebb-{unix seconds}" unless AWS_ROLE_SESSION_NAME is set.
std::string SessionName(const AwsEnvironment& env, Time now);

}  // namespace ebb::auth
