#include "testing/prometheus/exporter.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cassert>
#include <chrono>

#include "common/strings.h"

namespace ebb::testing {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(5);
constexpr const char* kHost = "127.0.0.1";
constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

bool IsNameChar(char c, bool first, bool allow_colon) {
  bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  if (letter || (allow_colon && c == ':')) return true;
  return !first && c >= '0' && c <= '9';
}

bool IsValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0, allow_colon)) return false;
  }
  return true;
}

[[maybe_unused]] bool AreValidLabels(const MetricLabels& labels) {
  for (const auto& [name, value] : labels) {
    if (!IsValidName(name, /*allow_colon=*/false)) return false;
  }
  return true;
}

// The text format escapes backslash, double quote and newline in label values.
std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string FormatLabels(const MetricLabels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ",";
    out += name + "=\"" + EscapeLabelValue(value) + "\"";
  }
  return out + "}";
}

}  // namespace

MetricsExporter::MetricsExporter() : server_(std::make_unique<httplib::Server>()) {}

Result<std::unique_ptr<MetricsExporter>> MetricsExporter::Start(
    const MetricsExporterOptions& options) {
  std::unique_ptr<MetricsExporter> exporter(new MetricsExporter());
  EBB_RETURN_IF_ERROR(exporter->Listen(options.port));
  return exporter;
}

Status MetricsExporter::Listen(int port) {
  server_->set_tcp_nodelay(true);
  // cpp-httplib's default adds SO_REUSEPORT, which lets a second server
  // share a busy port silently; a test wants the bind to fail instead.
  server_->set_socket_options([](int socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    scrape_count_.fetch_add(1);
    response.set_content(Render(), kContentType);
  });
  if (port == 0) {
    port_ = server_->bind_to_any_port(kHost);
  } else if (server_->bind_to_port(kHost, port)) {
    port_ = port;
  } else {
    port_ = -1;
  }
  if (port_ <= 0) return Unavailable("exporter cannot bind 127.0.0.1:" + std::to_string(port));
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    serving_done_.store(true);
  });
  // cpp-httplib 0.11 has no wait_until_ready(): poll is_running().
  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (!server_->is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      Stop();
      return Unavailable("exporter on port " + std::to_string(port_) + " did not start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status::Ok();
}

MetricsExporter::~MetricsExporter() { Stop(); }

void MetricsExporter::Stop() {
  if (!thread_.joinable()) return;
  // stop() is a no-op until the thread has entered its accept loop: wait
  // for that (or for the loop to have ended on its own).
  while (!serving_done_.load()) {
    if (server_->is_running()) {
      server_->stop();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  thread_.join();
}

void MetricsExporter::Set(std::string_view name, const MetricLabels& labels, double value) {
  assert(IsValidName(name, /*allow_colon=*/true) && "invalid metric name");
  assert(AreValidLabels(labels) && "invalid label name");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = gauges_.find(name);
  if (it == gauges_.end()) it = gauges_.try_emplace(std::string(name)).first;
  it->second[labels] = value;
}

void MetricsExporter::Remove(std::string_view name, const MetricLabels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = gauges_.find(name);
  if (it == gauges_.end()) return;
  it->second.erase(labels);
  if (it->second.empty()) gauges_.erase(it);
}

std::string MetricsExporter::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [name, series] : gauges_) {
    out += "# TYPE " + name + " gauge\n";
    for (const auto& [labels, value] : series) {
      out += name + FormatLabels(labels) + " " + FormatDouble(value) + "\n";
    }
  }
  return out;
}

std::string MetricsExporter::address() const {
  return std::string(kHost) + ":" + std::to_string(port_);
}

std::string MetricsExporter::url() const { return "http://" + address() + "/metrics"; }

}  // namespace ebb::testing
