#include "catalog/catalog.h"

#include <boost/json.hpp>

#include <algorithm>
#include <set>

#include "base/json_reader.h"
#include "base/strings.h"
#include "base/time_util.h"
#include "catalog/codec.h"

namespace platops::catalog {

namespace json = boost::json;

std::string_view DependencyKindName(DependencyKind k) {
  return k == DependencyKind::kHard ? "hard" : "soft";
}

bool IsSlug(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto lower_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_digit(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return lower_digit(c) || c == '-'; });
}

namespace {

Status CheckSlug(const std::string& slug) {
  if (!IsSlug(slug))
    return InvalidArgument("must match ^[a-z0-9][a-z0-9-]{0,62}$, got \"" + Abbreviate(slug) + "\"",
                           "slug");
  return Status::Ok();
}

Status CheckText(const std::string& value, const char* field, size_t max, bool required) {
  if (required && value.empty()) return InvalidArgument("is required", field);
  if (value.size() > max)
    return InvalidArgument(
        "must be at most " + std::to_string(max) + " bytes, got " + std::to_string(value.size()),
        field);
  if (!IsValidUtf8(value)) return InvalidArgument("must be valid UTF-8", field);
  return Status::Ok();
}

bool IsTag(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':' || c == '/' || c == '=';
    if (!ok) return false;
  }
  return true;
}

bool IsHttpUrl(std::string_view s) {
  if (s.size() > 2048) return false;
  std::string_view rest;
  if (StartsWith(s, "https://"))
    rest = s.substr(8);
  else if (StartsWith(s, "http://"))
    rest = s.substr(7);
  else
    return false;
  if (rest.empty() || rest[0] == '/') return false;
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
}

constexpr const char* kTeamColumns = "slug, name, description, version, created_at, updated_at";
constexpr const char* kServiceColumns =
    "slug, name, description, tier, team_slug, version, created_at, updated_at";

Team TeamFromRow(const store::Row& r) {
  Team t;
  t.slug = r.Text(0);
  t.name = r.Text(1);
  t.description = r.Text(2);
  t.version = r.Int(3);
  t.created_at = ParseStoredTimestamp(r.Text(4));
  t.updated_at = ParseStoredTimestamp(r.Text(5));
  return t;
}

Service ServiceFromRow(const store::Row& r) {
  Service s;
  s.slug = r.Text(0);
  s.name = r.Text(1);
  s.description = r.Text(2);
  s.tier = static_cast<int>(r.Int(3));
  s.team = r.Text(4);
  s.version = r.Int(5);
  s.created_at = ParseStoredTimestamp(r.Text(6));
  s.updated_at = ParseStoredTimestamp(r.Text(7));
  return s;
}

// Loads members for teams whose slugs lie in [lo, hi] (inclusive), in slug order.
Status FillMembers(store::Tx& tx, std::vector<Team>& teams, const std::string& lo,
                   const std::string& hi) {
  if (teams.empty()) return Status::Ok();
  PLATOPS_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT team_slug, user_name FROM team_members WHERE team_slug >= $1 "
                          "AND team_slug <= $2 ORDER BY team_slug, user_name",
                          {lo, hi}));
  std::map<std::string, Team*> by_slug;
  for (auto& t : teams) by_slug[t.slug] = &t;
  for (const auto& r : rows) {
    auto it = by_slug.find(r.Text(0));
    if (it != by_slug.end()) it->second->members.push_back(r.Text(1));
  }
  return Status::Ok();
}

Status FillServiceDetails(store::Tx& tx, std::vector<Service>& services, const std::string& lo,
                          const std::string& hi) {
  if (services.empty()) return Status::Ok();
  std::map<std::string, Service*> by_slug;
  for (auto& s : services) by_slug[s.slug] = &s;
  // Tags, links and dependencies in one statement: one pass over three small indexes.
  PLATOPS_ASSIGN_OR_RETURN(
      auto rows,
      tx.Query("SELECT 0, service_slug, tag, '' FROM service_tags WHERE service_slug >= $1 AND "
               "service_slug <= $2 "
               "UNION ALL SELECT 1, service_slug, name, url FROM service_links WHERE "
               "service_slug >= $1 AND service_slug <= $2 "
               "UNION ALL SELECT 2, service_slug, depends_on, kind FROM service_dependencies "
               "WHERE service_slug >= $1 AND service_slug <= $2",
               {lo, hi}));
  for (const auto& r : rows) {
    auto it = by_slug.find(r.Text(1));
    if (it == by_slug.end()) continue;
    Service& svc = *it->second;
    switch (r.Int(0)) {
      case 0:
        svc.tags.push_back(r.Text(2));
        break;
      case 1:
        svc.links[r.Text(2)] = r.Text(3);
        break;
      default:
        svc.depends_on.push_back(
            {r.Text(2), r.Text(3) == "soft" ? DependencyKind::kSoft : DependencyKind::kHard});
    }
  }
  // UNION ALL promises no order; sort here rather than make the store sort the union.
  for (auto& svc : services) {
    std::sort(svc.tags.begin(), svc.tags.end());
    std::sort(svc.depends_on.begin(), svc.depends_on.end(),
              [](const Dependency& a, const Dependency& b) { return a.service < b.service; });
  }
  return Status::Ok();
}

}  // namespace

Status ValidateTeam(Team& t) {
  PLATOPS_RETURN_IF_ERROR(CheckSlug(t.slug));
  PLATOPS_RETURN_IF_ERROR(CheckText(t.name, "name", 200, true));
  PLATOPS_RETURN_IF_ERROR(CheckText(t.description, "description", 4000, false));
  std::sort(t.members.begin(), t.members.end());
  t.members.erase(std::unique(t.members.begin(), t.members.end()), t.members.end());
  if (t.members.size() > 1000) return InvalidArgument("at most 1000 members", "members");
  return Status::Ok();
}

Status ValidateService(Service& s) {
  PLATOPS_RETURN_IF_ERROR(CheckSlug(s.slug));
  PLATOPS_RETURN_IF_ERROR(CheckText(s.name, "name", 200, true));
  PLATOPS_RETURN_IF_ERROR(CheckText(s.description, "description", 4000, false));
  if (s.tier < 1 || s.tier > 4)
    return InvalidArgument("must be 1..4, got " + std::to_string(s.tier), "tier");
  if (s.team.empty()) return InvalidArgument("is required: the slug of the owner team", "team");
  if (!IsSlug(s.team))
    return InvalidArgument("must be a team slug, got \"" + Abbreviate(s.team) + "\"", "team");
  if (s.tags.size() > 64) return InvalidArgument("at most 64 tags", "tags");
  for (size_t i = 0; i < s.tags.size(); ++i) {
    if (!IsTag(s.tags[i]))
      return InvalidArgument(
          "must be 1..63 characters of a-z 0-9 - _ . : / =, got \"" + Abbreviate(s.tags[i]) + "\"",
          "tags[" + std::to_string(i) + "]");
  }
  std::sort(s.tags.begin(), s.tags.end());
  s.tags.erase(std::unique(s.tags.begin(), s.tags.end()), s.tags.end());
  if (s.links.size() > 64) return InvalidArgument("at most 64 links", "links");
  for (const auto& [name, url] : s.links) {
    if (name.empty() || name.size() > 63 || !IsValidUtf8(name))
      return InvalidArgument("link names must be 1..63 characters", "links");
    if (!IsHttpUrl(url))
      return InvalidArgument("must be an http:// or https:// URL, got \"" + Abbreviate(url) + "\"",
                             "links." + name);
  }
  if (s.depends_on.size() > 500) return InvalidArgument("at most 500 dependencies", "depends_on");
  std::set<std::string> seen;
  for (size_t i = 0; i < s.depends_on.size(); ++i) {
    const auto& d = s.depends_on[i];
    std::string field = "depends_on[" + std::to_string(i) + "].service";
    if (!IsSlug(d.service))
      return InvalidArgument("must be a service slug, got \"" + Abbreviate(d.service) + "\"",
                             field);
    if (d.service == s.slug) return InvalidArgument("a service cannot depend on itself", field);
    if (!seen.insert(d.service).second)
      return InvalidArgument("\"" + d.service + "\" is listed twice", field);
  }
  std::sort(s.depends_on.begin(), s.depends_on.end(),
            [](const Dependency& a, const Dependency& b) { return a.service < b.service; });
  return Status::Ok();
}

CatalogService::CatalogService(store::Store& store, const events::EventLog& log, const Clock& clock,
                               identity::IdentityService& identity)
    : store_(store), log_(log), clock_(clock) {
  identity.AddUserDeleteGuard([](store::Tx& tx, const std::string& user) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT team_slug FROM team_members WHERE user_name = $1 ORDER BY "
                            "team_slug",
                            {user}));
    if (rows.empty()) return Status::Ok();
    std::vector<std::string> slugs;
    for (const auto& r : rows) slugs.push_back(r.Text(0));
    return Conflict("user \"" + user + "\" is a member of team(s) " + Join(slugs, ", ") +
                    "; remove them from those teams first");
  });
}

std::vector<store::Migration> CatalogService::Migrations() {
  return {{"catalog", 1, R"sql(
CREATE TABLE teams (
  slug TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  version INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE team_members (
  team_slug TEXT NOT NULL REFERENCES teams (slug),
  user_name TEXT NOT NULL,
  PRIMARY KEY (team_slug, user_name)
);
CREATE INDEX team_members_user ON team_members (user_name);
CREATE TABLE services (
  slug TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  tier INTEGER NOT NULL,
  team_slug TEXT NOT NULL,
  version INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX services_team ON services (team_slug);
CREATE TABLE service_tags (
  service_slug TEXT NOT NULL REFERENCES services (slug),
  tag TEXT NOT NULL,
  PRIMARY KEY (service_slug, tag)
);
CREATE TABLE service_links (
  service_slug TEXT NOT NULL REFERENCES services (slug),
  name TEXT NOT NULL,
  url TEXT NOT NULL,
  PRIMARY KEY (service_slug, name)
);
CREATE TABLE service_dependencies (
  service_slug TEXT NOT NULL REFERENCES services (slug),
  depends_on TEXT NOT NULL,
  kind TEXT NOT NULL,
  PRIMARY KEY (service_slug, depends_on)
);
CREATE INDEX service_dependencies_target ON service_dependencies (depends_on);
)sql"}};
}

// ---- teams ----

Result<std::optional<Team>> CatalogService::FindTeam(store::Tx& tx, const std::string& slug) const {
  PLATOPS_ASSIGN_OR_RETURN(
      auto row,
      tx.QueryOne(std::string("SELECT ") + kTeamColumns + " FROM teams WHERE slug = $1", {slug}));
  if (!row) return std::optional<Team>();
  std::vector<Team> one{TeamFromRow(*row)};
  PLATOPS_RETURN_IF_ERROR(FillMembers(tx, one, slug, slug));
  return std::optional<Team>(std::move(one[0]));
}

Result<std::vector<Team>> CatalogService::AllTeams(store::Tx& tx) const {
  PLATOPS_ASSIGN_OR_RETURN(
      auto rows, tx.Query(std::string("SELECT ") + kTeamColumns + " FROM teams ORDER BY slug"));
  std::vector<Team> out;
  for (const auto& r : rows) out.push_back(TeamFromRow(r));
  if (!out.empty())
    PLATOPS_RETURN_IF_ERROR(FillMembers(tx, out, out.front().slug, out.back().slug));
  return out;
}

Status CatalogService::CheckTeamRefs(store::Tx& tx, const Team& team) const {
  for (size_t i = 0; i < team.members.size(); ++i) {
    PLATOPS_ASSIGN_OR_RETURN(auto row,
                             tx.QueryOne("SELECT 1 FROM users WHERE name = $1", {team.members[i]}));
    if (!row)
      return Unprocessable("user \"" + Abbreviate(team.members[i]) + "\" does not exist",
                           "members[" + std::to_string(i) + "]");
  }
  return Status::Ok();
}

Result<Team> CatalogService::PutTeam(store::Tx& tx, const std::string& actor, Team team,
                                     std::optional<int64_t> expected_version, bool create,
                                     RefCheck refs) {
  PLATOPS_RETURN_IF_ERROR(ValidateTeam(team));
  if (refs == RefCheck::kNow) PLATOPS_RETURN_IF_ERROR(CheckTeamRefs(tx, team));
  PLATOPS_ASSIGN_OR_RETURN(auto existing, FindTeam(tx, team.slug));
  const Timestamp now = clock_.Now();
  events::EventDraft ev{actor, "", "team", team.slug, "{}"};
  json::object payload;
  if (create) {
    if (existing) return Conflict("team \"" + team.slug + "\" already exists", "slug");
    team.version = 1;
    team.created_at = team.updated_at = now;
    ev.action = "team.created";
    payload["after"] = TeamToJson(team);
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO teams (slug, name, description, version, created_at, updated_at) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                {team.slug, team.name, team.description, team.version,
                 FormatRfc3339(team.created_at), FormatRfc3339(team.updated_at)})
            .status());
  } else {
    if (!existing) return NotFound("team \"" + team.slug + "\" not found");
    if (expected_version && *expected_version != existing->version)
      return StaleVersion(*expected_version, existing->version);
    team.version = existing->version;
    team.created_at = existing->created_at;
    team.updated_at = existing->updated_at;
    auto changes = JsonChanges(TeamToJson(*existing), TeamToJson(team));
    if (changes.empty()) return *existing;
    team.version = existing->version + 1;
    team.updated_at = now;
    ev.action = "team.updated";
    payload["changes"] = std::move(changes);
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("UPDATE teams SET name = $2, description = $3, version = $4, updated_at = $5 "
                "WHERE slug = $1",
                {team.slug, team.name, team.description, team.version,
                 FormatRfc3339(team.updated_at)})
            .status());
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("DELETE FROM team_members WHERE team_slug = $1", {team.slug}).status());
  }
  for (const auto& m : team.members) {
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO team_members (team_slug, user_name) VALUES ($1, $2)", {team.slug, m})
            .status());
  }
  ev.payload = JsonToString(payload);
  PLATOPS_RETURN_IF_ERROR(log_.Append(tx, ev).status());
  return team;
}

Status CatalogService::DeleteTeam(store::Tx& tx, const std::string& actor,
                                  const std::string& slug) {
  PLATOPS_ASSIGN_OR_RETURN(auto existing, FindTeam(tx, slug));
  if (!existing) return NotFound("team \"" + Abbreviate(slug) + "\" not found");
  PLATOPS_ASSIGN_OR_RETURN(
      auto owned,
      tx.Query("SELECT slug FROM services WHERE team_slug = $1 ORDER BY slug LIMIT 11", {slug}));
  if (!owned.empty()) {
    std::vector<std::string> slugs;
    for (size_t i = 0; i < owned.size() && i < 10; ++i) slugs.push_back(owned[i].Text(0));
    if (owned.size() > 10) slugs.push_back("...");
    return Conflict("team \"" + slug + "\" owns service(s) " + Join(slugs, ", ") +
                    "; move or delete them first");
  }
  PLATOPS_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM team_members WHERE team_slug = $1", {slug}).status());
  PLATOPS_RETURN_IF_ERROR(tx.Exec("DELETE FROM teams WHERE slug = $1", {slug}).status());
  json::object payload;
  payload["before"] = TeamToJson(*existing);
  return log_.Append(tx, {actor, "team.deleted", "team", slug, JsonToString(payload)}).status();
}

Result<Team> CatalogService::CreateTeam(const std::string& actor, Team team) {
  std::optional<Team> out;
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(out, PutTeam(tx, actor, team, std::nullopt, true, RefCheck::kNow));
    return Status::Ok();
  }));
  return *out;
}

Result<Team> CatalogService::GetTeam(const std::string& slug) const {
  std::optional<Team> out;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(out, FindTeam(tx, slug));
    return Status::Ok();
  }));
  if (!out) return NotFound("team \"" + Abbreviate(slug) + "\" not found");
  return *out;
}

Result<Page<Team>> CatalogService::ListTeams(const std::string& cursor, int limit) const {
  Page<Team> page;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto rows,
                             tx.Query(std::string("SELECT ") + kTeamColumns +
                                          " FROM teams WHERE slug > $1 ORDER BY slug LIMIT $2",
                                      {cursor, static_cast<int64_t>(limit) + 1}));
    for (const auto& r : rows) page.items.push_back(TeamFromRow(r));
    if (static_cast<int>(page.items.size()) > limit) {
      page.items.pop_back();
      page.next_cursor = page.items.back().slug;
    }
    if (!page.items.empty())
      PLATOPS_RETURN_IF_ERROR(
          FillMembers(tx, page.items, page.items.front().slug, page.items.back().slug));
    return Status::Ok();
  }));
  return page;
}

Result<Team> CatalogService::UpdateTeam(const std::string& actor, Team team,
                                        int64_t expected_version) {
  std::optional<Team> out;
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(out,
                             PutTeam(tx, actor, team, expected_version, false, RefCheck::kNow));
    return Status::Ok();
  }));
  return *out;
}

Status CatalogService::DeleteTeam(const std::string& actor, const std::string& slug) {
  return store_.Write([&](store::Tx& tx) { return DeleteTeam(tx, actor, slug); });
}

// ---- services ----

Result<std::optional<Service>> CatalogService::FindService(store::Tx& tx,
                                                           const std::string& slug) const {
  PLATOPS_ASSIGN_OR_RETURN(auto row, tx.QueryOne(std::string("SELECT ") + kServiceColumns +
                                                     " FROM services WHERE slug = $1",
                                                 {slug}));
  if (!row) return std::optional<Service>();
  std::vector<Service> one{ServiceFromRow(*row)};
  PLATOPS_RETURN_IF_ERROR(FillServiceDetails(tx, one, slug, slug));
  return std::optional<Service>(std::move(one[0]));
}

Result<std::vector<Service>> CatalogService::AllServices(store::Tx& tx) const {
  PLATOPS_ASSIGN_OR_RETURN(auto rows, tx.Query(std::string("SELECT ") + kServiceColumns +
                                               " FROM services ORDER BY slug"));
  std::vector<Service> out;
  for (const auto& r : rows) out.push_back(ServiceFromRow(r));
  if (!out.empty())
    PLATOPS_RETURN_IF_ERROR(FillServiceDetails(tx, out, out.front().slug, out.back().slug));
  return out;
}

Status CatalogService::CheckServiceRefs(store::Tx& tx, const Service& s) const {
  PLATOPS_ASSIGN_OR_RETURN(auto team, tx.QueryOne("SELECT 1 FROM teams WHERE slug = $1", {s.team}));
  if (!team) return Unprocessable("team \"" + Abbreviate(s.team) + "\" does not exist", "team");
  for (size_t i = 0; i < s.depends_on.size(); ++i) {
    PLATOPS_ASSIGN_OR_RETURN(
        auto dep, tx.QueryOne("SELECT 1 FROM services WHERE slug = $1", {s.depends_on[i].service}));
    if (!dep)
      return Unprocessable("service \"" + s.depends_on[i].service + "\" does not exist",
                           "depends_on[" + std::to_string(i) + "].service");
  }
  return Status::Ok();
}

void CatalogService::InvalidateGraph(store::Tx& tx) {
  tx.AfterCommit([this] { generation_.fetch_add(1); });
}

Result<Service> CatalogService::PutService(store::Tx& tx, const std::string& actor, Service service,
                                           std::optional<int64_t> expected_version, bool create,
                                           RefCheck refs) {
  PLATOPS_RETURN_IF_ERROR(ValidateService(service));
  if (refs == RefCheck::kNow) PLATOPS_RETURN_IF_ERROR(CheckServiceRefs(tx, service));
  PLATOPS_ASSIGN_OR_RETURN(auto existing, FindService(tx, service.slug));
  const Timestamp now = clock_.Now();
  events::EventDraft ev{actor, "", "service", service.slug, "{}"};
  json::object payload;
  if (create) {
    if (existing) return Conflict("service \"" + service.slug + "\" already exists", "slug");
    service.version = 1;
    service.created_at = service.updated_at = now;
    ev.action = "service.created";
    payload["after"] = ServiceToJson(service);
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO services (slug, name, description, tier, team_slug, version, "
                "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                {service.slug, service.name, service.description,
                 static_cast<int64_t>(service.tier), service.team, service.version,
                 FormatRfc3339(service.created_at), FormatRfc3339(service.updated_at)})
            .status());
  } else {
    if (!existing) return NotFound("service \"" + service.slug + "\" not found");
    if (expected_version && *expected_version != existing->version)
      return StaleVersion(*expected_version, existing->version);
    service.version = existing->version;
    service.created_at = existing->created_at;
    service.updated_at = existing->updated_at;
    auto changes = JsonChanges(ServiceToJson(*existing), ServiceToJson(service));
    if (changes.empty()) return *existing;
    service.version = existing->version + 1;
    service.updated_at = now;
    ev.action = "service.updated";
    payload["changes"] = std::move(changes);
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec(
              "UPDATE services SET name = $2, description = $3, tier = $4, team_slug = $5, "
              "version = $6, updated_at = $7 WHERE slug = $1",
              {service.slug, service.name, service.description, static_cast<int64_t>(service.tier),
               service.team, service.version, FormatRfc3339(service.updated_at)})
            .status());
    for (const char* table : {"service_tags", "service_links", "service_dependencies"}) {
      PLATOPS_RETURN_IF_ERROR(
          tx.Exec(std::string("DELETE FROM ") + table + " WHERE service_slug = $1", {service.slug})
              .status());
    }
  }
  for (const auto& tag : service.tags)
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO service_tags (service_slug, tag) VALUES ($1, $2)", {service.slug, tag})
            .status());
  for (const auto& [name, url] : service.links)
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO service_links (service_slug, name, url) VALUES ($1, $2, $3)",
                {service.slug, name, url})
            .status());
  for (const auto& d : service.depends_on)
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO service_dependencies (service_slug, depends_on, "
                "kind) VALUES ($1, $2, $3)",
                {service.slug, d.service, std::string(DependencyKindName(d.kind))})
            .status());
  ev.payload = JsonToString(payload);
  PLATOPS_RETURN_IF_ERROR(log_.Append(tx, ev).status());
  InvalidateGraph(tx);
  return service;
}

Status CatalogService::DeleteService(store::Tx& tx, const std::string& actor,
                                     const std::string& slug, bool force) {
  PLATOPS_ASSIGN_OR_RETURN(auto existing, FindService(tx, slug));
  if (!existing) return NotFound("service \"" + Abbreviate(slug) + "\" not found");
  PLATOPS_ASSIGN_OR_RETURN(
      auto dependents, tx.Query("SELECT service_slug FROM service_dependencies WHERE depends_on = "
                                "$1 ORDER BY service_slug",
                                {slug}));
  json::array removed;
  if (!dependents.empty()) {
    std::vector<std::string> slugs;
    for (const auto& r : dependents) {
      slugs.push_back(r.Text(0));
      removed.emplace_back(r.Text(0));
    }
    if (!force)
      return Conflict("service \"" + slug + "\" is a dependency of " + Join(slugs, ", ") +
                      "; remove those dependencies first or delete with force=true");
    // Each dependent loses the edge as an ordinary update: new version, its own event.
    for (const auto& dependent_slug : slugs) {
      PLATOPS_ASSIGN_OR_RETURN(auto dependent, FindService(tx, dependent_slug));
      if (!dependent) continue;
      Service updated = *dependent;
      std::erase_if(updated.depends_on, [&](const Dependency& d) { return d.service == slug; });
      PLATOPS_RETURN_IF_ERROR(
          PutService(tx, actor, updated, std::nullopt, false, RefCheck::kDeferred).status());
    }
  }
  for (const char* table : {"service_tags", "service_links", "service_dependencies"}) {
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec(std::string("DELETE FROM ") + table + " WHERE service_slug = $1", {slug}).status());
  }
  PLATOPS_RETURN_IF_ERROR(tx.Exec("DELETE FROM services WHERE slug = $1", {slug}).status());
  json::object payload;
  payload["before"] = ServiceToJson(*existing);
  if (!removed.empty()) payload["removed_dependents"] = std::move(removed);
  PLATOPS_RETURN_IF_ERROR(
      log_.Append(tx, {actor, "service.deleted", "service", slug, JsonToString(payload)}).status());
  InvalidateGraph(tx);
  return Status::Ok();
}

Result<Service> CatalogService::CreateService(const std::string& actor, Service service) {
  std::optional<Service> out;
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(out,
                             PutService(tx, actor, service, std::nullopt, true, RefCheck::kNow));
    return Status::Ok();
  }));
  return *out;
}

Result<Service> CatalogService::GetService(const std::string& slug) const {
  static constexpr size_t kMaxCached = 100000;
  // Read the generation before the snapshot: a write that commits in between bumps it again, so
  // what this read caches is never taken for newer than it is.
  const uint64_t gen = generation_.load();
  {
    std::lock_guard lock(cache_mu_);
    if (cache_generation_ == gen) {
      auto it = service_cache_.find(slug);
      if (it != service_cache_.end()) return it->second;
    }
  }
  std::optional<Service> out;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(out, FindService(tx, slug));
    return Status::Ok();
  }));
  if (!out) return NotFound("service \"" + Abbreviate(slug) + "\" not found");
  std::lock_guard lock(cache_mu_);
  if (gen > cache_generation_) {
    service_cache_.clear();
    cache_generation_ = gen;
  }
  if (gen == cache_generation_ && service_cache_.size() < kMaxCached)
    service_cache_.emplace(slug, *out);
  return *out;
}

Result<Page<Service>> CatalogService::ListServices(const std::string& cursor, int limit) const {
  Page<Service> page;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto rows,
                             tx.Query(std::string("SELECT ") + kServiceColumns +
                                          " FROM services WHERE slug > $1 ORDER BY slug LIMIT $2",
                                      {cursor, static_cast<int64_t>(limit) + 1}));
    for (const auto& r : rows) page.items.push_back(ServiceFromRow(r));
    if (static_cast<int>(page.items.size()) > limit) {
      page.items.pop_back();
      page.next_cursor = page.items.back().slug;
    }
    if (!page.items.empty())
      PLATOPS_RETURN_IF_ERROR(
          FillServiceDetails(tx, page.items, page.items.front().slug, page.items.back().slug));
    return Status::Ok();
  }));
  return page;
}

Result<Service> CatalogService::UpdateService(const std::string& actor, Service service,
                                              int64_t expected_version) {
  std::optional<Service> out;
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(
        out, PutService(tx, actor, service, expected_version, false, RefCheck::kNow));
    return Status::Ok();
  }));
  return *out;
}

Status CatalogService::DeleteService(const std::string& actor, const std::string& slug,
                                     bool force) {
  return store_.Write([&](store::Tx& tx) { return DeleteService(tx, actor, slug, force); });
}

// ---- graph ----

Result<std::shared_ptr<const Graph>> CatalogService::CurrentGraph() const {
  const uint64_t gen = generation_.load();
  {
    std::lock_guard lock(graph_mu_);
    if (graph_ && graph_generation_ == gen) return graph_;
  }
  // One rebuild at a time: requests arriving during it wait and share its result.
  std::lock_guard rebuild(rebuild_mu_);
  {
    std::lock_guard lock(graph_mu_);
    if (graph_ && graph_generation_ >= gen) return graph_;
  }
  std::vector<Graph::NodeInfo> nodes;
  std::vector<Graph::Edge> edges;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT slug, name, tier FROM services"));
    nodes.reserve(rows.size());
    for (const auto& r : rows) nodes.push_back({r.Text(0), r.Text(1), static_cast<int>(r.Int(2))});
    PLATOPS_ASSIGN_OR_RETURN(
        auto erows, tx.Query("SELECT service_slug, depends_on, kind FROM service_dependencies"));
    edges.reserve(erows.size());
    for (const auto& r : erows) edges.push_back({r.Text(0), r.Text(1), r.Text(2) == "hard"});
    return Status::Ok();
  }));
  auto graph = std::make_shared<const Graph>(std::move(nodes), edges);
  std::lock_guard lock(graph_mu_);
  // A write that committed while we read bumps the generation again; the next call rebuilds.
  if (gen >= graph_generation_) {
    graph_ = graph;
    graph_generation_ = gen;
  }
  return std::shared_ptr<const Graph>(graph);
}

Result<std::vector<GraphNode>> CatalogService::Dependents(const std::string& slug,
                                                          bool transitive) const {
  PLATOPS_ASSIGN_OR_RETURN(auto graph, CurrentGraph());
  if (!graph->Contains(slug)) return NotFound("service \"" + Abbreviate(slug) + "\" not found");
  return graph->Dependents(slug, transitive);
}

Result<std::vector<GraphNode>> CatalogService::Dependencies(const std::string& slug,
                                                            bool transitive) const {
  PLATOPS_ASSIGN_OR_RETURN(auto graph, CurrentGraph());
  if (!graph->Contains(slug)) return NotFound("service \"" + Abbreviate(slug) + "\" not found");
  return graph->Dependencies(slug, transitive);
}

}  // namespace platops::catalog
