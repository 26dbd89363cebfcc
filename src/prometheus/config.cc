#include "prometheus/config.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "auth/static_auth.h"
#include "common/duration.h"
#include "common/secret.h"
#include "common/strings.h"
#include "http/url.h"

namespace ebb::prometheus {

namespace {

using Metadata = std::map<std::string, std::string>;

constexpr const char* kKnownKeys[] = {"serverAddress",   "query",
                                      "threshold",       "activationThreshold",
                                      "namespace",       "customHeaders",
                                      "queryParameters", "ignoreNullValues",
                                      "unsafeSsl",       "timeout",
                                      "authModes",       "authMode",
                                      "cloud",           "azureManagedPrometheusResourceURL",
                                      "awsRegion",       "identityOwner",
                                      "credentialsFromEnv", "credentialsFromEnvFile"};

Status KeyError(std::string_view key, std::string_view what) {
  return InvalidConfig("metadata." + std::string(key) + ": " + std::string(what));
}

std::string Quoted(std::string_view v) { return "\"" + std::string(v) + "\""; }

// The trimmed value, or nullopt when the key is absent or blank.
std::optional<std::string> Get(const Metadata& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end()) return std::nullopt;
  std::string v(Trim(it->second));
  if (v.empty()) return std::nullopt;
  return v;
}

Result<std::string> Required(const Metadata& m, const char* key, std::string_view example) {
  std::optional<std::string> v = Get(m, key);
  if (!v) return KeyError(key, "required (e.g. " + std::string(example) + ")");
  return *v;
}

Result<double> Number(const Metadata& m, const char* key, double fallback) {
  std::optional<std::string> v = Get(m, key);
  if (!v) return fallback;
  std::optional<double> d = ParseDouble(*v);
  if (!d) return KeyError(key, Quoted(*v) + " is not a number");
  return *d;
}

Result<bool> Bool(const Metadata& m, const char* key, bool fallback) {
  std::optional<std::string> v = Get(m, key);
  if (!v) return fallback;
  std::optional<bool> b = ParseBool(*v);
  if (!b) return KeyError(key, Quoted(*v) + " is not a boolean (use \"true\" or \"false\")");
  return *b;
}

Result<std::string> ServerAddress(const Metadata& m, std::vector<std::string>& warnings) {
  Result<std::string> raw = Required(m, "serverAddress", "\"http://prometheus.monitoring:9090\"");
  if (!raw.ok()) return raw.status();
  std::string text = *raw;
  size_t scheme_end = text.find("://");
  size_t auth_end = text.find_first_of("/?#", scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (text.substr(0, auth_end).find('@') != std::string::npos) {
    return KeyError("serverAddress",
                    Quoted(RedactUrl(text)) +
                        ": credentials in the URL are not supported; put them in a "
                        "TriggerAuthentication and set authModes: basic");
  }
  Result<http::Url> url = http::ParseUrl(text);
  if (!url.ok()) return KeyError("serverAddress", url.status().message());
  if (!url->query.empty() || text.find_first_of("?#") != std::string::npos) {
    return KeyError("serverAddress", Quoted(text) +
                                         " must not hold a query or fragment; use "
                                         "metadata.queryParameters for query parameters");
  }
  while (EndsWith(text, "/")) text.pop_back();
  for (const char* suffix : {"/api/v1", "/api/v1/query", "/api/v1/query_range"}) {
    if (EndsWith(text, suffix)) {
      warnings.push_back("metadata.serverAddress ends in " + std::string(suffix) +
                         ": ebb appends /api/v1/query itself, so requests go to " + text +
                         "/api/v1/query; drop the suffix unless that is intended");
    }
  }
  return text;
}

// KEDA's "k=v,k2=v2". Items are named by position, never echoed: values may
// be tenant ids or keys.
Result<KeyValueList> KeyValues(const Metadata& m, const char* key) {
  std::optional<std::string> v = Get(m, key);
  if (!v) return KeyValueList{};
  Result<KeyValueList> list = ParseKeyValueList(*v);
  if (list.ok()) return list;
  std::vector<std::string> items = Split(*v, ',');
  size_t index = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (Trim(items[i]).empty()) continue;
    ++index;
    std::string_view t = Trim(items[i]);
    size_t eq = t.find('=');
    if (eq == t.npos || Trim(t.substr(0, eq)).empty()) break;
  }
  return KeyError(key, "item " + std::to_string(index) +
                           " is not of the form name=value (expected \"k1=v1,k2=v2\")");
}

bool IsHeaderName(std::string_view name) {
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || kExtra.find(c) != std::string_view::npos;
  });
}

Result<KeyValueList> CustomHeaders(const Metadata& m) {
  Result<KeyValueList> headers = KeyValues(m, "customHeaders");
  if (!headers.ok()) return headers;
  for (const auto& [name, value] : *headers) {
    if (!IsHeaderName(name)) {
      return KeyError("customHeaders", Quoted(name) + " is not a valid HTTP header name");
    }
    if (value.find_first_of("\r\n") != std::string::npos || value.find('\0') != std::string::npos) {
      return KeyError("customHeaders", "the value of " + Quoted(name) + " contains a line break");
    }
  }
  return headers;
}

Result<KeyValueList> QueryParameters(const Metadata& m, std::vector<std::string>& warnings) {
  Result<KeyValueList> params = KeyValues(m, "queryParameters");
  if (!params.ok()) return params;
  for (const auto& [name, value] : *params) {
    if (name == "query" || name == "time") {
      warnings.push_back("metadata.queryParameters sets \"" + name +
                         "\", which ebb already sends; Prometheus uses the first value, ebb's");
    }
  }
  return params;
}

// KEDA's global HTTP timeout (KEDA_HTTP_DEFAULT_TIMEOUT's default).
constexpr std::chrono::milliseconds kDefaultTimeout{3000};

bool IsZeroDuration(std::string_view text) {
  if (std::optional<int64_t> ms = ParseInt(text)) return *ms == 0;
  Result<Duration> d = ParseGoDuration(text);
  return d.ok() && d->count() == 0;
}

Result<std::chrono::milliseconds> Timeout(const Metadata& m) {
  std::optional<std::string> v = Get(m, "timeout");
  // KEDA uses its global timeout unless the trigger's is greater than zero.
  if (!v || IsZeroDuration(*v)) return kDefaultTimeout;
  Result<Duration> d = ParseTimeout(*v);
  if (!d.ok()) return KeyError("timeout", d.status().message() + "; an integer is milliseconds");
  // Round sub-millisecond remainders up: a timeout never becomes 0.
  return std::chrono::ceil<std::chrono::milliseconds>(*d);
}

Result<std::vector<std::string>> AuthModes(const Metadata& m) {
  std::optional<std::string> modes = Get(m, "authModes");
  std::optional<std::string> alias = Get(m, "authMode");
  if (modes && alias && *modes != *alias) {
    return KeyError("authModes", "both authModes and authMode are set and differ; keep authModes");
  }
  Result<std::vector<std::string>> parsed =
      auth::ParseAuthModes(modes ? *modes : alias.value_or(""));
  if (!parsed.ok())
    return KeyError(modes || !alias ? "authModes" : "authMode", parsed.status().message());
  return parsed;
}

Status Cloud(const Metadata& m, PrometheusConfig& c) {
  std::optional<std::string> cloud = Get(m, "cloud");
  c.azure_managed_prometheus_resource_url =
      Get(m, "azureManagedPrometheusResourceURL").value_or("");
  if (!cloud) return Status::Ok();
  for (const char* name :
       {kCloudAzurePublic, kCloudAzureUsGovernment, kCloudAzureChina, kCloudPrivate}) {
    if (ToLower(*cloud) == ToLower(name)) c.cloud = name;
  }
  if (ToLower(*cloud) != ToLower(c.cloud)) {
    return KeyError("cloud", Quoted(*cloud) +
                                 " is not a cloud ebb knows; use AzurePublicCloud, "
                                 "AzureUSGovernmentCloud, AzureChinaCloud or Private");
  }
  if (c.cloud == kCloudPrivate && c.azure_managed_prometheus_resource_url.empty()) {
    return KeyError("azureManagedPrometheusResourceURL", "required when cloud is Private");
  }
  return Status::Ok();
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                  std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

void WarnUnknownKeys(const Metadata& m, std::vector<std::string>& warnings) {
  for (const auto& [key, value] : m) {
    if (std::find(std::begin(kKnownKeys), std::end(kKnownKeys), key) != std::end(kKnownKeys))
      continue;
    std::string w = "metadata." + key + " is not a prometheus trigger key and is ignored";
    for (const char* known : kKnownKeys) {
      if (EditDistance(key, known) <= 2) {
        w += " (did you mean " + std::string(known) + "?)";
        break;
      }
    }
    warnings.push_back(std::move(w));
  }
}

// Keys that ask for a cloud credential ebb cannot produce yet. Ignoring them
// (with a warning) would send the query unauthenticated, so each is refused
// with the field named.
Status RefuseUnsupportedCloudAuth(const Metadata& m) {
  for (const char* key : {"credentialsFromEnv", "credentialsFromEnvFile"}) {
    if (!Get(m, key)) continue;
    return KeyError(key, "Google service-account credentials for Google Cloud Managed Service for "
                         "Prometheus are not supported by ebb yet, and ebb never sends the query "
                         "without the credential it was asked to use; remove the trigger or use a "
                         "Prometheus endpoint ebb can authenticate to");
  }
  return Status::Ok();
}

// Fills the fields that have defaults; the required ones are done by the caller.
Status ParseOptional(const Metadata& m, PrometheusConfig& c) {
  Result<double> activation = Number(m, "activationThreshold", 0);
  if (!activation.ok()) return activation.status();
  c.activation_threshold = *activation;
  c.namespace_name = Get(m, "namespace").value_or("");
  Result<KeyValueList> headers = CustomHeaders(m);
  if (!headers.ok()) return headers.status();
  c.custom_headers = std::move(headers).value();
  Result<KeyValueList> params = QueryParameters(m, c.warnings);
  if (!params.ok()) return params.status();
  c.query_parameters = std::move(params).value();
  Result<bool> ignore = Bool(m, "ignoreNullValues", true);
  if (!ignore.ok()) return ignore.status();
  c.ignore_null_values = *ignore;
  Result<bool> unsafe = Bool(m, "unsafeSsl", false);
  if (!unsafe.ok()) return unsafe.status();
  c.unsafe_ssl = *unsafe;
  Result<std::chrono::milliseconds> timeout = Timeout(m);
  if (!timeout.ok()) return timeout.status();
  c.timeout = *timeout;
  Result<std::vector<std::string>> modes = AuthModes(m);
  if (!modes.ok()) return modes.status();
  c.auth_modes = std::move(modes).value();
  EBB_RETURN_IF_ERROR(Cloud(m, c));
  c.aws_region = Get(m, "awsRegion").value_or("");
  c.identity_owner = Get(m, "identityOwner").value_or("");
  return Status::Ok();
}

}  // namespace

Result<PrometheusConfig> ParsePrometheusMetadata(const Metadata& metadata) {
  PrometheusConfig c;
  Result<std::string> server = ServerAddress(metadata, c.warnings);
  if (!server.ok()) return server.status();
  c.server_address = *server;
  Result<std::string> query = Required(metadata, "query", "\"sum(rate(http_requests_total[2m]))\"");
  if (!query.ok()) return query.status();
  c.query = *query;
  Result<std::string> threshold = Required(metadata, "threshold", "\"100\"");
  if (!threshold.ok()) return threshold.status();
  std::optional<double> t = ParseDouble(*threshold);
  if (!t) return KeyError("threshold", Quoted(*threshold) + " is not a number");
  if (*t <= 0) return KeyError("threshold", Quoted(*threshold) + " must be greater than 0");
  c.threshold = *t;
  EBB_RETURN_IF_ERROR(RefuseUnsupportedCloudAuth(metadata));
  EBB_RETURN_IF_ERROR(ParseOptional(metadata, c));
  WarnUnknownKeys(metadata, c.warnings);
  return c;
}

}  // namespace ebb::prometheus
