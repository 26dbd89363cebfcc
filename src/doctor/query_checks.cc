// query.*: the query sent exactly as the operator sends it (the trigger's
// request, through the trigger's Authorizer), its HTTP status explained,
// and the shape of its result.
#include <cmath>
#include <future>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>

#include "auth/azure_scope.h"
#include "common/strings.h"
#include "doctor/checks.h"
#include "http/url.h"
#include "prometheus/request.h"
#include "prometheus/response.h"

namespace ebb::doctor {

namespace {

using json = nlohmann::json;

// How many label sets a many-element answer lists.
constexpr size_t kMaxLabelSets = 5;

bool IsAzureHost(const prometheus::PrometheusConfig& c) {
  Result<http::Url> u = http::ParseUrl(c.server_address);
  return u.ok() && auth::IsAzureManagedPrometheusHost(u->host);
}

std::string ClientIdOf(const TriggerUnderTest& t) {
  if (t.workload) return t.workload->client_id;
  if (t.imds && !t.imds->client_id.empty()) return t.imds->client_id;
  return "<client id of the identity>";
}

// Amazon and Google say in their 403 which link is broken; the fix for
// each (facts/aws-gcp.md). nullopt for any other answer.
std::optional<std::string> CloudForbiddenFix(const std::string& body) {
  struct Known {
    const char* says;
    const char* fix;
  };
  static constexpr Known kKnown[] = {
      {"signature we calculated does not match",
       "SignatureDoesNotMatch: the secret key is wrong, or something between ebb and AMP rewrote the URL after "
       "signing (a proxy or gateway re-encoding the query); ebb sends the query exactly as signed"},
      {"Signature expired", "the clock of the machine running ebb is more than 5 minutes off: sync it (NTP)"},
      {"Signature not yet current", "the clock of the machine running ebb is ahead: sync it (NTP)"},
      {"scoped to a valid region", "set metadata.awsRegion to the workspace's region (the REGION in "
                                   "aps-workspaces.REGION.amazonaws.com)"},
      {"aps:QueryMetrics", "allow aps:QueryMetrics on the workspace to the role ebb signs with (for example the "
                           "AmazonPrometheusQueryAccess managed policy)"},
      {"security token included in the request is invalid", "the access key id or session token is not valid "
                                                             "in this account: check the keys or the role"},
      {"monitoring.timeSeries.list denied", "grant roles/monitoring.viewer on the project to the Google service "
                                            "account ebb uses (gcloud projects add-iam-policy-binding PROJECT "
                                            "--member serviceAccount:EMAIL --role roles/monitoring.viewer)"},
      {"insufficient authentication scopes", "the token lacks https://www.googleapis.com/auth/monitoring.read"},
  };
  for (const Known& k : kKnown) {
    if (body.find(k.says) != std::string::npos) return std::string(k.fix);
  }
  return std::nullopt;
}

std::string FixForStatus(int status, const TriggerUnderTest& t) {
  bool azure = IsAzureHost(*t.config);
  switch (status) {
    case 401:
      return azure ? "Azure Managed Prometheus needs an Entra ID token whose audience is its "
                     "cloud's resource (https://prometheus.monitor.azure.com, .azure.us or "
                     ".azure.cn as the host): check metadata.cloud and "
                     "azureManagedPrometheusResourceURL, and that an azure-workload "
                     "TriggerAuthentication is referenced"
                   : "check the credential the TriggerAuthentication provides and the "
                     "authModes that apply it";
    case 403:
      return azure ? "grant the identity the \"Monitoring Data Reader\" role on the Azure Monitor "
                     "workspace: az role assignment create --role \"Monitoring Data Reader\" "
                     "--assignee " +
                         ClientIdOf(t) +
                         " --scope <workspace resource id>; assignments take a few minutes to "
                         "apply"
                   : "the credential is accepted but lacks permission: grant it read access";
    case 404:
      return "serverAddress must be the base URL: the query goes to {serverAddress}/api/v1/query, "
             "so serverAddress must not end in /api/v1; check any path prefix a proxy needs";
    case 400:
    case 422:
      return "fix the PromQL at the position Prometheus names (try it in the Prometheus UI)";
    case 408:
    case 504:
      return "raise metadata.timeout or make the query cheaper";
    default:
      return status == 429 || status >= 500 ? "a server-side or transient failure: retry later"
                                            : "check serverAddress";
  }
}

CheckResult StatusFromFailure(const Status& s, const TriggerUnderTest& t, CheckResult r) {
  r.status = CheckResult::kFail;
  if (s.code() == StatusCode::kDeadlineExceeded) {
    r.detail = s.message();
    r.fix = "raise metadata.timeout (now " + std::to_string(t.config->timeout.count()) +
            " ms) or make the query cheaper; if nothing answers at all, a NetworkPolicy or "
            "egress rule drops the traffic to the host and port of serverAddress";
    return r;
  }
  // The token authorizer's "401 twice with a fresh token" names what was
  // sent and the token's audience.
  SetCauseAndFix(r, s.message(),
                 s.code() == StatusCode::kUnauthenticated ? FixForStatus(401, t) : "see the cause");
  return r;
}

// The answer comes from whatever serverAddress names: every member is read
// with its type checked (json::value throws on a mismatch).
const json& MemberOfType(const json& j, const char* key, json::value_t type) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it != j.end() && it->type() == type ? *it : kNull;
}

// A result element's metric: its labels, or an empty object.
json MetricOf(const json& element) {
  const json& m = MemberOfType(element, "metric", json::value_t::object);
  return m.is_object() ? m : json::object();
}

// {k="v", ...} of a result element's metric.
std::string LabelSet(const json& metric) {
  std::string out;
  if (metric.is_object()) {
    for (const auto& [k, v] : metric.items()) {
      out += (out.empty() ? "" : ", ") + k + "=\"" +
             (v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, json::error_handler_t::replace)) + "\"";
    }
  }
  return "{" + out + "}";
}

// Labels whose values differ between elements: what to aggregate away.
std::string DifferingLabels(const json& result) {
  std::set<std::string> names, differ;
  for (const json& e : result) {
    const json metric = MetricOf(e);  // named: items() of a temporary would dangle
    for (const auto& [k, v] : metric.items()) names.insert(k);
  }
  for (const std::string& n : names) {
    std::set<std::string> values;
    for (const json& e : result) {
      const json metric = MetricOf(e);
      const json& v = MemberOfType(metric, n.c_str(), json::value_t::string);
      values.insert(v.is_string() ? v.get<std::string>() : std::string());
    }
    if (values.size() > 1) differ.insert(n);
  }
  std::string out;
  for (const std::string& d : differ) out += (out.empty() ? "" : ", ") + d;
  return out;
}

CheckResult EmptyResult(CheckResult r, const TriggerUnderTest& t, const std::string& what) {
  if (t.config->ignore_null_values) {
    r.status = CheckResult::kWarn;
    r.detail = what +
               ": with ignoreNullValues true (the default) it counts as 0, so the trigger "
               "is never active and the ScaledObject goes to its minimum (or zero)";
    r.fix =
        "check the metric name, labels and that the series is still being written; set "
        "ignoreNullValues: \"false\" to make an empty answer an error instead";
  } else {
    r.status = CheckResult::kFail;
    r.detail = what + ": with ignoreNullValues false every poll fails (fallback replicas apply)";
    r.fix = "check the metric name, labels and that the series is still being written";
  }
  return r;
}

bool IsNullValue(const json& sample) {
  if (!sample.is_array() || sample.size() != 2 || !sample[1].is_string()) return false;
  std::string v = ToLower(sample[1].get<std::string>());
  return v == "nan" || v == "+inf" || v == "-inf" || v == "inf";
}

CheckResult CheckVector(CheckResult r, const TriggerUnderTest& t, const json& result) {
  if (result.empty()) return EmptyResult(std::move(r), t, "the query returns an empty vector");
  if (result.size() == 1) {
    const json& e = result[0];
    const json& sample = MemberOfType(e, "value", json::value_t::array);
    if (IsNullValue(sample)) {
      return EmptyResult(std::move(r), t, "the query's only element is " + sample[1].get<std::string>());
    }
    r.detail = "one element " + LabelSet(MetricOf(e));
    return r;
  }
  r.status = CheckResult::kFail;
  std::string sets;
  for (size_t i = 0; i < result.size() && i < kMaxLabelSets; ++i) {
    sets += (sets.empty() ? "" : ", ") + LabelSet(MetricOf(result[i]));
  }
  if (result.size() > kMaxLabelSets) sets += ", ...";
  r.detail = "the query returns " + std::to_string(result.size()) +
             " elements, and a trigger needs exactly one: " + sets;
  std::string labels = DifferingLabels(result);
  r.fix = "aggregate to one element, e.g. sum(...) or max(...)" +
          (labels.empty() ? std::string() : " (the labels that differ: " + labels + ")") +
          ", or select one series with a label matcher";
  return r;
}

CheckResult CheckShape(const std::string& body, TriggerUnderTest& t, const std::string& scope) {
  CheckResult r = NewCheck("query.shape", scope);
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  const json* data = j.is_object() && j.contains("data") ? &j["data"] : nullptr;
  if (data == nullptr || !data->is_object()) {
    r.status = CheckResult::kFail;
    r.detail = "the answer is not a Prometheus query answer (no data object)";
    r.fix = "check that serverAddress is a Prometheus-compatible API";
    return r;
  }
  const json& type_member = MemberOfType(*data, "resultType", json::value_t::string);
  std::string type = type_member.is_string() ? type_member.get<std::string>() : "vector";
  const json& result_member = MemberOfType(*data, "result", json::value_t::array);
  const json result = result_member.is_array() ? result_member : json::array();
  if (type == "matrix") {
    r.status = CheckResult::kFail;
    r.detail = "the query returns a range vector (matrix): KEDA reads it as 0, ebb refuses it";
    r.fix =
        "wrap the range selector in a function that returns an instant vector, e.g. "
        "rate(x[1m]) or avg_over_time(x[5m]), and aggregate it to one element";
    return r;
  }
  if (type == "string") {
    r.status = CheckResult::kFail;
    r.detail = "the query returns a string";
    r.fix = "the query must return a number: one vector element or a scalar";
    return r;
  }
  if (type == "scalar") {
    if (IsNullValue(result)) return EmptyResult(std::move(r), t, "the query returns a NaN scalar");
    r.detail = "a scalar";
  } else {
    r = CheckVector(std::move(r), t, result);
    if (r.status == CheckResult::kFail) return r;
  }
  Result<prometheus::QueryResult> value =
      prometheus::ParseQueryResponse(body, t.config->ignore_null_values);
  if (!value.ok()) {
    r.status = CheckResult::kFail;
    SetCauseAndFix(r, value.status().message(), "see the cause");
    return r;
  }
  t.value = value->value;
  r.detail += ", value " + FormatDouble(value->value);
  return r;
}

}  // namespace

std::vector<CheckResult> CheckQuery(TriggerUnderTest& t, const DoctorContext& ctx) {
  std::string scope = t.Scope();
  CheckResult status = NewCheck("query.status", scope);
  Time when = ctx.query_time.value_or(ctx.clock->Now());
  http::HttpRequest request = prometheus::BuildQueryRequest(*t.config, when);
  auto promise = std::make_shared<std::promise<Result<http::HttpResponse>>>();
  std::future<Result<http::HttpResponse>> answer = promise->get_future();
  t.authorizer->Send(*ctx.client, std::move(request),
                     [promise](Result<http::HttpResponse> r) { promise->set_value(std::move(r)); });
  Result<http::HttpResponse> response = answer.get();
  std::string sent = t.authorizer->Describe();
  std::string endpoint = prometheus::QueryEndpoint(*t.config);
  if (!response.ok()) return {StatusFromFailure(response.status(), t, std::move(status))};
  if (response->status / 100 != 2) {
    Status s = prometheus::HttpErrorStatus(response->status, response->body, sent);
    status.status = CheckResult::kFail;
    status.detail = endpoint + ": " + s.message();
    status.fix = response->status == 403 ? CloudForbiddenFix(response->body).value_or(FixForStatus(403, t))
                                         : FixForStatus(response->status, t);
    return {status};
  }
  status.detail =
      "HTTP " + std::to_string(response->status) + " from " + endpoint + " with " + sent;
  return {status, CheckShape(response->body, t, scope)};
}

}  // namespace ebb::doctor
