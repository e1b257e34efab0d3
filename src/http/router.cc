#include "http/router.h"

#include <algorithm>
#include <stdexcept>

namespace platops::http {
namespace {

// "/a/b/" -> {"a", "b", ""}; "/" -> {""}. REQUIRES: path starts with '/'.
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  path.remove_prefix(1);
  for (;;) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes one path segment; a malformed escape is kept as is.
std::string DecodeSegment(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

bool IsParam(const std::string& segment) {
  return segment.size() >= 3 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void Router::Add(Method method, std::string path_template, Handler handler, bool run_inline,
                 bool secret_params) {
  if (path_template.empty() || path_template.front() != '/') {
    throw std::invalid_argument("route template must start with '/': " + path_template);
  }
  for (const auto& r : routes_) {
    if (r.info.method == method && r.info.path_template == path_template) {
      throw std::invalid_argument("duplicate route " + std::string(MethodName(method)) + " " +
                                  path_template);
    }
  }
  Route route;
  for (std::string_view s : SplitPath(path_template)) route.segments.emplace_back(s);
  for (const auto& s : route.segments) {
    if (!IsParam(s) && (s.find('{') != std::string::npos || s.find('}') != std::string::npos)) {
      throw std::invalid_argument("route segment must be a literal or a whole {param}: " +
                                  path_template);
    }
  }
  route.info = RouteInfo{method, std::move(path_template), run_inline, secret_params};
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

Router::Match Router::Find(Method method, std::string_view path) const {
  Match match;
  if (path.empty() || path.front() != '/') {
    match.status = Status(StatusCode::kNotFound, "no route for " + std::string(MethodName(method)) +
                                                     " " + std::string(path));
    return match;
  }
  std::vector<std::string_view> raw = SplitPath(path);
  std::vector<std::string> segments;
  segments.reserve(raw.size());
  for (std::string_view s : raw) segments.push_back(DecodeSegment(s));

  auto matches_path = [&](const Route& r) {
    if (r.segments.size() != segments.size()) return false;
    for (size_t i = 0; i < segments.size(); ++i) {
      if (IsParam(r.segments[i])) {
        if (segments[i].empty()) return false;
      } else if (r.segments[i] != segments[i]) {
        return false;
      }
    }
    return true;
  };
  // True when a is more specific than b: at the first segment where one is literal and the other
  // a parameter, the literal wins.
  auto more_specific = [](const Route& a, const Route& b) {
    for (size_t i = 0; i < a.segments.size(); ++i) {
      bool pa = IsParam(a.segments[i]);
      bool pb = IsParam(b.segments[i]);
      if (pa != pb) return !pa;
    }
    return false;
  };

  std::vector<const Route*> candidates;
  for (const auto& r : routes_) {
    if (matches_path(r)) candidates.push_back(&r);
  }
  auto best_for = [&](Method m) -> const Route* {
    const Route* best = nullptr;
    for (const Route* r : candidates) {
      if (r->info.method == m && (best == nullptr || more_specific(*r, *best))) best = r;
    }
    return best;
  };
  const Route* best = best_for(method);
  if (best == nullptr && method == Method::kHead) best = best_for(Method::kGet);

  if (best == nullptr) {
    std::string what = std::string(MethodName(method)) + " " + std::string(path);
    if (candidates.empty()) {
      match.status = Status(StatusCode::kNotFound, "no route for " + what);
      return match;
    }
    for (const Route* r : candidates) match.allowed.push_back(r->info.method);
    if (std::find(match.allowed.begin(), match.allowed.end(), Method::kGet) !=
        match.allowed.end()) {
      match.allowed.push_back(Method::kHead);
    }
    std::sort(match.allowed.begin(), match.allowed.end());
    match.allowed.erase(std::unique(match.allowed.begin(), match.allowed.end()),
                        match.allowed.end());
    match.status = Status(StatusCode::kMethodNotAllowed, "method not allowed for " + what);
    return match;
  }

  match.handler = &best->handler;
  match.route = best->info.path_template;
  match.run_inline = best->info.run_inline;
  match.secret_params = best->info.secret_params;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& s = best->segments[i];
    if (IsParam(s)) match.params[s.substr(1, s.size() - 2)] = std::move(segments[i]);
  }
  return match;
}

std::vector<RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  out.reserve(routes_.size());
  for (const auto& r : routes_) out.push_back(r.info);
  return out;
}

}  // namespace platops::http
