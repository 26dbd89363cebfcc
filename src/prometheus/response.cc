#include "prometheus/response.h"

#include <simdjson.h>

#include <cmath>

#include "common/strings.h"

namespace ebb::prometheus {

namespace {

namespace dom = simdjson::dom;

constexpr size_t kMaxErrorText = 300;  // bytes of Prometheus's `error` we quote
constexpr size_t kMaxLabelSets = 3;    // label sets named when a query returns several
constexpr size_t kMaxLabelSetText = 160;

// One parser per thread: its buffers are reused across calls, and the
// elements it returns stay valid until the next parse on the same thread.
dom::parser& Parser() {
  thread_local dom::parser parser;
  return parser;
}

// Replaces control characters and cuts at `max` bytes without splitting a
// UTF-8 sequence.
std::string Clean(std::string_view s, size_t max = kMaxErrorText) {
  bool cut = s.size() > max;
  if (cut) {
    size_t end = max;
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
    s = s.substr(0, end);
  }
  std::string out;
  out.reserve(s.size() + 3);
  for (char c : s) out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  return cut ? out + "..." : out;
}

std::optional<dom::element> Field(dom::object o, std::string_view key) {
  dom::element e;
  if (o.at_key(key).get(e)) return std::nullopt;
  return e;
}

std::optional<std::string_view> StringField(dom::object o, std::string_view key) {
  std::optional<dom::element> e = Field(o, key);
  std::string_view s;
  if (!e || e->get_string().get(s)) return std::nullopt;
  return s;
}

Status NotJson(std::string_view body) {
  std::string hint;
  std::string_view t = Trim(body);
  if (t.empty()) {
    hint = ": the body is empty";
  } else if (t.front() == '<') {
    hint =
        ": it looks like HTML; does metadata.serverAddress point at Prometheus's API (not a "
        "login page, the UI or a proxy's error page)?";
  }
  return Internal("Prometheus's answer is not JSON (" + std::to_string(body.size()) + " bytes)" +
                  hint);
}

Status CodeForErrorType(std::string_view error_type, std::string message) {
  if (error_type == "bad_data" || error_type == "execution")
    return InvalidConfig(std::move(message));
  if (error_type == "timeout") return DeadlineExceeded(std::move(message));
  if (error_type == "canceled" || error_type == "unavailable")
    return Unavailable(std::move(message));
  if (error_type == "not_found") return NotFound(std::move(message));
  return Internal(std::move(message));
}

// " (errorType \"bad_data\": \"parse error ...\")", or "".
std::string ErrorDetails(const std::optional<PrometheusError>& e) {
  if (!e) return "";
  std::string parts;
  if (!e->error_type.empty()) parts = "errorType \"" + e->error_type + "\"";
  if (!e->error.empty()) parts += (parts.empty() ? "" : ": ") + std::string("\"") + e->error + "\"";
  return " (" + parts + ")";
}

std::optional<PrometheusError> ErrorFromObject(dom::object root) {
  PrometheusError e;
  e.error_type = Clean(StringField(root, "errorType").value_or(""), 64);
  if (std::optional<dom::element> err = Field(root, "error")) {
    std::string_view s;
    dom::object o;
    if (!err->get_string().get(s)) {
      e.error = Clean(s);
    } else if (!err->get_object().get(o)) {  // {"error":{"code":..,"message":..}}
      std::string code(StringField(o, "code").value_or(""));
      std::string message(StringField(o, "message").value_or(""));
      e.error = Clean(code.empty() || message.empty() ? code + message : code + ": " + message);
    }
  }
  if (e.error_type.empty() && e.error.empty()) {
    // Amazon Managed Prometheus (API Gateway style): {"message": "..."}.
    e.error = Clean(StringField(root, "message").value_or(""));
  }
  if (e.error_type.empty() && e.error.empty()) return std::nullopt;
  return e;
}

// The `data.resultType` and `data.result` of a success body.
struct Envelope {
  std::string_view result_type;  // "" when absent (read as vector)
  std::optional<dom::element> result;
};

Result<Envelope> ReadEnvelope(std::string_view body) {
  dom::element doc;
  if (Parser().parse(body.data(), body.size()).get(doc)) return NotJson(body);
  dom::object root;
  if (doc.get_object().get(root)) return Internal("Prometheus's answer is JSON but not an object");
  if (StringField(root, "status").value_or("") == "error") {
    std::optional<PrometheusError> e = ErrorFromObject(root);
    std::string type = e ? e->error_type : "";
    return CodeForErrorType(type, "Prometheus returned an error" + ErrorDetails(e));
  }
  Envelope env;
  std::optional<dom::element> data = Field(root, "data");
  if (!data || data->is_null()) return env;
  dom::object data_obj;
  if (data->get_object().get(data_obj))
    return Internal("Prometheus's answer has a `data` that is not an object");
  env.result_type = StringField(data_obj, "resultType").value_or("");
  env.result = Field(data_obj, "result");
  if (env.result && env.result->is_null()) env.result.reset();
  return env;
}

// `up{job="api", instance="a:9090"}`; label values escaped as PromQL does.
std::string LabelSet(dom::element series) {
  dom::object metric;
  if (series["metric"].get(metric)) return "{}";
  std::string name(StringField(metric, "__name__").value_or(""));
  std::string labels;
  for (dom::key_value_pair kv : metric) {
    std::string_view v;
    if (kv.key == "__name__" || kv.value.get_string().get(v)) continue;
    std::string escaped;
    for (char c : v) escaped += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    labels += (labels.empty() ? "" : ", ") + std::string(kv.key) + "=\"" + escaped + "\"";
  }
  return Clean(name + "{" + labels + "}", kMaxLabelSetText);
}

Status TooManySeries(dom::array result, std::string_view what) {
  std::string sets;
  size_t shown = 0;
  for (dom::element series : result) {
    if (shown == kMaxLabelSets) break;
    sets += (sets.empty() ? "" : ", ") + LabelSet(series);
    ++shown;
  }
  size_t more = result.size() - shown;
  if (more > 0) sets += " and " + std::to_string(more) + " more";
  return InvalidConfig(
      "query returns " + std::to_string(result.size()) + " " + std::string(what) +
      ", but a trigger needs exactly one: " + sets +
      "; aggregate them, e.g. sum(...) or max(...), or select one with a label matcher");
}

Result<QueryResult> NoValue(bool ignore_null_values, std::string why) {
  if (ignore_null_values) return QueryResult{0, true};
  return Unavailable(why + " and ignoreNullValues is false (set it to true to read this as 0)");
}

// A sample value: Prometheus sends a string ("1.5", "NaN", "+Inf"); some
// proxies send a number.
Result<QueryResult> SampleValue(dom::element v, bool ignore_null_values) {
  if (v.is_null()) return Internal("Prometheus's answer has a null sample value");
  double d = 0;
  std::string_view s;
  if (!v.get_string().get(s)) {
    if (s == "NaN") return NoValue(ignore_null_values, "query returned NaN");
    if (s == "+Inf" || s == "Inf" || s == "-Inf")
      return NoValue(ignore_null_values, "query returned " + std::string(s));
    std::optional<double> parsed = ParseDouble(s);
    if (!parsed)
      return Internal("Prometheus's sample value \"" + Clean(s, 40) + "\" is not a number");
    return QueryResult{*parsed, false};
  }
  if (!v.get_double().get(d)) return QueryResult{d, false};  // also converts integers
  return Internal("Prometheus's sample value is neither a string nor a number");
}

// `[ts, "v"]` of a vector element or a scalar result.
Result<QueryResult> PairValue(dom::element pair, bool ignore_null_values) {
  dom::array a;
  if (pair.get_array().get(a)) return Internal("Prometheus's sample is not a [time, value] pair");
  if (a.size() == 0) return NoValue(ignore_null_values, "query returned a sample without a value");
  if (a.size() < 2) return Internal("Prometheus's sample has a time but no value");
  return SampleValue(a.at(1).value_unsafe(), ignore_null_values);
}

Result<QueryResult> VectorValue(const std::optional<dom::element>& result,
                                bool ignore_null_values) {
  if (!result) return NoValue(ignore_null_values, "query returned an empty result");
  dom::array series;
  if (result->get_array().get(series)) return Internal("Prometheus's data.result is not a list");
  if (series.size() == 0) return NoValue(ignore_null_values, "query returned an empty result");
  if (series.size() > 1) return TooManySeries(series, "series");
  dom::object sample;
  if (series.at(0).get(sample)) return Internal("Prometheus's data.result[0] is not an object");
  if (std::optional<dom::element> value = Field(sample, "value"))
    return PairValue(*value, ignore_null_values);
  if (Field(sample, "histogram")) {
    return InvalidConfig(
        "query returns a native histogram; reduce it to a number, e.g. "
        "histogram_quantile(0.9, ...), histogram_count(...) or histogram_sum(...)");
  }
  return NoValue(ignore_null_values, "query returned a sample without a value");
}

Status RangeVectorError() {
  return InvalidConfig(
      "query returns a range vector (resultType matrix); wrap it, e.g. in "
      "rate(...[2m]) or avg_over_time(...[2m]), so that it returns one value");
}

Result<RangePoint> RangePointOf(dom::element pair, bool ignore_null_values) {
  dom::array a;
  double ts = 0;
  if (pair.get_array().get(a) || a.size() < 2 || a.at(0).get_double().get(ts)) {
    return Internal("Prometheus's range sample is not a [time, value] pair");
  }
  Result<QueryResult> v = SampleValue(a.at(1).value_unsafe(), ignore_null_values);
  if (!v.ok()) return v.status();
  return RangePoint{FromUnixSeconds(ts), v->value};
}

}  // namespace

Result<QueryResult> ParseQueryResponse(std::string_view body, bool ignore_null_values) {
  Result<Envelope> env = ReadEnvelope(body);
  if (!env.ok()) return env.status();
  std::string_view type = env->result_type;
  if (type.empty() || type == "vector") return VectorValue(env->result, ignore_null_values);
  if (type == "scalar") {
    if (!env->result) return NoValue(ignore_null_values, "query returned an empty scalar");
    return PairValue(*env->result, ignore_null_values);
  }
  if (type == "matrix") return RangeVectorError();
  if (type == "string") {
    return InvalidConfig(
        "query returns a string; a trigger needs a number (an instant vector of "
        "one sample, or a scalar)");
  }
  return Internal("Prometheus's answer has an unknown resultType \"" + Clean(type, 32) + "\"");
}

Result<std::vector<RangePoint>> ParseRangeResponse(std::string_view body, bool ignore_null_values) {
  Result<Envelope> env = ReadEnvelope(body);
  if (!env.ok()) return env.status();
  if (!env->result_type.empty() && env->result_type != "matrix") {
    return Internal("Prometheus answered a range query with resultType \"" +
                    Clean(env->result_type, 32) + "\" instead of matrix");
  }
  std::vector<RangePoint> points;
  dom::array series;
  if (!env->result) return points;
  if (env->result->get_array().get(series))
    return Internal("Prometheus's data.result is not a list");
  if (series.size() == 0) return points;
  if (series.size() > 1) return TooManySeries(series, "series");
  dom::array values;
  if (series.at(0)["values"].get(values)) return points;
  for (dom::element pair : values) {
    Result<RangePoint> p = RangePointOf(pair, ignore_null_values);
    if (!p.ok()) return p.status();
    points.push_back(*p);
  }
  return points;
}

std::optional<PrometheusError> ParseErrorBody(std::string_view body) {
  dom::element doc;
  dom::object root;
  if (Parser().parse(body.data(), body.size()).get(doc) || doc.get_object().get(root))
    return std::nullopt;
  return ErrorFromObject(root);
}

namespace {

std::string ReasonPhrase(int status) {
  switch (status) {
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

bool SentNothing(const std::string& credential_description) {
  return credential_description.empty() || StartsWith(credential_description, "no credentials");
}

std::string CredentialSentence(int status, const std::string& sent) {
  if (SentNothing(sent)) {
    return "; ebb sent no credentials: the trigger has no authenticationRef (or its "
           "TriggerAuthentication applies none). Add a TriggerAuthentication with the server's "
           "credential (authModes basic, bearer, tls or custom with its parameters, or "
           "podIdentity, "
           "e.g. azure-workload for Azure Managed Prometheus) and reference it from the trigger";
  }
  if (status == 401) {
    return "; ebb sent " + sent +
           ", which the server did not accept: check that it is the right "
           "credential for this server, still valid and not expired";
  }
  if (sent.find("signed with SigV4") != std::string::npos) {
    return "; ebb sent a request signed with " + sent +
           ", which AWS refused: read the message above (a signature, region or clock "
           "problem names itself; otherwise grant the identity aps:QueryMetrics on the "
           "workspace, e.g. the AmazonPrometheusQueryAccess policy)";
  }
  return "; ebb sent " + sent +
         ", which authenticated but is not allowed to query: grant it read "
         "access (for Azure Managed Prometheus, the Monitoring Data Reader role on the Azure "
         "Monitor workspace)";
}

}  // namespace

Status HttpErrorStatus(int http_status, std::string_view body,
                       const std::string& credential_description) {
  std::string phrase = ReasonPhrase(http_status);
  std::string head = "Prometheus answered " + std::to_string(http_status) +
                     (phrase.empty() ? "" : " " + phrase) + ErrorDetails(ParseErrorBody(body));
  switch (http_status) {
    case 401:
      return Unauthenticated(head + CredentialSentence(401, credential_description));
    case 403:
      return PermissionDenied(head + CredentialSentence(403, credential_description));
    case 400:
    case 422:
      return InvalidConfig(head + ": Prometheus rejected the query; fix metadata.query");
    case 404:
      return NotFound(
          head +
          ": there is no Prometheus API at this address; check metadata.serverAddress "
          "(ebb queries {serverAddress}/api/v1/query: include a path prefix your server "
          "has, such as /prometheus, but not /api/v1)");
    case 408:
    case 504:
      return DeadlineExceeded(head);
  }
  if (http_status == 429 || http_status / 100 == 5) return Unavailable(head);
  if (http_status / 100 == 3) {
    return InvalidConfig(head +
                         ": a redirect to another host or from https to http, which ebb does "
                         "not follow so that credentials stay with the server they are for; set "
                         "metadata.serverAddress to the final address");
  }
  if (http_status / 100 == 4) return InvalidConfig(head);
  return Internal(head);
}

}  // namespace ebb::prometheus
