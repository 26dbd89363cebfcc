#include "testing/testenv/gcp_env.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

namespace ebb::testing::gcp {

namespace {

constexpr char kKeyId[] = "ebb-testenv-key-1";

std::string Exports(const std::vector<std::pair<std::string, std::string>>& vars) {
  std::string out;
  for (const auto& [k, v] : vars) out += "export " + k + "=" + v + "\n";
  return out;
}

}  // namespace

bool ParseGcpMisconfiguration(const std::string& text, GcpMisconfiguration* out) {
  static const std::pair<const char*, GcpMisconfiguration> kNames[] = {
      {"none", GcpMisconfiguration::kNone},
      {"role", GcpMisconfiguration::kRole},
      {"unbound", GcpMisconfiguration::kUnbound},
      {"deleted-key", GcpMisconfiguration::kDeletedKey}};
  for (const auto& [name, value] : kNames) {
    if (text == name) return *out = value, true;
  }
  return false;
}

Result<GcpTestEnvOptions> ParseGcpTestEnvArgs(const std::vector<std::string>& args) {
  GcpTestEnvOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i], value;
    size_t eq = flag.find('=');
    if (eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return InvalidConfig("missing value for " + flag);
    }
    if (flag == "--prometheus") o.prometheus_url = value;
    else if (flag == "--dir") o.dir = value;
    else if (flag == "--project") o.project_id = value;
    else if (flag == "--misconfigure") {
      if (!ParseGcpMisconfiguration(value, &o.misconfiguration)) return InvalidConfig("invalid value for --misconfigure: " + value);
    } else {
      return InvalidConfig("unknown flag " + flag);
    }
  }
  if (o.prometheus_url.empty()) return InvalidConfig("--prometheus URL is required");
  return o;
}

Result<std::unique_ptr<GcpTestEnv>> GcpTestEnv::Start(GcpTestEnvOptions options, const Clock& clock) {
  if (options.prometheus_url.empty()) return InvalidConfig("--prometheus URL is required");
  if (options.dir.empty()) return InvalidConfig("a directory for the files is required");
  if (mkdir(options.dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return InvalidConfig("cannot create " + options.dir + ": " + std::strerror(errno));
  }
  Result<TestCa> ca = TestCa::Create("ebb-testenv gcp CA");
  if (!ca.ok()) return ca.status();
  std::unique_ptr<GcpTestEnv> env(new GcpTestEnv(std::move(options), clock));
  EBB_RETURN_IF_ERROR(env->StartEmulators(*ca));
  EBB_RETURN_IF_ERROR(env->Register());
  EBB_RETURN_IF_ERROR(env->WriteFiles(*ca));
  return env;
}

GcpTestEnv::~GcpTestEnv() {
  if (front_door_) front_door_->Stop();
  if (metadata_) metadata_->Stop();
  if (endpoint_) endpoint_->Stop();
}

Status GcpTestEnv::StartEmulators(const TestCa& ca) {
  Result<IssuedCert> cert = ca.IssueServer({"localhost", "oauth2.googleapis.com", "monitoring.googleapis.com"});
  if (!cert.ok()) return cert.status();
  auto endpoint = GoogleTokenEndpoint::Start(*cert, project_);
  if (!endpoint.ok()) return endpoint.status().WithContext("token endpoint");
  endpoint_ = std::move(*endpoint);
  auto metadata = GceMetadataServer::Start(project_);
  if (!metadata.ok()) return metadata.status().WithContext("metadata server");
  metadata_ = std::move(*metadata);
  auto fd = GmpFrontDoor::Start(*cert, options_.prometheus_url, project_);
  if (!fd.ok()) return fd.status().WithContext("GMP front door");
  front_door_ = std::move(*fd);
  return Status::Ok();
}

Status GcpTestEnv::Register() {
  Result<RsaKeyPair> key = GenerateRsaKeyPair();
  if (!key.ok()) return key.status();
  key_ = *key;
  const std::string email = project_.ServiceAccountEmail("ebb-reader");
  const GcpMisconfiguration mis = options_.misconfiguration;
  if (mis != GcpMisconfiguration::kDeletedKey) project_.AddKey(email, kKeyId, key_.public_key_pem);
  if (mis != GcpMisconfiguration::kRole) project_.Grant(email, kMonitoringViewer);
  if (mis != GcpMisconfiguration::kUnbound) project_.SetMetadataServiceAccount(email);
  return Status::Ok();
}

std::string GcpTestEnv::key_json() const {
  return nlohmann::json{{"type", "service_account"},
                        {"project_id", options_.project_id},
                        {"private_key_id", kKeyId},
                        {"private_key", key_.private_key_pem},
                        {"client_email", project_.ServiceAccountEmail("ebb-reader")},
                        {"client_id", "100000000000000000001"},
                        {"token_uri", endpoint_->token_uri()}}
      .dump(2);
}

Status GcpTestEnv::WriteFiles(const TestCa& ca) {
  ca_file_ = options_.dir + "/ca.crt";
  key_file_ = options_.dir + "/key.json";
  EBB_RETURN_IF_ERROR(WriteFileAtomically(ca_file_, ca.cert_pem()));
  EBB_RETURN_IF_ERROR(WriteFileAtomically(key_file_, key_json()));
  EBB_RETURN_IF_ERROR(WriteFileAtomically(options_.dir + "/env", "# ebb-testenv gcp (key file)\n" +
                                                                     Exports(KeyFileEnvironment())));
  return WriteFileAtomically(options_.dir + "/env-metadata", "# ebb-testenv gcp (GKE Workload Identity)\n" +
                                                                 Exports(MetadataEnvironment()));
}

std::vector<std::pair<std::string, std::string>> GcpTestEnv::KeyFileEnvironment() const {
  return {{"GOOGLE_APPLICATION_CREDENTIALS", key_file_}, {"SSL_CERT_FILE", ca_file_}};
}

std::vector<std::pair<std::string, std::string>> GcpTestEnv::MetadataEnvironment() const {
  return {{"GCE_METADATA_HOST", metadata_->host()}, {"SSL_CERT_FILE", ca_file_}};
}

std::string GcpTestEnv::Describe() const {
  std::ostringstream out;
  out << "ebb-testenv gcp: emulators running on 127.0.0.1 (Ctrl-C to stop)\n"
      << "  token endpoint (key's token_uri):  " << endpoint_->token_uri() << "\n"
      << "  metadata server (GCE_METADATA_HOST): " << metadata_->host() << "\n"
      << "  GMP query endpoint (serverAddress): " << front_door_->prometheus_url() << "\n"
      << "  upstream Prometheus:                " << options_.prometheus_url << "\n"
      << "  service account:                    " << project_.ServiceAccountEmail("ebb-reader") << "\n"
      << "  files: " << ca_file_ << "  " << key_file_ << "  " << options_.dir << "/env  " << options_.dir
      << "/env-metadata\n"
      << "Try it (key file):\n"
      << "  . " << options_.dir << "/env\n"
      << "  ebb query -f gmp.yaml --token-destination 127.0.0.1\n"
      << "with a trigger: serverAddress: " << front_door_->prometheus_url()
      << ", and a TriggerAuthentication with podIdentity: {provider: gcp}\n";
  return out.str();
}

}  // namespace ebb::testing::gcp
