// WorkloadSimulator: makes Deployments and StatefulSets in an ObjectStore
// behave like running workloads: `delay` after spec.replicas changes,
// status.replicas, readyReplicas, availableReplicas, updatedReplicas and
// observedGeneration follow it (one status write, so watchers see it).
//
//   WorkloadSimulator sim(store, std::chrono::milliseconds(200));
//   ... scale web to 3 ...
//   sim.Settle();   // or wait 200 ms: status.readyReplicas == 3
//
// Owns one thread. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "testing/kube/object_store.h"

namespace ebb::testing::kube {

class WorkloadSimulator {
 public:
  // `store` must outlive the simulator, which installs itself as the
  // store's write observer. A negative delay disables the simulation.
  WorkloadSimulator(ObjectStore& store, std::chrono::milliseconds delay);
  ~WorkloadSimulator();
  WorkloadSimulator(const WorkloadSimulator&) = delete;
  WorkloadSimulator& operator=(const WorkloadSimulator&) = delete;

  void SetDelay(std::chrono::milliseconds delay);
  // Applies every pending status change now. Returns how many.
  int Settle();

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  struct Pending {
    const ResourceType* rt;
    std::string ns;
    std::string name;
    SteadyTime due;
  };

  void OnWrite(const ResourceType& rt, const nlohmann::json& obj);
  void Apply(const Pending& p);
  void Run();

  ObjectStore& store_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::chrono::milliseconds delay_;         // guarded by mu_
  std::map<std::string, Pending> pending_;  // guarded by mu_; by resource/ns/name
  bool stop_ = false;                       // guarded by mu_
  std::thread thread_;
};

}  // namespace ebb::testing::kube
