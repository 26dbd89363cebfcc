// AWS Signature Version 4: signing an HTTP request with AWS credentials
// (every query to Amazon Managed Service for Prometheus, and STS AssumeRole),
// and the pieces of the algorithm, exposed so that the AMP front-door
// emulator can verify a signature the way AWS does.
//
//   AwsCredentials creds{"AKID...", SecretString(secret), SecretString(session)};
//   Status s = SignRequest(request, creds, {.region = "us-east-1", .service = "aps"}, clock.Now());
//   // request now carries X-Amz-Date, X-Amz-Security-Token (when there is a
//   // session token) and Authorization: AWS4-HMAC-SHA256 Credential=..., and its
//   // URL's query is rewritten into the canonical encoding that was signed.
//
// The algorithm is AWS's (facts/aws-gcp.md, "Signature Version 4") and is
// held to AWS's published test suite (testdata/sigv4/). Why the URL is
// rewritten: the server re-encodes the decoded query with the RFC 3986
// unreserved set and signs that; a client that sends '+' for a space, or
// leaves a PromQL '{' unencoded, signs something other than what the server
// recomputes (the classic SignatureDoesNotMatch). Sending exactly the
// canonical query removes the question.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/secret.h"
#include "common/status.h"
#include "http/http_client.h"

namespace ebb::auth {

// Value type. ToString-safe: only access_key_id (not a secret; it names the
// key, as in AWS's own logs) is ever shown.
struct AwsCredentials {
  std::string access_key_id;
  SecretString secret_access_key;
  SecretString session_token;  // empty for long-term (AKIA...) keys
};

struct SigV4Options {
  std::string region;   // REQUIRED, e.g. "us-east-1"
  std::string service;  // REQUIRED, e.g. "aps"
  // Normalize the path (remove "." and ".." segments, collapse "//") before
  // encoding it: what every service but S3 does. Default true.
  bool normalize_path = true;
  // Add and sign X-Amz-Content-Sha256 (S3-style body signing). Default false.
  bool add_content_sha256 = false;
};

inline constexpr char kSigV4Algorithm[] = "AWS4-HMAC-SHA256";
// Hex SHA-256 of the empty string: the payload hash of a GET.
inline constexpr char kEmptyPayloadSha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// "YYYYMMDDTHHMMSSZ" in UTC (X-Amz-Date).
std::string FormatAmzDate(Time t);
// Parses an X-Amz-Date; false when it is not exactly that form.
bool ParseAmzDate(std::string_view text, Time* out);

// Percent-decodes `s` ('+' stays '+': AWS does not treat it as a space).
// Malformed escapes are kept as they are.
std::string PercentDecode(std::string_view s);

// The canonical URI of `path` as it appears in the request line: normalized
// when asked, then every byte but the unreserved set and '/' percent-encoded
// (so a '%' already in the path becomes %25, AWS's double encoding).
std::string CanonicalUri(std::string_view path, bool normalize);

// The canonical query string of a raw query (without '?'): each name=value
// decoded, re-encoded with the RFC 3986 unreserved set, sorted by name then
// value, joined with '&'. A parameter without '=' gets an empty value.
std::string CanonicalQuery(std::string_view raw_query);

// Lower-case name -> values of one request, for the canonical headers.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The canonical request and the list of signed headers.
struct CanonicalRequest {
  std::string text;
  std::string signed_headers;  // "host;x-amz-date"
};

// Builds the canonical request from the request line's method, path and
// raw query, the headers to sign (any case; values are trimmed and inner
// whitespace runs collapsed, repeated names joined with ','), and the hex
// payload hash.
CanonicalRequest BuildCanonicalRequest(std::string_view method, std::string_view path, std::string_view raw_query,
                                       const HeaderList& headers, std::string_view payload_sha256,
                                       bool normalize_path);

// "YYYYMMDD/REGION/SERVICE/aws4_request".
std::string CredentialScope(std::string_view amz_date, const SigV4Options& options);

// "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hex sha256(canonical)}".
std::string StringToSign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request);

// Hex signature of `string_to_sign` with the key derived from `secret`
// ("AWS4" + secret, then date, region, service, "aws4_request").
std::string Signature(const SecretString& secret, std::string_view amz_date, const SigV4Options& options,
                      std::string_view string_to_sign);

// Lower-case hex SHA-256 of `data`.
std::string HexSha256(std::string_view data);

// Signs `request` in place for `now`: removes any Authorization, X-Amz-Date
// and X-Amz-Security-Token it had, rewrites its URL's query into canonical
// form, signs the Host (with the port unless it is the scheme's default)
// and every header the request carries, and adds the three headers (the
// Authorization and session token marked sensitive). kInvalidConfig when
// the URL does not parse, the credentials have no key id or secret, or
// region or service is empty.
Status SignRequest(http::HttpRequest& request, const AwsCredentials& credentials, const SigV4Options& options,
                   Time now);

// The parts of an "Authorization: AWS4-HMAC-SHA256 ..." header. Value type.
struct SigV4Authorization {
  std::string access_key_id;
  std::string date;     // YYYYMMDD
  std::string region;
  std::string service;
  std::string terminator;  // "aws4_request"
  std::string signed_headers;
  std::string signature;
};

// Parses an Authorization header value; kUnauthenticated saying what is
// malformed (for the emulator and for doctor).
Result<SigV4Authorization> ParseSigV4Authorization(std::string_view value);

}  // namespace ebb::auth
