// Controller: deciding once a poll has every answer, applying the decision
// through the target, and reporting it (log, observer, status, events).
#include <utility>

#include "controller/controller.h"

namespace ebb::controller {
namespace {

constexpr char kReasonTargetError[] = "ScaleTargetError";
constexpr char kEventNormal[] = "Normal";
constexpr char kEventWarning[] = "Warning";

// KEDA's event reasons for scale changes.
std::string EventReason(const scaling::Decision& d, int32_t from) {
  if (from == 0 && d.replicas > 0) return "KEDAScaleTargetActivated";
  if (d.replicas == 0 && from > 0) return "KEDAScaleTargetDeactivated";
  return "KEDAScaleTargetScaled";
}

bool IsPaused(const scaling::Decision& d) {
  for (const scaling::Condition& c : d.conditions) {
    if (c.type == "Paused") return c.status == scaling::ConditionStatus::kTrue;
  }
  return false;
}

// Equal but for lastActiveTime, which moved less than `refresh`.
bool OnlyLastActiveMovedLittle(const ObjectStatus& published, ObjectStatus next, Duration refresh) {
  if (!published.last_active_time || !next.last_active_time) return false;
  if (*next.last_active_time - *published.last_active_time >= refresh) return false;
  next.last_active_time = published.last_active_time;
  return next == published;
}

}  // namespace

void Controller::MaybeDecide(ManagedObject& o) {
  PollState& p = *o.poll;
  if (p.phase != PollPhase::kQuerying || p.outstanding > 0 || !p.scale) return;
  if (!p.scale->ok()) return FailPoll(o, p.scale->status(), kReasonTargetError);
  const targets::ScaleState scale = **p.scale;
  o.replicas = scale.replicas;
  if (!std::exchange(o.history_seeded, true) && scale.replicas > 0) {
    scaling::SeedHistory(o.engine.hpa, scale.replicas, clock_.Now());
  }
  const scaling::Decision d = scaling::Decide(o.so, Observations(o, p), scale.replicas, scale.ready_replicas,
                                              clock_.Now(), o.created, o.engine);
  if (d.changed && !options_.dry_run && !cancelled_) return Apply(o, d, scale.replicas);
  Complete(o, d, scale.replicas, false, Status::Ok());
}

void Controller::Apply(ManagedObject& o, const scaling::Decision& d, int32_t from) {
  PollState& p = *o.poll;
  p.phase = PollPhase::kApplying;
  p.decision = d;
  p.from_replicas = from;
  deadlines_.Schedule(o.key, clock_.Now() + options_.apply_timeout);
  o.target->SetReplicas(d.replicas, [loop = loop_, this, key = o.key, id = p.id](Status s) {
    loop->Post([this, key, id, s] { OnApplied(key, id, s); });
  });
}

void Controller::OnApplied(const std::string& key, uint64_t poll_id, Status status) {
  ManagedObject* o = FindPoll(key, poll_id);
  if (!o || o->poll->phase != PollPhase::kApplying) return;
  Complete(*o, o->poll->decision, o->poll->from_replicas, status.ok(), status);
}

void Controller::Complete(ManagedObject& o, scaling::Decision d, int32_t from, bool applied, Status error) {
  const PollState p = std::move(*o.poll);
  DropPoll(o);
  if (applied) o.replicas = d.replicas;
  LogDecision(o, d, from, applied, error);
  observer_->OnDecision(DecisionMade{o.ref, from, d.replicas, d.changed, applied, d.reason, d.message, d.active,
                                     IsPaused(d), clock_.Now() - p.due});
  if (!error.ok()) return ReportError(o, error.WithContext("setting " + std::to_string(d.replicas) + " replicas"),
                                      kReasonTargetError);
  o.last_error = Status::Ok();
  if (applied) {
    status_sink_->RecordEvent(o.ref, kEventNormal, EventReason(d, from),
                              "Scaled " + o.target->Describe() + " from " + std::to_string(from) + " to " +
                                  std::to_string(d.replicas) + ": " + d.message);
  }
  PublishIfChanged(o, BuildStatus(o.so, d, o.engine));
}

void Controller::LogDecision(const ManagedObject& o, const scaling::Decision& d, int32_t from, bool applied,
                             const Status& error) {
  if (!d.changed) {
    logger_->Debug("decided", {{"scaledObject", o.key}, {"replicas", std::to_string(from)},
                               {"reason", d.reason}, {"message", d.message}});
    return;
  }
  LogFields fields{{"scaledObject", o.key}, {"from", std::to_string(from)}, {"to", std::to_string(d.replicas)},
                   {"reason", d.reason}, {"message", d.message}};
  if (applied) return logger_->Info("scaled", fields);
  if (options_.dry_run) return logger_->Info("would scale (dry run)", fields);
  fields.push_back({"error", error.ToString()});
  logger_->Warn("scale failed", fields);
}

void Controller::FailPoll(ManagedObject& o, const Status& error, const std::string& reason) {
  DropPoll(o);
  // The target may have been replaced or deleted: resolve it again next time.
  o.target = nullptr;
  ReportError(o, error, reason);
}

void Controller::ReportError(ManagedObject& o, const Status& error, const std::string& reason) {
  observer_->OnObjectError(o.ref, error);
  const bool same = o.last_error == error;
  o.last_error = error;
  if (!same) {
    logger_->Warn("scaledObject error", {{"scaledObject", o.key}, {"reason", reason}, {"error", error.ToString()}});
    status_sink_->RecordEvent(o.ref, kEventWarning, reason, error.message());
  }
  PublishIfChanged(o, NotReadyStatus(o.status, reason, error.message()));
}

void Controller::PublishIfChanged(ManagedObject& o, ObjectStatus status) {
  if (o.status_published &&
      (status == o.status || OnlyLastActiveMovedLittle(o.status, status, options_.last_active_refresh))) {
    return;
  }
  o.status = std::move(status);
  o.status_published = true;
  status_sink_->Publish(o.ref, o.status);
}

}  // namespace ebb::controller
