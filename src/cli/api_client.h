#pragma once
// ApiClient: the CLI's calls to the `/api/v1/` REST API over an injected http::Client, so tests
// can answer with a fake. Error replies become Status values carrying the API's code, field and
// message. Thread-safety: externally synchronized (as the http::Client it uses).

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "http/client.h"

namespace platops::cli {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// One answer of the API: any HTTP status, the body parsed (null when empty).
struct ApiResponse {
  int status = 0;
  boost::json::value body;
  bool ok() const { return status >= 200 && status < 300; }
};

class ApiClient {
 public:
  // `server` is "http://host:port" (a missing scheme means http); `token` may be empty.
  ApiClient(http::Client& client, std::string server, std::string token);

  // The raw exchange. Not OK only when no response arrived (the transport's Status) or a 2xx
  // body was not JSON. `body` null: no request body.
  Result<ApiResponse> Call(http::Method method, const std::string& path,
                           const boost::json::value* body = nullptr);

  // The body of a 2xx answer, or the error reply as a Status (ErrorFromResponse).
  Result<boost::json::value> Get(const std::string& path, const QueryParams& query = {});
  Result<boost::json::value> Post(const std::string& path, const boost::json::value& body);
  Status Delete(const std::string& path, const QueryParams& query = {});

  // A list endpoint: with `limit` > 0, one page of that size as the API answers it; otherwise
  // every page (following next_cursor, passed back as `cursor_param`) merged into
  // {"items": [...], "next_cursor": null}.
  Result<boost::json::value> List(const std::string& path, QueryParams query, int limit,
                                  const std::string& cursor_param = "cursor");

  const std::string& server() const { return server_; }

 private:
  Status ErrorFor(const ApiResponse& response) const;

  http::Client& client_;
  std::string server_;
  std::string token_;
};

// The Status of an error reply: {"error": {"code", "message", "field"}} mapped back to its
// StatusCode by name (by HTTP status when the body is not the API's).
Status ErrorFromResponse(const ApiResponse& response);

// RFC 3986 percent-encoding of everything but unreserved characters.
std::string PercentEncode(std::string_view s);
// `path` + "?k=v&..." (encoded), or `path` alone when `query` is empty.
std::string WithQuery(const std::string& path, const QueryParams& query);

}  // namespace platops::cli
