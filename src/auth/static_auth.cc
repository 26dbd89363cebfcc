#include "auth/static_auth.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>
#include <optional>
#include <utility>

#include "common/strings.h"

namespace ebb::auth {

namespace {

constexpr char kAcceptedModes[] = "basic, bearer, tls, custom";

struct BasicCredential {
  std::string username;
  SecretString password;
};

struct CustomCredential {
  std::string header;
  SecretString value;
};

struct TlsCredential {
  std::string cert_pem;
  SecretString key_pem;
  std::string subject_cn;  // for Describe(); may be empty
};

// Everything one StaticAuthorizer applies, validated.
struct StaticCredentials {
  std::vector<std::string> modes;
  std::optional<BasicCredential> basic;
  std::optional<SecretString> bearer;
  std::optional<CustomCredential> custom;
  std::optional<TlsCredential> tls;
  std::string ca_pem;  // "" when the TriggerAuthentication has no `ca`
};

// ---- parameter access and validation ----

using Params = std::map<std::string, SecretString>;

// The value of a parameter, or nullptr when absent or empty (KEDA treats an
// empty parameter as missing).
const SecretString* Find(const Params& params, const char* name) {
  auto it = params.find(name);
  return it == params.end() || it->second.empty() ? nullptr : &it->second;
}

Status MissingParam(std::string_view mode, std::string_view param) {
  return InvalidConfig("authModes \"" + std::string(mode) + "\" needs parameter \"" +
                       std::string(param) +
                       "\" from the TriggerAuthentication: add it, e.g. spec.secretTargetRef: "
                       "[{parameter: " +
                       std::string(param) + ", name: <secret>, key: <key>}]");
}

// Header values go on the wire as they are: CR or LF would split the header.
Status CheckHeaderSafe(std::string_view param, std::string_view value) {
  if (value.find_first_of("\r\n", 0) != std::string_view::npos ||
      value.find('\0') != std::string_view::npos) {
    return InvalidConfig("parameter \"" + std::string(param) +
                         "\" contains a line break or NUL byte, which cannot go into an HTTP "
                         "header (check how the Secret was created, e.g. echo -n)");
  }
  return Status::Ok();
}

// RFC 9110 token characters.
bool IsHeaderName(std::string_view name) {
  if (name.empty()) return false;
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || kExtra.find(c) != std::string_view::npos;
  });
}

std::string TrimTrailingNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// ---- PEM parsing (OpenSSL) ----

struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

BioPtr MemBio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Refuses to prompt for a passphrase: OpenSSL's default callback would read
// the terminal when it meets an encrypted key.
int NoPassphrase(char*, int, int, void*) { return 0; }

X509Ptr ReadCert(BIO* bio) {
  return X509Ptr(PEM_read_bio_X509(bio, nullptr, NoPassphrase, nullptr));
}

std::string SubjectCommonName(X509* cert) {
  char buf[256] = {0};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

Result<TlsCredential> ParseClientCertificate(const SecretString& cert, const SecretString& key) {
  BioPtr cert_bio = MemBio(cert.Reveal());
  X509Ptr x509 = ReadCert(cert_bio.get());
  BioPtr key_bio = MemBio(key.Reveal());
  PkeyPtr pkey(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr));
  bool matches = x509 && pkey && X509_check_private_key(x509.get(), pkey.get()) == 1;
  ERR_clear_error();
  if (!x509) {
    return InvalidConfig(
        "parameter \"cert\" is not a PEM certificate (expected the contents of a "
        "file starting with -----BEGIN CERTIFICATE-----)");
  }
  if (!pkey) {
    return InvalidConfig(
        "parameter \"key\" is not an unencrypted PEM private key (expected the "
        "contents of a file starting with -----BEGIN PRIVATE KEY----- or similar)");
  }
  if (!matches) {
    return InvalidConfig(
        "parameters \"cert\" and \"key\" do not belong together: the private key "
        "does not match the certificate's public key");
  }
  return TlsCredential{cert.Reveal(), key, SubjectCommonName(x509.get())};
}

Status CheckCaBundle(const std::string& pem) {
  BioPtr bio = MemBio(pem);
  int count = 0;
  while (X509Ptr c = ReadCert(bio.get())) ++count;
  ERR_clear_error();
  if (count == 0) {
    return InvalidConfig(
        "parameter \"ca\" holds no PEM certificate (expected the contents of a "
        "CA file starting with -----BEGIN CERTIFICATE-----)");
  }
  return Status::Ok();
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    hex += buf;
  }
  return hex;
}

// ---- one mode each ----

Status AddBasic(const Params& params, StaticCredentials& out) {
  const SecretString* user = Find(params, kParamUsername);
  if (!user) return MissingParam(kAuthModeBasic, kParamUsername);
  auto it = params.find(kParamPassword);
  SecretString password = it == params.end() ? SecretString() : it->second;
  EBB_RETURN_IF_ERROR(CheckHeaderSafe(kParamUsername, user->Reveal()));
  if (user->Reveal().find(':') != std::string::npos) {
    return InvalidConfig("parameter \"username\" contains ':', which basic auth cannot carry");
  }
  out.basic = BasicCredential{user->Reveal(), std::move(password)};
  return Status::Ok();
}

Status AddBearer(const Params& params, StaticCredentials& out) {
  const SecretString* token = Find(params, kParamBearerToken);
  if (!token) token = Find(params, kParamBearerTokenAlias);
  if (!token) return MissingParam(kAuthModeBearer, kParamBearerToken);
  std::string value = TrimTrailingNewlines(token->Reveal());
  if (value.empty()) return MissingParam(kAuthModeBearer, kParamBearerToken);
  EBB_RETURN_IF_ERROR(CheckHeaderSafe(kParamBearerToken, value));
  out.bearer = SecretString(std::move(value));
  return Status::Ok();
}

Status AddCustom(const Params& params, StaticCredentials& out) {
  const SecretString* header = Find(params, kParamCustomAuthHeader);
  if (!header) return MissingParam(kAuthModeCustom, kParamCustomAuthHeader);
  const SecretString* value = Find(params, kParamCustomAuthValue);
  if (!value) return MissingParam(kAuthModeCustom, kParamCustomAuthValue);
  std::string name(Trim(header->Reveal()));
  if (!IsHeaderName(name)) {
    return InvalidConfig("parameter \"customAuthHeader\" is not a valid HTTP header name");
  }
  EBB_RETURN_IF_ERROR(CheckHeaderSafe(kParamCustomAuthValue, value->Reveal()));
  out.custom = CustomCredential{std::move(name), *value};
  return Status::Ok();
}

Status AddTls(const Params& params, StaticCredentials& out) {
  const SecretString* cert = Find(params, kParamCert);
  if (!cert) return MissingParam(kAuthModeTls, kParamCert);
  const SecretString* key = Find(params, kParamKey);
  if (!key) return MissingParam(kAuthModeTls, kParamKey);
  Result<TlsCredential> tls = ParseClientCertificate(*cert, *key);
  if (!tls.ok()) return tls.status();
  out.tls = std::move(tls).value();
  return Status::Ok();
}

Status AddMode(const std::string& mode, const Params& params, StaticCredentials& out) {
  if (mode == kAuthModeBasic) return AddBasic(params, out);
  if (mode == kAuthModeBearer) return AddBearer(params, out);
  if (mode == kAuthModeCustom) return AddCustom(params, out);
  if (mode == kAuthModeTls) return AddTls(params, out);
  return InvalidConfig("unknown authModes value \"" + mode + "\"");  // ParseAuthModes prevents it
}

// Modes that would write the same header are refused: applying both would
// silently drop one credential.
Status CheckCombination(const StaticCredentials& c) {
  if (c.basic && c.bearer) {
    return InvalidConfig(
        "authModes \"basic\" and \"bearer\" cannot be combined: both set the "
        "Authorization header (KEDA rejects this too); keep one");
  }
  if (c.custom && (c.basic || c.bearer) &&
      http::HeaderNameEquals(c.custom->header, "Authorization")) {
    return InvalidConfig(
        "authModes \"custom\" with customAuthHeader Authorization cannot be "
        "combined with \"basic\" or \"bearer\": both set the Authorization header");
  }
  return Status::Ok();
}

// Without authModes, a credential in the TriggerAuthentication would be
// ignored (KEDA ignores it, and the server answers 401): say which mode to add.
Status CheckNoUnusedCredential(const Params& params) {
  struct Hint {
    const char* param;
    const char* mode;
  };
  static constexpr Hint kHints[] = {{kParamUsername, kAuthModeBasic},
                                    {kParamPassword, kAuthModeBasic},
                                    {kParamBearerToken, kAuthModeBearer},
                                    {kParamBearerTokenAlias, kAuthModeBearer},
                                    {kParamCert, kAuthModeTls},
                                    {kParamKey, kAuthModeTls},
                                    {kParamCustomAuthHeader, kAuthModeCustom},
                                    {kParamCustomAuthValue, kAuthModeCustom}};
  for (const Hint& h : kHints) {
    if (Find(params, h.param)) {
      return InvalidConfig("the TriggerAuthentication provides parameter \"" +
                           std::string(h.param) +
                           "\" but the trigger has no authModes, so it would not be sent: add "
                           "metadata.authModes: \"" +
                           h.mode + "\"");
    }
  }
  if (!Find(params, kParamCa)) {
    return InvalidConfig(
        "the TriggerAuthentication provides no credential for this trigger: set "
        "metadata.authModes (" +
        std::string(kAcceptedModes) + ") and the matching parameters, or use podIdentity");
  }
  return Status::Ok();
}

// ---- the Authorizer ----

void SetHeader(std::vector<http::Header>& headers, const std::string& name, std::string value) {
  std::erase_if(headers,
                [&](const http::Header& h) { return http::HeaderNameEquals(h.name, name); });
  headers.push_back({name, std::move(value), /*sensitive=*/true});
}

// Immutable after construction. Thread-safe.
class StaticAuthorizer final : public Authorizer {
 public:
  explicit StaticAuthorizer(StaticCredentials c) : c_(std::move(c)) {}

  void Send(http::HttpClient& client, http::HttpRequest request, http::HttpCallback done) override {
    Decorate(request);
    client.Send(std::move(request), std::move(done));
  }

  std::string Describe() const override {
    std::vector<std::string> parts;
    if (c_.basic) parts.push_back("basic auth (username \"" + c_.basic->username + "\")");
    if (c_.bearer) parts.push_back("bearer token");
    if (c_.custom) parts.push_back("custom header \"" + c_.custom->header + "\"");
    if (c_.tls) {
      std::string cn =
          c_.tls->subject_cn.empty() ? "" : " (subject CN \"" + c_.tls->subject_cn + "\")";
      parts.push_back("TLS client certificate" + cn);
    }
    if (parts.empty()) return "no credentials (server CA from the TriggerAuthentication)";
    std::string out;
    for (const std::string& p : parts) out += (out.empty() ? "" : " + ") + p;
    return out;
  }

  std::string IdentityKey() const override {
    std::string key = "static:";
    for (size_t i = 0; i < c_.modes.size(); ++i) key += (i ? "," : "") + c_.modes[i];
    if (c_.basic) key += ";username=" + c_.basic->username;
    if (c_.custom) key += ";header=" + c_.custom->header;
    return key + ";sha256=" + Sha256Hex(SecretMaterial());
  }

 private:
  void Decorate(http::HttpRequest& r) const {
    if (c_.basic) {
      SetHeader(r.headers, "Authorization",
                "Basic " + Base64Encode(c_.basic->username + ":" + c_.basic->password.Reveal()));
    }
    if (c_.bearer) SetHeader(r.headers, "Authorization", "Bearer " + c_.bearer->Reveal());
    if (c_.custom) SetHeader(r.headers, c_.custom->header, c_.custom->value.Reveal());
    if (c_.tls) {
      r.tls.client_cert_pem = c_.tls->cert_pem;
      r.tls.client_key_pem = c_.tls->key_pem;
    }
    if (!c_.ca_pem.empty()) r.tls.ca_pem = c_.ca_pem;
  }

  // Length-prefixed so that different splits of the same bytes differ.
  std::string SecretMaterial() const {
    std::string m;
    auto add = [&m](std::string_view tag, std::string_view v) {
      m += std::string(tag) + ":" + std::to_string(v.size()) + ":" + std::string(v) + ";";
    };
    if (c_.basic) add("password", c_.basic->password.Reveal());
    if (c_.bearer) add("bearer", c_.bearer->Reveal());
    if (c_.custom) add("custom", c_.custom->value.Reveal());
    if (c_.tls) {
      add("cert", c_.tls->cert_pem);
      add("key", c_.tls->key_pem.Reveal());
    }
    add("ca", c_.ca_pem);
    return m;
  }

  const StaticCredentials c_;
};

}  // namespace

Result<std::vector<std::string>> ParseAuthModes(std::string_view text) {
  std::vector<std::string> modes;
  for (const std::string& item : Split(text, ',')) {
    std::string mode = ToLower(Trim(item));
    if (mode.empty()) continue;
    if (mode == "oauth" || mode == "apikey") {
      return InvalidConfig(
          "authModes \"" + std::string(Trim(item)) +
          "\" is not supported by ebb's prometheus trigger; accepted: " + kAcceptedModes);
    }
    if (mode != kAuthModeBasic && mode != kAuthModeBearer && mode != kAuthModeTls &&
        mode != kAuthModeCustom) {
      return InvalidConfig("unknown authModes value \"" + std::string(Trim(item)) +
                           "\"; accepted: " + kAcceptedModes);
    }
    if (std::find(modes.begin(), modes.end(), mode) == modes.end()) modes.push_back(mode);
  }
  return modes;
}

Result<AuthorizerPtr> MakeStaticAuthorizer(const std::vector<std::string>& auth_modes,
                                           const std::map<std::string, SecretString>& params) {
  std::string joined;
  for (const std::string& m : auth_modes) joined += m + ",";
  Result<std::vector<std::string>> modes = ParseAuthModes(joined);
  if (!modes.ok()) return modes.status();
  StaticCredentials c;
  c.modes = *modes;
  if (c.modes.empty()) EBB_RETURN_IF_ERROR(CheckNoUnusedCredential(params));
  for (const std::string& mode : c.modes) EBB_RETURN_IF_ERROR(AddMode(mode, params, c));
  EBB_RETURN_IF_ERROR(CheckCombination(c));
  if (const SecretString* ca = Find(params, kParamCa)) {
    EBB_RETURN_IF_ERROR(CheckCaBundle(ca->Reveal()));
    c.ca_pem = ca->Reveal();
  }
  return AuthorizerPtr(std::make_shared<StaticAuthorizer>(std::move(c)));
}

}  // namespace ebb::auth
