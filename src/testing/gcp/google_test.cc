// The Google emulators against facts/aws-gcp.md, over real HTTP(S), with
// assertions signed by ebb's own JWT-bearer code.
#include "testing/gcp/google.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/gcp_credentials.h"
#include "http/url.h"

namespace ebb::testing::gcp {
namespace {

using ::testing::HasSubstr;

const RsaKeyPair& Key() {
  static const RsaKeyPair k = GenerateRsaKeyPair().value();
  return k;
}

class GoogleWorld {
 public:
  GoogleWorld() : clock(RealClock::Instance().Now()), project(clock) {
    ca = std::make_unique<TestCa>(TestCa::Create().value());
    cert = ca->IssueServer({"localhost"}).value();
    upstream = azure::LoopbackServer::Start(std::nullopt, [](httplib::Server& s) {
                 s.Get("/api/v1/query", [](const httplib::Request&, httplib::Response& res) {
                   res.set_content(R"({"status":"success","data":{"resultType":"vector","result":[]}})", "application/json");
                 });
               }).value();
    endpoint = GoogleTokenEndpoint::Start(cert, project).value();
    metadata = GceMetadataServer::Start(project).value();
    front_door = GmpFrontDoor::Start(cert, upstream->base_url(), project).value();
    email = project.ServiceAccountEmail("ebb-reader");
    project.AddKey(email, "kid-1", Key().public_key_pem);
  }

  auth::ServiceAccountKey SaKey() const {
    return {email, "kid-1", SecretString(Key().private_key_pem), endpoint->token_uri(), "ebb-proj"};
  }

  azure::FetchResult Exchange(const std::string& assertion) const {
    azure::FetchOptions o;
    o.method = "POST";
    o.ca_pem = ca->cert_pem();
    o.body = http::BuildQuery({{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"}, {"assertion", assertion}});
    return azure::HttpFetch(endpoint->token_uri(), o).value();
  }

  azure::FetchResult Query(const std::string& token) const {
    azure::FetchOptions o;
    o.ca_pem = ca->cert_pem();
    if (!token.empty()) o.headers = {{"Authorization", "Bearer " + token}};
    return azure::HttpFetch(front_door->prometheus_url() + "/api/v1/query?query=up", o).value();
  }

  SimulatedClock clock;
  GoogleProject project;
  std::unique_ptr<TestCa> ca;
  IssuedCert cert;
  std::unique_ptr<azure::LoopbackServer> upstream;
  std::unique_ptr<GoogleTokenEndpoint> endpoint;
  std::unique_ptr<GceMetadataServer> metadata;
  std::unique_ptr<GmpFrontDoor> front_door;
  std::string email;
};

TEST(GoogleTokenEndpointTest, JwtBearerGrantAndItsErrors) {
  GoogleWorld w;
  auto assertion = auth::SignJwtBearerAssertion(w.SaKey(), auth::kMonitoringReadScope, w.clock.Now());
  azure::FetchResult ok = w.Exchange(assertion->Reveal());
  ASSERT_EQ(ok.status, 200) << ok.body;
  nlohmann::json j = nlohmann::json::parse(ok.body);
  EXPECT_EQ(j["token_type"], "Bearer");
  EXPECT_EQ(j["expires_in"], 3599);
  EXPECT_EQ(j["access_token"].get<std::string>().substr(0, 5), "ya29.");

  auto stale = auth::SignJwtBearerAssertion(w.SaKey(), auth::kMonitoringReadScope, w.clock.Now() - std::chrono::hours(2));
  EXPECT_THAT(w.Exchange(stale->Reveal()).body, HasSubstr("reasonable timeframe"));
  w.project.DeleteKeys(w.email);
  azure::FetchResult deleted = w.Exchange(assertion->Reveal());
  EXPECT_EQ(deleted.status, 400);
  EXPECT_THAT(deleted.body, HasSubstr("\"error\":\"invalid_grant\""));
  EXPECT_THAT(deleted.body, HasSubstr("Invalid JWT Signature."));
}

TEST(GceMetadataServerTest, FlavorHeaderAndWorkloadIdentityBinding) {
  GoogleWorld w;
  const std::string url = "http://" + w.metadata->host() + "/computeMetadata/v1/instance/service-accounts/default/token";
  azure::FetchResult no_flavor = azure::HttpFetch(url).value();
  EXPECT_EQ(no_flavor.status, 403);
  EXPECT_EQ(no_flavor.headers["metadata-flavor"], "Google");
  azure::FetchOptions o;
  o.headers = {{"Metadata-Flavor", "Google"}};
  EXPECT_EQ(azure::HttpFetch(url, o)->status, 404);  // not bound
  w.project.SetMetadataServiceAccount(w.email);
  azure::FetchResult ok = azure::HttpFetch(url + "?scopes=https://www.googleapis.com/auth/monitoring.read", o).value();
  ASSERT_EQ(ok.status, 200);
  std::string token = nlohmann::json::parse(ok.body)["access_token"];
  EXPECT_EQ(w.project.FindToken(token)->scopes, std::vector<std::string>{"https://www.googleapis.com/auth/monitoring.read"});
}

TEST(GmpFrontDoorTest, TokenScopeAndRoleAreCheckedThenProxied) {
  GoogleWorld w;
  azure::FetchResult none = w.Query("");
  EXPECT_EQ(none.status, 401);
  EXPECT_THAT(none.body, HasSubstr("\"status\":\"UNAUTHENTICATED\""));
  EXPECT_EQ(w.front_door->counters().without_authorization, 1);
  std::string narrow = w.project.IssueToken(w.email, {"https://www.googleapis.com/auth/devstorage.read_only"}, std::chrono::hours(1));
  EXPECT_THAT(w.Query(narrow).body, HasSubstr("insufficient authentication scopes"));
  std::string token = w.project.IssueToken(w.email, {auth::kMonitoringReadScope}, std::chrono::hours(1));
  azure::FetchResult no_role = w.Query(token);
  EXPECT_EQ(no_role.status, 403);
  EXPECT_THAT(no_role.body, HasSubstr("Permission monitoring.timeSeries.list denied"));
  w.project.Grant(w.email, kMonitoringViewer);
  EXPECT_EQ(w.Query(token).status, 200);
  EXPECT_EQ(w.front_door->counters().proxied, 1);
}

}  // namespace
}  // namespace ebb::testing::gcp
