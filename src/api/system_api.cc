#include <boost/json.hpp>

#include "api/common.h"

namespace platops::api {

namespace json = boost::json;

void RegisterSystemApi(http::Router& router, ApiDeps& deps) {
  router.Add(
      http::Method::kGet, "/healthz",
      [](http::Request&) { return http::Response::Text(200, "ok\n"); }, /*run_inline=*/true);

  router.Add(
      http::Method::kGet, "/readyz",
      [&deps](http::Request&) {
        if (deps.ready && deps.ready()) return http::Response::Text(200, "ready\n");
        return http::Response::Error(
            Unavailable("not ready: the store is not open and migrated, or services are starting "
                        "or stopping"));
      },
      /*run_inline=*/true);

  router.Add(
      http::Method::kGet, "/metrics",
      [&deps](http::Request&) {
        return http::Response::Text(200, deps.metrics.Render(),
                                    "text/plain; version=0.0.4; charset=utf-8");
      },
      /*run_inline=*/false);  // gauges may read the store

  router.Add(http::Method::kGet, "/api/v1/openapi.json",
             Protect(deps, identity::Role::kViewer, [&router, &deps](http::Request&, const auto&) {
               return http::Response::Json(200, OpenApiDocument(router, deps.version));
             }));
}

}  // namespace platops::api
