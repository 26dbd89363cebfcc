#include "auth/sigv4.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/strings.h"

namespace ebb::auth {
namespace {

// AWS's published cases (testdata/sigv4/README.md names the source).
constexpr const char* kCases[] = {
    "get-header-key-duplicate", "get-header-value-multiline", "get-header-value-order", "get-header-value-trim",
    "get-relative-normalized", "get-relative-relative-normalized", "get-relative-relative-unnormalized",
    "get-relative-unnormalized", "get-slash-dot-slash-normalized", "get-slash-dot-slash-unnormalized",
    "get-slash-normalized", "get-slash-pointless-dot-normalized", "get-slash-pointless-dot-unnormalized",
    "get-slash-unnormalized", "get-slashes-normalized", "get-slashes-unnormalized", "get-space-normalized",
    "get-space-unnormalized", "get-unreserved", "get-utf8", "get-vanilla-empty-query-key",
    "get-vanilla-query-order-encoded", "get-vanilla-query-order-key-case", "get-vanilla-query-unreserved",
    "get-vanilla-query", "get-vanilla-utf8-query", "get-vanilla-with-session-token", "get-vanilla",
    "post-header-key-case", "post-header-key-sort", "post-header-value-case", "post-sts-header-before",
    "post-vanilla-empty-query-value", "post-vanilla-query", "post-vanilla",
    "post-x-www-form-urlencoded-parameters", "post-x-www-form-urlencoded"};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// request.txt: "METHOD TARGET HTTP/1.1", header lines "Name:value" (a line
// starting with a space continues the previous value), a blank line, body.
struct VectorRequest {
  std::string method, path, query, body;
  HeaderList headers;
};

VectorRequest ParseRequestTxt(const std::string& text) {
  VectorRequest r;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  r.method = line.substr(0, sp1);
  std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = target.substr(q + 1);
  while (std::getline(in, line) && !line.empty()) {
    if (line[0] == ' ' && !r.headers.empty()) {
      r.headers.back().second += "\n" + line;
      continue;
    }
    size_t colon = line.find(':');
    r.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  std::ostringstream body;
  body << in.rdbuf();
  r.body = body.str();
  return r;
}

class SigV4SuiteTest : public testing::TestWithParam<const char*> {};

TEST_P(SigV4SuiteTest, MatchesAwsVector) {
  const std::string dir = std::string(EBB_SIGV4_TESTDATA) + "/" + GetParam() + "/";
  nlohmann::json ctx = nlohmann::json::parse(ReadFile(dir + "context.json"));
  VectorRequest req = ParseRequestTxt(ReadFile(dir + "request.txt"));
  SigV4Options options{ctx["region"], ctx["service"], ctx.value("normalize", true), ctx.value("sign_body", false)};
  Time now;
  ASSERT_TRUE(ParseRfc3339(ctx["timestamp"], &now));
  const std::string amz_date = FormatAmzDate(now);
  const std::string payload = HexSha256(req.body);
  req.headers.emplace_back("X-Amz-Date", amz_date);
  if (options.add_content_sha256) req.headers.emplace_back("X-Amz-Content-Sha256", payload);
  std::string token = ctx["credentials"].value("token", "");
  if (!token.empty()) req.headers.emplace_back("X-Amz-Security-Token", token);

  CanonicalRequest canonical =
      BuildCanonicalRequest(req.method, req.path, req.query, req.headers, payload, options.normalize_path);
  EXPECT_EQ(canonical.text, ReadFile(dir + "header-canonical-request.txt"));
  std::string sts = StringToSign(amz_date, CredentialScope(amz_date, options), canonical.text);
  EXPECT_EQ(sts, ReadFile(dir + "header-string-to-sign.txt"));
  SecretString secret(ctx["credentials"]["secret_access_key"].get<std::string>());
  EXPECT_EQ(Signature(secret, amz_date, options, sts), ReadFile(dir + "header-signature.txt"));
}

INSTANTIATE_TEST_SUITE_P(Aws, SigV4SuiteTest, testing::ValuesIn(kCases), [](const auto& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
});

const AwsCredentials kCreds{"AKIDEXAMPLE", SecretString("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                            SecretString("SESSIONTOKEN")};
const SigV4Options kAps{"us-east-1", "aps"};

Time VectorTime() {
  Time t;
  EXPECT_TRUE(ParseRfc3339("2015-08-30T12:36:00Z", &t));
  return t;
}

std::string HeaderOf(const http::HttpRequest& r, std::string_view name) {
  for (const http::Header& h : r.headers) {
    if (http::HeaderNameEquals(h.name, name)) return h.value;
  }
  return "";
}

TEST(SigV4Test, SignRequestMatchesTheVanillaVectorWithSessionToken) {
  http::HttpRequest r;
  r.url = "https://example.amazonaws.com/";
  AwsCredentials creds{"AKIDEXAMPLE", kCreds.secret_access_key,
                       SecretString("6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267")};
  ASSERT_TRUE(SignRequest(r, creds, {"us-east-1", "service"}, VectorTime()).ok());
  EXPECT_EQ(HeaderOf(r, "X-Amz-Date"), "20150830T123600Z");
  EXPECT_EQ(HeaderOf(r, "X-Amz-Security-Token"), creds.session_token.Reveal());
  EXPECT_EQ(HeaderOf(r, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date;x-amz-security-token, "
            "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
}

TEST(SigV4Test, PromQlQueryIsSentInTheEncodingThatWasSigned) {
  // '+' for a space, raw braces and quotes: what a browser or a form encoder sends.
  http::HttpRequest r;
  r.url = "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/query?"
          "time=1700000000&query=sum(rate(http_requests_total{job=\"api\",code=~\"5..\"}[2m]))%20*%20100";
  ASSERT_TRUE(SignRequest(r, kCreds, kAps, VectorTime()).ok());
  EXPECT_EQ(r.url,
            "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/query?"
            "query=sum%28rate%28http_requests_total%7Bjob%3D%22api%22%2Ccode%3D~%225..%22%7D%5B2m%5D%29%29%20%2A%20100"
            "&time=1700000000");
}

TEST(SigV4Test, CanonicalQueryEncodesEveryPromQlCharacterAndSortsByNameThenValue) {
  EXPECT_EQ(CanonicalQuery("b=2&a=x y&a=!|/+"), "a=%21%7C%2F%2B&a=x%20y&b=2");
  EXPECT_EQ(CanonicalQuery("q=%7Ba%3D%22b%22%7D&flag"), "flag=&q=%7Ba%3D%22b%22%7D");
  // '+' is a literal plus to AWS, never a space.
  EXPECT_EQ(CanonicalQuery("q=a+b"), "q=a%2Bb");
}

TEST(SigV4Test, HostIsSignedWithItsPortUnlessDefault) {
  http::HttpRequest with_port, default_port;
  with_port.url = "http://127.0.0.1:9090/api/v1/query?query=up";
  default_port.url = "https://127.0.0.1:443/api/v1/query?query=up";
  ASSERT_TRUE(SignRequest(with_port, kCreds, kAps, VectorTime()).ok());
  ASSERT_TRUE(SignRequest(default_port, kCreds, kAps, VectorTime()).ok());
  // Same path and query, different Host value signed: different signatures.
  EXPECT_NE(HeaderOf(with_port, "Authorization"), HeaderOf(default_port, "Authorization"));
  std::string recomputed;
  {
    HeaderList h = {{"host", "127.0.0.1:9090"}, {"x-amz-date", "20150830T123600Z"},
                    {"x-amz-security-token", "SESSIONTOKEN"}};
    CanonicalRequest c = BuildCanonicalRequest("GET", "/api/v1/query", "query=up", h, kEmptyPayloadSha256, true);
    std::string sts = StringToSign("20150830T123600Z", CredentialScope("20150830T123600Z", kAps), c.text);
    recomputed = Signature(kCreds.secret_access_key, "20150830T123600Z", kAps, sts);
  }
  EXPECT_TRUE(EndsWith(HeaderOf(with_port, "Authorization"), "Signature=" + recomputed));
}

TEST(SigV4Test, ReplacesEarlierSigningHeadersAndMarksSecretsSensitive) {
  http::HttpRequest r;
  r.url = "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/query?query=up";
  r.headers.push_back({"Authorization", "Bearer stale"});
  r.headers.push_back({"X-Amz-Date", "20000101T000000Z"});
  ASSERT_TRUE(SignRequest(r, kCreds, kAps, VectorTime()).ok());
  int authorizations = 0;
  for (const http::Header& h : r.headers) {
    if (http::HeaderNameEquals(h.name, "Authorization")) {
      ++authorizations;
      EXPECT_TRUE(h.sensitive);
    }
    if (http::HeaderNameEquals(h.name, "X-Amz-Security-Token")) EXPECT_TRUE(h.sensitive);
  }
  EXPECT_EQ(authorizations, 1);
  EXPECT_EQ(HeaderOf(r, "X-Amz-Date"), "20150830T123600Z");
}

TEST(SigV4Test, RefusesMissingRegionOrKeyAndNamesTheFix) {
  http::HttpRequest r;
  r.url = "https://aps-workspaces.us-east-1.amazonaws.com/q";
  Status no_region = SignRequest(r, kCreds, {"", "aps"}, VectorTime());
  EXPECT_EQ(no_region.code(), StatusCode::kInvalidConfig);
  EXPECT_NE(no_region.message().find("awsRegion"), std::string::npos);
  EXPECT_FALSE(SignRequest(r, AwsCredentials{"AKID", SecretString(), {}}, kAps, VectorTime()).ok());
  EXPECT_TRUE(r.headers.empty());
}

TEST(SigV4Test, ParsesTheAuthorizationHeaderItWrites) {
  http::HttpRequest r;
  r.url = "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/query?query=up";
  ASSERT_TRUE(SignRequest(r, kCreds, {"eu-west-1", "aps"}, VectorTime()).ok());
  Result<SigV4Authorization> a = ParseSigV4Authorization(HeaderOf(r, "Authorization"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(a->date, "20150830");
  EXPECT_EQ(a->region, "eu-west-1");
  EXPECT_EQ(a->service, "aps");
  EXPECT_EQ(a->signed_headers, "host;x-amz-date;x-amz-security-token");
  EXPECT_EQ(a->signature.size(), 64u);
  EXPECT_FALSE(ParseSigV4Authorization("Bearer x").ok());
  EXPECT_FALSE(ParseSigV4Authorization("AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=x").ok());
}

TEST(SigV4Test, AmzDateRoundTrips) {
  Time t;
  ASSERT_TRUE(ParseAmzDate("20150830T123600Z", &t));
  EXPECT_EQ(FormatAmzDate(t), "20150830T123600Z");
  EXPECT_FALSE(ParseAmzDate("2015-08-30T12:36:00Z", &t));
  EXPECT_FALSE(ParseAmzDate("20150830T1236000", &t));
}

}  // namespace
}  // namespace ebb::auth
