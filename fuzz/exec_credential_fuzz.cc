// Fuzz target: what an exec credential plugin prints (client.authentication.k8s.io).
#include <cstddef>
#include <cstdint>
#include <string>

#include "kube/exec_plugin.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)ebb::kube::ParseExecCredential(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
