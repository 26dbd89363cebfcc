// FencedResolver: scale targets that refuse to write unless a fence says
// this process may act. The operator's fence is "leader, in the term this
// controller was started for": a controller still finishing its work after
// leadership was lost (or a newer term started) can read targets but can
// no longer change them, so two writers never overlap.
//
//   FencedResolver fenced(kube_resolver, [&, term] { return Leading() && term_ == term; });
//   Controller c(options, clock, http, fenced, ...);
#pragma once

#include <functional>

#include "targets/scale_target.h"

namespace ebb::op {

// Thread-safe when `inner` and `may_act` are. `inner` must outlive it.
class FencedResolver final : public targets::ScaleTargetResolver {
 public:
  FencedResolver(targets::ScaleTargetResolver& inner, std::function<bool()> may_act);
  // The inner target wrapped: GetScale passes through, SetReplicas fails
  // with kUnavailable ("not the leader") when the fence is down, without
  // calling the API.
  Result<targets::ScaleTargetPtr> Resolve(const api::ScaledObject& so) override;

 private:
  targets::ScaleTargetResolver& inner_;
  const std::function<bool()> may_act_;
};

}  // namespace ebb::op
