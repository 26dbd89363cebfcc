#include "auth/sigv4_authorizer.h"

#include "auth/aws_credentials.h"
#include "auth/sigv4.h"
#include "common/log.h"
#include "common/strings.h"
#include "http/url.h"

namespace ebb::auth {

namespace {

constexpr std::string_view kApsPrefix = "aps-workspaces.";
constexpr int kForbidden = 403;

bool IsRegionName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

// AWS answers 403 to a request signed with a session token that has expired.
bool SaysTokenExpired(const http::HttpResponse& r) {
  return r.status == kForbidden && (r.body.find("ExpiredToken") != std::string::npos ||
                                    r.body.find("security token included in the request is expired") !=
                                        std::string::npos);
}

}  // namespace

bool IsAmazonManagedPrometheusHost(std::string_view host, std::string* region) {
  std::string h = ToLower(host);
  if (!StartsWith(h, kApsPrefix)) return false;
  std::string_view rest = std::string_view(h).substr(kApsPrefix.size());
  for (std::string_view suffix : {".amazonaws.com", ".amazonaws.com.cn"}) {
    if (!EndsWith(rest, suffix)) continue;
    std::string_view r = rest.substr(0, rest.size() - suffix.size());
    if (!IsRegionName(r)) continue;
    if (region) *region = std::string(r);
    return true;
  }
  return false;
}

struct SigV4Authorizer::Call {
  std::shared_ptr<TokenCache> cache;
  TokenSourcePtr source;
  const Clock& clock;
  SigV4Options sign;
  http::HttpClient& client;
  http::HttpRequest request;
  http::HttpCallback done;
};

SigV4Authorizer::SigV4Authorizer(std::shared_ptr<TokenCache> cache, TokenSourcePtr source, const Clock& clock,
                                 SigV4AuthorizerOptions options)
    : cache_(std::move(cache)),
      source_(std::move(source)),
      clock_(clock),
      options_(std::move(options)),
      extra_(options_.extra_destinations) {}

std::string SigV4Authorizer::Describe() const {
  return source_->Describe() + ", signed with SigV4 for " + options_.service + " in " +
         (options_.region.empty() ? "(no region)" : options_.region);
}

std::string SigV4Authorizer::IdentityKey() const {
  return "sigv4|" + options_.service + "|" + options_.region + "|" + source_->CacheKey();
}

Status SigV4Authorizer::CheckTarget(const std::string& target) const {
  Result<http::Url> url = http::ParseUrl(target);
  if (!url.ok()) return url.status();
  if (url->scheme != "https" && !options_.allow_insecure_target) {
    return InvalidConfig("refusing to send a request signed with " + source_->Describe() + " to " + url->Origin() +
                         " over plain http; use https");
  }
  std::string host_region;
  const bool aps = IsAmazonManagedPrometheusHost(url->host, &host_region);
  if (!aps && !extra_.Allows(url->host)) {
    return InvalidConfig("refusing to send a request signed with " + source_->Describe() + " to " + url->host +
                         ": the operator's AWS identity signs requests only for Amazon Managed Prometheus "
                         "(aps-workspaces.REGION.amazonaws.com) and the hosts ebb's own configuration allows, never "
                         "for a host a namespace chooses. Fix: point serverAddress at the workspace's query URL, or, "
                         "if " + url->host + " is an endpoint the operator trusts, start ebb with "
                         "--token-destination " + url->host);
  }
  if (options_.region.empty()) {
    return InvalidConfig("no AWS region to sign for: set metadata.awsRegion on the trigger (AMP answers 403 "
                         "\"Credential should be scoped to a valid region\" otherwise)");
  }
  if (aps && host_region != options_.region) {
    return InvalidConfig("metadata.awsRegion is \"" + options_.region + "\" but the workspace URL's host " +
                         url->host + " is in \"" + host_region + "\": AMP rejects a signature scoped to another "
                         "region. Fix: set awsRegion: " + host_region);
  }
  return Status::Ok();
}

void SigV4Authorizer::Send(http::HttpClient& client, http::HttpRequest request, http::HttpCallback done) {
  if (Status s = CheckTarget(request.url); !s.ok()) return done(s);
  SigV4Options sign{options_.region, options_.service};
  auto call = std::make_shared<Call>(Call{cache_, source_, clock_, sign, client, std::move(request), std::move(done)});
  Attempt(call, 1);
}

void SigV4Authorizer::Attempt(const std::shared_ptr<Call>& call, int attempt) {
  call->cache->Get(call->source, call->client, [call, attempt](Result<AccessToken> creds) {
    if (!creds.ok()) return call->done(creds.status().WithContext("getting " + call->source->Describe()));
    http::HttpRequest req = call->request;
    if (Status s = SignRequest(req, ToAwsCredentials(*creds), call->sign, call->clock.Now()); !s.ok()) {
      return call->done(s);
    }
    const std::string fingerprint = creds->Fingerprint();
    call->client.Send(std::move(req), [call, attempt, fingerprint](Result<http::HttpResponse> r) {
      if (attempt > 1 || !r.ok() || !SaysTokenExpired(*r)) return call->done(std::move(r));
      if (call->cache->Invalidate(call->source->CacheKey(), fingerprint)) {
        Logger::Default().Info("AWS rejected expired credentials; fetching fresh ones and retrying",
                               {{"identity", call->source->Describe()}});
      }
      Attempt(call, 2);
    });
  });
}

}  // namespace ebb::auth
