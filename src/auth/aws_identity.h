// Building the Authorizer of an Amazon Managed Prometheus trigger from what
// its TriggerAuthentication says (KEDA's forms, facts/aws-gcp.md):
//
//   podIdentity: {provider: aws, roleArn: R}      ebb's ambient identity (IRSA, EKS Pod Identity,
//                                                  IMDSv2), with role R assumed on top when given
//   podIdentity: {provider: aws-eks}               the same (KEDA's legacy name)
//   parameters awsAccessKeyID, awsSecretAccessKey  static keys (awsSessionToken optional), with
//   [, awsRoleArn]                                 awsRoleArn assumed on top when given
//
// The region comes from the trigger's awsRegion, else the awsRegion
// parameter. Called by authorizer_factory.cc.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/trigger_authentication.h"
#include "auth/authorizer.h"
#include "auth/aws_sts.h"
#include "auth/token_cache.h"
#include "common/clock.h"
#include "common/secret.h"

namespace ebb::auth {

inline constexpr char kParamAwsAccessKeyId[] = "awsAccessKeyID";
inline constexpr char kParamAwsSecretAccessKey[] = "awsSecretAccessKey";
inline constexpr char kParamAwsSessionToken[] = "awsSessionToken";
inline constexpr char kParamAwsRoleArn[] = "awsRoleArn";
inline constexpr char kParamAwsRegion[] = "awsRegion";

// What the process and the trigger bring. The cache and clock must outlive
// the Authorizers built.
struct AwsIdentityInput {
  std::shared_ptr<TokenCache> cache;  // REQUIRED
  const Clock* clock = nullptr;       // REQUIRED
  AwsEnvironment env;                 // ebb's AWS_* variables
  bool allow_insecure = false;        // http:// STS and targets (emulators only)
  std::vector<std::string> destinations;  // --token-destination hosts
  std::string trigger_region;         // metadata.awsRegion
  std::string who;                    // "TriggerAuthentication ns/name", for messages
};

// True when the parameters hold AWS static keys (or a part of them).
bool HasAwsKeyParams(const std::map<std::string, SecretString>& params);

// podIdentity aws / aws-eks. kInvalidConfig naming the field and the fix:
// identityOwner: workload (ebb signs only with its own identity), no
// region, or no usable ambient identity (aws_credentials.h).
Result<AuthorizerPtr> AwsPodIdentityAuthorizer(const api::PodIdentity& id,
                                               const std::map<std::string, SecretString>& params,
                                               const AwsIdentityInput& in);

// Static keys from the parameters. kInvalidConfig naming a missing
// awsAccessKeyID / awsSecretAccessKey or region.
Result<AuthorizerPtr> AwsStaticKeyAuthorizer(const std::map<std::string, SecretString>& params,
                                             const AwsIdentityInput& in);

}  // namespace ebb::auth
