#include "api/common.h"

#include <boost/json.hpp>

#include "base/json_reader.h"
#include "base/strings.h"

namespace platops::api {

namespace json = boost::json;

namespace {

std::string Base64Decode(std::string_view in) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    if (c == '=') break;
    size_t pos = kAlphabet.find(c);
    if (pos == std::string_view::npos) return {};
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

std::string CredentialFrom(const http::Request& req) {
  auto auth = req.headers.Get("Authorization");
  if (!auth) return {};
  std::string_view v = *auth;
  auto scheme_is = [&](std::string_view scheme) {
    if (v.size() <= scheme.size() || v[scheme.size()] != ' ') return false;
    for (size_t i = 0; i < scheme.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(v[i])) != scheme[i]) return false;
    return true;
  };
  if (scheme_is("bearer")) {
    std::string_view t = v.substr(7);
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    return std::string(t);
  }
  if (scheme_is("basic")) {
    std::string decoded = Base64Decode(v.substr(6));
    size_t colon = decoded.find(':');
    if (colon == std::string::npos) return {};
    return decoded.substr(colon + 1);
  }
  return {};
}

}  // namespace

http::Handler Protect(ApiDeps& deps, identity::Role min_role, AuthedHandler handler) {
  return [&deps, min_role, handler = std::move(handler)](http::Request& req) -> http::Response {
    std::string credential = CredentialFrom(req);
    if (credential.empty())
      return http::Response::Error(Status(StatusCode::kUnauthenticated,
                                          "missing token: send Authorization: Bearer <token>"));
    auto principal = deps.identity.Authenticate(credential);
    if (!principal.ok()) return http::Response::Error(principal.status());
    if (principal->role < min_role)
      return http::Response::Error(
          Status(StatusCode::kPermissionDenied,
                 "this needs role " + std::string(identity::RoleName(min_role)) +
                     "; the token has " + std::string(identity::RoleName(principal->role))));
    req.actor = principal->Actor();
    return handler(req, *principal);
  };
}

http::Response JsonReply(const json::value& v, int status) {
  return http::Response::Json(status, json::serialize(v));
}

http::Response ErrorWithDetails(const Status& status, json::array details) {
  http::Response r = http::Response::Error(status);
  auto parsed = ParseJson(r.body);
  if (parsed.ok() && parsed->is_object()) {
    parsed->get_object()["error"].get_object()["details"] = std::move(details);
    r.body = json::serialize(*parsed);
  }
  return r;
}

Result<json::value> JsonBody(const http::Request& req) {
  if (req.body.empty()) return InvalidArgument("request body is empty; send a JSON object");
  return ParseJson(req.body);
}

Result<int> LimitParam(const http::Request& req, int default_limit) {
  auto v = req.Query("limit");
  if (!v) return default_limit;
  int n = 0;
  if (v->empty() || v->size() > 5) return InvalidArgument("must be an integer 1..1000", "limit");
  for (char c : *v) {
    if (c < '0' || c > '9') return InvalidArgument("must be an integer 1..1000", "limit");
    n = n * 10 + (c - '0');
  }
  if (n < 1 || n > 1000) return InvalidArgument("must be an integer 1..1000", "limit");
  return n;
}

Result<bool> BoolParam(const http::Request& req, const char* name, bool default_value) {
  auto v = req.Query(name);
  if (!v) return default_value;
  if (*v == "true" || *v == "1" || v->empty()) return true;
  if (*v == "false" || *v == "0") return false;
  return InvalidArgument("must be true or false, got \"" + Abbreviate(*v) + "\"", name);
}

Result<int64_t> ExpectedVersion(const http::Request& req, std::optional<int64_t> body_version) {
  std::optional<int64_t> header_version;
  if (auto h = req.headers.Get("If-Match")) {
    std::string_view v = *h;
    if (StartsWith(v, "W/")) v.remove_prefix(2);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    int64_t n = 0;
    bool ok = !v.empty() && v.size() < 18;
    for (char c : v) {
      if (c < '0' || c > '9')
        ok = false;
      else
        n = n * 10 + (c - '0');
    }
    if (!ok) return InvalidArgument("must be the resource's version, like \"3\"", "If-Match");
    header_version = n;
  }
  if (header_version && body_version && *header_version != *body_version)
    return InvalidArgument("If-Match says " + std::to_string(*header_version) +
                               " but the body says " + std::to_string(*body_version),
                           "version");
  if (header_version) return *header_version;
  if (body_version && *body_version > 0) return *body_version;
  return InvalidArgument(
      "is required for updates: send the version you read, in the body or as If-Match", "version");
}

json::value PageJson(json::array items, const std::string& next_cursor) {
  json::object o;
  o["items"] = std::move(items);
  o["next_cursor"] = next_cursor.empty() ? json::value(nullptr) : json::value(next_cursor);
  return o;
}

json::value MergePatch(json::value target, const json::value& patch) {
  if (!patch.is_object()) return patch;
  if (!target.is_object()) target = json::object();
  auto& t = target.get_object();
  for (const auto& kv : patch.get_object()) {
    if (kv.value().is_null()) {
      t.erase(kv.key());
    } else {
      auto it = t.find(kv.key());
      json::value base = it == t.end() ? json::value(nullptr) : it->value();
      t[kv.key()] = MergePatch(std::move(base), kv.value());
    }
  }
  return target;
}

}  // namespace platops::api
