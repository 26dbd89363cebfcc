#include "doctor/doctor.h"

#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>

#include "scaling/validate.h"

extern char** environ;

namespace ebb::doctor {

namespace {

// Adds results in order; once one fails, later checks become skips.
// Not thread-safe.
class Sequence {
 public:
  Sequence(Report& report, std::string scope) : report_(report), scope_(std::move(scope)) {}

  void Add(CheckResult r) {
    if (r.status == CheckResult::kFail && failed_.empty()) failed_ = r.id;
    report_.Add(std::move(r));
  }
  // Runs `check` unless an earlier one failed (then: a skip).
  void Run(std::string_view id, const std::function<CheckResult()>& check) {
    if (!failed_.empty()) return Skip(id, "skipped: " + failed_ + " failed");
    Add(check());
  }
  // As Run, for a group of results (endpoint.*, query.*); `ids` name the
  // group's checks for the skip lines.
  void RunGroup(const std::vector<std::string_view>& ids,
                const std::function<std::vector<CheckResult>()>& group) {
    if (!failed_.empty()) {
      for (std::string_view id : ids) Skip(id, "skipped: " + failed_ + " failed");
      return;
    }
    std::vector<CheckResult> results = group();
    for (std::string_view id : ids) {
      auto it = std::find_if(results.begin(), results.end(),
                             [id](const CheckResult& r) { return r.id == id; });
      if (it != results.end()) {
        Add(std::move(*it));
      } else if (!failed_.empty()) {
        // The group stopped at a failure: its later checks did not run.
        Skip(id, "skipped: " + failed_ + " failed");
      }
    }
  }
  // Network checks under --offline.
  void Offline(const std::vector<std::string_view>& ids) {
    for (std::string_view id : ids) {
      Skip(id, failed_.empty() ? "skipped: --offline" : "skipped: " + failed_ + " failed");
    }
  }
  void Skip(std::string_view id, std::string why) {
    CheckResult r = NewCheck(id, scope_);
    r.status = CheckResult::kSkip;
    r.detail = std::move(why);
    report_.Add(std::move(r));
  }
  bool failed() const { return !failed_.empty(); }
  // An earlier step outside this sequence failed (the ScaledObject).
  void MarkFailed(std::string id) { failed_ = std::move(id); }

 private:
  Report& report_;
  std::string scope_;
  std::string failed_;  // id of the first failed check
};

const std::vector<std::string_view> kEndpointIds = {"endpoint.proxy", "endpoint.dns",
                                                    "endpoint.tcp", "endpoint.tls"};
const std::vector<std::string_view> kQueryIds = {"query.status", "query.shape"};

// Step 2-4: only for triggers with an Azure pod identity.
void RunAwsIdentity(Sequence& seq, TriggerUnderTest& t, const DoctorContext& ctx) {
  seq.Run("identity.aws-chain", [&] { return CheckAwsChain(t, ctx); });
  if (ctx.offline) return seq.Offline({"identity.aws-credentials"});
  seq.Run("identity.aws-credentials", [&] { return CheckAwsCredentials(t, ctx); });
}

void RunIdentity(Sequence& seq, TriggerUnderTest& t, const DoctorContext& ctx) {
  if (UsesAwsIdentity(t)) return RunAwsIdentity(seq, t, ctx);
  if (!t.UsesWorkloadIdentity() && !t.UsesManagedIdentity()) return;
  seq.Run("identity.env", [&] { return CheckIdentityEnv(t, ctx); });
  if (t.UsesWorkloadIdentity()) {
    seq.Run("identity.token-file", [&] { return CheckTokenFile(t); });
    seq.Run("identity.token-claims", [&] { return CheckTokenClaims(t, ctx); });
    if (!ctx.cluster_requested) {
      seq.Skip("cluster.workload-identity", CheckClusterSkipped(t).detail);
    } else if (ctx.offline) {
      seq.Offline(kClusterIds);
    } else {
      seq.RunGroup(kClusterIds, [&] { return CheckCluster(t, ctx); });
    }
  }
  if (ctx.offline) return seq.Offline({"identity.token-exchange"});
  seq.Run("identity.token-exchange", [&] { return CheckTokenExchange(t, ctx); });
}

void RunTrigger(Report& report, TriggerUnderTest& t, const DoctorContext& ctx,
                const std::string& object_failure) {
  Sequence seq(report, t.Scope());
  if (!object_failure.empty()) seq.MarkFailed(object_failure);
  // After a failure here the lambdas below never run: every later check,
  // which needs t.config, is reported as skipped.
  seq.Run("manifest.trigger", [&] { return CheckTrigger(t); });
  seq.Run("manifest.auth-ref", [&] { return CheckAuthRef(t, ctx); });
  seq.Run("manifest.auth-modes-with-pod-identity",
          [&] { return CheckAuthModesWithPodIdentity(t); });
  seq.Run("manifest.azure-host-without-identity", [&] { return CheckAzureHostIdentity(t); });
  RunIdentity(seq, t, ctx);
  if (ctx.offline) {
    seq.Offline(kEndpointIds);
    seq.Offline(kQueryIds);
    t.value = ctx.value;
  } else {
    seq.RunGroup(kEndpointIds, [&] { return CheckEndpoint(t, ctx); });
    seq.RunGroup(kQueryIds, [&] { return CheckQuery(t, ctx); });
    if (!t.value) t.value = ctx.value;
  }
  seq.Run("threshold.values", [&] { return CheckThreshold(t); });
}

// Problems of the ScaledObject `key` (decode problems of objects left out
// of the set included); the rest go to `files`.
struct SortedProblems {
  std::map<std::string, api::Problems> by_object;
  api::Problems files;
};
SortedProblems Sort(const api::Problems& problems) {
  SortedProblems out;
  for (const api::Problem& p : problems) {
    if (p.kind == "ScaledObject" && !p.object.empty()) {
      out.by_object[p.object].push_back(p);
    } else {
      out.files.push_back(p);
    }
  }
  return out;
}

void RunObject(Report& report, const api::ScaledObject& so, const api::ManifestSet& set,
               const DoctorContext& ctx, api::Problems errors, const api::Problems& warnings) {
  std::string scope = "ScaledObject " + so.metadata.Key();
  Status engine = scaling::ValidateForEngine(so);
  if (!engine.ok()) {
    errors.push_back(so.source.At("ScaledObject", so.metadata.Key(), "", engine.message()));
  }
  CheckResult object = CheckObject(scope, errors, warnings);
  std::string failure = object.status == CheckResult::kFail ? object.id : "";
  report.Add(std::move(object));
  for (size_t i = 0; i < so.spec.triggers.size(); ++i) {
    TriggerUnderTest t;
    t.so = &so;
    t.index = i;
    t.set = &set;
    RunTrigger(report, t, ctx, failure);
  }
}

}  // namespace

auth::Environment ProcessEnvironment() {
  auth::Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string_view::npos)
      env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  return env;
}

std::string CheckTitle(std::string_view id) {
  static const std::map<std::string_view, const char*> kTitles = {
      {"manifest.parse", "Manifests parse and validate"},
      {"manifest.trigger", "Trigger type and metadata"},
      {"manifest.auth-ref", "authenticationRef resolves"},
      {"manifest.auth-modes-with-pod-identity", "authModes not combined with podIdentity"},
      {"manifest.azure-host-without-identity",
       "Azure Managed Prometheus host has an Azure identity"},
      {"identity.env", "Identity variables (AZURE_*)"},
      {"identity.token-file", "Federated token file"},
      {"identity.token-claims", "Service-account token claims"},
      {"cluster.workload-identity", "Pod label, service account annotation, webhook"},
      {"cluster.operator-pod", "Operator pod found"},
      {"cluster.pod-label", "Pod label azure.workload.identity/use"},
      {"cluster.service-account", "Service account annotations"},
      {"cluster.webhook", "Workload identity webhook installed"},
      {"cluster.pod-injected", "AZURE_* injected into the pod"},
      {"identity.token-exchange", "Token exchange with Entra ID"},
      {"identity.aws-chain", "AWS credential provider (IRSA, EKS Pod Identity, IMDS)"},
      {"identity.aws-credentials", "AWS credentials (STS, agent or IMDS)"},
      {"endpoint.proxy", "Proxy settings"},
      {"endpoint.dns", "DNS resolution"},
      {"endpoint.tcp", "TCP connect"},
      {"endpoint.tls", "TLS handshake"},
      {"query.status", "Query answer"},
      {"query.shape", "Result shape"},
      {"threshold.values", "Threshold and activation"},
  };
  auto it = kTitles.find(id);
  return it == kTitles.end() ? std::string(id) : it->second;
}

Report RunDoctor(const api::ManifestSet& set, const DoctorContext& ctx, const RunOptions& options) {
  Report report;
  SortedProblems errors = Sort(set.errors);
  SortedProblems warnings = Sort(set.warnings);
  report.Add(CheckFiles(set, errors.files, warnings.files));
  for (const api::ScaledObject& so : set.scaled_objects) {
    std::string key = so.metadata.Key();
    if (!options.name.empty() && key != options.name) continue;
    RunObject(report, so, set, ctx, errors.by_object[key], warnings.by_object[key]);
    errors.by_object.erase(key);
  }
  // ScaledObjects that did not even decode.
  for (const auto& [key, problems] : errors.by_object) {
    if (!options.name.empty() && key != options.name) continue;
    report.Add(CheckObject("ScaledObject " + key, problems, {}));
  }
  return report;
}

}  // namespace ebb::doctor
