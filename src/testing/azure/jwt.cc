#include "testing/azure/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "common/strings.h"

namespace ebb::testing::azure {

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string PublicPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key);
  return BioString(bio.get());
}

PkeyPtr ReadPublicPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return PkeyPtr(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

std::string Sha256(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<char*>(digest), sizeof digest);
}

std::string KidOf(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  if (len <= 0) return "";
  std::string kid = Base64UrlEncode(Sha256(std::string(reinterpret_cast<char*>(der), len)));
  OPENSSL_free(der);
  return kid;
}

std::string BnBytes(const BIGNUM* bn) {
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

// The RS256 check itself: alg pinned, then PKCS#1 v1.5 / SHA-256.
Status VerifyWithKey(const DecodedJwt& jwt, EVP_PKEY* key) {
  if (StringField(jwt.header, "alg") != "RS256") {
    return Unauthenticated("JWT alg is not RS256");
  }
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) return Unauthenticated("key is not RSA");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    return Internal("EVP_DigestVerifyInit failed");
  }
  int rc = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(jwt.signature.data()), jwt.signature.size(),
      reinterpret_cast<const unsigned char*>(jwt.signing_input.data()), jwt.signing_input.size());
  if (rc != 1) return Unauthenticated("JWT signature does not verify");
  return Status::Ok();
}

std::optional<nlohmann::json> ParseJsonObject(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  return j;
}

}  // namespace

struct RsaSigningKey::Key {
  PkeyPtr pkey;
};

Result<RsaSigningKey> RsaSigningKey::Generate() {
  PkeyPtr pkey(EVP_RSA_gen(2048));
  if (!pkey) return Internal("RSA key generation failed");
  RsaSigningKey key;
  key.kid_ = KidOf(pkey.get());
  key.public_key_pem_ = PublicPem(pkey.get());
  key.key_ = std::make_shared<Key>(Key{std::move(pkey)});
  return key;
}

Result<RsaSigningKey> RsaSigningKey::FromPrivateKeyPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey || EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_RSA) {
    return InvalidConfig("not an RSA private key PEM");
  }
  RsaSigningKey key;
  key.kid_ = KidOf(pkey.get());
  key.public_key_pem_ = PublicPem(pkey.get());
  key.key_ = std::make_shared<Key>(Key{std::move(pkey)});
  return key;
}

nlohmann::json RsaSigningKey::Jwk() const {
  return JwkFromPublicKeyPem(public_key_pem_, kid_).value();
}

Result<std::string> RsaSigningKey::Sign(std::string_view data) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_->pkey.get()) != 1) {
    return Internal("EVP_DigestSignInit failed");
  }
  size_t len = 0;
  auto in = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1)
    return Internal("sign failed");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     data.size()) != 1) {
    return Internal("sign failed");
  }
  sig.resize(len);
  return sig;
}

Result<std::string> SignJwt(const RsaSigningKey& key, const nlohmann::json& claims,
                            const nlohmann::json& extra_header) {
  nlohmann::json header = {{"alg", "RS256"}, {"kid", key.kid()}};
  for (const auto& [k, v] : extra_header.items()) header[k] = v;
  std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  Result<std::string> sig = key.Sign(input);
  if (!sig.ok()) return sig.status();
  return input + "." + Base64UrlEncode(*sig);
}

Result<DecodedJwt> DecodeJwt(std::string_view token) {
  std::vector<std::string> parts = Split(token, '.');
  if (parts.size() != 3) return Unauthenticated("JWT does not have three parts");
  std::optional<std::string> header = Base64Decode(parts[0]);
  std::optional<std::string> claims = Base64Decode(parts[1]);
  std::optional<std::string> sig = Base64Decode(parts[2]);
  if (!header || !claims || !sig) return Unauthenticated("JWT part is not base64url");
  std::optional<nlohmann::json> h = ParseJsonObject(*header);
  std::optional<nlohmann::json> c = ParseJsonObject(*claims);
  if (!h || !c) return Unauthenticated("JWT header or claims are not a JSON object");
  return DecodedJwt{std::move(*h), std::move(*c), parts[0] + "." + parts[1], std::move(*sig)};
}

Status VerifyJwt(const DecodedJwt& jwt, const std::string& public_key_pem) {
  PkeyPtr key = ReadPublicPem(public_key_pem);
  if (!key) return InvalidConfig("unreadable public key PEM");
  return VerifyWithKey(jwt, key.get());
}

Status VerifyJwtWithJwks(const DecodedJwt& jwt, const nlohmann::json& jwks) {
  if (!jwks.is_object() || !jwks.contains("keys") || !jwks["keys"].is_array()) {
    return Unauthenticated("JWKS has no keys array");
  }
  std::string kid = StringField(jwt.header, "kid");
  for (const nlohmann::json& jwk : jwks["keys"]) {
    if (!jwk.is_object() || StringField(jwk, "kty") != "RSA") continue;
    if (!kid.empty() && StringField(jwk, "kid") != kid) continue;
    Result<std::string> pem = PublicKeyPemFromJwk(jwk);
    if (!pem.ok()) continue;
    if (VerifyJwt(jwt, *pem).ok()) return Status::Ok();
    if (!kid.empty()) return Unauthenticated("JWT signature does not verify");
  }
  return Unauthenticated("no key in the JWKS verifies the JWT (kid '" + kid + "')");
}

Result<nlohmann::json> JwkFromPublicKeyPem(const std::string& public_key_pem,
                                           const std::string& kid) {
  PkeyPtr key = ReadPublicPem(public_key_pem);
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    return InvalidConfig("not an RSA public key PEM");
  }
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_RSA_N, &n);
  EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_RSA_E, &e);
  BnPtr n_owner(n), e_owner(e);
  if (!n || !e) return Internal("cannot read RSA parameters");
  return nlohmann::json{{"kty", "RSA"},
                        {"alg", "RS256"},
                        {"use", "sig"},
                        {"kid", kid},
                        {"n", Base64UrlEncode(BnBytes(n))},
                        {"e", Base64UrlEncode(BnBytes(e))}};
}

Result<std::string> PublicKeyPemFromJwk(const nlohmann::json& jwk) {
  if (!jwk.is_object() || !jwk.contains("n") || !jwk.contains("e") || !jwk["n"].is_string() ||
      !jwk["e"].is_string()) {
    return InvalidConfig("JWK lacks n or e");
  }
  std::optional<std::string> n = Base64Decode(jwk["n"].get<std::string>());
  std::optional<std::string> e = Base64Decode(jwk["e"].get<std::string>());
  if (!n || !e || n->empty() || e->empty()) return InvalidConfig("JWK n or e is not base64url");
  BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), n->size(), nullptr));
  BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), e->size(), nullptr));
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n.get());
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e.get());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  bool ok = ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
            EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) == 1;
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  PkeyPtr key(raw);
  if (!ok || !key) return InvalidConfig("JWK is not a valid RSA key");
  return PublicPem(key.get());
}

std::string StringField(const nlohmann::json& object, const std::string& name) {
  if (!object.is_object()) return "";
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

std::optional<int64_t> NumericClaim(const nlohmann::json& claims, const std::string& name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::nullopt;
  if (it->is_number()) return static_cast<int64_t>(it->get<double>());
  if (it->is_string()) return ParseInt(it->get<std::string>());
  return std::nullopt;
}

bool AudienceContains(const nlohmann::json& claims, const std::string& audience) {
  auto it = claims.find("aud");
  if (it == claims.end()) return false;
  if (it->is_string()) return it->get<std::string>() == audience;
  if (!it->is_array()) return false;
  for (const auto& a : *it) {
    if (a.is_string() && a.get<std::string>() == audience) return true;
  }
  return false;
}

std::string AudienceText(const nlohmann::json& claims) {
  auto it = claims.find("aud");
  if (it == claims.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  std::string out;
  if (!it->is_array()) return it->dump();
  for (const auto& a : *it) {
    if (!out.empty()) out += ", ";
    out += a.is_string() ? a.get<std::string>() : a.dump();
  }
  return out;
}

}  // namespace ebb::testing::azure
