#include "testing/testenv/loadgen.h"

#include <cmath>

#include "common/strings.h"

namespace ebb::testing {

double LoadAt(const LoadProfile& p, Duration elapsed) {
  if (elapsed.count() < 0) return 0;
  if (p.repeat && p.Cycle().count() > 0) elapsed = elapsed % p.Cycle();
  auto fraction = [](Duration part, Duration whole) {
    return whole.count() <= 0 ? 1.0 : static_cast<double>(part.count()) / static_cast<double>(whole.count());
  };
  double v = 0;
  if (elapsed < p.idle) {
    v = 0;
  } else if (elapsed < p.idle + p.rise) {
    v = p.peak * fraction(elapsed - p.idle, p.rise);
  } else if (elapsed < p.idle + p.rise + p.hold) {
    v = p.peak;
  } else if (elapsed < p.Cycle()) {
    v = p.peak * (1.0 - fraction(elapsed - p.idle - p.rise - p.hold, p.fall));
  }
  return std::round(v);
}

Result<LoadProfile> ParseLoadgenArgs(const std::vector<std::string>& args, int* port) {
  LoadProfile p;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--repeat") {
      p.repeat = true;
      continue;
    }
    if (i + 1 >= args.size()) return InvalidConfig(flag + " needs a value");
    const std::string& value = args[++i];
    std::optional<double> number = ParseDouble(value);
    if (!number || *number < 0) return InvalidConfig(flag + " \"" + value + "\" is not a non-negative number");
    Duration secs = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(*number));
    if (flag == "--port") *port = static_cast<int>(*number);
    else if (flag == "--peak") p.peak = *number;
    else if (flag == "--idle") p.idle = secs;
    else if (flag == "--rise") p.rise = secs;
    else if (flag == "--hold") p.hold = secs;
    else if (flag == "--fall") p.fall = secs;
    else return InvalidConfig("unknown flag " + flag);
  }
  return p;
}

}  // namespace ebb::testing
