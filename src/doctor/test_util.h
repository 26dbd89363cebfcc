// Helpers shared by doctor's unit tests and tests/doctor_test.cc
// (test-only, header-only): manifests from text, a temporary directory, and
// the assertion that an output holds no secret.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "api/document.h"
#include "api/manifest_set.h"
#include "common/secret.h"

namespace ebb::doctor::testutil {

inline api::ManifestSet Manifests(const std::string& yaml) {
  Result<std::vector<api::Document>> docs = api::ParseDocuments(yaml, "test.yaml");
  EXPECT_TRUE(docs.ok()) << docs.status().ToString();
  return api::BuildManifestSet(docs.ok() ? *docs : std::vector<api::Document>{});
}

// A ScaledObject "default/web" with one prometheus trigger. `extra` is
// added to the metadata (indented lines "      key: value"); `auth_ref`
// names a TriggerAuthentication ("" for none).
inline std::string ScaledObjectYaml(const std::string& server, const std::string& query,
                                    const std::string& threshold, const std::string& auth_ref = "",
                                    const std::string& extra = "") {
  std::string y =
      "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: web\n"
      "  namespace: default\nspec:\n  scaleTargetRef:\n    name: web\n"
      "  minReplicaCount: 0\n  maxReplicaCount: 10\n  triggers:\n  - type: prometheus\n"
      "    metadata:\n      serverAddress: \"" +
      server + "\"\n      query: '" + query + "'\n      threshold: \"" + threshold + "\"\n" + extra;
  if (!auth_ref.empty()) y += "    authenticationRef:\n      name: " + auth_ref + "\n";
  return y;
}

inline std::string WorkloadIdentityAuthYaml(const std::string& name = "azure-wi") {
  return "apiVersion: keda.sh/v1alpha1\nkind: TriggerAuthentication\nmetadata:\n  name: " + name +
         "\n  namespace: default\nspec:\n  podIdentity:\n    provider: azure-workload\n";
}

// A temporary directory, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ebb-doctor-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& contents) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << contents;
    return p;
  }

 private:
  std::string path_;
};

// Fails the test when `output` holds any of `secrets` or anything shaped
// like a JWT (every JWT starts with "eyJ", the base64url of '{"').
inline void ExpectNoSecrets(const std::string& output,
                            const std::vector<std::string>& secrets = {}) {
  EXPECT_EQ(output.find("eyJ"), std::string::npos) << "a JWT leaked into:\n" << output;
  for (const std::string& s : secrets) {
    EXPECT_FALSE(ContainsSecret(output, s)) << "a secret leaked into:\n" << output;
  }
}

}  // namespace ebb::doctor::testutil
