#include "testing/testenv/azure_env.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace ebb::testing::azure {

namespace {

constexpr char kSubscription[] = "00000000-0000-0000-0000-0000000000eb";
constexpr char kResourceGroup[] = "ebb-testenv";

Status MakeDir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return Status::Ok();
  return InvalidConfig("cannot create " + dir + ": " + std::strerror(errno));
}

}  // namespace

bool ParseMisconfiguration(const std::string& text, Misconfiguration* out) {
  static const std::pair<const char*, Misconfiguration> kNames[] = {
      {"none", Misconfiguration::kNone},     {"subject", Misconfiguration::kSubject},
      {"issuer", Misconfiguration::kIssuer}, {"audience", Misconfiguration::kAudience},
      {"role", Misconfiguration::kRole},     {"client-id", Misconfiguration::kClientId}};
  for (const auto& [name, value] : kNames) {
    if (text == name) {
      *out = value;
      return true;
    }
  }
  return false;
}

Result<std::unique_ptr<AzureTestEnv>> AzureTestEnv::Start(AzureTestEnvOptions options,
                                                          const Clock& clock) {
  if (options.prometheus_url.empty()) return InvalidConfig("--prometheus URL is required");
  if (options.dir.empty()) return InvalidConfig("a directory for the files is required");
  EBB_RETURN_IF_ERROR(MakeDir(options.dir));
  Result<TestCa> ca = TestCa::Create("ebb-testenv azure CA");
  if (!ca.ok()) return ca.status();
  std::unique_ptr<AzureTestEnv> env(new AzureTestEnv(std::move(options), clock));
  EBB_RETURN_IF_ERROR(env->StartEmulators(*ca));
  EBB_RETURN_IF_ERROR(env->RegisterIdentity());
  EBB_RETURN_IF_ERROR(env->WriteFiles(*ca));
  return env;
}

AzureTestEnv::~AzureTestEnv() {
  // Stop the servers before the registry they read goes away.
  if (front_door_) front_door_->Stop();
  if (imds_) imds_->Stop();
  if (idp_) idp_->Stop();
  if (issuer_) issuer_->Stop();
}

std::string AzureTestEnv::workspace_scope() const {
  return std::string("/subscriptions/") + kSubscription + "/resourceGroups/" + kResourceGroup +
         "/providers/Microsoft.Monitor/accounts/" + options_.workspace;
}

std::string AzureTestEnv::workspace_host() const {
  return options_.workspace + "-abcd." + options_.region + ".prometheus.monitor.azure.com";
}

Status AzureTestEnv::StartEmulators(const TestCa& ca) {
  std::vector<std::string> names = {"localhost", "login.microsoftonline.com", workspace_host()};
  names.insert(names.end(), options_.extra_hosts.begin(), options_.extra_hosts.end());
  Result<IssuedCert> cert = ca.IssueServer(names);
  if (!cert.ok()) return cert.status();

  OidcIssuerOptions issuer_options;
  issuer_options.tls = *cert;
  Result<std::unique_ptr<OidcIssuer>> issuer = OidcIssuer::Start(issuer_options, clock_);
  if (!issuer.ok()) return issuer.status().WithContext("OIDC issuer");
  issuer_ = std::move(*issuer);

  IdentityProviderOptions idp_options;
  idp_options.tls = *cert;
  idp_options.issuer_ca_pem = ca.cert_pem();
  idp_options.access_token_lifetime = options_.access_token_lifetime;
  idp_options.faults = options_.faults;
  Result<std::unique_ptr<IdentityProvider>> idp =
      IdentityProvider::Start(idp_options, registry_, clock_);
  if (!idp.ok()) return idp.status().WithContext("identity provider");
  idp_ = std::move(*idp);

  ImdsOptions imds_options;
  imds_options.identities.push_back(
      {options_.managed_identity_client_id, options_.tenant_id, "", ""});
  Result<std::unique_ptr<Imds>> imds = Imds::Start(imds_options, *idp_, registry_);
  if (!imds.ok()) return imds.status().WithContext("IMDS");
  imds_ = std::move(*imds);

  FrontDoorOptions fd_options;
  fd_options.tls = *cert;
  fd_options.upstream_url = options_.prometheus_url;
  fd_options.idp_public_key_pem = idp_->signing_key().public_key_pem();
  fd_options.workspace_scope = workspace_scope();
  Result<std::unique_ptr<PrometheusFrontDoor>> fd =
      PrometheusFrontDoor::Start(fd_options, registry_, clock_);
  if (!fd.ok()) return fd.status().WithContext("front door");
  front_door_ = std::move(*fd);
  return Status::Ok();
}

Status AzureTestEnv::RegisterIdentity() {
  Misconfiguration mis = options_.misconfiguration;
  Application app;
  app.client_id = options_.client_id;
  app.tenant_id = options_.tenant_id;
  app.display_name = "ebb-testenv";
  if (mis == Misconfiguration::kClientId) app.client_id = "00000000-0000-0000-0000-000000000bad";
  registry_.AddApplication(app);

  FederatedCredential cred;
  cred.name = "ebb-testenv";
  cred.issuer = issuer_->issuer_url();
  if (mis == Misconfiguration::kIssuer) cred.issuer += "/";
  std::string sa = mis == Misconfiguration::kSubject ? options_.service_account + "-other"
                                                     : options_.service_account;
  cred.subject = "system:serviceaccount:" + options_.ns + ":" + sa;
  if (mis == Misconfiguration::kAudience) cred.audiences = {"api://AzureADTokenExchangeOther"};
  EBB_RETURN_IF_ERROR(registry_.AddFederatedCredential(app.client_id, cred));

  if (mis != Misconfiguration::kRole) {
    EBB_RETURN_IF_ERROR(
        registry_.AddRoleAssignment(app.client_id, {kMonitoringDataReader, workspace_scope()}));
  }
  return registry_.AddRoleAssignment(options_.managed_identity_client_id,
                                     {kMonitoringDataReader, workspace_scope()});
}

Status AzureTestEnv::WriteFiles(const TestCa& ca) {
  ca_file_ = options_.dir + "/ca.crt";
  token_file_ = options_.dir + "/azure-identity-token";
  env_file_ = options_.dir + "/env";
  EBB_RETURN_IF_ERROR(WriteFileAtomically(ca_file_, ca.cert_pem()));
  EBB_RETURN_IF_ERROR(RefreshTokenFile());
  return WriteFileAtomically(env_file_, EnvFileContents());
}

Status AzureTestEnv::RefreshTokenFile() {
  ServiceAccountTokenRequest request;
  request.ns = options_.ns;
  request.service_account = options_.service_account;
  request.lifetime = options_.token_lifetime;
  Time now = clock_.Now();
  request.issued_at = now;
  EBB_RETURN_IF_ERROR(issuer_->WriteTokenFile(token_file_, request));
  std::lock_guard lock(mu_);
  last_refresh_ = now;
  return Status::Ok();
}

Time AzureTestEnv::NextRefresh() const {
  std::lock_guard lock(mu_);
  return last_refresh_ + std::chrono::duration_cast<Duration>(options_.token_lifetime) * 8 / 10;
}

std::string AzureTestEnv::EnvFileContents() const {
  std::ostringstream out;
  out << "# Written by ebb-testenv azure; source it: . " << env_file_ << "\n"
      << "export AZURE_CLIENT_ID=" << options_.client_id << "\n"
      << "export AZURE_TENANT_ID=" << options_.tenant_id << "\n"
      << "export AZURE_FEDERATED_TOKEN_FILE=" << token_file_ << "\n"
      << "export AZURE_AUTHORITY_HOST=" << idp_->authority_url() << "\n"
      << "export SSL_CERT_FILE=" << ca_file_ << "\n"
      << "# Prometheus front door (serverAddress): " << front_door_->base_url() << "\n"
      << "# IMDS (managed identity " << options_.managed_identity_client_id
      << "): " << imds_->base_url() << "\n";
  return out.str();
}

std::string AzureTestEnv::Describe() const {
  std::ostringstream out;
  out << "ebb-testenv azure: emulators running on 127.0.0.1 (Ctrl-C to stop)\n"
      << "  authority (AZURE_AUTHORITY_HOST): " << idp_->authority_url() << "\n"
      << "  token endpoint:                   " << idp_->token_url(options_.tenant_id) << "\n"
      << "  cluster OIDC issuer:              " << issuer_->issuer_url() << "\n"
      << "  IMDS:                             " << imds_->token_url() << "\n"
      << "  Prometheus front door:            " << front_door_->base_url()
      << "   (use as serverAddress)\n"
      << "  upstream Prometheus:              " << options_.prometheus_url << "\n"
      << "  workspace scope:                  " << workspace_scope() << "\n"
      << "  federated subject:                system:serviceaccount:" << options_.ns << ":"
      << options_.service_account << "\n"
      << "  files: " << ca_file_ << "  " << token_file_ << "  " << env_file_ << "\n"
      << "  names on the certificate: localhost, login.microsoftonline.com, " << workspace_host()
      << "\n"
      << "Try it:\n"
      << "  . " << env_file_ << "\n"
      << "  TOKEN=$(curl -s --cacert " << ca_file_ << " " << idp_->token_url(options_.tenant_id)
      << " -d grant_type=client_credentials -d client_id=$AZURE_CLIENT_ID"
      << " -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
      << " --data-urlencode client_assertion@$AZURE_FEDERATED_TOKEN_FILE"
      << " --data-urlencode scope=https://prometheus.monitor.azure.com/.default"
      << " | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')\n"
      << "  curl -s --cacert " << ca_file_ << " -H \"Authorization: Bearer $TOKEN\" '"
      << front_door_->base_url() << "/api/v1/query?query=up'\n";
  return out.str();
}

}  // namespace ebb::testing::azure
