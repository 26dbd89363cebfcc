// ProcessPoolSpec: ebb's own manifest kind (apiVersion ebb.dev/v1alpha1,
// kind ProcessPool), the target `ebb run` scales: N local copies of a
// command. A ScaledObject names it in scaleTargetRef with that apiVersion
// and kind. The fields, their defaults and the environment each copy gets
// are documented in targets/README.md.
//
//   apiVersion: ebb.dev/v1alpha1
//   kind: ProcessPool
//   metadata: {name: workers, namespace: default}
//   spec:
//     command: /usr/bin/python3
//     args: [worker.py, --queue, jobs]
//     env: [{name: LOG_LEVEL, value: info}]
//     workingDir: /srv/app
//     gracePeriodSeconds: 30
//
//   api::ManifestSet set = api::LoadManifestSet({"deploy/"});
//   std::vector<ProcessPoolSpec> pools = DecodeProcessPools(set, &errors, &warnings);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/document.h"
#include "api/manifest_set.h"
#include "api/object_meta.h"
#include "api/problem.h"

namespace ebb::targets {

inline constexpr char kProcessPoolApiVersion[] = "ebb.dev/v1alpha1";
inline constexpr char kProcessPoolKind[] = "ProcessPool";

// Default of spec.gracePeriodSeconds: Kubernetes' default for
// terminationGracePeriodSeconds, so workers written for pods behave alike.
inline constexpr int32_t kDefaultGracePeriodSeconds = 30;

// A plain value type, copyable.
struct ProcessPoolSpec {
  api::ObjectMeta metadata;
  // The program: an absolute path, a path relative to working_dir, or a
  // name looked up in PATH. Required.
  std::string command;
  // argv[1..].
  std::vector<std::string> args;
  // Added to ebb's environment (same names replaced), in order.
  std::vector<std::pair<std::string, std::string>> env;
  // Where each copy runs; "" means ebb's working directory.
  std::string working_dir;
  // Seconds between SIGTERM and SIGKILL when a copy is stopped. >= 0.
  // Default: kDefaultGracePeriodSeconds (30).
  int32_t grace_period_seconds = kDefaultGracePeriodSeconds;
};

// True when both describe the same processes (name, namespace and every
// spec field); metadata such as labels is ignored.
bool SameProcesses(const ProcessPoolSpec& a, const ProcessPoolSpec& b);

// Decodes one ProcessPool document (apiVersion and kind are not checked:
// the caller routed it here). Problems name the field
// ("spec.command: is required"); nullopt when there is at least one error.
std::optional<ProcessPoolSpec> DecodeProcessPool(const api::Document& doc, api::Problems* errors,
                                                 api::Problems* warnings);

// Decodes every ProcessPool among set.other_documents (kind ProcessPool;
// another apiVersion than ebb.dev/v1alpha1 is an error), appending problems
// to `errors` and `warnings`. Bad pools and duplicates (same namespace and
// name: the first one wins) are reported and left out.
std::vector<ProcessPoolSpec> DecodeProcessPools(const api::ManifestSet& set, api::Problems* errors,
                                                api::Problems* warnings);

}  // namespace ebb::targets
