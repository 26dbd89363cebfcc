// AWS STS over its query protocol: the endpoint ebb talks to, the requests
// for AssumeRoleWithWebIdentity (IRSA, unsigned) and AssumeRole (signed
// with the base credentials), and reading the XML answers and errors.
//
//   Result<std::string> url = ResolveStsEndpoint(env, "eu-west-1", /*allow_insecure=*/false);
//   http::HttpRequest r = WebIdentityRequest(*url, role_arn, session, jwt);
//   Result<AccessToken> creds = ParseStsCredentials(answer.body, "AssumeRoleWithWebIdentity", now);
//   StsError e = ParseStsError(answer.status, answer.body);   // for non-2xx answers
//
// Wire format: facts/aws-gcp.md ("AWS STS AssumeRoleWithWebIdentity") and
// docs/facts-aws-gcp-notes.md. The endpoint comes only from ebb's own
// environment (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL,
// AWS_STS_REGIONAL_ENDPOINTS), never from a TriggerAuthentication.
// Answers are read with a size limit and never copied whole into an error:
// a success body holds the secret key and session token.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "auth/token_source.h"
#include "common/clock.h"
#include "common/secret.h"
#include "common/status.h"
#include "http/http_client.h"

namespace ebb::auth {

using AwsEnvironment = std::map<std::string, std::string>;

inline constexpr char kEnvAwsRegion[] = "AWS_REGION";
inline constexpr char kEnvAwsDefaultRegion[] = "AWS_DEFAULT_REGION";
inline constexpr char kEnvAwsRoleArn[] = "AWS_ROLE_ARN";
inline constexpr char kEnvAwsWebIdentityTokenFile[] = "AWS_WEB_IDENTITY_TOKEN_FILE";
inline constexpr char kEnvAwsRoleSessionName[] = "AWS_ROLE_SESSION_NAME";
inline constexpr char kEnvAwsStsRegionalEndpoints[] = "AWS_STS_REGIONAL_ENDPOINTS";
inline constexpr char kEnvAwsEndpointUrlSts[] = "AWS_ENDPOINT_URL_STS";
inline constexpr char kEnvAwsEndpointUrl[] = "AWS_ENDPOINT_URL";
inline constexpr char kEnvAwsContainerFullUri[] = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
inline constexpr char kEnvAwsContainerTokenFile[] = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
inline constexpr char kEnvAwsEc2MetadataEndpoint[] = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
inline constexpr char kEnvAwsEc2MetadataDisabled[] = "AWS_EC2_METADATA_DISABLED";

// The AWS_* variables above that are set and non-empty in this process.
AwsEnvironment AwsEnvironmentFromProcess();

// The trimmed value of `name` in `env`, or "".
std::string EnvValue(const AwsEnvironment& env, const char* name);

// The STS endpoint (no trailing '/'): AWS_ENDPOINT_URL_STS, else
// AWS_ENDPOINT_URL, else https://sts.amazonaws.com when
// AWS_STS_REGIONAL_ENDPOINTS=legacy, else https://sts.REGION.amazonaws.com
// (".amazonaws.com.cn" for cn- regions) with REGION from AWS_REGION,
// AWS_DEFAULT_REGION, then `fallback_region`. kInvalidConfig for an
// override that is not https (unless `allow_insecure`) or no region at all.
Result<std::string> ResolveStsEndpoint(const AwsEnvironment& env, const std::string& fallback_region,
                                       bool allow_insecure);

// POST {endpoint}/ Action=AssumeRoleWithWebIdentity (unsigned; the JWT is
// the credential). The body is marked sensitive.
http::HttpRequest WebIdentityRequest(const std::string& endpoint, const std::string& role_arn,
                                     const std::string& session_name, const SecretString& web_identity_token);

// POST {endpoint}/ Action=AssumeRole, to be signed by the caller (service
// "sts"). `external_id` is sent when non-empty.
http::HttpRequest AssumeRoleRequest(const std::string& endpoint, const std::string& role_arn,
                                    const std::string& session_name, const std::string& external_id);

// Reads <{action}Response><{action}Result><Credentials>... into an
// AccessToken (access_key_id, secret_access_key, token = session token,
// expires_on = Expiration, obtained_at = now, audience = the assumed role's
// ARN when given). kInternal naming the missing element (never quoting the
// body) when the answer is too large (over 64 KiB) or incomplete.
Result<AccessToken> ParseStsCredentials(std::string_view body, std::string_view action, Time now);

// An STS <ErrorResponse>. Value type; `message` is sanitized and capped.
struct StsError {
  int http_status = 0;
  std::string code;     // "AccessDenied", "InvalidIdentityToken", ... ("" when unreadable)
  std::string message;
  std::string request_id;
};

StsError ParseStsError(int http_status, std::string_view body);

// What the web-identity exchange tells the operator, beyond the error.
struct WebIdentityContext {
  std::string role_arn;
  std::string endpoint;
  std::string token_file;
  // Claims of the token that was sent, when readable (never the token).
  std::string issuer, subject, audience;
};

// Maps an STS error to a Status whose code says what to do (kUnavailable
// for Throttling, IDPCommunicationError and 5xx; kUnauthenticated for
// AccessDenied and expired tokens; kInvalidConfig for a missing OIDC
// provider or a disabled region) and whose message names the broken link
// and its fix (trust policy's issuer, audience sts.amazonaws.com, subject
// system:serviceaccount:NS:SA). `what` names the call ("STS
// AssumeRoleWithWebIdentity for role R").
Status MapStsError(const StsError& error, const std::string& what, const WebIdentityContext* context);

}  // namespace ebb::auth
