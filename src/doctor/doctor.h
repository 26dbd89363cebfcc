// RunDoctor: every check of `ebb doctor`, in the order a request travels,
// for every trigger of every ScaledObject in a ManifestSet.
//
//   api::ManifestSet set = api::LoadManifestSet({"deploy/"});
//   DoctorContext ctx;  // env, clock, client, token cache... (checks.h)
//   Report report = RunDoctor(set, ctx, {});
//   report.RenderText(std::cout, {});
//
// Per trigger: manifest.* -> identity.env, identity.token-file,
// identity.token-claims (azure-workload), cluster.* (with a cluster; else
// cluster.workload-identity, skipped) -> identity.token-exchange -> endpoint.* -> query.* -> threshold.values.
// After a failure the rest of that trigger's checks are reported as
// skipped ("skipped: <id> failed"); with ctx.offline the checks that need
// the network are skipped ("skipped: --offline").
#pragma once

#include <string>

#include "api/manifest_set.h"
#include "doctor/check.h"
#include "doctor/checks.h"

namespace ebb::doctor {

struct RunOptions {
  // "NAMESPACE/NAME": check only this ScaledObject. Default "": all.
  std::string name;
};

// Runs every check. Blocks on the network checks (each bounded by its own
// timeout). The ManifestSet and ctx's pointers must outlive the call.
Report RunDoctor(const api::ManifestSet& set, const DoctorContext& ctx, const RunOptions& options);

}  // namespace ebb::doctor
