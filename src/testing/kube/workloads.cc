#include "testing/kube/workloads.h"

#include <vector>

namespace ebb::testing::kube {

using nlohmann::json;

namespace {

int64_t Int(const json& obj, const char* part, const char* field) {
  if (!obj.contains(part) || !obj[part].is_object()) return -1;
  const json& p = obj[part];
  return p.contains(field) && p[field].is_number_integer() ? p[field].get<int64_t>() : -1;
}

bool Converged(const json& obj) {
  int64_t want = Int(obj, "spec", "replicas");
  int64_t generation = obj["metadata"].value("generation", int64_t{0});
  return Int(obj, "status", "replicas") == want && Int(obj, "status", "readyReplicas") == want &&
         Int(obj, "status", "observedGeneration") == generation;
}

}  // namespace

WorkloadSimulator::WorkloadSimulator(ObjectStore& store, std::chrono::milliseconds delay)
    : store_(store), delay_(delay) {
  store_.SetWriteObserver([this](const ResourceType& rt, const json& obj) { OnWrite(rt, obj); });
  thread_ = std::thread([this] { Run(); });
}

WorkloadSimulator::~WorkloadSimulator() {
  store_.SetWriteObserver(nullptr);
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void WorkloadSimulator::SetDelay(std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  delay_ = delay;
}

void WorkloadSimulator::OnWrite(const ResourceType& rt, const json& obj) {
  if (!rt.workload || Converged(obj)) return;
  std::lock_guard lock(mu_);
  if (delay_.count() < 0) return;
  std::string ns = obj["metadata"].value("namespace", "");
  std::string name = obj["metadata"].value("name", "");
  // A newer change restarts the delay, as a rollout restarts.
  pending_[rt.resource + "/" + ns + "/" + name] = {&rt, ns, name,
                                                   std::chrono::steady_clock::now() + delay_};
  cv_.notify_all();
}

void WorkloadSimulator::Apply(const Pending& p) {
  Reply current = store_.Get(*p.rt, p.ns, p.name);
  if (!current.ok()) return;  // deleted meanwhile
  json obj = current.body;
  int64_t want = std::max<int64_t>(Int(obj, "spec", "replicas"), 0);
  json& status = obj["status"];
  if (!status.is_object()) status = json::object();
  status["replicas"] = want;
  status["readyReplicas"] = want;
  status["availableReplicas"] = want;
  status["updatedReplicas"] = want;
  status["observedGeneration"] = obj["metadata"].value("generation", int64_t{0});
  obj["metadata"].erase("resourceVersion");  // unconditional, like a controller's retry loop
  (void)store_.UpdateStatus(*p.rt, p.ns, p.name, std::move(obj));
}

int WorkloadSimulator::Settle() {
  std::map<std::string, Pending> due;
  {
    std::lock_guard lock(mu_);
    due.swap(pending_);
  }
  for (const auto& [key, p] : due) Apply(p);
  return static_cast<int>(due.size());
}

void WorkloadSimulator::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    auto now = std::chrono::steady_clock::now();
    auto next = now + std::chrono::hours(1);
    std::vector<Pending> ready;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.due <= now) {
        ready.push_back(it->second);
        it = pending_.erase(it);
      } else {
        next = std::min(next, it->second.due);
        ++it;
      }
    }
    if (!ready.empty()) {
      lock.unlock();
      for (const Pending& p : ready) Apply(p);
      lock.lock();
      continue;
    }
    cv_.wait_until(lock, next);
  }
}

}  // namespace ebb::testing::kube
