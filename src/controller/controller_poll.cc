// Controller: starting polls, coalescing and sending their queries,
// collecting answers and enforcing poll deadlines.
#include <algorithm>
#include <utility>

#include "controller/controller.h"

namespace ebb::controller {
namespace {

constexpr char kScaler[] = "prometheusScaler";  // KEDA's scaler label value
constexpr char kReasonTargetError[] = "ScaleTargetError";

std::string Seconds(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

}  // namespace

void Controller::RunDue(Time now) {
  if (cancelled_) return;
  ExpireDeadlines(now);
  if (shutting_down_) return;
  QueryCoalescer coalescer(now);
  for (const PollScheduler::Due& due : polls_.PopDue(now)) StartPoll(due, now, coalescer);
  SendGroups(coalescer.Take(), now);
}

void Controller::StartPoll(const PollScheduler::Due& due, Time now, QueryCoalescer& coalescer) {
  auto it = objects_.find(due.key);
  if (it == objects_.end()) return;
  ManagedObject& o = it->second;
  polls_.Schedule(o.key, NextSlot(due.due, o.interval, now));
  if (o.poll) {
    ++o.skipped_polls;
    logger_->Debug("poll skipped: previous still in flight", {{"scaledObject", o.key}});
    return;
  }
  if (!EnsureTarget(o)) return;
  PollState& p = o.poll.emplace();
  p.id = next_poll_id_++;
  p.due = due.due;
  p.started = now;
  p.deadline = now + std::max(LongestTriggerTimeout(o), options_.scale_timeout) + options_.answer_grace;
  p.paused = StopsPolling(o.so);
  p.answers.resize(o.so.spec.triggers.size());
  ++o.polls;
  deadlines_.Schedule(o.key, p.deadline);
  const uint64_t id = p.id;
  if (!p.paused) {
    p.outstanding = p.answers.size();
    for (size_t i = 0; i < o.triggers.size(); ++i) {
      if (o.triggers[i].ok() && o.triggers[i]->prometheus) {
        coalescer.Add(*o.triggers[i]->prometheus, QueryMember{o.key, id, i});
      } else {
        RecordAnswer(o, i, o.triggers[i].status(), Duration::zero());
      }
    }
  }
  RequestScale(o, id);
}

bool Controller::EnsureTarget(ManagedObject& o) {
  if (o.target) return true;
  Result<targets::ScaleTargetPtr> target = resolver_.Resolve(o.so);
  if (!target.ok()) {
    ReportError(o, target.status(), kReasonTargetError);
    return false;
  }
  o.target = std::move(*target);
  return true;
}

void Controller::RequestScale(ManagedObject& o, uint64_t poll_id) {
  // The callback may run inside GetScale (local targets): it only posts.
  o.target->GetScale([loop = loop_, this, key = o.key, poll_id](Result<targets::ScaleState> s) {
    loop->Post([this, key, poll_id, s] { OnScale(key, poll_id, s); });
  });
}

void Controller::SendGroups(std::vector<QueryGroup> groups, Time sent) {
  for (QueryGroup& g : groups) {
    observer_->OnQuerySent(static_cast<int>(g.members.size()));
    auto members = std::make_shared<const std::vector<QueryMember>>(std::move(g.members));
    g.authorizer->Send(http_, std::move(g.request),
                       [loop = loop_, this, members, sent](Result<http::HttpResponse> r) {
                         loop->Post([this, members, sent, r = std::move(r)] { OnQueryAnswer(*members, r, sent); });
                       });
  }
}

ManagedObject* Controller::FindPoll(const std::string& key, uint64_t poll_id) {
  if (cancelled_) return nullptr;
  auto it = objects_.find(key);
  if (it == objects_.end() || !it->second.poll || it->second.poll->id != poll_id) return nullptr;
  return &it->second;
}

void Controller::OnQueryAnswer(const std::vector<QueryMember>& members,
                               const Result<http::HttpResponse>& response, Time sent) {
  // Measured when the controller sees the answer: includes the wait in the
  // loop, which the Run loop keeps short.
  const Duration latency = clock_.Now() - sent;
  for (const QueryMember& m : members) {
    ManagedObject* o = FindPoll(m.object_key, m.poll_id);
    if (!o || o->poll->phase != PollPhase::kQuerying || o->poll->answers[m.trigger_index]) continue;
    const Result<BuiltTrigger>& t = o->triggers[m.trigger_index];
    RecordAnswer(*o, m.trigger_index, t.ok() ? t->prometheus->Interpret(response) : t.status(), latency);
    MaybeDecide(*o);
  }
}

void Controller::RecordAnswer(ManagedObject& o, size_t index, Result<prometheus::TriggerValue> value,
                              Duration latency) {
  TriggerEvaluated e;
  e.object = o.ref;
  e.trigger_index = static_cast<int>(index);
  e.trigger_name = TriggerName(o.so.spec.triggers[index], index);
  e.scaler = kScaler;
  e.metric = MetricName(index, o.so.spec.triggers[index].type);
  e.ok = value.ok();
  if (value.ok()) {
    e.value = value->value;
    e.active = value->active;
    e.empty_response = value->empty_response;
  } else {
    e.error = value.status();
  }
  LogTriggerChange(o, index, e);
  e.latency = latency;
  observer_->OnTriggerEvaluated(e);
  o.poll->answers[index] = std::move(value);
  --o.poll->outstanding;
}

void Controller::LogTriggerChange(ManagedObject& o, size_t index, const TriggerEvaluated& e) {
  o.trigger_errors.resize(o.so.spec.triggers.size());
  std::string error = e.ok ? "" : e.error.ToString();
  if (error == o.trigger_errors[index]) return;
  if (e.ok) {
    logger_->Info("trigger recovered", {{"scaledObject", o.key}, {"trigger", e.trigger_name}});
  } else {
    logger_->Warn("trigger failed", {{"scaledObject", o.key}, {"trigger", e.trigger_name}, {"error", error}});
  }
  o.trigger_errors[index] = std::move(error);
}

void Controller::OnScale(const std::string& key, uint64_t poll_id, Result<targets::ScaleState> scale) {
  ManagedObject* o = FindPoll(key, poll_id);
  if (!o || o->poll->phase != PollPhase::kQuerying || o->poll->scale) return;
  o->poll->scale = std::move(scale);
  MaybeDecide(*o);
}

void Controller::ExpireDeadlines(Time now) {
  for (const PollScheduler::Due& due : deadlines_.PopDue(now)) {
    auto it = objects_.find(due.key);
    if (it == objects_.end() || !it->second.poll) continue;
    ManagedObject& o = it->second;
    PollState& p = *o.poll;
    if (p.phase == PollPhase::kApplying) {
      Complete(o, p.decision, p.from_replicas, false,
               DeadlineExceeded("SetReplicas did not answer within " + Seconds(options_.apply_timeout)));
      continue;
    }
    const Duration waited = now - p.started;
    for (size_t i = 0; i < p.answers.size() && !p.paused; ++i) {
      if (!p.answers[i]) RecordAnswer(o, i, DeadlineExceeded("no answer within " + Seconds(waited)), waited);
    }
    if (!p.scale) p.scale = DeadlineExceeded("the scale target did not answer within " + Seconds(waited));
    MaybeDecide(o);
  }
}

int Controller::DrainResults() {
  // Tasks may post more (a local target answers inside SetReplicas): the
  // loop runs until none is ready.
  return static_cast<int>(loop_->RunUntilIdle());
}

}  // namespace ebb::controller
