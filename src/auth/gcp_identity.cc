#include "auth/gcp_identity.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "auth/gcp_credentials.h"
#include "auth/token_authorizer.h"
#include "common/strings.h"

namespace ebb::auth {

namespace {

std::string Lookup(const Environment& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() ? "" : std::string(Trim(it->second));
}

Result<std::string> ReadKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidConfig(std::string(kEnvGoogleApplicationCredentials) + " names " + path +
                         ", which cannot be read (" + std::strerror(errno) +
                         "). Fix: mount the key file's Secret there, or unset the variable to use the metadata server");
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> Destinations(const GcpIdentityInput& in) {
  std::vector<std::string> all = {kGoogleManagedPrometheusHost};
  all.insert(all.end(), in.destinations.begin(), in.destinations.end());
  return all;
}

Result<AuthorizerPtr> WithKey(Result<ServiceAccountKey> key, const GcpIdentityInput& in) {
  if (!key.ok()) return key.status().WithContext(in.who);
  EBB_RETURN_IF_ERROR(CheckTokenUri(*key, TokenDestinations(in.destinations), in.allow_insecure));
  auto source = std::make_shared<ServiceAccountKeyTokenSource>(std::move(*key), kMonitoringReadScope, *in.clock);
  TokenAuthorizerOptions o{in.allow_insecure, TokenDestinations(Destinations(in))};
  return AuthorizerPtr(std::make_shared<TokenAuthorizer>(in.cache, source, o));
}

}  // namespace

Environment GcpEnvironmentFromProcess() {
  Environment env;
  for (const char* name : {kEnvGoogleApplicationCredentials, kEnvGceMetadataHost}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') env[name] = v;
  }
  return env;
}

Result<AuthorizerPtr> GcpPodIdentityAuthorizer(const GcpIdentityInput& in) {
  if (!in.cache || !in.clock) return Internal("no token cache configured for Google identities");
  const std::string file = Lookup(in.env, kEnvGoogleApplicationCredentials);
  if (!file.empty()) {
    Result<std::string> text = ReadKeyFile(file);
    if (!text.ok()) return text.status().WithContext(in.who);
    return WithKey(ParseServiceAccountKey(*text, std::string(kEnvGoogleApplicationCredentials) + " file " + file), in);
  }
  std::string host = Lookup(in.env, kEnvGceMetadataHost);
  if (host.empty()) host = kDefaultGceMetadataHost;
  auto source = std::make_shared<GceMetadataTokenSource>(host, kMonitoringReadScope, *in.clock);
  TokenAuthorizerOptions o{in.allow_insecure, TokenDestinations(Destinations(in))};
  return AuthorizerPtr(std::make_shared<TokenAuthorizer>(in.cache, source, o));
}

Result<AuthorizerPtr> GcpKeyParamAuthorizer(const SecretString& key_json, const GcpIdentityInput& in) {
  if (!in.cache || !in.clock) return Internal("no token cache configured for Google identities");
  return WithKey(ParseServiceAccountKey(key_json.Reveal(), "parameter GoogleApplicationCredentials"), in);
}

}  // namespace ebb::auth
