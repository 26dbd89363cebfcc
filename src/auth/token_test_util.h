// Helpers shared by the token tests (header-only, test code only): JWTs
// with chosen claims, token endpoint answers, temporary token files and a
// log capture.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/strings.h"
#include "http/http_client.h"

namespace ebb::auth::testing {

// An unsigned-looking JWT "header.payload.signature" with `claims`.
inline std::string MakeJwt(const nlohmann::json& claims) {
  return Base64UrlEncode(R"({"alg":"RS256","typ":"JWT","kid":"k1"})") + "." + Base64UrlEncode(claims.dump()) +
         ".c2lnbmF0dXJlLW5vdC1jaGVja2Vk";
}

// A projected service-account token as the webhook mounts it.
inline std::string ServiceAccountJwt(const std::string& marker = "1") {
  return MakeJwt({{"iss", "https://oidc.prod-aks.azure.com/tenant-guid/"},
                  {"sub", "system:serviceaccount:keda:ebb-operator"},
                  {"aud", nlohmann::json::array({"api://AzureADTokenExchange"})},
                  {"exp", 1'700'003'600},
                  {"iat", 1'700'000'000},
                  {"jti", "assertion-" + marker}});
}

// An Entra access token for Azure Monitor.
inline std::string AccessJwt(const std::string& marker = "1") {
  return MakeJwt({{"aud", "https://prometheus.monitor.azure.com"},
                  {"iss", "https://sts.windows.net/tenant-guid/"},
                  {"tid", "tenant-guid"},
                  {"appid", "client-guid"},
                  {"exp", 1'700'003'599},
                  {"jti", "access-" + marker}});
}

inline http::HttpResponse Json(int status, const std::string& body) {
  http::HttpResponse r;
  r.status = status;
  r.headers.push_back({"Content-Type", "application/json"});
  r.body = body;
  return r;
}

inline http::HttpResponse TokenAnswer(const std::string& token, int expires_in = 3599) {
  return Json(200, R"({"token_type":"Bearer","expires_in":)" + std::to_string(expires_in) +
                       R"(,"ext_expires_in":3599,"access_token":")" + token + "\"}");
}

// An Entra error body as the v2 endpoint sends it.
inline std::string AadErrorBody(const std::string& error, int64_t code, const std::string& first_line) {
  nlohmann::json j = {{"error", error},
                      {"error_description", "AADSTS" + std::to_string(code) + ": " + first_line +
                                                "\r\nTrace ID: 0a1b2c3d-trace\r\nCorrelation ID: "
                                                "4e5f-correlation\r\nTimestamp: 2026-11-26 05:41:03Z"},
                      {"error_codes", {code}},
                      {"timestamp", "2026-11-26 05:41:03Z"},
                      {"trace_id", "0a1b2c3d-trace"},
                      {"correlation_id", "4e5f-correlation"},
                      {"error_uri", "https://login.microsoftonline.com/error?code=" + std::to_string(code)}};
  return j.dump();
}

// Form body "k=v&..." -> decoded pairs, in order.
inline std::vector<std::pair<std::string, std::string>> ParseForm(const std::string& body) {
  auto decode = [](const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size()) {
        out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += s[i] == '+' ? ' ' : s[i];
      }
    }
    return out;
  };
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& item : Split(body, '&')) {
    size_t eq = item.find('=');
    out.emplace_back(decode(item.substr(0, eq)), decode(item.substr(eq + 1)));
  }
  return out;
}

// A temporary directory removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ebb-token-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& contents) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary | std::ios::trunc) << contents;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Captures every line of the default logger at debug level while alive.
class LogCapture {
 public:
  LogCapture() {
    Logger::Default().SetLevel(LogLevel::kDebug);
    Logger::Default().SetSink([this](std::string_view line) {
      std::lock_guard l(mu_);
      lines_.emplace_back(line);
    });
  }
  ~LogCapture() {
    Logger::Default().SetSink(nullptr);
    Logger::Default().SetLevel(LogLevel::kInfo);
  }
  std::string Text() const {
    std::lock_guard l(mu_);
    std::string out;
    for (const std::string& s : lines_) out += s + "\n";
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

}  // namespace ebb::auth::testing
