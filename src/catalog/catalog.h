#pragma once
// Catalog: teams, services and the dependency graph between services; the hub every other module
// points at. Owns tables `teams`, `team_members`, `services`, `service_tags`, `service_links`,
// `service_dependencies`; appends `team.*` and `service.*` events. Entry class: CatalogService.
// Thread-safety: CatalogService is thread-safe.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "catalog/graph.h"
#include "events/event_log.h"
#include "identity/identity.h"
#include "store/store.h"

namespace platops::catalog {

using identity::Page;

struct Team {
  std::string slug;  // ^[a-z0-9][a-z0-9-]{0,62}$
  std::string name;  // 1..200 characters
  std::string description;
  std::vector<std::string> members;  // user names, sorted, unique
  int64_t version = 0;
  Timestamp created_at{}, updated_at{};
};

enum class DependencyKind { kHard, kSoft };
std::string_view DependencyKindName(DependencyKind k);

struct Dependency {
  std::string service;
  DependencyKind kind = DependencyKind::kHard;
  bool operator==(const Dependency&) const = default;
};

struct Service {
  std::string slug;  // ^[a-z0-9][a-z0-9-]{0,62}$
  std::string name;  // 1..200 characters
  std::string description;
  int tier = 3;                              // 1 most critical .. 4
  std::string team;                          // owner team slug, required
  std::vector<std::string> tags;             // sorted, unique
  std::map<std::string, std::string> links;  // name -> http(s) URL
  std::vector<Dependency> depends_on;        // sorted by service
  int64_t version = 0;
  Timestamp created_at{}, updated_at{};
};

// Field-level checks that need no store: slug, name, tier, tags, links, self-dependency.
// Normalises (sorts, dedups) members, tags and depends_on in place.
Status ValidateTeam(Team& t);
Status ValidateService(Service& s);
bool IsSlug(std::string_view s);

// How references to other objects are checked in Put*: kNow checks the store inside the
// transaction; kDeferred skips the checks (apply validates the whole set first).
enum class RefCheck { kNow, kDeferred };

class CatalogService {
 public:
  CatalogService(store::Store& store, const events::EventLog& log, const Clock& clock,
                 identity::IdentityService& identity);
  static std::vector<store::Migration> Migrations();

  // Teams.
  Result<Team> CreateTeam(const std::string& actor, Team team);
  Result<Team> GetTeam(const std::string& slug) const;
  Result<Page<Team>> ListTeams(const std::string& cursor, int limit) const;
  Result<Team> UpdateTeam(const std::string& actor, Team team, int64_t expected_version);
  // kConflict while services name the team as owner.
  Status DeleteTeam(const std::string& actor, const std::string& slug);

  // Services.
  Result<Service> CreateService(const std::string& actor, Service service);
  Result<Service> GetService(const std::string& slug) const;
  Result<Page<Service>> ListServices(const std::string& cursor, int limit) const;
  Result<Service> UpdateService(const std::string& actor, Service service,
                                int64_t expected_version);
  // kConflict while other services depend on it, unless `force` (then those edges are removed).
  Status DeleteService(const std::string& actor, const std::string& slug, bool force);

  // Blast radius and its inverse, from an in-memory graph rebuilt after catalog writes.
  Result<std::vector<GraphNode>> Dependents(const std::string& slug, bool transitive) const;
  Result<std::vector<GraphNode>> Dependencies(const std::string& slug, bool transitive) const;

  // Inside a caller's write transaction (apply). `expected_version` nullopt: unconditional.
  // An update that changes nothing writes nothing and appends no event.
  Result<std::optional<Team>> FindTeam(store::Tx& tx, const std::string& slug) const;
  Result<std::vector<Team>> AllTeams(store::Tx& tx) const;
  Result<Team> PutTeam(store::Tx& tx, const std::string& actor, Team team,
                       std::optional<int64_t> expected_version, bool create, RefCheck refs);
  Status DeleteTeam(store::Tx& tx, const std::string& actor, const std::string& slug);

  Result<std::optional<Service>> FindService(store::Tx& tx, const std::string& slug) const;
  Result<std::vector<Service>> AllServices(store::Tx& tx) const;
  Result<Service> PutService(store::Tx& tx, const std::string& actor, Service service,
                             std::optional<int64_t> expected_version, bool create, RefCheck refs);
  Status DeleteService(store::Tx& tx, const std::string& actor, const std::string& slug,
                       bool force);

 private:
  Result<std::shared_ptr<const Graph>> CurrentGraph() const;
  void InvalidateGraph(store::Tx& tx);
  Status CheckTeamRefs(store::Tx& tx, const Team& team) const;
  Status CheckServiceRefs(store::Tx& tx, const Service& service) const;

  store::Store& store_;
  const events::EventLog& log_;
  const Clock& clock_;
  // Bumped after every committed service write; the graph and the service cache follow it.
  std::atomic<uint64_t> generation_{1};
  // Services read by GetService, valid for one generation: the catalog is read on every request
  // of every module and changes rarely. Single-node only: with several nodes on one PostgreSQL
  // the generation must come from the store.
  mutable std::mutex cache_mu_;
  mutable uint64_t cache_generation_ = 0;                           // GUARDED_BY(cache_mu_)
  mutable std::unordered_map<std::string, Service> service_cache_;  // GUARDED_BY(cache_mu_)
  mutable std::mutex rebuild_mu_;  // held while one thread rebuilds the graph from the store
  mutable std::mutex graph_mu_;
  mutable std::shared_ptr<const Graph> graph_;  // GUARDED_BY(graph_mu_)
  mutable uint64_t graph_generation_ = 0;       // GUARDED_BY(graph_mu_)
};

}  // namespace platops::catalog
