// Small text helpers for doctor's messages.
#pragma once

#include <string>

#include "common/clock.h"

namespace ebb::doctor {

// "2h5m", "59m", "45s", "0s"; negative durations read as their absolute value.
std::string FormatDurationShort(Duration d);

}  // namespace ebb::doctor
