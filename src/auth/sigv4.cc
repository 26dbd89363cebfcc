#include "auth/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "common/strings.h"
#include "http/url.h"

namespace ebb::auth {

namespace {

constexpr char kTerminator[] = "aws4_request";

std::string Hex(const unsigned char* data, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 0xf];
  }
  return out;
}

// Raw HMAC-SHA256 of `data` under `key`.
std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &size);
  return std::string(reinterpret_cast<const char*>(out), size);
}

bool IsUnreserved(unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~'; }

std::string EncodePath(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    if (IsUnreserved(c) || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

// RFC 3986 remove_dot_segments plus collapsing empty segments, keeping a
// trailing slash.
std::string NormalizePath(std::string_view path) {
  std::vector<std::string> kept;
  for (const std::string& segment : Split(path, '/')) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
      continue;
    }
    kept.push_back(segment);
  }
  std::string out;
  for (const std::string& s : kept) out += "/" + s;
  const bool trailing = EndsWith(path, "/") || EndsWith(path, "/.") || EndsWith(path, "/..");
  if (out.empty() || trailing) out += "/";
  return out;
}

// Trimmed, with every run of whitespace (line folds included) one space.
std::string CanonicalHeaderValue(std::string_view value) {
  std::string out;
  bool space = false;
  for (char c : Trim(value)) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string HostHeader(const http::Url& url) {
  const int default_port = url.scheme == "https" ? 443 : 80;
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (url.port != default_port) host += ":" + std::to_string(url.port);
  return host;
}

bool IsSigningHeader(const http::Header& h) {
  return http::HeaderNameEquals(h.name, "Authorization") || http::HeaderNameEquals(h.name, "X-Amz-Date") ||
         http::HeaderNameEquals(h.name, "X-Amz-Security-Token") || http::HeaderNameEquals(h.name, "Host") ||
         http::HeaderNameEquals(h.name, "X-Amz-Content-Sha256");
}

Status ValidateInputs(const AwsCredentials& c, const SigV4Options& o) {
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return InvalidConfig("AWS credentials without an access key id or secret access key cannot sign a request");
  }
  if (o.region.empty()) {
    return InvalidConfig("no AWS region to sign the request for: set awsRegion in the trigger's metadata "
                         "(AWS answers \"Credential should be scoped to a valid region\" otherwise)");
  }
  if (o.service.empty()) return InvalidConfig("no AWS service name to sign the request for");
  return Status::Ok();
}

}  // namespace

std::string FormatAmzDate(Time t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

bool ParseAmzDate(std::string_view text, Time* out) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return false;
  for (size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14}) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  std::string rfc = std::string(text.substr(0, 4)) + "-" + std::string(text.substr(4, 2)) + "-" +
                    std::string(text.substr(6, 2)) + "T" + std::string(text.substr(9, 2)) + ":" +
                    std::string(text.substr(11, 2)) + ":" + std::string(text.substr(13, 2)) + "Z";
  return ParseRfc3339(rfc, out);
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string CanonicalUri(std::string_view path, bool normalize) {
  if (path.empty()) return "/";
  return EncodePath(normalize ? NormalizePath(path) : std::string(path));
}

std::string CanonicalQuery(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> params;
  for (const std::string& item : Split(raw_query, '&')) {
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string name = item.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
    params.emplace_back(http::PercentEncode(PercentDecode(name)), http::PercentEncode(PercentDecode(value)));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) out += (out.empty() ? "" : "&") + name + "=" + value;
  return out;
}

CanonicalRequest BuildCanonicalRequest(std::string_view method, std::string_view path, std::string_view raw_query,
                                       const HeaderList& headers, std::string_view payload_sha256,
                                       bool normalize_path) {
  std::map<std::string, std::string> merged;  // sorted by lower-case name
  for (const auto& [name, value] : headers) {
    std::string& v = merged[ToLower(Trim(name))];
    v += (v.empty() ? "" : ",") + CanonicalHeaderValue(value);
  }
  CanonicalRequest out;
  std::string canonical_headers;
  for (const auto& [name, value] : merged) {
    canonical_headers += name + ":" + value + "\n";
    out.signed_headers += (out.signed_headers.empty() ? "" : ";") + name;
  }
  out.text = std::string(method) + "\n" + CanonicalUri(path, normalize_path) + "\n" + CanonicalQuery(raw_query) +
             "\n" + canonical_headers + "\n" + out.signed_headers + "\n" + std::string(payload_sha256);
  return out;
}

std::string CredentialScope(std::string_view amz_date, const SigV4Options& options) {
  return std::string(amz_date.substr(0, 8)) + "/" + options.region + "/" + options.service + "/" + kTerminator;
}

std::string StringToSign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request) {
  return std::string(kSigV4Algorithm) + "\n" + std::string(amz_date) + "\n" + std::string(scope) + "\n" +
         HexSha256(canonical_request);
}

std::string Signature(const SecretString& secret, std::string_view amz_date, const SigV4Options& options,
                      std::string_view string_to_sign) {
  std::string key = Hmac("AWS4" + secret.Reveal(), amz_date.substr(0, 8));
  key = Hmac(key, options.region);
  key = Hmac(key, options.service);
  key = Hmac(key, kTerminator);
  std::string mac = Hmac(key, string_to_sign);
  return Hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

std::string HexSha256(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return Hex(digest, sizeof(digest));
}

Status SignRequest(http::HttpRequest& request, const AwsCredentials& credentials, const SigV4Options& options,
                   Time now) {
  EBB_RETURN_IF_ERROR(ValidateInputs(credentials, options));
  Result<http::Url> url = http::ParseUrl(request.url);
  if (!url.ok()) return url.status();
  const std::string query = CanonicalQuery(url->query);
  request.url = url->Origin() + (url->path.empty() ? "/" : url->path) + (query.empty() ? "" : "?" + query);
  std::erase_if(request.headers, IsSigningHeader);
  const std::string amz_date = FormatAmzDate(now);
  const std::string payload = HexSha256(request.body);
  request.headers.push_back({"X-Amz-Date", amz_date});
  if (options.add_content_sha256) request.headers.push_back({"X-Amz-Content-Sha256", payload});
  if (!credentials.session_token.empty()) {
    request.headers.push_back({"X-Amz-Security-Token", credentials.session_token.Reveal(), /*sensitive=*/true});
  }
  HeaderList to_sign = {{"host", HostHeader(*url)}};
  for (const http::Header& h : request.headers) to_sign.emplace_back(h.name, h.value);
  CanonicalRequest canonical =
      BuildCanonicalRequest(request.method, url->path, query, to_sign, payload, options.normalize_path);
  const std::string scope = CredentialScope(amz_date, options);
  const std::string signature =
      Signature(credentials.secret_access_key, amz_date, options, StringToSign(amz_date, scope, canonical.text));
  request.headers.push_back({"Authorization",
                             std::string(kSigV4Algorithm) + " Credential=" + credentials.access_key_id + "/" + scope +
                                 ", SignedHeaders=" + canonical.signed_headers + ", Signature=" + signature,
                             /*sensitive=*/true});
  return Status::Ok();
}

Result<SigV4Authorization> ParseSigV4Authorization(std::string_view value) {
  std::string_view v = Trim(value);
  const std::string prefix = std::string(kSigV4Algorithm) + " ";
  if (!StartsWith(v, prefix)) return Unauthenticated("the Authorization header is not AWS4-HMAC-SHA256");
  v.remove_prefix(prefix.size());
  std::map<std::string, std::string> fields;
  for (const std::string& part : Split(v, ',')) {
    std::string_view p = Trim(part);
    size_t eq = p.find('=');
    if (eq == std::string_view::npos) return Unauthenticated("malformed AWS4-HMAC-SHA256 Authorization header");
    fields[std::string(p.substr(0, eq))] = std::string(p.substr(eq + 1));
  }
  if (!fields.count("Credential") || !fields.count("SignedHeaders") || !fields.count("Signature")) {
    return Unauthenticated("the Authorization header lacks Credential, SignedHeaders or Signature");
  }
  std::vector<std::string> cred = Split(fields["Credential"], '/');
  if (cred.size() != 5) return Unauthenticated("the Credential of the Authorization header is not KEY/DATE/REGION/SERVICE/aws4_request");
  return SigV4Authorization{cred[0], cred[1], cred[2], cred[3], cred[4], fields["SignedHeaders"], fields["Signature"]};
}

}  // namespace ebb::auth
