#include "common/backoff.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

namespace ebb {

namespace {

std::function<double()> DefaultRandom() {
  auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [rng] { return std::uniform_real_distribution<double>(0.0, 1.0)(*rng); };
}

}  // namespace

BackoffPolicy::BackoffPolicy(BackoffOptions options) : options_(std::move(options)) {
  if (!options_.random) options_.random = DefaultRandom();
}

Duration BackoffPolicy::Delay(int failures) const {
  const double initial = std::chrono::duration<double>(options_.initial).count();
  const double max = std::chrono::duration<double>(options_.max).count();
  // Capped before it can overflow: factor^(n-1) grows without bound.
  double base = initial * std::pow(options_.factor, std::max(failures, 1) - 1);
  base = std::min(base, max);
  double r;
  {
    std::lock_guard lock(mu_);
    r = options_.random();
  }
  double jitter = std::clamp(options_.jitter_fraction, 0.0, 1.0) * std::clamp(r, 0.0, 1.0);
  return std::chrono::round<Duration>(std::chrono::duration<double>(base * (1.0 - jitter)));
}

}  // namespace ebb
