#include "testing/kube/patch.h"

#include "common/strings.h"

namespace ebb::testing::kube {

using nlohmann::json;

namespace {
constexpr char kUnsupported[] = "unsupported media type";

std::string MediaType(const std::string& content_type) {
  return std::string(Trim(content_type.substr(0, content_type.find(';'))));
}
}  // namespace

Result<json> ApplyPatch(const json& target, const std::string& content_type,
                        const std::string& patch, bool custom) {
  std::string type = MediaType(content_type);
  bool merge = type == "application/merge-patch+json";
  bool strategic = type == "application/strategic-merge-patch+json";
  bool json_patch = type == "application/json-patch+json";
  if ((!merge && !strategic && !json_patch) || (strategic && custom)) {
    return InvalidConfig(kUnsupported);
  }
  json p = json::parse(patch, nullptr, false);
  if (p.is_discarded()) return InvalidConfig("the patch is not valid JSON");
  try {
    if (json_patch) return target.patch(p);
    json out = target;
    out.merge_patch(p);
    return out;
  } catch (const json::exception& e) {
    return InvalidConfig(std::string("the patch cannot be applied: ") + e.what());
  }
}

Reply PatchErrorReply(const Status& error, const std::string& content_type) {
  if (error.message() == kUnsupported) {
    return ErrorReply(415, "UnsupportedMediaType",
                      "the body of the request was in an unknown format - accepted media types "
                      "include: application/json-patch+json, application/merge-patch+json, "
                      "application/apply-patch+yaml");
  }
  return ErrorReply(400, "BadRequest", error.message());
}

}  // namespace ebb::testing::kube
