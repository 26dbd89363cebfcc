// ManifestSet: every resource read from a set of manifest files, with the
// problems found in them. Bad objects are reported and left out; the rest
// are usable.
//
//   ManifestSet set = LoadManifestSet({"examples/quickstart"});
//   for (const Problem& p : set.errors) std::cerr << p.ToString() << "\n";
//   for (const ScaledObject& so : set.scaled_objects) ...
#pragma once

#include <string>
#include <vector>

#include "api/document.h"
#include "api/lookup.h"
#include "api/problem.h"

namespace ebb::api {

// A value type; a const ManifestSet is safe to share between threads.
struct ManifestSet : public ObjectLookup {
  std::vector<ScaledObject> scaled_objects;
  std::vector<TriggerAuthentication> trigger_authentications;  // both kinds
  std::vector<SecretObject> secrets;
  std::vector<ConfigMapObject> config_maps;
  // Documents of kinds ebb reads elsewhere (e.g. ebb.dev ProcessPool).
  std::vector<Document> other_documents;
  Problems errors;
  Problems warnings;

  const TriggerAuthentication* FindTriggerAuthentication(const std::string& ns,
                                                         const std::string& name) const override;
  const TriggerAuthentication* FindClusterTriggerAuthentication(
      const std::string& name) const override;
  const SecretObject* FindSecret(const std::string& ns, const std::string& name) const override;
  const ConfigMapObject* FindConfigMap(const std::string& ns,
                                       const std::string& name) const override;
  const ScaledObject* FindScaledObject(const std::string& ns, const std::string& name) const;
};

// Sorts documents by apiVersion/kind and decodes those ebb reads.
ManifestSet BuildManifestSet(std::vector<Document> documents, Problems load_problems = {});

// Reads files/directories (see document.h) and builds the set.
ManifestSet LoadManifestSet(const std::vector<std::string>& paths);

}  // namespace ebb::api
