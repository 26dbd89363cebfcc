// Fuzz target: kubeconfig files (YAML), with the current context and a named one.
#include <cstddef>
#include <cstdint>
#include <string>

#include "kube/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  for (const char* context : {"", "ctx"}) {
    (void)ebb::kube::ParseKubeconfig({{"/nonexistent-fuzz-dir", text}}, context);
  }
  return 0;
}
