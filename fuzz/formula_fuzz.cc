// Fuzz target: scalingModifiers formulas, parsed and evaluated.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string_view>

#include "scaling/formula.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ebb::Result<ebb::scaling::Formula> f = ebb::scaling::ParseFormula(text);
  if (!f.ok()) return 0;
  std::map<std::string, double> values;
  double v = 0;
  for (const std::string& name : f->Variables()) values[name] = (v += 1.5);
  (void)f->Evaluate(values);
  for (auto& [name, value] : values) value = 0;
  (void)f->Evaluate(values);
  return 0;
}
