#include "http/url.h"

#include "common/secret.h"

#include <gtest/gtest.h>

namespace ebb::http {
namespace {

Url Parsed(std::string_view text) {
  Result<Url> u = ParseUrl(text);
  EXPECT_TRUE(u.ok()) << text << ": " << u.status().ToString();
  return u.ok() ? *u : Url{};
}

TEST(ParseUrl, SchemeHostDefaultPortPathQuery) {
  Url u = Parsed("https://Prom.Example/api/v1/query?query=up#frag");
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.host, "prom.example");
  EXPECT_EQ(u.port, 443);
  EXPECT_FALSE(u.explicit_port);
  EXPECT_EQ(u.path, "/api/v1/query");
  EXPECT_EQ(u.query, "query=up");
  EXPECT_EQ(Parsed("http://a").port, 80);
  EXPECT_EQ(Parsed("HTTP://a").scheme, "http");
}

TEST(ParseUrl, ExplicitPortAndEmptyPath) {
  Url u = Parsed("http://127.0.0.1:9090");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 9090);
  EXPECT_TRUE(u.explicit_port);
  EXPECT_EQ(u.path, "");
  EXPECT_EQ(u.query, "");
  EXPECT_EQ(Parsed("http://h?x=1").query, "x=1");
  EXPECT_EQ(Parsed("http://h?x=1").path, "");
}

TEST(ParseUrl, Ipv6) {
  Url u = Parsed("https://[::1]:8443/x");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 8443);
  EXPECT_EQ(u.path, "/x");
  EXPECT_EQ(Parsed("http://[2001:DB8::1]/").host, "2001:db8::1");
  EXPECT_EQ(Parsed("http://[2001:db8::1]/").port, 80);
  EXPECT_EQ(u.Origin(), "https://[::1]:8443");
}

TEST(ParseUrl, Errors) {
  struct Case {
    const char* url;
    const char* why;
  };
  for (const Case& c : {Case{"prom:9090/api", "no scheme"}, Case{"ftp://h/", "scheme must be"},
                        Case{"http:///x", "host is empty"}, Case{"http://h:0/", "bad port"},
                        Case{"http://h:65536/", "bad port"}, Case{"http://h:abc/", "bad port"},
                        Case{"http://[::1/", "unclosed IPv6"}, Case{"http://[::1]x/", "junk"},
                        Case{"http://user:pw@h/", "credentials in the URL"}}) {
    Result<Url> u = ParseUrl(c.url);
    ASSERT_FALSE(u.ok()) << c.url;
    EXPECT_EQ(u.status().code(), StatusCode::kInvalidConfig) << c.url;
    EXPECT_NE(u.status().message().find(c.why), std::string::npos) << u.status().message();
  }
}

TEST(Url, OriginOmitsDefaultPort) {
  EXPECT_EQ(Parsed("https://h:443/x").Origin(), "https://h");
  EXPECT_EQ(Parsed("http://h:80/x").Origin(), "http://h");
  EXPECT_EQ(Parsed("http://h:443/x").Origin(), "http://h:443");
}

TEST(PercentEncode, PromQlCharacters) {
  // '~' is unreserved in RFC 3986 and stays as it is.
  EXPECT_EQ(PercentEncode("{}\"=~"), "%7B%7D%22%3D~");
  EXPECT_EQ(PercentEncode("a b"), "a%20b");
  EXPECT_EQ(PercentEncode("a+b"), "a%2Bb");
  EXPECT_EQ(PercentEncode("&?#/%"), "%26%3F%23%2F%25");
  EXPECT_EQ(PercentEncode("AZaz09-._~"), "AZaz09-._~");
}

TEST(PercentEncode, Utf8BytesEachEncoded) {
  EXPECT_EQ(PercentEncode("é"), "%C3%A9");
  EXPECT_EQ(PercentEncode("\xE2\x82\xAC"), "%E2%82%AC");  // euro sign
}

TEST(BuildQuery, KeepsOrderAndEncodesBothSides) {
  EXPECT_EQ(BuildQuery({{"query", "sum(rate(x{a=\"b\"}[1m]))"}, {"time", "1.5"}}),
            "query=sum%28rate%28x%7Ba%3D%22b%22%7D%5B1m%5D%29%29&time=1.5");
  EXPECT_EQ(BuildQuery({{"a b", "c&d"}}), "a%20b=c%26d");
  EXPECT_EQ(BuildQuery({}), "");
}

TEST(ResolveReference, Forms) {
  Url base = Parsed("https://h:8443/api/v1/query?q=1");
  EXPECT_EQ(ResolveReference(base, "http://other/x"), "http://other/x");
  EXPECT_EQ(ResolveReference(base, "//other:1/x"), "https://other:1/x");
  EXPECT_EQ(ResolveReference(base, "/graph"), "https://h:8443/graph");
  EXPECT_EQ(ResolveReference(base, "status"), "https://h:8443/api/v1/status");
  Url root = Parsed("http://h");
  EXPECT_EQ(ResolveReference(root, "x"), "http://h/x");
  EXPECT_EQ(ResolveReference(Parsed("https://[::1]:8443/a"), "/b"), "https://[::1]:8443/b");
}

TEST(IsSafeRedirect, SameHostAndPortOnly) {
  Url from = Parsed("https://h:8443/a");
  EXPECT_TRUE(IsSafeRedirect(from, Parsed("https://h:8443/b")));
  EXPECT_TRUE(IsSafeRedirect(from, Parsed("https://H:8443/b")));
  EXPECT_FALSE(IsSafeRedirect(from, Parsed("https://h:9443/a")));
  EXPECT_FALSE(IsSafeRedirect(from, Parsed("https://evil:8443/a")));
  EXPECT_FALSE(IsSafeRedirect(from, Parsed("https://h.evil:8443/a")));
}

TEST(IsSafeRedirect, NoDowngradeButUpgradeAllowed) {
  EXPECT_FALSE(IsSafeRedirect(Parsed("https://h:8080/a"), Parsed("http://h:8080/a")));
  EXPECT_TRUE(IsSafeRedirect(Parsed("http://h:8080/a"), Parsed("https://h:8080/a")));
  // Default ports differ, so a plain scheme switch is another origin.
  EXPECT_FALSE(IsSafeRedirect(Parsed("http://h/a"), Parsed("https://h/a")));
}

}  // namespace
}  // namespace ebb::http

namespace ebb::http {
namespace {

TEST(UrlRfc3986, RelativeReferencesResolve) {
  Url base = ParseUrl("https://h:8443/a/b/c?x=1").value();
  EXPECT_EQ(ResolveReference(base, "?page=2"), "https://h:8443/a/b/c?page=2");
  EXPECT_EQ(ResolveReference(base, "../x"), "https://h:8443/a/x");
  EXPECT_EQ(ResolveReference(base, "./y/../z?q"), "https://h:8443/a/b/z?q");
  EXPECT_EQ(ResolveReference(base, "/login?next=http://x"), "https://h:8443/login?next=http://x");
  EXPECT_EQ(ResolveReference(base, "../../../../up"), "https://h:8443/up");
  EXPECT_EQ(ResolveReference(base, "HTTP://other/"), "HTTP://other/");
}

TEST(UrlRfc3986, ParseErrorsNeverQuoteUserinfoOrQuery) {
  auto r = ParseUrl("ftp://user:hunter2@h/x?token=s3cr3t");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(ContainsSecret(r.status().message(), "hunter2"));
  EXPECT_FALSE(ContainsSecret(r.status().message(), "s3cr3t"));
  auto userinfo = ParseUrl("https://user:hunter2@h/x");
  ASSERT_FALSE(userinfo.ok());
  EXPECT_FALSE(ContainsSecret(userinfo.status().message(), "hunter2"));
}

}  // namespace
}  // namespace ebb::http
