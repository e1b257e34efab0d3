#pragma once
// RegisterCrud: the list/get/create/replace/patch/delete routes every catalog-like resource shares,
// so services, teams and users behave the same way (paging, versions, If-Match, merge patch).
// Thread-safety: the registered handlers are thread-safe when the ops are.

#include <boost/json.hpp>

#include <functional>
#include <string>

#include "api/common.h"
#include "http/router.h"

namespace platops::api {

template <typename T>
struct CrudOps {
  std::string collection;  // "/api/v1/services"
  std::string key_field;   // "slug": the path parameter and the body field
  identity::Role write_role = identity::Role::kOperator;
  std::function<Result<T>(const boost::json::value&)> decode;
  std::function<boost::json::object(const T&)> encode;
  std::function<std::string(const T&)> key;
  std::function<void(T&, const std::string&)> set_key;
  std::function<Result<identity::Page<T>>(const std::string& cursor, int limit)> list;
  // Optional: when set, the list route calls it instead of `list`, for filters in the query.
  std::function<Result<identity::Page<T>>(const http::Request&, const std::string& cursor,
                                          int limit)>
      list_request;
  std::function<Result<T>(const std::string& key)> get;
  std::function<Result<T>(const std::string& actor, T)> create;
  std::function<Result<T>(const std::string& actor, T, int64_t version)> update;
  std::function<Status(const std::string& actor, const std::string& key, const http::Request&)>
      remove;
};

template <typename T>
http::Response ObjectReply(const CrudOps<T>& ops, const T& obj, int status) {
  http::Response r = JsonReply(ops.encode(obj), status);
  std::string etag = "\"";
  etag += std::to_string(obj.version);
  etag += '"';
  r.headers.Set("ETag", std::move(etag));
  return r;
}

template <typename T>
void RegisterCrud(http::Router& router, ApiDeps& deps, CrudOps<T> ops_in) {
  namespace json = boost::json;
  using identity::Role;
  auto ops = std::make_shared<const CrudOps<T>>(std::move(ops_in));
  const std::string item_path = ops->collection + "/{" + ops->key_field + "}";

  router.Add(http::Method::kGet, ops->collection,
             Protect(deps, Role::kViewer, [ops](http::Request& req, const auto&) {
               auto limit = LimitParam(req);
               if (!limit.ok()) return http::Response::Error(limit.status());
               const std::string cursor = req.Query("cursor").value_or("");
               auto page = ops->list_request ? ops->list_request(req, cursor, *limit)
                                             : ops->list(cursor, *limit);
               if (!page.ok()) return http::Response::Error(page.status());
               json::array items;
               for (const auto& x : page->items) items.push_back(ops->encode(x));
               return JsonReply(PageJson(std::move(items), page->next_cursor));
             }));

  router.Add(http::Method::kGet, item_path,
             Protect(deps, Role::kViewer, [ops](http::Request& req, const auto&) {
               auto obj = ops->get(req.PathParam(ops->key_field));
               if (!obj.ok()) return http::Response::Error(obj.status());
               return ObjectReply(*ops, *obj, 200);
             }));

  router.Add(http::Method::kPost, ops->collection,
             Protect(deps, ops->write_role, [ops](http::Request& req, const auto&) {
               auto body = JsonBody(req);
               if (!body.ok()) return http::Response::Error(body.status());
               auto obj = ops->decode(*body);
               if (!obj.ok()) return http::Response::Error(obj.status());
               auto created = ops->create(req.actor, std::move(*obj));
               if (!created.ok()) return http::Response::Error(created.status());
               http::Response r = ObjectReply(*ops, *created, 201);
               r.headers.Set("Location", ops->collection + "/" + ops->key(*created));
               return r;
             }));

  auto replace = [ops](http::Request& req, const json::value& body) -> http::Response {
    const std::string key = req.PathParam(ops->key_field);
    auto obj = ops->decode(body);
    if (!obj.ok()) return http::Response::Error(obj.status());
    if (ops->key(*obj) != key)
      return http::Response::Error(
          InvalidArgument("cannot be changed (the path names \"" + key + "\")", ops->key_field));
    auto version =
        ExpectedVersion(req, obj->version ? std::optional<int64_t>(obj->version) : std::nullopt);
    if (!version.ok()) return http::Response::Error(version.status());
    auto updated = ops->update(req.actor, std::move(*obj), *version);
    if (!updated.ok()) return http::Response::Error(updated.status());
    return ObjectReply(*ops, *updated, 200);
  };

  router.Add(http::Method::kPut, item_path,
             Protect(deps, ops->write_role, [ops, replace](http::Request& req, const auto&) {
               auto body = JsonBody(req);
               if (!body.ok()) return http::Response::Error(body.status());
               if (body->is_object() && !body->get_object().contains(ops->key_field))
                 body->get_object()[ops->key_field] = req.PathParam(ops->key_field);
               return replace(req, *body);
             }));

  router.Add(http::Method::kPatch, item_path,
             Protect(deps, ops->write_role, [ops, replace](http::Request& req, const auto&) {
               auto patch = JsonBody(req);
               if (!patch.ok()) return http::Response::Error(patch.status());
               if (!patch->is_object())
                 return http::Response::Error(InvalidArgument("a patch must be a JSON object"));
               auto current = ops->get(req.PathParam(ops->key_field));
               if (!current.ok()) return http::Response::Error(current.status());
               json::value base = ops->encode(*current);
               // The version is the caller's precondition, not a field to merge.
               base.get_object().erase("version");
               json::value merged = MergePatch(std::move(base), *patch);
               return replace(req, merged);
             }));

  router.Add(http::Method::kDelete, item_path,
             Protect(deps, ops->write_role, [ops](http::Request& req, const auto&) {
               Status st = ops->remove(req.actor, req.PathParam(ops->key_field), req);
               if (!st.ok()) return http::Response::Error(st);
               return http::Response::NoContent();
             }));
}

}  // namespace platops::api
