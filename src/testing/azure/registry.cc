#include "testing/azure/registry.h"

#include <cstdio>
#include <random>

#include "common/strings.h"

namespace ebb::testing::azure {

namespace {

// A stable, uuid-shaped object id for an application that has none, so
// that tokens and role lookups agree across restarts of an emulator.
std::string DerivedObjectId(const std::string& client_id) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (char c : client_id) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-8%03x-%012llx", static_cast<unsigned>(h >> 32),
                static_cast<unsigned>(h >> 16) & 0xffff, static_cast<unsigned>(h) & 0xfff,
                static_cast<unsigned>(h >> 20) & 0xfff,
                static_cast<unsigned long long>(h * 31) & 0xffffffffffffULL);
  return buf;
}

}  // namespace

std::string RandomUuid() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock(mu);
  uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-a%03x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>(a >> 16) & 0xffff, static_cast<unsigned>(a) & 0xfff,
                static_cast<unsigned>(b >> 52) & 0xfff,
                static_cast<unsigned long long>(b) & 0xffffffffffffULL);
  return buf;
}

void Registry::AddTenant(const std::string& tenant_id) {
  std::lock_guard lock(mu_);
  tenants_.insert(tenant_id);
}

bool Registry::HasTenant(const std::string& tenant_id) const {
  std::lock_guard lock(mu_);
  return tenants_.count(tenant_id) > 0;
}

void Registry::AddApplication(Application app) {
  if (app.object_id.empty()) app.object_id = DerivedObjectId(app.client_id);
  std::lock_guard lock(mu_);
  tenants_.insert(app.tenant_id);
  std::string id = app.client_id;
  apps_[id] = std::move(app);
}

Status Registry::AddFederatedCredential(const std::string& client_id,
                                        FederatedCredential credential) {
  std::lock_guard lock(mu_);
  auto it = apps_.find(client_id);
  if (it == apps_.end()) return NotFound("no application " + client_id);
  it->second.federated_credentials.push_back(std::move(credential));
  return Status::Ok();
}

Status Registry::AddRoleAssignment(const std::string& client_id, RoleAssignment assignment) {
  std::lock_guard lock(mu_);
  auto it = apps_.find(client_id);
  if (it == apps_.end()) return NotFound("no application " + client_id);
  it->second.role_assignments.push_back(std::move(assignment));
  return Status::Ok();
}

Status Registry::RemoveRole(const std::string& client_id, const std::string& role) {
  std::lock_guard lock(mu_);
  auto it = apps_.find(client_id);
  if (it == apps_.end()) return NotFound("no application " + client_id);
  std::erase_if(it->second.role_assignments,
                [&](const RoleAssignment& r) { return r.role == role; });
  return Status::Ok();
}

std::optional<Application> Registry::FindApplication(const std::string& tenant_id,
                                                     const std::string& client_id) const {
  std::lock_guard lock(mu_);
  auto it = apps_.find(client_id);
  if (it == apps_.end() || it->second.tenant_id != tenant_id) return std::nullopt;
  return it->second;
}

std::optional<Application> Registry::FindByClientOrObjectId(const std::string& id) const {
  std::lock_guard lock(mu_);
  for (const auto& [client_id, app] : apps_) {
    if (client_id == id || app.object_id == id) return app;
  }
  return std::nullopt;
}

bool Registry::HasRole(const std::string& client_or_object_id, const std::string& role,
                       const std::string& scope) const {
  std::optional<Application> app = FindByClientOrObjectId(client_or_object_id);
  if (!app) return false;
  for (const RoleAssignment& a : app->role_assignments) {
    if (a.role == role && ScopeCovers(a.scope, scope)) return true;
  }
  return false;
}

bool ScopeCovers(const std::string& parent, const std::string& scope) {
  std::string p = ToLower(parent);
  std::string s = ToLower(scope);
  while (!p.empty() && p.back() == '/') p.pop_back();
  if (p.empty()) return false;
  return s == p || StartsWith(s, p + "/");
}

}  // namespace ebb::testing::azure
