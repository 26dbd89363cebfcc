// ProcessPoolResolver: the ScaleTargetResolver of `ebb run`. It holds the
// ProcessPool manifests and hands out one ProcessPool per manifest to the
// ScaledObjects whose scaleTargetRef names it (apiVersion ebb.dev/v1alpha1,
// kind ProcessPool, same namespace).
//
//   ProcessPoolResolver resolver;
//   resolver.Update(DecodeProcessPools(set, &errors, &warnings));
//   Result<ScaleTargetPtr> target = resolver.Resolve(so);
//
// Pools are created on first Resolve (a pool nobody scales runs nothing).
// When the manifests change (Update):
// - a pool whose spec is unchanged keeps running, untouched;
// - a pool whose spec changed is replaced: the old pool's copies are sent
//   SIGTERM (SIGKILL after its grace period) in the background, and a new
//   pool with the new spec starts the same desired number of copies at
//   once (old and new copies may overlap for up to the old grace period);
// - a pool whose manifest is gone is stopped the same way; ScaledObjects
//   naming it then resolve to kNotFound.
// A replaced pool's SetReplicas fails with kUnavailable: resolve again.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "targets/process_pool.h"
#include "targets/process_pool_spec.h"
#include "targets/scale_target.h"

namespace ebb::targets {

// Owns the pools it creates (shared with the callers of Resolve). Thread-safe.
class ProcessPoolResolver : public ScaleTargetResolver {
 public:
  // `options` apply to every pool it creates.
  explicit ProcessPoolResolver(ProcessPoolOptions options = {});
  // Shutdown().
  ~ProcessPoolResolver() override;
  ProcessPoolResolver(const ProcessPoolResolver&) = delete;
  ProcessPoolResolver& operator=(const ProcessPoolResolver&) = delete;

  // Replaces the known ProcessPools (see the file comment for what happens
  // to running copies). Specs with the same namespace and name as an
  // earlier one are ignored (DecodeProcessPools already reports them).
  void Update(std::vector<ProcessPoolSpec> specs);

  // The pool `so.spec.scaleTargetRef` names; the same pointer while its
  // spec is unchanged. kInvalidConfig for a reference that is not an
  // ebb.dev/v1alpha1 ProcessPool (Deployments need `ebb operator`) or a
  // pool that cannot start (ProcessPool::Create's errors); kNotFound
  // naming the pool when no manifest defines it; kUnavailable after
  // Shutdown.
  Result<ScaleTargetPtr> Resolve(const api::ScaledObject& so) override;

  // Stops every pool it created, in parallel, and waits until all their
  // copies are gone. Idempotent; Resolve fails afterwards.
  void Shutdown();

 private:
  struct Entry {
    ProcessPoolSpec spec;
    std::shared_ptr<ProcessPool> pool;  // null until first resolved
  };

  void RetireLocked(std::shared_ptr<ProcessPool> pool);
  void PruneRetiredLocked();

  const ProcessPoolOptions options_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;               // guarded by mu_; by namespace/name
  std::vector<std::shared_ptr<ProcessPool>> retired_;  // guarded by mu_; stopping
  bool shut_down_ = false;                             // guarded by mu_
};

}  // namespace ebb::targets
