// Authorizer: what turns a resolved credential into an authenticated
// request. The Prometheus trigger (and anything else that calls a
// protected endpoint) holds an Authorizer and never chooses a cloud or
// reads a secret itself.
//
//   authorizer.Send(client, std::move(request), [](Result<HttpResponse> r) {...});
//
// Implementations: NoAuthorizer (no authenticationRef), StaticAuthorizer
// (basic, bearer, custom header, TLS client certificate: static_auth.h),
// TokenAuthorizer (bearer token from the token cache, with invalidate and
// retry once on 401: token_authorizer.h).
//
// Contract: an Authorizer that cannot apply every credential it was built
// with fails the request with a Status and sends nothing: ebb never sends an
// unauthenticated request when authentication is configured.
#pragma once

#include <memory>
#include <string>

#include "http/http_client.h"

namespace ebb::auth {

// Thread-safe: one Authorizer may serve many triggers concurrently.
class Authorizer {
 public:
  virtual ~Authorizer() = default;

  // Adds the credentials to `request` and sends it through `client`;
  // `done` is called exactly once. The HTTP answer (any status) or a
  // failure to obtain or apply the credential (kUnauthenticated,
  // kInvalidConfig, kUnavailable...).
  virtual void Send(http::HttpClient& client, http::HttpRequest request,
                    http::HttpCallback done) = 0;

  // What is sent, by kind and never by value, for error messages and
  // doctor: "no credentials", "basic auth (username \"svc\")",
  // "bearer token", "Azure Workload Identity token (client id ..., scope ...)".
  virtual std::string Describe() const = 0;

  // A stable string identifying the credential for query coalescing: two
  // triggers share a request only when their identity keys are equal. Must
  // not contain a secret (use a hash for static secrets).
  virtual std::string IdentityKey() const = 0;
};

using AuthorizerPtr = std::shared_ptr<Authorizer>;

// Sends requests as they are: for triggers without authenticationRef.
class NoAuthorizer final : public Authorizer {
 public:
  void Send(http::HttpClient& client, http::HttpRequest request, http::HttpCallback done) override {
    client.Send(std::move(request), std::move(done));
  }
  std::string Describe() const override { return "no credentials"; }
  std::string IdentityKey() const override { return "none"; }
};

}  // namespace ebb::auth
