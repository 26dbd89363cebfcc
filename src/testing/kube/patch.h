// Patches as the API server applies them: JSON merge patch (RFC 7386),
// JSON patch (RFC 6902) and strategic merge patch (built-in types only;
// approximated by a merge patch, which is what ebb sends).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "testing/kube/resource_types.h"

namespace ebb::testing::kube {

// Applies `patch` to `target`. kInvalidConfig with message
// "unsupported media type" for an unknown content type or a strategic merge
// patch on a custom resource (`custom`), else kInvalidConfig for a
// malformed patch.
Result<nlohmann::json> ApplyPatch(const nlohmann::json& target, const std::string& content_type,
                                  const std::string& patch, bool custom);

// 415 UnsupportedMediaType or 400 BadRequest for an ApplyPatch failure.
Reply PatchErrorReply(const Status& error, const std::string& content_type);

}  // namespace ebb::testing::kube
