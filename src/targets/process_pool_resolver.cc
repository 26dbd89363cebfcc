#include "targets/process_pool_resolver.h"

#include <algorithm>

namespace ebb::targets {
namespace {

Status CheckReference(const api::ScaleTargetRef& ref) {
  if (ref.kind != kProcessPoolKind) {
    return InvalidConfig("spec.scaleTargetRef: " + ref.kind + " " + ref.name + " (" +
                         ref.api_version + "): `ebb run` scales ProcessPools (apiVersion: " +
                         kProcessPoolApiVersion + ", kind: " + kProcessPoolKind + "); to scale a " +
                         ref.kind + " or another Kubernetes workload, use `ebb operator`");
  }
  if (ref.api_version != kProcessPoolApiVersion) {
    return InvalidConfig("spec.scaleTargetRef.apiVersion: a ProcessPool is " +
                         std::string(kProcessPoolApiVersion) + ", not \"" + ref.api_version +
                         "\"; set apiVersion: " + kProcessPoolApiVersion);
  }
  return Status::Ok();
}

}  // namespace

ProcessPoolResolver::ProcessPoolResolver(ProcessPoolOptions options)
    : options_(std::move(options)) {}

ProcessPoolResolver::~ProcessPoolResolver() { Shutdown(); }

void ProcessPoolResolver::Update(std::vector<ProcessPoolSpec> specs) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) return;
  std::map<std::string, Entry> next;
  for (ProcessPoolSpec& spec : specs) {
    std::string key = spec.metadata.Key();
    if (next.count(key)) continue;
    Entry entry{std::move(spec), nullptr};
    auto old = entries_.find(key);
    if (old != entries_.end() && old->second.pool) {
      if (SameProcesses(old->second.spec, entry.spec)) {
        entry.pool = std::move(old->second.pool);
      } else {
        int32_t replicas = old->second.pool->desired_replicas();
        RetireLocked(std::move(old->second.pool));
        // Started now, not at the next Resolve, so the copies keep running
        // across the change. If it cannot start, Resolve retries and reports.
        auto created = ProcessPool::Create(entry.spec, options_);
        if (created.ok()) {
          entry.pool = std::move(*created);
          entry.pool->SetReplicas(replicas, [](Status) {});
        }
      }
    }
    next.emplace(key, std::move(entry));
  }
  for (auto& [key, entry] : entries_) {
    if (entry.pool && !next.count(key)) RetireLocked(std::move(entry.pool));
  }
  entries_ = std::move(next);
  PruneRetiredLocked();
}

Result<ScaleTargetPtr> ProcessPoolResolver::Resolve(const api::ScaledObject& so) {
  const api::ScaleTargetRef& ref = so.spec.scale_target_ref;
  EBB_RETURN_IF_ERROR(CheckReference(ref));
  std::string key = so.metadata.namespace_name + "/" + ref.name;
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) return Unavailable("ebb is shutting down; ProcessPool " + key + " is stopped");
  PruneRetiredLocked();
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    return NotFound("ProcessPool " + key + " (" + kProcessPoolApiVersion +
                    ") is not defined in the manifests: add it, or fix spec.scaleTargetRef.name");
  }
  Entry& entry = it->second;
  if (!entry.pool) {
    auto created = ProcessPool::Create(entry.spec, options_);
    if (!created.ok()) return created.status();
    entry.pool = std::move(*created);
  }
  return ScaleTargetPtr(entry.pool);
}

void ProcessPoolResolver::Shutdown() {
  std::vector<std::shared_ptr<ProcessPool>> pools;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shut_down_ = true;
    for (auto& [key, entry] : entries_) {
      if (entry.pool) pools.push_back(std::move(entry.pool));
    }
    entries_.clear();
    pools.insert(pools.end(), retired_.begin(), retired_.end());
    retired_.clear();
  }
  // All grace periods run at once: begin every shutdown, then wait.
  for (auto& pool : pools) pool->BeginShutdown();
  for (auto& pool : pools) pool->Shutdown();
}

void ProcessPoolResolver::RetireLocked(std::shared_ptr<ProcessPool> pool) {
  pool->BeginShutdown();
  retired_.push_back(std::move(pool));
}

void ProcessPoolResolver::PruneRetiredLocked() {
  // Dropping a finished pool joins a supervisor that has already exited.
  std::erase_if(retired_, [](const std::shared_ptr<ProcessPool>& p) { return p->IsShutDown(); });
}

}  // namespace ebb::targets
