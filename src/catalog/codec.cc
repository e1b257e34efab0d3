#include "catalog/codec.h"

#include "base/json_reader.h"
#include "base/time_util.h"

namespace platops::catalog {

namespace json = boost::json;

json::object TeamToJson(const Team& t) {
  json::object o;
  o["slug"] = t.slug;
  o["name"] = t.name;
  o["description"] = t.description;
  json::array members;
  for (const auto& m : t.members) members.emplace_back(m);
  o["members"] = std::move(members);
  o["version"] = t.version;
  o["created_at"] = FormatRfc3339(t.created_at);
  o["updated_at"] = FormatRfc3339(t.updated_at);
  return o;
}

json::object ServiceToJson(const Service& s) {
  json::object o;
  o["slug"] = s.slug;
  o["name"] = s.name;
  o["description"] = s.description;
  o["tier"] = s.tier;
  o["team"] = s.team;
  json::array tags;
  for (const auto& t : s.tags) tags.emplace_back(t);
  o["tags"] = std::move(tags);
  json::object links;
  for (const auto& [k, v] : s.links) links[k] = v;
  o["links"] = std::move(links);
  json::array deps;
  for (const auto& d : s.depends_on) {
    json::object dep;
    dep["service"] = d.service;
    dep["kind"] = DependencyKindName(d.kind);
    deps.emplace_back(std::move(dep));
  }
  o["depends_on"] = std::move(deps);
  o["version"] = s.version;
  o["created_at"] = FormatRfc3339(s.created_at);
  o["updated_at"] = FormatRfc3339(s.updated_at);
  return o;
}

Result<Team> TeamFromJson(const json::value& v, const std::string& path) {
  JsonReader r(v, path);
  Team t;
  if (auto s = r.String("slug", true)) t.slug = *s;
  if (auto s = r.String("name", true)) t.name = *s;
  if (auto s = r.String("description")) t.description = *s;
  if (auto m = r.StringList("members")) t.members = *m;
  if (auto n = r.Int("version")) t.version = *n;
  r.Ignore("created_at");
  r.Ignore("updated_at");
  PLATOPS_RETURN_IF_ERROR(r.Finish());
  return t;
}

Result<Service> ServiceFromJson(const json::value& v, const std::string& path) {
  JsonReader r(v, path);
  Service s;
  if (auto x = r.String("slug", true)) s.slug = *x;
  if (auto x = r.String("name", true)) s.name = *x;
  if (auto x = r.String("description")) s.description = *x;
  if (auto x = r.Int("tier")) {
    if (*x < 1 || *x > 4)
      r.Fail("tier", "must be 1..4, got " + std::to_string(*x));
    else
      s.tier = static_cast<int>(*x);
  }
  if (auto x = r.String("team", true)) s.team = *x;
  if (auto x = r.StringList("tags")) s.tags = *x;
  if (auto x = r.StringMap("links")) s.links = *x;
  r.ObjectList("depends_on", [&](JsonReader& item, size_t) {
    Dependency d;
    if (auto x = item.String("service", true)) d.service = *x;
    if (auto x = item.String("kind")) {
      if (*x == "hard")
        d.kind = DependencyKind::kHard;
      else if (*x == "soft")
        d.kind = DependencyKind::kSoft;
      else
        item.Fail("kind", "must be hard or soft, got \"" + x->substr(0, 32) + "\"");
    }
    s.depends_on.push_back(d);
  });
  if (auto n = r.Int("version")) s.version = *n;
  r.Ignore("created_at");
  r.Ignore("updated_at");
  PLATOPS_RETURN_IF_ERROR(r.Finish());
  return s;
}

json::object GraphNodeToJson(const GraphNode& n) {
  json::object o;
  o["slug"] = n.slug;
  o["name"] = n.name;
  o["tier"] = n.tier;
  o["depth"] = n.depth;
  o["kind"] = n.kind;
  o["via"] = n.via;
  return o;
}

}  // namespace platops::catalog
