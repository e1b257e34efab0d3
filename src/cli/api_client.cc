#include "cli/api_client.h"

#include <boost/json.hpp>

#include "base/json_reader.h"

namespace platops::cli {

namespace json = boost::json;

namespace {

constexpr StatusCode kAllCodes[] = {
    StatusCode::kInvalidArgument, StatusCode::kUnauthenticated,  StatusCode::kPermissionDenied,
    StatusCode::kNotFound,        StatusCode::kMethodNotAllowed, StatusCode::kConflict,
    StatusCode::kPayloadTooLarge, StatusCode::kUnprocessable,    StatusCode::kResourceExhausted,
    StatusCode::kUnavailable,     StatusCode::kDeadlineExceeded, StatusCode::kInternal,
};

StatusCode CodeForHttpStatus(int status) {
  switch (status) {
    case 400:
      return StatusCode::kInvalidArgument;
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 405:
      return StatusCode::kMethodNotAllowed;
    case 409:
      return StatusCode::kConflict;
    case 413:
      return StatusCode::kPayloadTooLarge;
    case 422:
      return StatusCode::kUnprocessable;
    case 429:
      return StatusCode::kResourceExhausted;
    case 503:
      return StatusCode::kUnavailable;
    case 504:
      return StatusCode::kDeadlineExceeded;
    default:
      return status >= 400 && status < 500 ? StatusCode::kInvalidArgument : StatusCode::kInternal;
  }
}

std::string StringAt(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  return std::string(it->value().get_string());
}

}  // namespace

Status ErrorFromResponse(const ApiResponse& response) {
  if (response.body.is_object()) {
    auto it = response.body.get_object().find("error");
    if (it != response.body.get_object().end() && it->value().is_object()) {
      const auto& e = it->value().get_object();
      std::string code = StringAt(e, "code");
      StatusCode sc = CodeForHttpStatus(response.status);
      for (StatusCode c : kAllCodes)
        if (StatusCodeName(c) == code) sc = c;
      std::string message = StringAt(e, "message");
      if (message.empty()) message = "HTTP " + std::to_string(response.status);
      return Status(sc, std::move(message), StringAt(e, "field"));
    }
  }
  return Status(CodeForHttpStatus(response.status),
                "HTTP " + std::to_string(response.status) + " without an error body");
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string WithQuery(const std::string& path, const QueryParams& query) {
  std::string out = path;
  char sep = '?';
  for (const auto& [k, v] : query) {
    out += sep;
    out += PercentEncode(k);
    out += '=';
    out += PercentEncode(v);
    sep = '&';
  }
  return out;
}

ApiClient::ApiClient(http::Client& client, std::string server, std::string token)
    : client_(client), server_(std::move(server)), token_(std::move(token)) {
  if (server_.find("://") == std::string::npos) server_ = "http://" + server_;
  while (!server_.empty() && server_.back() == '/') server_.pop_back();
}

Result<ApiResponse> ApiClient::Call(http::Method method, const std::string& path,
                                    const json::value* body) {
  http::ClientRequest req;
  req.method = method;
  req.url = server_ + path;
  req.headers.emplace_back("Accept", "application/json");
  req.headers.emplace_back("User-Agent", "platops-cli");
  if (!token_.empty()) req.headers.emplace_back("Authorization", "Bearer " + token_);
  if (body) {
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = JsonToString(*body);
  }
  PLATOPS_ASSIGN_OR_RETURN(http::ClientResponse resp, client_.Send(req));
  ApiResponse out;
  out.status = resp.status;
  if (!resp.body.empty()) {
    auto parsed = ParseJson(resp.body);
    if (parsed.ok()) {
      out.body = std::move(*parsed);
    } else if (out.ok()) {
      return Internal(std::string(http::MethodName(method)) + " " + req.url +
                      ": the server answered " + std::to_string(resp.status) +
                      " with a body that is not JSON: " + parsed.status().message());
    }
  }
  return out;
}

Status ApiClient::ErrorFor(const ApiResponse& response) const {
  Status st = ErrorFromResponse(response);
  if (st.code() == StatusCode::kUnauthenticated && token_.empty())
    return Status(st.code(), st.message() + " (set --token or PLATOPS_TOKEN)", st.field());
  return st;
}

Result<json::value> ApiClient::Get(const std::string& path, const QueryParams& query) {
  PLATOPS_ASSIGN_OR_RETURN(ApiResponse resp, Call(http::Method::kGet, WithQuery(path, query)));
  if (!resp.ok()) return ErrorFor(resp);
  return std::move(resp.body);
}

Result<json::value> ApiClient::Post(const std::string& path, const json::value& body) {
  PLATOPS_ASSIGN_OR_RETURN(ApiResponse resp, Call(http::Method::kPost, path, &body));
  if (!resp.ok()) return ErrorFor(resp);
  return std::move(resp.body);
}

Status ApiClient::Delete(const std::string& path, const QueryParams& query) {
  PLATOPS_ASSIGN_OR_RETURN(ApiResponse resp, Call(http::Method::kDelete, WithQuery(path, query)));
  if (!resp.ok()) return ErrorFor(resp);
  return Status::Ok();
}

Result<json::value> ApiClient::List(const std::string& path, QueryParams query, int limit,
                                    const std::string& cursor_param) {
  if (limit > 0) {
    query.emplace_back("limit", std::to_string(limit));
    return Get(path, query);
  }
  constexpr int kPageSize = 1000;  // the API's maximum
  constexpr int kMaxPages = 100000;
  json::array items;
  std::string cursor;
  for (int page = 0;; ++page) {
    if (page == kMaxPages) return Internal(path + ": more than 100000 pages; stopped");
    QueryParams q;
    for (const auto& kv : query)
      if (cursor.empty() || kv.first != cursor_param) q.push_back(kv);
    q.emplace_back("limit", std::to_string(kPageSize));
    if (!cursor.empty()) q.emplace_back(cursor_param, cursor);
    PLATOPS_ASSIGN_OR_RETURN(json::value body, Get(path, q));
    if (!body.is_object()) return Internal(path + ": the answer is not a list page");
    auto& obj = body.get_object();
    auto it = obj.find("items");
    if (it == obj.end() || !it->value().is_array())
      return Internal(path + ": the answer has no \"items\" list");
    for (auto& item : it->value().get_array()) items.push_back(std::move(item));
    auto next = obj.find("next_cursor");
    if (next == obj.end() || !next->value().is_string() || next->value().get_string().empty())
      break;
    std::string next_cursor(next->value().get_string());
    if (next_cursor == cursor)
      return Internal(path + ": the server returned the same cursor twice");
    cursor = std::move(next_cursor);
  }
  json::object out;
  out["items"] = std::move(items);
  out["next_cursor"] = nullptr;
  return json::value(std::move(out));
}

}  // namespace platops::cli
