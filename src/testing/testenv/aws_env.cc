#include "testing/testenv/aws_env.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "common/strings.h"

namespace ebb::testing::aws {

namespace {

Status MakeDir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return Status::Ok();
  return InvalidConfig("cannot create " + dir + ": " + std::strerror(errno));
}

std::string Exports(const std::vector<std::pair<std::string, std::string>>& vars) {
  std::string out;
  for (const auto& [k, v] : vars) out += "export " + k + "=" + v + "\n";
  return out;
}

bool ParsePositiveSeconds(const std::string& text, std::chrono::seconds* out) {
  std::optional<int64_t> v = ParseInt(text);
  if (!v || *v <= 0) return false;
  *out = std::chrono::seconds(*v);
  return true;
}

}  // namespace

bool ParseAwsMisconfiguration(const std::string& text, AwsMisconfiguration* out) {
  static const std::pair<const char*, AwsMisconfiguration> kNames[] = {
      {"none", AwsMisconfiguration::kNone},         {"subject", AwsMisconfiguration::kSubject},
      {"audience", AwsMisconfiguration::kAudience}, {"issuer", AwsMisconfiguration::kIssuer},
      {"permission", AwsMisconfiguration::kPermission}};
  for (const auto& [name, value] : kNames) {
    if (text == name) return *out = value, true;
  }
  return false;
}

Result<AwsTestEnvOptions> ParseAwsTestEnvArgs(const std::vector<std::string>& args) {
  AwsTestEnvOptions o;
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
    bool ok = true;
    if (flag == "--prometheus") o.prometheus_url = value;
    else if (flag == "--dir") o.dir = value;
    else if (flag == "--namespace") o.ns = value;
    else if (flag == "--service-account") o.service_account = value;
    else if (flag == "--region") o.region = value;
    else if (flag == "--workspace") o.workspace_id = value;
    else if (flag == "--token-lifetime") ok = ParsePositiveSeconds(value, &o.token_lifetime);
    else if (flag == "--session-lifetime") ok = ParsePositiveSeconds(value, &o.session_lifetime);
    else if (flag == "--misconfigure") ok = ParseAwsMisconfiguration(value, &o.misconfiguration);
    else return InvalidConfig("unknown flag " + flag);
    if (!ok) return InvalidConfig("invalid value for " + flag + ": " + value);
  }
  if (o.prometheus_url.empty()) return InvalidConfig("--prometheus URL is required");
  return o;
}

AwsTestEnv::AwsTestEnv(AwsTestEnvOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      account_(clock, AccountOptions{"111122223333", options_.region, options_.session_lifetime}) {}

Result<std::unique_ptr<AwsTestEnv>> AwsTestEnv::Start(AwsTestEnvOptions options, const Clock& clock) {
  if (options.prometheus_url.empty()) return InvalidConfig("--prometheus URL is required");
  if (options.dir.empty()) return InvalidConfig("a directory for the files is required");
  EBB_RETURN_IF_ERROR(MakeDir(options.dir));
  Result<TestCa> ca = TestCa::Create("ebb-testenv aws CA");
  if (!ca.ok()) return ca.status();
  std::unique_ptr<AwsTestEnv> env(new AwsTestEnv(std::move(options), clock));
  EBB_RETURN_IF_ERROR(env->StartEmulators(*ca));
  env->RegisterIdentity();
  EBB_RETURN_IF_ERROR(env->WriteFiles(*ca));
  return env;
}

AwsTestEnv::~AwsTestEnv() {
  // Stop the servers before the account they read goes away.
  if (front_door_) front_door_->Stop();
  if (imds_) imds_->Stop();
  if (agent_) agent_->Stop();
  if (sts_) sts_->Stop();
  if (issuer_) issuer_->Stop();
}

Status AwsTestEnv::StartEmulators(const TestCa& ca) {
  const std::string& r = options_.region;
  Result<IssuedCert> cert =
      ca.IssueServer({"localhost", "sts." + r + ".amazonaws.com", "aps-workspaces." + r + ".amazonaws.com"});
  if (!cert.ok()) return cert.status();
  azure::OidcIssuerOptions io;
  io.tls = *cert;
  auto issuer = azure::OidcIssuer::Start(io, clock_);
  if (!issuer.ok()) return issuer.status().WithContext("OIDC issuer");
  issuer_ = std::move(*issuer);
  auto sts = StsEmulator::Start(*cert, account_);
  if (!sts.ok()) return sts.status().WithContext("STS");
  sts_ = std::move(*sts);
  auto agent = PodIdentityAgent::Start(account_, issuer_->signing_key().public_key_pem());
  if (!agent.ok()) return agent.status().WithContext("EKS Pod Identity agent");
  agent_ = std::move(*agent);
  auto imds = Ec2Metadata::Start(account_);
  if (!imds.ok()) return imds.status().WithContext("IMDS");
  imds_ = std::move(*imds);
  auto fd = AmpFrontDoor::Start({*cert, options_.prometheus_url, options_.workspace_id}, account_);
  if (!fd.ok()) return fd.status().WithContext("AMP front door");
  front_door_ = std::move(*fd);
  return Status::Ok();
}

void AwsTestEnv::RegisterIdentity() {
  const AwsMisconfiguration mis = options_.misconfiguration;
  if (mis != AwsMisconfiguration::kIssuer) {
    account_.AddOidcProvider(issuer_->issuer_url(), issuer_->signing_key().public_key_pem());
  }
  WebIdentityTrust trust{issuer_->issuer_url(), "system:serviceaccount:" + options_.ns + ":" + options_.service_account};
  if (mis == AwsMisconfiguration::kSubject) trust.subject += "-other";
  if (mis == AwsMisconfiguration::kAudience) trust.audience = "sts.amazonaws.com.other";
  std::string user = account_.AddUser("ebb-testenv", options_.access_key_id, options_.secret_access_key);
  account_.AddRole({options_.role_name, {trust}, {user}, ""});
  account_.AddPodIdentityAssociation(options_.ns, options_.service_account, options_.role_name);
  account_.SetInstanceProfileRole(options_.role_name);
  if (mis != AwsMisconfiguration::kPermission) {
    account_.GrantQuery(role_arn(), options_.workspace_id);
    account_.GrantQuery(user, options_.workspace_id);
  }
}

Status AwsTestEnv::WriteFiles(const TestCa& ca) {
  ca_file_ = options_.dir + "/ca.crt";
  web_identity_file_ = options_.dir + "/web-identity-token";
  pod_identity_file_ = options_.dir + "/eks-pod-identity-token";
  env_file_ = options_.dir + "/env";
  pod_env_file_ = options_.dir + "/env-pod-identity";
  EBB_RETURN_IF_ERROR(WriteFileAtomically(ca_file_, ca.cert_pem()));
  EBB_RETURN_IF_ERROR(WriteFileAtomically(options_.dir + "/static-keys",
                                          "awsAccessKeyID=" + options_.access_key_id + "\nawsSecretAccessKey=" +
                                              options_.secret_access_key + "\n"));
  EBB_RETURN_IF_ERROR(RefreshTokenFiles());
  EBB_RETURN_IF_ERROR(WriteFileAtomically(env_file_, "# Written by ebb-testenv aws (IRSA); source it\n" +
                                                         Exports(IrsaEnvironment())));
  return WriteFileAtomically(pod_env_file_, "# Written by ebb-testenv aws (EKS Pod Identity); source it\n" +
                                                Exports(PodIdentityEnvironment()));
}

std::vector<std::pair<std::string, std::string>> AwsTestEnv::IrsaEnvironment() const {
  return {{"AWS_REGION", options_.region},
          {"AWS_DEFAULT_REGION", options_.region},
          {"AWS_ROLE_ARN", role_arn()},
          {"AWS_WEB_IDENTITY_TOKEN_FILE", web_identity_file_},
          {"AWS_STS_REGIONAL_ENDPOINTS", "regional"},
          {"AWS_ENDPOINT_URL_STS", sts_->base_url()},
          {"SSL_CERT_FILE", ca_file_}};
}

std::vector<std::pair<std::string, std::string>> AwsTestEnv::PodIdentityEnvironment() const {
  return {{"AWS_REGION", options_.region},
          {"AWS_DEFAULT_REGION", options_.region},
          {"AWS_CONTAINER_CREDENTIALS_FULL_URI", agent_->credentials_url()},
          {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", pod_identity_file_},
          {"SSL_CERT_FILE", ca_file_}};
}

Status AwsTestEnv::RefreshTokenFiles() {
  azure::ServiceAccountTokenRequest r;
  r.ns = options_.ns;
  r.service_account = options_.service_account;
  r.lifetime = options_.token_lifetime;
  Time now = clock_.Now();
  r.issued_at = now;
  r.audiences = {kStsAudience};
  EBB_RETURN_IF_ERROR(issuer_->WriteTokenFile(web_identity_file_, r));
  r.audiences = {kPodIdentityAudience};
  EBB_RETURN_IF_ERROR(issuer_->WriteTokenFile(pod_identity_file_, r));
  std::lock_guard lock(mu_);
  last_refresh_ = now;
  return Status::Ok();
}

Time AwsTestEnv::NextRefresh() const {
  std::lock_guard lock(mu_);
  return last_refresh_ + std::chrono::duration_cast<Duration>(options_.token_lifetime) * 8 / 10;
}

std::string AwsTestEnv::Describe() const {
  std::ostringstream out;
  out << "ebb-testenv aws: emulators running on 127.0.0.1 (Ctrl-C to stop)\n"
      << "  STS (AWS_ENDPOINT_URL_STS):        " << sts_->base_url() << "\n"
      << "  EKS Pod Identity agent:            " << agent_->credentials_url() << "\n"
      << "  IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT): " << imds_->base_url() << "\n"
      << "  AMP workspace (serverAddress):     " << front_door_->workspace_url() << "\n"
      << "  upstream Prometheus:               " << options_.prometheus_url << "\n"
      << "  cluster OIDC issuer:               " << issuer_->issuer_url() << "\n"
      << "  role:                              " << role_arn() << " (trusts system:serviceaccount:" << options_.ns
      << ":" << options_.service_account << ", aud sts.amazonaws.com)\n"
      << "  IAM user keys (static-keys file): " << options_.access_key_id << " (awsAccessKeyID; the secret is "
      << "in " << options_.dir << "/static-keys)\n"
      << "  files: " << ca_file_ << "  " << web_identity_file_ << "  " << pod_identity_file_ << "  " << env_file_
      << "  " << pod_env_file_ << "\n"
      << "Try it (IRSA):\n"
      << "  . " << env_file_ << "\n"
      << "  ebb query -f amp.yaml --token-destination 127.0.0.1\n"
      << "with a trigger: serverAddress: " << front_door_->workspace_url() << ", awsRegion: " << options_.region
      << ", and a TriggerAuthentication with podIdentity: {provider: aws}\n";
  return out.str();
}

}  // namespace ebb::testing::aws
