#include "operator/fenced_target.h"

#include <memory>
#include <utility>

namespace ebb::op {
namespace {

class FencedTarget final : public targets::ScaleTarget {
 public:
  FencedTarget(targets::ScaleTargetPtr inner, std::function<bool()> may_act)
      : inner_(std::move(inner)), may_act_(std::move(may_act)) {}

  void GetScale(std::function<void(Result<targets::ScaleState>)> done) override {
    inner_->GetScale(std::move(done));
  }

  void SetReplicas(int32_t replicas, std::function<void(Status)> done) override {
    if (!may_act_()) {
      done(Unavailable("not scaling " + inner_->Describe() +
                       ": this ebb operator is not the leader (any more)"));
      return;
    }
    inner_->SetReplicas(replicas, std::move(done));
  }

  std::string Describe() const override { return inner_->Describe(); }

 private:
  const targets::ScaleTargetPtr inner_;
  const std::function<bool()> may_act_;
};

}  // namespace

FencedResolver::FencedResolver(targets::ScaleTargetResolver& inner, std::function<bool()> may_act)
    : inner_(inner), may_act_(std::move(may_act)) {}

Result<targets::ScaleTargetPtr> FencedResolver::Resolve(const api::ScaledObject& so) {
  Result<targets::ScaleTargetPtr> inner = inner_.Resolve(so);
  if (!inner.ok()) return inner.status();
  return targets::ScaleTargetPtr(std::make_shared<FencedTarget>(*std::move(inner), may_act_));
}

}  // namespace ebb::op
