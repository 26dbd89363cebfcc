// FakeLeaseStore: an in-memory stand-in for the API server's Lease
// endpoints (coordination.k8s.io/v1), for tests of code on an EventLoop and
// a SimulatedClock. Each process under test gets its own Client (an
// ApiCaller) on the shared store, with its own faults and its own "hold"
// switch (answers kept back until released: a slow or hung request).
//
//   FakeLeaseStore store;
//   FakeLeaseStore::Client& a = store.NewClient();
//   LeaderElector elector(a, loop, config, callbacks);
//   a.Fail("PUT", 409);          // every PUT answers 409 until Fail("PUT", 0)
//   a.Hold(true);  ...  a.Hold(false);   // answers the held requests
//
// Semantics follow the API server: GET of a missing Lease is 404; POST of an
// existing one is 409 AlreadyExists; PUT with a stale
// metadata.resourceVersion is 409 Conflict; every write bumps the
// resourceVersion. Answers are given synchronously inside Call (the code
// under test posts them to its loop) unless held. Not thread-safe: use from
// the test's thread (the loop is test-driven). Test-only.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "kube/rest_client.h"

namespace ebb::kube::testing {

class FakeLeaseStore {
 public:
  struct Request {
    std::string method;
    std::string path;
    int status = 0;  // the answer's HTTP status; 0 while held
  };

  class Client final : public ApiCaller {
   public:
    explicit Client(FakeLeaseStore& store) : store_(store) {}

    void Call(ApiRequest request, ApiCallback done) override {
      log_.push_back({request.method, request.path, 0});
      priorities_ok_ = priorities_ok_ && request.priority == RequestPriority::kLease;
      held_.push_back({std::move(request), std::move(done), log_.size() - 1});
      if (!hold_) AnswerHeld();
    }

    // Every request with `method` answers `status` (no effect on the store)
    // until called again with 0.
    void Fail(const std::string& method, int status) { faults_[method] = status; }
    // While held, requests wait; un-holding answers them in order, against
    // the store as it is then.
    void Hold(bool hold) {
      hold_ = hold;
      if (!hold_) AnswerHeld();
    }
    // Drops held requests without answering (a connection that never
    // answers; the code under test must time out on its own).
    void DropHeld() { held_.clear(); }
    size_t held() const { return held_.size(); }
    const std::vector<Request>& requests() const { return log_; }
    int Count(const std::string& method, int status) const {
      int n = 0;
      for (const Request& r : log_) n += r.method == method && r.status == status;
      return n;
    }
    // False once a request came without RequestPriority::kLease.
    bool all_lease_priority() const { return priorities_ok_; }

   private:
    struct Held {
      ApiRequest request;
      ApiCallback done;
      size_t log_index;
    };

    void AnswerHeld() {
      while (!held_.empty()) {
        Held h = std::move(held_.front());
        held_.pop_front();
        auto fault = faults_.find(h.request.method);
        ApiResult r = fault != faults_.end() && fault->second != 0
                          ? Error(fault->second, "injected fault")
                          : store_.Handle(h.request);
        log_[h.log_index].status = r.http_status;
        h.done(std::move(r));
      }
    }

    FakeLeaseStore& store_;
    bool hold_ = false;
    bool priorities_ok_ = true;
    std::map<std::string, int> faults_;
    std::deque<Held> held_;
    std::vector<Request> log_;
  };

  Client& NewClient() {
    clients_.push_back(std::make_unique<Client>(*this));
    return *clients_.back();
  }

  // The stored Lease at `path` (ObjectPath), or null.
  nlohmann::json Get(const std::string& path) const {
    auto it = leases_.find(path);
    return it == leases_.end() ? nlohmann::json() : it->second;
  }
  // Stores `lease` at `path` as another writer would (bumps the version).
  void Put(const std::string& path, nlohmann::json lease) { Store(path, std::move(lease)); }

 private:
  static ApiResult Error(int status, const std::string& reason) {
    ApiResult r;
    r.http_status = status;
    r.reason = reason;
    r.status = Status(CodeForHttpStatus(status), "fake lease store: " + reason);
    return r;
  }

  static ApiResult Ok(int status, nlohmann::json object) {
    ApiResult r;
    r.http_status = status;
    r.object = std::move(object);
    return r;
  }

  const nlohmann::json& Store(const std::string& path, nlohmann::json lease) {
    lease["metadata"]["resourceVersion"] = std::to_string(++version_);
    return leases_[path] = std::move(lease);
  }

  ApiResult Handle(const ApiRequest& request) {
    if (request.method == "GET") {
      auto it = leases_.find(request.path);
      if (it == leases_.end()) return Error(404, "NotFound");
      return Ok(200, it->second);
    }
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return Error(400, "BadRequest");
    if (request.method == "POST") {
      std::string path = request.path + "/" + body["metadata"].value("name", "");
      if (leases_.count(path)) return Error(409, "AlreadyExists");
      return Ok(201, Store(path, std::move(body)));
    }
    if (request.method == "PUT") {
      auto it = leases_.find(request.path);
      if (it == leases_.end()) return Error(404, "NotFound");
      std::string sent = body["metadata"].value("resourceVersion", "");
      if (!sent.empty() && sent != it->second["metadata"].value("resourceVersion", "")) {
        return Error(409, "Conflict");
      }
      return Ok(200, Store(request.path, std::move(body)));
    }
    return Error(405, "MethodNotAllowed");
  }

  std::map<std::string, nlohmann::json> leases_;
  uint64_t version_ = 0;
  std::vector<std::unique_ptr<Client>> clients_;
};

}  // namespace ebb::kube::testing
