#pragma once
// Router: maps (method, path) to a handler by route template. Templates are literal segments and
// `{name}` parameters ("/api/v1/services/{slug}/dependents"). Literal segments win over
// parameters. Thread-safety: add routes before the server starts; matching is then thread-safe.

#include <functional>
#include <string>
#include <vector>

#include "http/message.h"

namespace platops::http {

using Handler = std::function<Response(Request&)>;

struct RouteInfo {
  Method method;
  std::string path_template;
  // Handlers marked inline run on the I/O thread (cheap, never block: /healthz, /metrics);
  // others run on the blocking worker pool.
  bool run_inline = false;
  // The path parameters are secrets (heartbeat ping tokens): the access log shows the template.
  bool secret_params = false;
};

class Router {
 public:
  void Add(Method method, std::string path_template, Handler handler, bool run_inline = false,
           bool secret_params = false);

  struct Match {
    const Handler* handler = nullptr;  // null: see status
    Status status;                     // kNotFound or kMethodNotAllowed when handler is null
    std::string route;                 // the matched template
    std::map<std::string, std::string> params;
    bool run_inline = false;
    bool secret_params = false;
    std::vector<Method> allowed;  // for 405's Allow header
  };
  // `path` as received, percent-encoded and without the query; each segment is decoded before it
  // is compared, so "%2F" stays inside a parameter.
  Match Find(Method method, std::string_view path) const;

  std::vector<RouteInfo> routes() const;

 private:
  struct Route {
    RouteInfo info;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace platops::http
