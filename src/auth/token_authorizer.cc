#include "auth/token_authorizer.h"

#include <nlohmann/json.hpp>

#include "auth/azure_token_response.h"
#include "common/log.h"
#include "common/strings.h"
#include "http/url.h"

namespace ebb::auth {

namespace {

constexpr int kUnauthorized = 401;

// Azure Monitor sends {"error":{"code","message"}}, Prometheus
// {"status":"error","error":"..."}; anything else is shown by its first line.
std::string ServerErrorText(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    auto err = j.find("error");
    if (err != j.end() && err->is_string()) return err->get<std::string>();
    if (err != j.end() && err->is_object()) {
      std::string code = err->value("code", "");
      std::string message = err->value("message", "");
      return code.empty() ? message : code + ": " + message;
    }
    return "";
  }
  std::string_view text = body;
  return std::string(Trim(text.substr(0, text.find_first_of("\r\n"))));
}

std::string Target(const std::string& url) {
  Result<http::Url> u = http::ParseUrl(url);
  return u.ok() ? u->Origin() + u->path : "the server";
}

void RemoveAuthorization(std::vector<http::Header>& headers) {
  std::erase_if(headers, [](const http::Header& h) { return http::HeaderNameEquals(h.name, "Authorization"); });
}

}  // namespace

struct TokenAuthorizer::Call {
  std::shared_ptr<TokenCache> cache;
  TokenSourcePtr source;
  http::HttpClient& client;
  http::HttpRequest request;  // as given, without our Authorization header
  http::HttpCallback done;
};

Status SecondUnauthorizedError(const std::string& target, const std::string& sent, const AccessToken& token,
                               const http::HttpResponse& response) {
  std::string said = SanitizeServerText(ServerErrorText(response.body), token.token.Reveal(), 200);
  std::string tenant = token.tenant.empty() ? "" : ", tenant " + token.tenant;
  return Unauthenticated(
      target + " answered HTTP 401 twice, the second time to a freshly obtained token: ebb sent an " +
      sent + " as \"Authorization: Bearer\"; the token's audience was \"" + token.audience + "\"" + tenant +
      ", and it expires " + FormatRfc3339(token.expires_on) + "." +
      (said.empty() ? "" : " The server said: \"" + said + "\".") +
      " Fix: the audience must be the resource the endpoint accepts (for Azure Managed Prometheus "
      "https://prometheus.monitor.azure.com, or the trigger's cloud's), and the URL must be the "
      "workspace's query endpoint.");
}

TokenAuthorizer::TokenAuthorizer(std::shared_ptr<TokenCache> cache, TokenSourcePtr source,
                                 TokenAuthorizerOptions options)
    : cache_(std::move(cache)), source_(std::move(source)), options_(options) {}

std::string TokenAuthorizer::Describe() const { return source_->Describe(); }

std::string TokenAuthorizer::IdentityKey() const { return source_->CacheKey(); }

void TokenAuthorizer::Send(http::HttpClient& client, http::HttpRequest request, http::HttpCallback done) {
  Result<http::Url> url = http::ParseUrl(request.url);
  if (!url.ok()) return done(url.status());
  if (url->scheme != "https" && !options_.allow_insecure_target) {
    return done(InvalidConfig("refusing to send an " + Describe() + " to " + url->Origin() +
                              " over plain http; use https (plain http needs the explicit option for "
                              "local testing)"));
  }
  if (Status s = options_.destinations.Check(request.url, Describe()); !s.ok()) return done(s);
  RemoveAuthorization(request.headers);
  auto call = std::make_shared<Call>(Call{cache_, source_, client, std::move(request), std::move(done)});
  Attempt(call, 1);
}

void TokenAuthorizer::Attempt(const std::shared_ptr<Call>& call, int attempt) {
  call->cache->Get(call->source, call->client, [call, attempt](Result<AccessToken> token) {
    if (!token.ok()) return call->done(token.status().WithContext("getting " + call->source->Describe()));
    http::HttpRequest req = call->request;
    req.headers.push_back({"Authorization", "Bearer " + token->token.Reveal(), /*sensitive=*/true});
    call->client.Send(std::move(req), [call, attempt, t = *token](Result<http::HttpResponse> r) {
      OnAnswer(call, attempt, t, std::move(r));
    });
  });
}

void TokenAuthorizer::OnAnswer(const std::shared_ptr<Call>& call, int attempt, const AccessToken& token,
                               Result<http::HttpResponse> answer) {
  if (!answer.ok() || answer->status != kUnauthorized) return call->done(std::move(answer));
  std::string target = Target(call->request.url);
  if (attempt == 1) {
    // Only the first of many concurrent 401s on one token drops it (and logs).
    if (call->cache->Invalidate(call->source->CacheKey(), token.Fingerprint())) {
      Logger::Default().Info("bearer token rejected with 401; fetching a fresh one and retrying",
                             {{"identity", call->source->Describe()}, {"target", target}});
    }
    return Attempt(call, 2);
  }
  call->done(SecondUnauthorizedError(target, call->source->Describe(), token, *answer));
}

}  // namespace ebb::auth
