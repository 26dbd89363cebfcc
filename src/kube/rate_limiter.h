// TokenBucket: client-side rate limiting of API requests (qps and burst, as
// client-go's flowcontrol.NewTokenBucketRateLimiter).
//
//   TokenBucket bucket(200, 400, clock);
//   Duration wait = bucket.Reserve();   // 0: send now; else send after `wait`
//
// Defaults (RestClientOptions): qps 200, burst 400. client-go's 5 / 10 are
// what made KEDA users wait 24 s per request with 1,000 ScaledObjects: a
// resync of 1,000 objects with two requests each needs 2,000 tokens, 400
// s at 5 qps but 10 s at 200 qps, and the burst covers start-up (the lists
// and the first scale reads of a few hundred objects) without any wait.
// The API server protects itself with Priority and Fairness (429 with
// Retry-After, which the client honours), so the client limit only needs
// to stop a runaway loop, not to ration normal work.
#pragma once

#include <mutex>

#include "common/clock.h"

namespace ebb::kube {

// Thread-safe.
class TokenBucket {
 public:
  // qps <= 0 disables limiting (Reserve always returns 0). burst >= 1.
  TokenBucket(double qps, int burst, const Clock& clock);

  // Takes a token, possibly one not yet earned: returns how long the caller
  // must wait before using it (0 when one was available).
  Duration Reserve();

 private:
  const double qps_;
  const double burst_;
  const Clock& clock_;
  std::mutex mu_;
  double tokens_;  // guarded by mu_; negative when reservations are queued
  Time last_;      // guarded by mu_
};

}  // namespace ebb::kube
