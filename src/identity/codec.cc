#include "identity/codec.h"

#include "base/json_reader.h"
#include "base/time_util.h"

namespace platops::identity {

namespace json = boost::json;

json::object UserToJson(const User& u) {
  json::object o;
  o["name"] = u.name;
  o["email"] = u.email;
  o["time_zone"] = u.time_zone;
  o["role"] = RoleName(u.role);
  o["version"] = u.version;
  o["created_at"] = FormatRfc3339(u.created_at);
  o["updated_at"] = FormatRfc3339(u.updated_at);
  return o;
}

json::object TokenToJson(const Token& t) {
  json::object o;
  o["id"] = t.id;
  o["name"] = t.name;
  o["user"] = t.user;
  o["role"] = RoleName(t.role);
  o["created_at"] = FormatRfc3339(t.created_at);
  o["expires_at"] = t.expires_at ? json::value(FormatRfc3339(*t.expires_at)) : nullptr;
  o["last_used_at"] = t.last_used_at ? json::value(FormatRfc3339(*t.last_used_at)) : nullptr;
  o["revoked_at"] = t.revoked_at ? json::value(FormatRfc3339(*t.revoked_at)) : nullptr;
  return o;
}

Result<User> UserFromJson(const json::value& v, const std::string& path) {
  JsonReader r(v, path);
  User u;
  if (auto s = r.String("name", true)) u.name = *s;
  if (auto s = r.String("email", true)) u.email = *s;
  if (auto s = r.String("time_zone")) u.time_zone = *s;
  if (auto s = r.String("role")) {
    auto role = ParseRole(*s);
    if (!role.ok())
      r.Fail("role", role.status().message());
    else
      u.role = *role;
  }
  if (auto n = r.Int("version")) u.version = *n;
  r.Ignore("created_at");
  r.Ignore("updated_at");
  PLATOPS_RETURN_IF_ERROR(r.Finish());
  return u;
}

}  // namespace platops::identity
