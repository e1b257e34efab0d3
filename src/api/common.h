#pragma once
// Helpers shared by the API's handler files: authentication, body decoding, paging, versions.
// Thread-safety: pure functions over their arguments.

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <optional>

#include "api/api.h"
#include "http/message.h"
#include "identity/identity.h"

namespace platops::api {

using AuthedHandler = std::function<http::Response(http::Request&, const identity::Principal&)>;

// Wraps a handler with token authentication (Bearer, or Basic with the token as password) and a
// minimum role: 401 without a valid token, 403 below `min_role`.
http::Handler Protect(ApiDeps& deps, identity::Role min_role, AuthedHandler handler);

// 200 (or `status`) with the serialised JSON.
http::Response JsonReply(const boost::json::value& v, int status = 200);
// An error reply with a `details` list beside code and message.
http::Response ErrorWithDetails(const Status& status, boost::json::array details);
// Turns a Result into a reply: its value through `encode`, or its error.
template <typename T, typename F>
http::Response Reply(const Result<T>& r, F encode, int status = 200) {
  if (!r.ok()) return http::Response::Error(r.status());
  return JsonReply(encode(*r), status);
}

// The request body as JSON; 400 for an empty body, malformed JSON or invalid UTF-8.
Result<boost::json::value> JsonBody(const http::Request& req);
// ?limit= (1..1000, default 100).
Result<int> LimitParam(const http::Request& req, int default_limit = 100);
// A boolean query parameter: true/false/1/0; absent gives `default_value`.
Result<bool> BoolParam(const http::Request& req, const char* name, bool default_value);
// The version an update is conditional on: from If-Match ("3", W/"3", 3) or the body's
// "version". Required: 400 when neither is given, 400 when they disagree.
Result<int64_t> ExpectedVersion(const http::Request& req, std::optional<int64_t> body_version);
// A list page: {"items": [...], "next_cursor": "..." | null}.
boost::json::value PageJson(boost::json::array items, const std::string& next_cursor);
// RFC 7386 JSON merge patch of `patch` onto `target`.
boost::json::value MergePatch(boost::json::value target, const boost::json::value& patch);

}  // namespace platops::api
