#include "doctor/format.h"

#include <chrono>

namespace ebb::doctor {

std::string FormatDurationShort(Duration d) {
  int64_t s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s < 0) s = -s;
  int64_t days = s / 86400, hours = s % 86400 / 3600, minutes = s % 3600 / 60, seconds = s % 60;
  std::string out;
  if (days > 0) out += std::to_string(days) + "d";
  if (hours > 0) out += std::to_string(hours) + "h";
  if (minutes > 0 && days == 0) out += std::to_string(minutes) + "m";
  if (out.empty() || (seconds > 0 && s < 600)) out += std::to_string(seconds) + "s";
  return out;
}

}  // namespace ebb::doctor
