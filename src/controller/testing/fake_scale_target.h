// FakeScaleTarget and FakeScaleTargetResolver: in-memory scale targets for
// controller tests. A target holds a replica count, records every
// SetReplicas, answers synchronously by default, and can hold its answers
// (deferred mode) or fail, so tests can observe applies in flight.
//
//   FakeScaleTargetResolver resolver;
//   auto web = resolver.Add("default", "web", /*replicas=*/1);
//   ... controller polls ...
//   EXPECT_THAT(web->set_calls(), ElementsAre(3));
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "targets/scale_target.h"

namespace ebb::controller::testing {

// Thread-safe.
class FakeScaleTarget final : public targets::ScaleTarget {
 public:
  explicit FakeScaleTarget(std::string name, int32_t replicas = 0) : name_(std::move(name)), replicas_(replicas) {}

  void GetScale(std::function<void(Result<targets::ScaleState>)> done) override {
    Result<targets::ScaleState> answer = Internal("unset");
    {
      std::lock_guard l(mu_);
      ++get_calls_;
      if (!get_error_.ok()) {
        answer = get_error_;
      } else {
        answer = targets::ScaleState{replicas_, replicas_};
      }
      if (deferred_) {
        held_.push_back([done, answer] { done(answer); });
        return;
      }
    }
    done(answer);
  }

  void SetReplicas(int32_t replicas, std::function<void(Status)> done) override {
    Status answer;
    {
      std::lock_guard l(mu_);
      set_calls_.push_back(replicas);
      answer = set_error_;
      // Deferred: the change lands when the answer is released.
      if (deferred_) {
        held_.push_back([this, replicas, answer, done] {
          if (answer.ok()) SetCurrent(replicas);
          done(answer);
        });
        return;
      }
      if (answer.ok()) replicas_ = replicas;
    }
    done(answer);
  }

  std::string Describe() const override { return "Fake " + name_; }

  // Holds answers until Release() (applies then, too).
  void SetDeferred(bool deferred) {
    std::lock_guard l(mu_);
    deferred_ = deferred;
  }
  // Answers every held call. Returns how many.
  int Release() {
    std::deque<std::function<void()>> held;
    {
      std::lock_guard l(mu_);
      held.swap(held_);
    }
    for (auto& h : held) h();
    return static_cast<int>(held.size());
  }
  void SetCurrent(int32_t replicas) {
    std::lock_guard l(mu_);
    replicas_ = replicas;
  }
  void FailGet(Status s) {
    std::lock_guard l(mu_);
    get_error_ = std::move(s);
  }
  void FailSet(Status s) {
    std::lock_guard l(mu_);
    set_error_ = std::move(s);
  }
  int32_t replicas() const {
    std::lock_guard l(mu_);
    return replicas_;
  }
  std::vector<int32_t> set_calls() const {
    std::lock_guard l(mu_);
    return set_calls_;
  }
  int get_calls() const {
    std::lock_guard l(mu_);
    return get_calls_;
  }

 private:
  mutable std::mutex mu_;
  const std::string name_;
  int32_t replicas_;                           // guarded by mu_
  bool deferred_ = false;                      // guarded by mu_
  Status get_error_;                           // guarded by mu_
  Status set_error_;                           // guarded by mu_
  std::vector<int32_t> set_calls_;             // guarded by mu_
  int get_calls_ = 0;                          // guarded by mu_
  std::deque<std::function<void()>> held_;     // guarded by mu_
};

// Resolves a ScaledObject to the target registered under its namespace and
// scaleTargetRef.name. Thread-safe.
class FakeScaleTargetResolver final : public targets::ScaleTargetResolver {
 public:
  std::shared_ptr<FakeScaleTarget> Add(const std::string& ns, const std::string& name, int32_t replicas = 0) {
    auto target = std::make_shared<FakeScaleTarget>(ns + "/" + name, replicas);
    std::lock_guard l(mu_);
    targets_[ns + "/" + name] = target;
    return target;
  }
  Result<targets::ScaleTargetPtr> Resolve(const api::ScaledObject& so) override {
    const std::string key = so.metadata.namespace_name + "/" + so.spec.scale_target_ref.name;
    std::lock_guard l(mu_);
    auto it = targets_.find(key);
    if (it == targets_.end()) return NotFound("fake target " + key + " does not exist");
    return targets::ScaleTargetPtr(it->second);
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<FakeScaleTarget>> targets_;  // guarded by mu_
};

}  // namespace ebb::controller::testing
