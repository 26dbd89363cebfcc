#include "controller/spec_fingerprint.h"

#include "api/names.h"

namespace ebb::controller {
namespace {

// Length-prefixed fields: no separator inside a value can make two
// different objects print alike.
class Writer {
 public:
  Writer& Add(const std::string& s) {
    out_ += std::to_string(s.size()) + ":" + s + ";";
    return *this;
  }
  Writer& Add(std::string_view s) { return Add(std::string(s)); }
  Writer& Add(const char* s) { return Add(std::string(s)); }
  Writer& Add(int64_t v) { return Add(std::to_string(v)); }
  Writer& Add(double v) { return Add(std::to_string(v)); }
  Writer& Add(bool v) { return Add(std::string(v ? "t" : "f")); }
  template <typename T>
  Writer& Add(const std::optional<T>& v) {
    if (!v) return Add("-");
    Add("+");
    return Add(*v);
  }
  Writer& Add(const std::map<std::string, std::string>& m) {
    Add(static_cast<int64_t>(m.size()));
    for (const auto& [k, v] : m) Add(k).Add(v);
    return *this;
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

void AddRules(Writer& w, const std::optional<api::ScalingRules>& r) {
  w.Add(r.has_value());
  if (!r) return;
  w.Add(r->stabilization_window_seconds.has_value() ? int64_t{*r->stabilization_window_seconds} : -1);
  w.Add(r->select_policy ? api::SelectPolicyName(*r->select_policy) : "-");
  w.Add(r->tolerance);
  w.Add(r->policies.has_value());
  if (!r->policies) return;
  for (const api::ScalingPolicy& p : *r->policies) {
    w.Add(api::ScalingPolicyTypeName(p.type)).Add(int64_t{p.value}).Add(int64_t{p.period_seconds});
  }
}

void AddAdvanced(Writer& w, const api::Advanced& a) {
  w.Add(a.restore_to_original_replica_count);
  const auto& hpa = a.horizontal_pod_autoscaler_config;
  w.Add(hpa.has_value());
  if (hpa) {
    w.Add(hpa->name).Add(hpa->behavior.has_value());
    if (hpa->behavior) {
      AddRules(w, hpa->behavior->scale_up);
      AddRules(w, hpa->behavior->scale_down);
    }
  }
  const auto& mod = a.scaling_modifiers;
  w.Add(mod.has_value());
  if (mod) {
    w.Add(mod->formula).Add(mod->target).Add(mod->activation_target).Add(api::MetricTypeName(mod->metric_type));
  }
}

void AddTrigger(Writer& w, const api::Trigger& t) {
  w.Add(t.type).Add(t.name).Add(t.metadata).Add(api::MetricTypeName(t.metric_type)).Add(t.use_cached_metrics);
  w.Add(t.authentication_ref.has_value());
  if (t.authentication_ref) w.Add(t.authentication_ref->name).Add(t.authentication_ref->kind);
}

}  // namespace

std::string SpecFingerprint(const api::ScaledObject& so) {
  Writer w;
  const api::ObjectMeta& m = so.metadata;
  w.Add(m.namespace_name).Add(m.name).Add(m.uid).Add(m.annotations);
  w.Add(m.creation_timestamp ? std::to_string(m.creation_timestamp->time_since_epoch().count()) : "-");
  const api::ScaledObjectSpec& s = so.spec;
  const api::ScaleTargetRef& ref = s.scale_target_ref;
  w.Add(ref.api_version).Add(ref.kind).Add(ref.name).Add(ref.env_source_container_name);
  w.Add(int64_t{s.polling_interval}).Add(int64_t{s.cooldown_period}).Add(int64_t{s.initial_cooldown_period});
  w.Add(int64_t{s.min_replica_count}).Add(int64_t{s.max_replica_count});
  w.Add(s.idle_replica_count.has_value() ? int64_t{*s.idle_replica_count} : -1);
  w.Add(s.fallback.has_value());
  if (s.fallback) {
    w.Add(int64_t{s.fallback->failure_threshold}).Add(int64_t{s.fallback->replicas});
    w.Add(api::FallbackBehaviorName(s.fallback->behavior));
  }
  AddAdvanced(w, s.advanced);
  w.Add(static_cast<int64_t>(s.triggers.size()));
  for (const api::Trigger& t : s.triggers) AddTrigger(w, t);
  return w.Take();
}

}  // namespace ebb::controller
