#include "kube/resource.h"

#include <cctype>

#include "common/strings.h"

namespace ebb::kube {

std::string GroupVersionPath(const std::string& group, const std::string& version) {
  return group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
}

std::string CollectionPath(const GroupVersionResource& gvr, const std::string& ns) {
  std::string base = GroupVersionPath(gvr.group, gvr.version);
  if (gvr.namespaced && !ns.empty()) base += "/namespaces/" + ns;
  return base + "/" + gvr.resource;
}

std::string ObjectPath(const GroupVersionResource& gvr, const std::string& ns,
                       const std::string& name, const std::string& subresource) {
  std::string path = CollectionPath(gvr, ns) + "/" + name;
  return subresource.empty() ? path : path + "/" + subresource;
}

void SplitApiVersion(const std::string& api_version, std::string* group, std::string* version) {
  size_t slash = api_version.find('/');
  if (slash == std::string::npos) {
    group->clear();
    *version = api_version;
    return;
  }
  *group = api_version.substr(0, slash);
  *version = api_version.substr(slash + 1);
}

GroupVersionResource GuessResource(const std::string& api_version, const std::string& kind) {
  GroupVersionResource gvr;
  SplitApiVersion(api_version, &gvr.group, &gvr.version);
  std::string lower = ToLower(kind);
  if (EndsWith(lower, "y") && lower.size() > 1 &&
      std::string("aeiou").find(lower[lower.size() - 2]) == std::string::npos) {
    gvr.resource = lower.substr(0, lower.size() - 1) + "ies";
  } else if (EndsWith(lower, "s") || EndsWith(lower, "x") || EndsWith(lower, "ch") ||
             EndsWith(lower, "sh")) {
    gvr.resource = lower + "es";
  } else {
    gvr.resource = lower + "s";
  }
  return gvr;
}

std::string QueryEscape(const std::string& value) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace ebb::kube
