#include "controller/trigger_factory.h"

#include "auth/azure_scope.h"
#include "http/url.h"
#include "prometheus/config.h"

namespace ebb::controller {

namespace {

std::string TriggerPath(size_t index) { return "spec.triggers[" + std::to_string(index) + "]"; }

Result<auth::AuthorizerPtr> ResolveAuthorizer(const api::ScaledObject& so, const api::Trigger& t,
                                              const prometheus::PrometheusConfig& config,
                                              const api::ObjectLookup& lookup,
                                              const TriggerEnvironment& env) {
  auth::TriggerAuthInput in;
  in.auth_modes = config.auth_modes;
  in.cloud = config.cloud;
  in.private_resource_url = config.azure_managed_prometheus_resource_url;
  in.aws_region = config.aws_region;
  if (t.authentication_ref) {
    const std::string& ns = so.metadata.namespace_name;
    Result<const api::TriggerAuthentication*> ta = api::FindAuthentication(lookup, ns, *t.authentication_ref);
    if (!ta.ok()) return ta.status().WithContext("authenticationRef");
    in.authentication = *ta;
    auto params = api::ResolveAuthParameters(**ta, ns, lookup, env.resolve);
    if (!params.ok()) return params.status();
    in.params = std::move(*params);
  }
  return auth::BuildAuthorizer(in, env.auth);
}

// Azure Managed Prometheus answers 401 to every query without an Entra ID
// token (the seed of this project): refuse to send it rather than explain
// the 401 afterwards.
Status CheckAzureHostHasIdentity(const api::Trigger& t, const prometheus::PrometheusConfig& c) {
  if (t.authentication_ref) return Status::Ok();
  Result<http::Url> url = http::ParseUrl(c.server_address);
  if (!url.ok() || !auth::IsAzureManagedPrometheusHost(url->host)) return Status::Ok();
  return InvalidConfig(
      "authenticationRef: is missing, and " + url->host +
      " is Azure Managed Prometheus, which answers 401 \"Request does not contain an "
      "Authorization Header\" to every query without an Entra ID token; add an "
      "authenticationRef to a TriggerAuthentication with podIdentity.provider: azure-workload "
      "(ebb sends nothing until then)");
}

Result<BuiltTrigger> BuildPrometheus(const api::ScaledObject& so, size_t index,
                                     const api::ObjectLookup& lookup, const TriggerEnvironment& env) {
  const api::Trigger& t = so.spec.triggers[index];
  Result<prometheus::PrometheusConfig> config = prometheus::ParsePrometheusMetadata(t.metadata);
  if (!config.ok()) return config.status();
  EBB_RETURN_IF_ERROR(CheckAzureHostHasIdentity(t, *config));
  Result<auth::AuthorizerPtr> authorizer = ResolveAuthorizer(so, t, *config, lookup, env);
  if (!authorizer.ok()) return authorizer.status();
  BuiltTrigger out;
  out.index = index;
  out.name = TriggerName(t, index);
  out.type = t.type;
  out.target = config->threshold;
  out.activation_target = config->activation_threshold;
  out.metric_type = t.metric_type;
  out.prometheus = std::make_shared<const prometheus::PrometheusTrigger>(std::move(*config),
                                                                         std::move(*authorizer));
  return out;
}

}  // namespace

std::string TriggerName(const api::Trigger& trigger, size_t index) {
  return trigger.name.empty() ? std::to_string(index) : trigger.name;
}

api::Problems ValidateTriggers(const api::ScaledObject& so) {
  api::Problems problems;
  for (size_t i = 0; i < so.spec.triggers.size(); ++i) {
    const api::Trigger& t = so.spec.triggers[i];
    if (t.type != "prometheus") continue;  // api validation already rejected it
    Result<prometheus::PrometheusConfig> c = prometheus::ParsePrometheusMetadata(t.metadata);
    if (c.ok()) continue;
    // The message starts with "metadata.<key>: "; split it into the field.
    std::string message = c.status().message();
    std::string field = TriggerPath(i);
    size_t colon = message.find(": ");
    if (message.rfind("metadata.", 0) == 0 && colon != std::string::npos) {
      field += "." + message.substr(0, colon);
      message = message.substr(colon + 2);
    }
    problems.push_back(so.source.At("ScaledObject", so.metadata.Key(), field, message));
  }
  return problems;
}

Result<BuiltTrigger> BuildTrigger(const api::ScaledObject& so, size_t index,
                                  const api::ObjectLookup& lookup, const TriggerEnvironment& env) {
  const api::Trigger& t = so.spec.triggers.at(index);
  Result<BuiltTrigger> built = InvalidConfig("type \"" + t.type + "\" is not supported");
  if (t.type == "prometheus") built = BuildPrometheus(so, index, lookup, env);
  if (!built.ok()) return built.status().WithContext(TriggerPath(index));
  return built;
}

}  // namespace ebb::controller
