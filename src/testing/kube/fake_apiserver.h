// FakeApiServer: a Kubernetes API server for tests, on 127.0.0.1 and a free
// port, held to facts/kubernetes.md by its own tests (fake_apiserver_test).
//
//   FakeApiServerOptions o;
//   o.tls = ca.IssueServer({"localhost"}).value();
//   o.tokens = {{"t0k3n", "system:serviceaccount:keda:ebb"}};
//   auto server = FakeApiServer::Start(std::move(o)).value();
//   server->store().Seed(*server->Type("apps", "v1", "deployments"), deployment_json);
//   server->InjectFault({.method = "PUT", .path_contains = "/scale", .status = 409});
//   // client -> server->base_url()
//
// Serves: discovery (/api, /apis, /api/v1, /apis/G/V), /version, /healthz;
// get, list (labelSelector, fieldSelector metadata.name/namespace, limit and
// continue), watch (chunked JSON events, BOOKMARKs, timeoutSeconds,
// server-side closes, 410 Expired as an ERROR event), create, update, merge /
// JSON / strategic patch, delete, the status and scale subresources, for the
// types of resource_types.h. Errors are metav1.Status bodies worded as the
// real server words them. Authentication: bearer tokens, basic auth, client
// certificates (CN = user); authorization: an RBAC table of allow rules.
//
// Owns its store, its workload simulation and its listening thread.
// Thread-safe: every method may be called while requests are served.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "testing/kube/object_store.h"
#include "testing/kube/workloads.h"
#include "testing/pki/test_pki.h"

namespace ebb::testing::kube {

// One allow rule. "*" matches anything in each list; an empty `namespaces`
// list matches every namespace and the cluster scope.
struct RbacRule {
  std::string user;
  std::vector<std::string> verbs;      // get list watch create update patch delete
  std::vector<std::string> groups;     // "" is the core group
  std::vector<std::string> resources;  // "deployments", "deployments/scale"
  std::vector<std::string> namespaces;
};

struct FakeApiServerOptions {
  // Port on 127.0.0.1. Default 0: a free one.
  int port = 0;
  // Serve HTTPS with this certificate. Default: plain HTTP.
  std::optional<IssuedCert> tls;
  // With tls: accept client certificates issued by this CA (user = CN).
  std::string client_ca_pem;
  // Bearer token -> user name.
  std::map<std::string, std::string> tokens;
  // Basic auth user -> password (the user name is the user).
  std::map<std::string, std::string> basic_users;
  // Without any credential configured, requests run as "system:anonymous";
  // with some, a request without valid credentials is 401.
  // nullopt: everyone may do everything. Otherwise only what a rule allows.
  std::optional<std::vector<RbacRule>> rbac;
  // BOOKMARK events on watches that ask for them. Default: every 1 s (the
  // real server sends them about once a minute; tests want them sooner).
  std::chrono::milliseconds bookmark_interval{1000};
  // A watch without timeoutSeconds ends after this. Default 30 min.
  std::chrono::seconds default_watch_timeout{1800};
  // Delay before a workload's status follows spec.replicas; < 0 disables.
  std::chrono::milliseconds workload_delay{0};
  // Watch events kept; older resourceVersions expire with 410.
  size_t history_limit = 10000;
  std::vector<ResourceType> types = DefaultResourceTypes();
};

// An injected failure: the next `times` requests whose method and path
// match get `status` with a metav1.Status body (429 with Retry-After: 1).
struct Fault {
  std::string method;         // "" matches any
  std::string path_contains;  // "" matches any
  int status = 500;
  int times = 1;
};

// What the server saw, for assertions.
struct RequestRecord {
  std::string method;
  std::string path;   // without the query
  std::string query;  // raw, "" when none
  std::string user;   // "" when unauthenticated
  int status = 0;
};

class FakeApiServer {
 public:
  // kUnavailable when no port can be bound, kInvalidConfig for bad TLS.
  static Result<std::unique_ptr<FakeApiServer>> Start(FakeApiServerOptions options = {});
  ~FakeApiServer();  // Stop()
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  // "https://127.0.0.1:PORT" (or http://).
  std::string base_url() const;
  int port() const { return port_; }
  ObjectStore& store() { return *store_; }
  const ResourceType* Type(const std::string& group, const std::string& version,
                           const std::string& resource) const {
    return store_->Find(group, version, resource);
  }

  // Credentials and RBAC may change while serving (token rotation tests).
  void SetToken(const std::string& token, const std::string& user);
  void RevokeToken(const std::string& token);
  void SetRbac(std::optional<std::vector<RbacRule>> rules);

  // Fault injection.
  void SetLatency(std::chrono::milliseconds latency);
  void InjectFault(Fault fault);
  void ClearFaults();
  // Breaks every open watch connection without the terminating chunk.
  void DropWatches();
  // Ends every open watch with an ERROR event (410 Expired) and compacts
  // the history, so re-watching from any resourceVersion seen is 410 too.
  void ExpireWatches();
  // Ends every open watch cleanly (the terminating chunk), as the server's
  // timeout does.
  void CloseWatches();
  // Sends a BOOKMARK on every open watch that allows them.
  void SendBookmarks();
  int OpenWatches() const { return open_watches_.load(); }

  // Applies pending simulated workload status changes now.
  int SettleWorkloads() { return workloads_->Settle(); }
  void SetWorkloadDelay(std::chrono::milliseconds d) { workloads_->SetDelay(d); }

  std::vector<RequestRecord> Requests() const;
  void ClearRequests();

  void Stop();

  // A parsed resource path; defined in route.h (internal).
  struct Route;

 private:
  struct WatchState;

  explicit FakeApiServer(FakeApiServerOptions options);
  void Handle(const httplib::Request& req, httplib::Response& res);
  Reply Dispatch(const httplib::Request& req, httplib::Response& res, const std::string& user);
  Reply Serve(const Route& r, const httplib::Request& req, httplib::Response& res);
  std::optional<Reply> TakeFault(const std::string& method, const std::string& path);
  // The user, or "" when the credentials are missing or wrong.
  std::string Authenticate(const httplib::Request& req) const;
  bool Allowed(const std::string& user, const std::string& verb, const Route& r) const;
  void StartWatch(const Route& r, const httplib::Request& req, httplib::Response& res);
  // One turn of a watch stream's content provider: false aborts it.
  bool WatchStep(WatchState& st, httplib::DataSink& sink);
  void Record(RequestRecord r);

  const FakeApiServerOptions options_;
  std::unique_ptr<ObjectStore> store_;
  std::unique_ptr<WorkloadSimulator> workloads_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mu_;
  std::map<std::string, std::string> tokens_;  // guarded by mu_
  std::optional<std::vector<RbacRule>> rbac_;  // guarded by mu_
  std::chrono::milliseconds latency_{0};       // guarded by mu_
  std::vector<Fault> faults_;                  // guarded by mu_
  std::vector<RequestRecord> requests_;        // guarded by mu_

  std::atomic<bool> stopping_{false};
  std::atomic<int> open_watches_{0};
  std::atomic<uint64_t> drop_epoch_{0};
  std::atomic<uint64_t> expire_epoch_{0};
  std::atomic<uint64_t> close_epoch_{0};
  std::atomic<uint64_t> bookmark_epoch_{0};
};

}  // namespace ebb::testing::kube
