#include <boost/json.hpp>

#include "api/crud.h"
#include "base/json_reader.h"
#include "base/time_util.h"
#include "identity/codec.h"

namespace platops::api {

namespace json = boost::json;
using identity::Role;

void RegisterIdentityApi(http::Router& router, ApiDeps& deps) {
  identity::IdentityService& id = deps.identity;

  CrudOps<identity::User> users;
  users.collection = "/api/v1/users";
  users.key_field = "name";
  users.write_role = Role::kAdmin;
  users.decode = [](const json::value& v) { return identity::UserFromJson(v); };
  users.encode = identity::UserToJson;
  users.key = [](const identity::User& u) { return u.name; };
  users.list = [&id](const std::string& c, int l) { return id.ListUsers(c, l); };
  users.get = [&id](const std::string& k) { return id.GetUser(k); };
  users.create = [&id](const std::string& a, identity::User u) {
    return id.CreateUser(a, std::move(u));
  };
  users.update = [&id](const std::string& a, identity::User u, int64_t v) {
    return id.UpdateUser(a, std::move(u), v);
  };
  users.remove = [&id](const std::string& a, const std::string& k, const http::Request&) {
    return id.DeleteUser(a, k);
  };
  RegisterCrud(router, deps, std::move(users));

  router.Add(http::Method::kGet, "/api/v1/tokens",
             Protect(deps, Role::kViewer, [&id](http::Request& req, const identity::Principal& p) {
               // Admins see every token (or one user's with ?user=); others see their own.
               std::string user = req.Query("user").value_or("");
               if (p.role < Role::kAdmin) {
                 if (!user.empty() && user != p.user)
                   return http::Response::Error(Status(StatusCode::kPermissionDenied,
                                                       "only admins list other users' tokens"));
                 user = p.user;
               }
               auto tokens = id.ListTokens(user);
               if (!tokens.ok()) return http::Response::Error(tokens.status());
               json::array items;
               for (const auto& t : *tokens) items.push_back(identity::TokenToJson(t));
               return JsonReply(PageJson(std::move(items), ""));
             }));

  router.Add(
      http::Method::kPost, "/api/v1/tokens",
      Protect(deps, Role::kAdmin, [&id](http::Request& req, const identity::Principal& p) {
        auto body = JsonBody(req);
        if (!body.ok()) return http::Response::Error(body.status());
        JsonReader r(*body);
        std::string name = r.String("name", true).value_or("");
        std::string user = r.String("user").value_or(p.user);
        std::optional<std::string> role_name = r.String("role");
        std::optional<std::string> expires_in = r.String("expires_in");
        Status st = r.Finish();
        if (!st.ok()) return http::Response::Error(st);
        std::optional<std::chrono::milliseconds> ttl;
        if (expires_in) {
          auto d = ParseDuration(*expires_in);
          if (!d.ok())
            return http::Response::Error(InvalidArgument(d.status().message(), "expires_in"));
          ttl = *d;
        }
        Role role = Role::kViewer;
        if (role_name) {
          auto parsed = identity::ParseRole(*role_name);
          if (!parsed.ok())
            return http::Response::Error(InvalidArgument(parsed.status().message(), "role"));
          role = *parsed;
        } else {
          auto owner = id.GetUser(user);
          if (!owner.ok())
            return http::Response::Error(
                Unprocessable("user \"" + user + "\" does not exist", "user"));
          role = owner->role;
        }
        auto created = id.CreateToken(req.actor, user, name, role, ttl);
        if (!created.ok()) return http::Response::Error(created.status());
        json::object o = identity::TokenToJson(created->token);
        o["secret"] = created->secret;
        return JsonReply(o, 201);
      }));

  router.Add(http::Method::kDelete, "/api/v1/tokens/{id}",
             Protect(deps, Role::kAdmin, [&id](http::Request& req, const auto&) {
               Status st = id.RevokeToken(req.actor, req.PathParam("id"));
               if (!st.ok()) return http::Response::Error(st);
               return http::Response::NoContent();
             }));
}

}  // namespace platops::api
