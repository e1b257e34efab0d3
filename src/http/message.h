#pragma once
// Request and Response: plain HTTP messages handed to and returned by handlers, so that api/ and
// domain code never see Beast or Asio types. Thread-safety: value types.

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace platops::http {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

std::string_view MethodName(Method m);
Method ParseMethod(std::string_view name);

// Case-insensitive header list in arrival order.
class Headers {
 public:
  void Add(std::string name, std::string value) {
    items_.emplace_back(std::move(name), std::move(value));
  }
  // Replaces every header of that name.
  void Set(std::string name, std::string value);
  std::optional<std::string_view> Get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct Request {
  Method method = Method::kGet;
  std::string target;                             // as received: path and query
  std::string path;                               // percent-decoded path, without query
  std::multimap<std::string, std::string> query;  // decoded query parameters
  Headers headers;
  std::string body;
  std::string remote_address;
  std::string request_id;  // X-Request-Id as received, or a generated one
  // Filled by the router: the route template ("/api/v1/services/{slug}") and its parameters.
  std::string route;
  std::map<std::string, std::string> path_params;

  // The first value of query parameter `name`.
  std::optional<std::string> Query(std::string_view name) const;
  std::string PathParam(std::string_view name) const;
  // Set by the api layer's auth middleware: who made the request ("admin", "token:ci").
  std::string actor;
  // Set by the server: becomes true (and is notified) once the client closes or resets its
  // connection, or Stop() cuts it, while a worker-pool handler runs; never goes back to false.
  // Long handlers pass it on (promql::QueryContext::canceled) or poll it and stop early. Null
  // for requests not made by the server, which are never canceled.
  std::shared_ptr<const std::atomic<bool>> canceled;

  // True when `canceled` is set and has become true: nobody will read the response.
  bool IsCanceled() const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string content_type = "application/json";
  std::string body;
  // Released once the response has been sent (or could not be), on a worker thread: what a
  // handler read to build the body and is slow to free, such as a query's selection, so that
  // freeing it does not delay the answer (Prometheus's API finalizer).
  std::shared_ptr<void> release_after_send;

  static Response Json(int status, std::string body);
  static Response Text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  // The one mapping from Status to an HTTP error: {"error":{"code","message","field"}}.
  static Response Error(const Status& status);
  static Response NoContent();
};

// The HTTP status code for a non-OK StatusCode (400, 401, 403, 404, 405, 409, 413, 422, 429, 5xx).
int HttpStatusFor(StatusCode code);

}  // namespace platops::http
