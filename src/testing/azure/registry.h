// Registry: what the emulated Entra ID (Azure AD) tenant knows: tenants,
// applications (and managed identities) with their federated identity
// credentials, and Azure role assignments. The identity provider reads it
// to validate token requests, IMDS to find its managed identities, and the
// Prometheus front door to check "Monitoring Data Reader" on a workspace.
//
//   Registry reg;
//   reg.AddTenant("tenant-1");
//   reg.AddApplication({.client_id = "app-1", .tenant_id = "tenant-1"});
//   reg.AddFederatedCredential("app-1", {.name = "ebb", .issuer = issuer_url,
//                                        .subject = "system:serviceaccount:keda:ebb"});
//   reg.AddRoleAssignment("app-1", {.role = "Monitoring Data Reader", .scope = workspace_id});
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace ebb::testing::azure {

inline constexpr char kTokenExchangeAudience[] = "api://AzureADTokenExchange";
inline constexpr char kMonitoringDataReader[] = "Monitoring Data Reader";

struct FederatedCredential {
  std::string name;
  std::string issuer;   // compared exactly (case-sensitive, trailing slash matters)
  std::string subject;  // compared exactly (case-sensitive)
  std::vector<std::string> audiences = {kTokenExchangeAudience};
};

struct RoleAssignment {
  std::string role;   // e.g. "Monitoring Data Reader"
  std::string scope;  // an Azure resource id; also covers every child scope
};

struct Application {
  std::string client_id;
  std::string tenant_id;
  // Service principal object id (the token's oid); derived from client_id
  // when empty.
  std::string object_id;
  std::string display_name;
  std::vector<FederatedCredential> federated_credentials;
  std::vector<RoleAssignment> role_assignments;
};

// Thread-safe: every method locks; lookups return copies.
class Registry {
 public:
  void AddTenant(const std::string& tenant_id);
  bool HasTenant(const std::string& tenant_id) const;

  // Adds or replaces the application with this client id (its tenant is
  // added too).
  void AddApplication(Application app);
  // kNotFound when the client id is unknown.
  Status AddFederatedCredential(const std::string& client_id, FederatedCredential credential);
  Status AddRoleAssignment(const std::string& client_id, RoleAssignment assignment);
  // Removes every assignment of `role` from the application; kNotFound if unknown.
  Status RemoveRole(const std::string& client_id, const std::string& role);

  // The application with this client id in this tenant, if any.
  std::optional<Application> FindApplication(const std::string& tenant_id,
                                             const std::string& client_id) const;
  // By client id or object id, in any tenant.
  std::optional<Application> FindByClientOrObjectId(const std::string& id) const;

  // True when the application (client id or object id) holds `role` on
  // `scope` or on a parent of it (Azure RBAC inheritance; ids compared
  // case-insensitively, as Azure resource ids are).
  bool HasRole(const std::string& client_or_object_id, const std::string& role,
               const std::string& scope) const;

 private:
  mutable std::mutex mu_;
  std::set<std::string> tenants_;            // guarded by mu_
  std::map<std::string, Application> apps_;  // by client id; guarded by mu_
};

// A random version-4 UUID ("3f2a...-...."). Thread-safe.
std::string RandomUuid();

// True when `parent` equals `scope` or is a path prefix of it
// ("/subscriptions/s" covers "/subscriptions/s/resourceGroups/rg").
bool ScopeCovers(const std::string& parent, const std::string& scope);

}  // namespace ebb::testing::azure
