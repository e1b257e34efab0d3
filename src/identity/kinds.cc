#include "identity/kinds.h"

#include <boost/json.hpp>

#include "identity/codec.h"

namespace platops::identity {

namespace json = boost::json;

namespace {

json::object Spec(const User& u) {
  json::object o = UserToJson(u);
  o.erase("version");
  o.erase("created_at");
  o.erase("updated_at");
  return o;
}

}  // namespace

void RegisterKinds(config::KindRegistry& registry, IdentityService& identity) {
  config::KindHandler h;
  h.kind = "User";
  h.order = 10;
  h.write_role = static_cast<int>(Role::kAdmin);
  h.decode = [](const json::value& doc, const std::string& path) -> Result<json::object> {
    PLATOPS_ASSIGN_OR_RETURN(User u, UserFromJson(doc, path));
    PLATOPS_RETURN_IF_ERROR(ValidateUser(u).WithFieldPrefix(path));
    return Spec(u);
  };
  h.key = [](const json::object& spec) { return std::string(spec.at("name").get_string()); };
  h.references = [](const json::object&) { return std::vector<config::Reference>{}; };
  h.list = [&identity](store::Tx& tx) -> Result<std::map<std::string, json::object>> {
    PLATOPS_ASSIGN_OR_RETURN(auto users, identity.AllUsers(tx));
    std::map<std::string, json::object> out;
    for (const auto& u : users) out.emplace(u.name, Spec(u));
    return out;
  };
  h.put = [&identity](store::Tx& tx, const std::string& actor, const json::object& spec,
                      bool create) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(User u, UserFromJson(json::value(spec)));
    return identity.PutUser(tx, actor, u, std::nullopt, create).status();
  };
  h.remove = [&identity](store::Tx& tx, const std::string& actor, const std::string& key) {
    return identity.DeleteUser(tx, actor, key);
  };
  registry.Register(std::move(h));
}

}  // namespace platops::identity
