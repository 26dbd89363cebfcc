// RestConfig: where the Kubernetes API is and how to authenticate to it,
// loaded from inside a pod (in-cluster) or from a kubeconfig file, the way
// client-go loads it.
//
//   Result<RestConfig> c = LoadRestConfig({.kubeconfig = flag_path, .context = flag_ctx});
//   // --kubeconfig, else $KUBECONFIG (a ':'-separated list, merged), else
//   // in-cluster when KUBERNETES_SERVICE_HOST is set, else ~/.kube/config.
//
// Credentials that rotate (a token file, an exec plugin) are only named
// here; credentials.h reads them when requests need them.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/secret.h"
#include "common/status.h"

namespace ebb::kube {

// users[].user.exec: a credential plugin (client.authentication.k8s.io).
struct ExecConfig {
  std::string command{};  // resolved against the kubeconfig's directory when relative with a '/'
  std::vector<std::string> args{};
  std::vector<std::pair<std::string, std::string>> env{};
  std::string api_version = "client.authentication.k8s.io/v1beta1";
  std::string install_hint{};
};

// Value type; ToString() never shows a credential.
struct RestConfig {
  std::string server;  // "https://host:port", no trailing slash
  // Trust: CA bundle file or PEM contents; neither means the system store.
  std::string ca_file;
  std::string ca_pem;
  bool insecure_skip_tls_verify = false;
  // kubeconfig tls-server-name. Not applied (the HTTP client verifies the
  // URL's host); kept so that a config using it can be reported.
  std::string tls_server_name;

  SecretString token;      // static bearer token
  std::string token_file;  // bearer token re-read as it rotates
  std::string username;    // basic auth
  SecretString password;
  std::string client_cert_file;
  std::string client_key_file;
  std::string client_cert_pem;
  SecretString client_key_pem;
  std::optional<ExecConfig> exec;

  std::string namespace_name = "default";  // the context's or the pod's namespace
  // Where this came from, for messages: "in-cluster", "kubeconfig
  // /home/u/.kube/config, context kind-dev".
  std::string source;

  // "server=https://... source=... auth=token-file ca=file" without secrets.
  std::string ToString() const;
};

// Reads an environment variable; nullopt when unset. Tests pass a map.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

inline constexpr char kServiceAccountDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";

// In-cluster: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
// (IPv6 bracketed), CA `sa_dir`/ca.crt, token file `sa_dir`/token,
// namespace $POD_NAMESPACE, else `sa_dir`/namespace, else "default".
// kInvalidConfig when the variables are unset or the token file is
// unreadable.
Result<RestConfig> LoadInClusterConfig(const EnvLookup& env = ProcessEnv(),
                                       const std::string& sa_dir = kServiceAccountDir);

struct KubeconfigOptions {
  std::string kubeconfig{};  // --kubeconfig: one file; empty: $KUBECONFIG, then ~/.kube/config
  std::string context{};     // --context; empty: current-context
  std::string namespace_override{};  // --namespace; empty: the context's
};

// Parses kubeconfig YAML text. `dir` resolves relative file paths (the
// file's directory). kInvalidConfig naming the missing context, cluster or
// user, or the unreadable data.
Result<RestConfig> ParseKubeconfig(const std::vector<std::pair<std::string, std::string>>& files,
                                   const std::string& context);
// Loads the files `options` and `env` name (merged: the first file to
// define a name wins, as kubectl merges), then picks the context.
Result<RestConfig> LoadKubeconfig(const KubeconfigOptions& options,
                                  const EnvLookup& env = ProcessEnv());
// --kubeconfig, $KUBECONFIG, in-cluster, ~/.kube/config, in that order.
Result<RestConfig> LoadRestConfig(const KubeconfigOptions& options,
                                  const EnvLookup& env = ProcessEnv(),
                                  const std::string& sa_dir = kServiceAccountDir);

// Reads a whole file; kInvalidConfig naming the path when unreadable.
Result<std::string> ReadFileText(const std::string& path);

}  // namespace ebb::kube
