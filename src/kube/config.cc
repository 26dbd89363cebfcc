#include "kube/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/strings.h"

namespace ebb::kube {

namespace {

std::string Dir(const std::string& path) {
  return std::filesystem::path(path).parent_path().string();
}

// kubeconfig paths are relative to the file that holds them.
std::string Resolve(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || dir.empty()) return path;
  return (std::filesystem::path(dir) / path).string();
}

std::string Scalar(const YAML::Node& n, const char* key) {
  if (!n || !n.IsMap() || !n[key] || !n[key].IsScalar()) return "";
  return n[key].as<std::string>();
}

bool Bool(const YAML::Node& n, const char* key) {
  std::string v = Scalar(n, key);
  return ParseBool(v).value_or(false);
}

// One named entry of clusters/contexts/users, with the directory of the
// file it came from.
struct Entry {
  YAML::Node body;
  std::string dir;
  std::string file;
};

using Entries = std::map<std::string, Entry>;

void Collect(const YAML::Node& root, const char* list, const char* field, const std::string& file,
             Entries* out) {
  if (!root[list] || !root[list].IsSequence()) return;
  for (const YAML::Node& item : root[list]) {
    std::string name = Scalar(item, "name");
    if (name.empty() || out->count(name)) continue;  // first definition wins
    out->emplace(name, Entry{item[field], Dir(file), file});
  }
}

Result<std::string> DecodeData(const std::string& value, const std::string& field) {
  std::optional<std::string> decoded = Base64Decode(value);
  if (!decoded) return InvalidConfig(field + " is not valid base64");
  return *decoded;
}

Status ApplyCluster(const Entry& c, const std::string& name, RestConfig* out) {
  const YAML::Node& n = c.body;
  out->server = Scalar(n, "server");
  while (EndsWith(out->server, "/")) out->server.pop_back();
  if (out->server.empty()) return InvalidConfig("cluster \"" + name + "\" has no server");
  out->insecure_skip_tls_verify = Bool(n, "insecure-skip-tls-verify");
  out->tls_server_name = Scalar(n, "tls-server-name");
  out->ca_file = Resolve(c.dir, Scalar(n, "certificate-authority"));
  std::string data = Scalar(n, "certificate-authority-data");
  if (!data.empty()) {
    Result<std::string> pem =
        DecodeData(data, "cluster \"" + name + "\" certificate-authority-data");
    if (!pem.ok()) return pem.status();
    out->ca_pem = *pem;
    out->ca_file.clear();  // data wins over the file, as in client-go
  }
  return Status::Ok();
}

Status ApplyExec(const Entry& u, const YAML::Node& exec, RestConfig* out) {
  ExecConfig e;
  e.command = Scalar(exec, "command");
  if (e.command.find('/') != std::string::npos) e.command = Resolve(u.dir, e.command);
  if (e.command.empty()) return InvalidConfig("exec plugin has no command");
  std::string api = Scalar(exec, "apiVersion");
  if (!api.empty()) e.api_version = api;
  e.install_hint = Scalar(exec, "installHint");
  if (exec["args"] && exec["args"].IsSequence()) {
    for (const YAML::Node& a : exec["args"]) {
      if (!a.IsScalar()) return InvalidConfig("exec plugin args: every item must be a string");
      e.args.push_back(a.as<std::string>());
    }
  }
  if (exec["env"] && exec["env"].IsSequence()) {
    for (const YAML::Node& v : exec["env"])
      e.env.emplace_back(Scalar(v, "name"), Scalar(v, "value"));
  }
  out->exec = std::move(e);
  return Status::Ok();
}

Status ApplyUser(const Entry& u, const std::string& name, RestConfig* out) {
  const YAML::Node& n = u.body;
  if (!n || !n.IsMap()) return Status::Ok();  // a user with no credentials
  out->token = SecretString(Scalar(n, "token"));
  out->token_file = Resolve(u.dir, Scalar(n, "tokenFile"));
  out->username = Scalar(n, "username");
  out->password = SecretString(Scalar(n, "password"));
  out->client_cert_file = Resolve(u.dir, Scalar(n, "client-certificate"));
  out->client_key_file = Resolve(u.dir, Scalar(n, "client-key"));
  std::string field = "user \"" + name + "\" ";
  if (std::string d = Scalar(n, "client-certificate-data"); !d.empty()) {
    Result<std::string> pem = DecodeData(d, field + "client-certificate-data");
    if (!pem.ok()) return pem.status();
    out->client_cert_pem = *pem;
    out->client_cert_file.clear();
  }
  if (std::string d = Scalar(n, "client-key-data"); !d.empty()) {
    Result<std::string> pem = DecodeData(d, field + "client-key-data");
    if (!pem.ok()) return pem.status();
    out->client_key_pem = SecretString(*pem);
    out->client_key_file.clear();
  }
  if (n["exec"] && n["exec"].IsMap()) return ApplyExec(u, n["exec"], out);
  if (n["auth-provider"]) {
    return InvalidConfig(field +
                         "uses auth-provider, which was removed from Kubernetes; use an "
                         "exec plugin (e.g. kubelogin) instead");
  }
  return Status::Ok();
}

std::string Home(const EnvLookup& env) { return env("HOME").value_or(""); }

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

Result<std::string> ReadFileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidConfig("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string RestConfig::ToString() const {
  std::string auth = exec                  ? "exec:" + exec->command
                     : !token_file.empty() ? "token-file:" + token_file
                     : !token.empty()      ? "token"
                     : !username.empty()   ? "basic:" + username
                     : !client_cert_pem.empty() || !client_cert_file.empty() ? "client-certificate"
                                                                             : "none";
  std::string ca = insecure_skip_tls_verify ? "insecure-skip-verify"
                   : !ca_pem.empty()        ? "data"
                   : !ca_file.empty()       ? "file:" + ca_file
                                            : "system";
  return "server=" + server + " source=\"" + source + "\" namespace=" + namespace_name +
         " auth=" + auth + " ca=" + ca;
}

Result<RestConfig> LoadInClusterConfig(const EnvLookup& env, const std::string& sa_dir) {
  std::optional<std::string> host = env("KUBERNETES_SERVICE_HOST");
  std::optional<std::string> port = env("KUBERNETES_SERVICE_PORT");
  if (!host || !port || host->empty() || port->empty()) {
    return InvalidConfig(
        "not running in a cluster: KUBERNETES_SERVICE_HOST and "
        "KUBERNETES_SERVICE_PORT are not set (give --kubeconfig outside one)");
  }
  RestConfig c;
  std::string h = host->find(':') != std::string::npos ? "[" + *host + "]" : *host;
  c.server = "https://" + h + ":" + *port;
  c.ca_file = sa_dir + "/ca.crt";
  c.token_file = sa_dir + "/token";
  c.source = "in-cluster";
  Result<std::string> token = ReadFileText(c.token_file);
  if (!token.ok()) {
    return InvalidConfig("in-cluster service account token unreadable: " +
                         token.status().message() + " (is automountServiceAccountToken false?)");
  }
  std::optional<std::string> ns = env("POD_NAMESPACE");
  if (ns && !ns->empty()) {
    c.namespace_name = *ns;
  } else if (Result<std::string> f = ReadFileText(sa_dir + "/namespace"); f.ok()) {
    std::string trimmed(Trim(*f));
    if (!trimmed.empty()) c.namespace_name = trimmed;
  }
  return c;
}

namespace {

Result<RestConfig> ParseKubeconfigFiles(const std::vector<std::pair<std::string, std::string>>& files,
                                        const std::string& context) {
  Entries clusters, contexts, users;
  std::string current;
  for (const auto& [path, text] : files) {
    try {
      YAML::Node root = YAML::Load(text);
      if (!root || root.IsNull()) continue;
      if (!root.IsMap()) return InvalidConfig("kubeconfig " + path + " is not a YAML mapping");
      if (current.empty()) current = Scalar(root, "current-context");
      Collect(root, "clusters", "cluster", path, &clusters);
      Collect(root, "contexts", "context", path, &contexts);
      Collect(root, "users", "user", path, &users);
    } catch (const YAML::Exception& e) {
      return InvalidConfig("kubeconfig " + path + " is not valid YAML: " + e.what());
    }
  }
  std::string names = files.empty() ? "" : files.front().first;
  std::string ctx_name = context.empty() ? current : context;
  if (ctx_name.empty())
    return InvalidConfig("kubeconfig " + names + " has no current-context (give --context)");
  auto ctx = contexts.find(ctx_name);
  if (ctx == contexts.end())
    return InvalidConfig("context \"" + ctx_name + "\" not found in kubeconfig " + names);
  std::string cluster_name = Scalar(ctx->second.body, "cluster");
  std::string user_name = Scalar(ctx->second.body, "user");
  auto cluster = clusters.find(cluster_name);
  if (cluster == clusters.end()) {
    return InvalidConfig("cluster \"" + cluster_name + "\" of context \"" + ctx_name +
                         "\" not found");
  }
  RestConfig c;
  c.source = "kubeconfig " + ctx->second.file + ", context " + ctx_name;
  EBB_RETURN_IF_ERROR(ApplyCluster(cluster->second, cluster_name, &c));
  if (!user_name.empty()) {
    auto user = users.find(user_name);
    if (user == users.end()) {
      return InvalidConfig("user \"" + user_name + "\" of context \"" + ctx_name + "\" not found");
    }
    EBB_RETURN_IF_ERROR(ApplyUser(user->second, user_name, &c));
  }
  std::string ns = Scalar(ctx->second.body, "namespace");
  if (!ns.empty()) c.namespace_name = ns;
  return c;
}

}  // namespace

// yaml-cpp throws on a node of an unexpected shape anywhere in the walk; the
// adapter turns that into an error instead of an abort (found by fuzzing).
Result<RestConfig> ParseKubeconfig(const std::vector<std::pair<std::string, std::string>>& files,
                                   const std::string& context) {
  try {
    return ParseKubeconfigFiles(files, context);
  } catch (const YAML::Exception& e) {
    return InvalidConfig(std::string("kubeconfig has a field of the wrong shape: ") + e.what());
  }
}

Result<RestConfig> LoadKubeconfig(const KubeconfigOptions& options, const EnvLookup& env) {
  std::vector<std::string> paths;
  if (!options.kubeconfig.empty()) {
    paths.push_back(options.kubeconfig);
  } else if (std::optional<std::string> list = env("KUBECONFIG"); list && !list->empty()) {
    for (const std::string& p : Split(*list, ':')) {
      if (!p.empty()) paths.push_back(p);
    }
  } else {
    paths.push_back(Home(env) + "/.kube/config");
  }
  std::vector<std::pair<std::string, std::string>> files;
  for (const std::string& p : paths) {
    Result<std::string> text = ReadFileText(p);
    // kubectl skips missing files of $KUBECONFIG, but --kubeconfig must exist.
    if (!text.ok() && (!options.kubeconfig.empty() || paths.size() == 1)) {
      return InvalidConfig("kubeconfig " + p + " cannot be read");
    }
    if (text.ok()) files.emplace_back(p, *text);
  }
  Result<RestConfig> c = ParseKubeconfig(files, options.context);
  if (c.ok() && !options.namespace_override.empty()) c->namespace_name = options.namespace_override;
  return c;
}

Result<RestConfig> LoadRestConfig(const KubeconfigOptions& options, const EnvLookup& env,
                                  const std::string& sa_dir) {
  bool kubeconfig_named = !options.kubeconfig.empty() || !env("KUBECONFIG").value_or("").empty();
  if (!kubeconfig_named && !env("KUBERNETES_SERVICE_HOST").value_or("").empty()) {
    Result<RestConfig> c = LoadInClusterConfig(env, sa_dir);
    if (c.ok() && !options.namespace_override.empty())
      c->namespace_name = options.namespace_override;
    return c;
  }
  return LoadKubeconfig(options, env);
}

}  // namespace ebb::kube
