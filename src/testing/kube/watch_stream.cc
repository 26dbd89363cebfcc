// Watch streams of the fake API server: one chunked response per watch,
// one JSON event per line, as the real server writes them.
#include <deque>

#include "common/strings.h"
#include "testing/kube/fake_apiserver.h"
#include "testing/kube/route.h"

namespace ebb::testing::kube {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

// How long one provider call may block, so stops and injected closes are
// noticed promptly.
constexpr auto kPollSlice = std::chrono::milliseconds(100);

std::string Line(const std::string& type, const json& object) {
  return json{{"type", type}, {"object", object}}.dump() + "\n";
}

std::string Param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : "";
}

}  // namespace

struct FakeApiServer::WatchState {
  const ResourceType* rt = nullptr;
  std::string ns;
  ListOptions selectors;
  int64_t cursor = 0;
  std::deque<std::string> pending;  // lines to write before waiting again
  bool bookmarks = false;
  bool finish_after_pending = false;
  SteadyClock::time_point deadline;
  SteadyClock::time_point next_bookmark;
  uint64_t drop_epoch = 0, expire_epoch = 0, close_epoch = 0, bookmark_epoch = 0;
};

void FakeApiServer::StartWatch(const Route& r, const httplib::Request& req,
                               httplib::Response& res) {
  auto st = std::make_shared<WatchState>();
  st->rt = r.rt;
  st->ns = r.ns;
  st->selectors = {Param(req, "labelSelector"), Param(req, "fieldSelector"), 0, ""};
  std::string want = Param(req, "allowWatchBookmarks");
  st->bookmarks = want == "true" || want == "1";
  auto now = SteadyClock::now();
  std::optional<int64_t> timeout = ParseInt(Param(req, "timeoutSeconds"));
  st->deadline = now + (timeout && *timeout > 0 ? std::chrono::seconds(*timeout)
                                                : options_.default_watch_timeout);
  st->next_bookmark = now + options_.bookmark_interval;
  st->drop_epoch = drop_epoch_;
  st->expire_epoch = expire_epoch_;
  st->close_epoch = close_epoch_;
  st->bookmark_epoch = bookmark_epoch_;

  std::string rv = Param(req, "resourceVersion");
  if (rv.empty() || rv == "0") {
    // "Start at most recent": synthetic ADDED events for what exists.
    ListOptions all = st->selectors;
    Reply list = store_->List(*r.rt, r.ns, all);
    for (const json& item : list.body["items"]) st->pending.push_back(Line("ADDED", item));
    st->cursor = std::stoll(list.body["metadata"]["resourceVersion"].get<std::string>());
  } else {
    std::optional<int64_t> from = ParseInt(rv);
    if (!from) {
      st->pending.push_back(
          Line("ERROR", StatusBody(400, "BadRequest", "invalid resource version: " + rv)));
      st->finish_after_pending = true;
    } else {
      st->cursor = *from;
    }
  }
  ++open_watches_;
  res.status = 200;
  // The media type Kubernetes names for watch streams. It also keeps
  // cpp-httplib from gzipping the stream (it compresses "application/json"
  // when the client accepts gzip, and its compressor holds events back
  // until the stream ends).
  res.set_chunked_content_provider(
      "application/json;stream=watch",
      [this, st](size_t, httplib::DataSink& sink) { return WatchStep(*st, sink); },
      [this](bool) { --open_watches_; });
}

bool FakeApiServer::WatchStep(WatchState& st, httplib::DataSink& sink) {
  while (!st.pending.empty()) {
    const std::string& line = st.pending.front();
    if (!sink.write(line.data(), line.size())) return false;
    st.pending.pop_front();
  }
  if (st.finish_after_pending || stopping_ || close_epoch_ != st.close_epoch) {
    sink.done();
    return true;
  }
  if (drop_epoch_ != st.drop_epoch) return false;  // abort: no terminating chunk
  bool expired = false;
  int64_t scanned = st.cursor;
  if (expire_epoch_ == st.expire_epoch) {
    auto now = SteadyClock::now();
    auto until =
        std::min({st.deadline, now + kPollSlice, st.bookmarks ? st.next_bookmark : st.deadline});
    uint64_t close = st.close_epoch, drop = st.drop_epoch, expire = st.expire_epoch,
             bookmark = st.bookmark_epoch;
    auto stop = [&] {
      return stopping_ || close_epoch_ != close || drop_epoch_ != drop || expire_epoch_ != expire ||
             bookmark_epoch_ != bookmark;
    };
    for (const WatchEvent& e : store_->WaitEvents(*st.rt, st.ns, st.selectors, st.cursor, until,
                                                  stop, &expired, &scanned)) {
      st.pending.push_back(Line(e.type, e.object));
      st.cursor = e.rv;
    }
  }
  if (expired || expire_epoch_ != st.expire_epoch) {
    st.pending.push_back(Line("ERROR", ExpiredStatus(st.cursor, store_->OldestRv())));
    st.finish_after_pending = true;
    return true;
  }
  if (!st.pending.empty()) return true;
  // Nothing matched up to `scanned`: the watcher may resume from there.
  st.cursor = std::max(st.cursor, scanned);
  auto now = SteadyClock::now();
  bool asked = bookmark_epoch_ != st.bookmark_epoch;
  st.bookmark_epoch = bookmark_epoch_;
  if (st.bookmarks && (asked || now >= st.next_bookmark)) {
    st.next_bookmark = now + options_.bookmark_interval;
    st.pending.push_back(
        Line("BOOKMARK", {{"kind", st.rt->kind},
                          {"apiVersion", st.rt->ApiVersion()},
                          {"metadata", {{"resourceVersion", std::to_string(st.cursor)}}}}));
  }
  if (now >= st.deadline) st.finish_after_pending = true;
  return true;
}

}  // namespace ebb::testing::kube
