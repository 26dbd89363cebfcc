// SpecFingerprint: a string equal for two ScaledObjects exactly when
// everything the controller acts on is equal (spec, annotations, uid,
// creation time). Update compares fingerprints to tell an edited object
// from one merely re-read, since the api structs have no operator==.
#pragma once

#include <string>

#include "api/scaled_object.h"

namespace ebb::controller {

// Holds trigger metadata values (possibly secrets in customHeaders): a
// comparison key, never for logs.
std::string SpecFingerprint(const api::ScaledObject& so);

}  // namespace ebb::controller
