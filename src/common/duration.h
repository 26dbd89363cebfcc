// Parsing and printing durations as KEDA users write them.
#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace ebb {

// Parses a Go duration: a sequence of decimal numbers with units
// ns, us (or µs), ms, s, m, h ("300ms", "1.5s", "1m30s", "-2h"). "0" alone
// is zero. kInvalidConfig otherwise, naming the text.
Result<Duration> ParseGoDuration(std::string_view text);

// KEDA's Prometheus `timeout`: an integer is milliseconds ("3000"), anything
// else a Go duration ("3s"). Must be positive.
Result<Duration> ParseTimeout(std::string_view text);

// "30s", "1m30s", "250ms", "0s".
std::string FormatDuration(Duration d);

}  // namespace ebb
