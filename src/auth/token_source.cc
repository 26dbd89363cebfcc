#include "auth/token_source.h"

#include <openssl/sha.h>

namespace ebb::auth {

std::string AccessToken::Fingerprint() const {
  // Bearer tokens: the token alone; signing credentials: the whole set.
  const std::string t = access_key_id.empty()
                            ? token.Reveal()
                            : token.Reveal() + "\n" + access_key_id + "\n" + secret_access_key.Reveal();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(t.data()), t.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

}  // namespace ebb::auth
