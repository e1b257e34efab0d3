// The Prometheus HTTP API under /prometheus/api/v1/: PromQL queries, series and label metadata,
// status pages and the remote-write receiver, with Prometheus's parameters, JSON shapes, error
// types and status codes (web/api/v1/api.go, Prometheus 3.x), so Grafana and other Prometheus
// clients work unchanged. Answers are written by hand: Prometheus's number and timestamp
// formatting has no Boost.JSON equivalent, and its error envelope is not the platops one.
// Thread-safety: the handlers are thread-safe; they share only the store, engine and counters.

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "alerting/rule_manager.h"
#include "alerting/webhook.h"
#include "api/common.h"
#include "base/strings.h"
#include "base/time_util.h"
#include "ingest/remote_write.h"
#include "metrics/matcher.h"
#include "promql/parser.h"

namespace platops::api {

namespace {

namespace json = boost::json;
using identity::Role;
using metrics::Labels;
using metrics::Matcher;

constexpr std::string_view kPrefix = "/prometheus/api/v1";
// Prometheus's MinTime and MaxTime, the defaults of optional start and end (Unix ms), and the
// texts client libraries send for them.
constexpr int64_t kMinTime = -9223309901257974000;
constexpr int64_t kMaxTime = 9223309901257974999;
constexpr std::string_view kMinTimeText = "-292273086-05-16T16:47:06Z";
constexpr std::string_view kMaxTimeText = "292277025-08-18T07:12:54.999999999Z";
constexpr double kMaxPointsPerSeries = 11000;
constexpr size_t kMaxAnnotations = 10;  // Per kind in one answer, as Prometheus's AsStrings.
constexpr const char* kTruncated = "results truncated due to limit";

// ---------------------------------------------------------------------------------------------
// JSON writing with Prometheus's formatting.

// A JSON string as Go's encoding/json writes it (<, > and & escaped, bad UTF-8 as U+FFFD).
void AppendString(std::string& out, std::string_view s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      if (n > 1 && i + n <= s.size() && IsValidUtf8(s.substr(i, n))) {
        out.append(s.substr(i, n));
        i += n;
      } else {
        out += "\\ufffd";
        ++i;
      }
      continue;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
}

void AppendStrings(std::string& out, const std::vector<std::string>& items) {
  out += '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    AppendString(out, items[i]);
  }
  out += ']';
}

void AppendLabels(std::string& out, const Labels& labels) {
  out += '{';
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    AppendString(out, labels[i].name);
    out += ':';
    AppendString(out, labels[i].value);
  }
  out += '}';
}

// Unix seconds with the milliseconds when not zero: 1435781451.781 (jsonutil.MarshalTimestamp).
// Writes at most 25 bytes at p; returns the end.
char* WriteTimestamp(char* p, int64_t t) {
  uint64_t u = static_cast<uint64_t>(t);
  if (t < 0) {
    *p++ = '-';
    u = 0 - u;
  }
  p = std::to_chars(p, p + 20, u / 1000).ptr;
  if (const auto ms = static_cast<unsigned>(u % 1000); ms != 0) {
    *p++ = '.';
    *p++ = static_cast<char>('0' + ms / 100);
    *p++ = static_cast<char>('0' + ms / 10 % 10);
    *p++ = static_cast<char>('0' + ms % 10);
  }
  return p;
}

void AppendTimestamp(std::string& out, int64_t t) {
  char buf[32];
  out.append(buf, WriteTimestamp(buf, t));
}

// Go's strconv.FormatFloat(v, 'f', -1, 64), or 'e' below 1e-6 and from 1e21
// (jsonutil.MarshalFloat). Writes at most 48 bytes at p; returns the end. A query answer holds
// one per point, so nothing is allocated here.
char* WriteFloat(char* p, double v) {
  auto put = [&p](std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  if (std::isnan(v)) {
    put("NaN");
    return p;
  }
  if (std::isinf(v)) {
    put(v > 0 ? "+Inf" : "-Inf");
    return p;
  }
  const double a = std::fabs(v);
  if (a != 0 && (a < 1e-6 || a >= 1e21)) {
    return std::to_chars(p, p + 32, v, std::chars_format::scientific).ptr;
  }
  // The shortest round-trip digits placed in fixed notation; std::to_chars's fixed form would
  // print the exact binary expansion of large values instead of padding with zeros. Below
  // 1e21 and from 1e-6 that is at most 17 digits, 20 integer places or 6 leading zeros.
  char sci[32];
  const char* const end = std::to_chars(sci, sci + sizeof(sci), a, std::chars_format::scientific).ptr;
  char digits[32];
  size_t nd = 0;
  const char* q = sci;
  for (; q < end && *q != 'e'; ++q) {
    if (*q != '.') digits[nd++] = *q;
  }
  const bool negative_exp = q + 1 < end && q[1] == '-';
  int exp = 0;
  for (q += 2; q < end; ++q) exp = exp * 10 + (*q - '0');
  if (negative_exp) exp = -exp;
  if (std::signbit(v)) *p++ = '-';
  if (exp < 0) {
    *p++ = '0';
    *p++ = '.';
    for (int i = 0; i < -exp - 1; ++i) *p++ = '0';
    put(std::string_view(digits, nd));
    return p;
  }
  const auto int_len = static_cast<size_t>(exp) + 1;
  if (nd <= int_len) {
    put(std::string_view(digits, nd));
    for (size_t i = nd; i < int_len; ++i) *p++ = '0';
  } else {
    put(std::string_view(digits, int_len));
    *p++ = '.';
    put(std::string_view(digits + int_len, nd - int_len));
  }
  return p;
}

void AppendPoint(std::string& out, int64_t t, double v) {
  char buf[96];
  char* p = buf;
  *p++ = '[';
  p = WriteTimestamp(p, t);
  *p++ = ',';
  *p++ = '"';
  p = WriteFloat(p, v);
  *p++ = '"';
  *p++ = ']';
  out.append(buf, p);
}

// ---------------------------------------------------------------------------------------------
// Answers and errors.

struct ErrorKind {
  const char* name;
  int http_status;
};
constexpr ErrorKind kBadData{"bad_data", 400};
constexpr ErrorKind kExecution{"execution", 422};
// Prometheus answers a canceled query (the client went away) with nginx's 499.
constexpr ErrorKind kCanceled{"canceled", 499};
constexpr ErrorKind kTimeout{"timeout", 503};
constexpr ErrorKind kUnavailable{"unavailable", 503};
constexpr ErrorKind kInternal{"internal", 500};

ErrorKind KindOf(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
      return kBadData;
    case StatusCode::kDeadlineExceeded:
      return kTimeout;
    case StatusCode::kUnavailable:
      return kUnavailable;
    case StatusCode::kInternal:
      return kInternal;
    default:
      return kExecution;
  }
}

ErrorKind KindOf(promql::ErrorType type) {
  switch (type) {
    case promql::ErrorType::kBadData:
      return kBadData;
    case promql::ErrorType::kTimeout:
      return kTimeout;
    case promql::ErrorType::kCanceled:
      return kCanceled;
    case promql::ErrorType::kExecution:
      return kExecution;
    default:
      return kInternal;
  }
}

// What an endpoint answers: data (serialised JSON) with annotations, no content, or an error.
// Converts from a Status so PLATOPS_ASSIGN_OR_RETURN works in the endpoints.
struct Answer {
  // NOLINTNEXTLINE(google-explicit-constructor)
  Answer(std::string data_json) : data(std::move(data_json)) {}
  // NOLINTNEXTLINE(google-explicit-constructor)
  Answer(const Status& st) : error(KindOf(st.code())), message(st.message()) {}
  Answer(ErrorKind kind, std::string msg) : error(kind), message(std::move(msg)) {}
  static Answer NoContent() {
    Answer a{std::string()};
    a.no_content = true;
    return a;
  }

  std::string data;
  std::vector<std::string> warnings;
  std::vector<std::string> infos;
  std::optional<ErrorKind> error;
  std::string message;
  bool no_content = false;
  std::shared_ptr<void> release_after_send;  // See http::Response.
};

// At most kMaxAnnotations, then "N more warning annotations omitted" (annotations.AsStrings).
void AppendAnnotations(std::string& out, const char* field, const char* kind,
                       const std::vector<std::string>& items) {
  if (items.empty()) return;
  std::vector<std::string> shown(items.begin(),
                                 items.begin() + std::min(items.size(), kMaxAnnotations));
  if (items.size() > kMaxAnnotations) {
    shown.push_back(std::to_string(items.size() - kMaxAnnotations) + " more " + kind +
                    " annotations omitted");
  }
  out += ",\"";
  out += field;
  out += "\":";
  AppendStrings(out, shown);
}

// The one place this API's answers become HTTP responses: Prometheus's envelope, not platops's.
http::Response Reply(const Answer& a) {
  if (a.no_content) return http::Response::NoContent();
  std::string body;
  if (a.error) {
    std::string message = a.message;
    if (a.error->http_status == 500 && !StartsWith(message, "internal error")) {
      // As everywhere in the API, the detail goes to the operator's log (Response::Error logs
      // it), not to the client.
      (void)http::Response::Error(Internal(message));
      message = "internal error; the server log has the details";
    }
    body = R"({"status":"error","errorType":")";
    body += a.error->name;
    body += R"(","error":)";
    AppendString(body, message);
    body += '}';
    return http::Response::Json(a.error->http_status, std::move(body));
  }
  constexpr std::string_view kHead = R"({"status":"success","data":)";
  body.reserve(kHead.size() + a.data.size() + 1);
  body = kHead;
  body += a.data;
  AppendAnnotations(body, "warnings", "warning", a.warnings);
  AppendAnnotations(body, "infos", "info", a.infos);
  body += '}';
  http::Response resp = http::Response::Json(200, std::move(body));
  resp.release_after_send = a.release_after_send;
  return resp;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

Status InvalidParam(std::string_view param, std::string_view error) {
  return InvalidArgument("invalid parameter \"" + std::string(param) + "\": " + std::string(error));
}

// ---------------------------------------------------------------------------------------------
// Parameters.

// Go's url.QueryUnescape (`+` is a space); the error names the bad escape as Go does.
Result<std::string> FormUnescape(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] != '%') {
      out += s[i];
    } else if (i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      return InvalidArgument("invalid URL escape " + promql::QuoteString(s.substr(i, 3)));
    }
  }
  return out;
}

// The request's parameters as Go's Request.ParseForm sees them: the form body of a POST first,
// then the URL query.
class Params {
 public:
  static Result<Params> Read(const http::Request& req) {
    Params p;
    const std::string_view type = req.headers.Get("Content-Type").value_or("");
    if (req.method == http::Method::kPost &&
        EqualsIgnoreCase(Trim(type.substr(0, type.find(';'))),
                         "application/x-www-form-urlencoded")) {
      for (const std::string& pair : Split(req.body, '&')) {
        if (pair.empty()) continue;
        const size_t eq = pair.find('=');
        auto key = FormUnescape(std::string_view(pair).substr(0, eq));
        auto value = FormUnescape(eq == std::string::npos ? "" : pair.substr(eq + 1));
        if (!key.ok() || !value.ok()) {
          return InvalidArgument("error parsing form values: " +
                                 (key.ok() ? value : key).status().message());
        }
        p.items_.emplace_back(std::move(key).value(), std::move(value).value());
      }
    }
    for (const auto& [k, v] : req.query) p.items_.emplace_back(k, v);
    return p;
  }
  // The first value; "" when absent (Go's FormValue).
  std::string Get(std::string_view name) const {
    for (const auto& [k, v] : items_) {
      if (k == name) return v;
    }
    return {};
  }
  std::vector<std::string> All(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : items_) {
      if (k == name) out.push_back(v);
    }
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// Go's strconv.ParseFloat for decimal input (a leading '+' allowed); nullopt when it is not one.
std::optional<double> ParseFloat(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// A whole decimal integer (a leading '+' allowed); nullopt when it is not one or overflows.
std::optional<int64_t> ParseInt(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return n;
}

// Unix seconds with up to millisecond precision, or RFC 3339 (parseTime). Unix ms.
Result<int64_t> ParseTime(std::string_view s) {
  if (auto f = ParseFloat(s); f && std::isfinite(*f) && std::fabs(*f) < 9.2e15) {
    const double whole = std::trunc(*f);
    return static_cast<int64_t>(whole) * 1000 + std::llround((*f - whole) * 1000);
  }
  if (auto t = ParseRfc3339(s); t.ok()) return t->time_since_epoch().count();
  if (s == kMinTimeText) return kMinTime;
  if (s == kMaxTimeText) return kMaxTime;
  return InvalidArgument("cannot parse " + promql::QuoteString(s) + " to a valid timestamp");
}

// An optional time parameter (parseTimeParam).
Result<int64_t> TimeParam(const Params& params, const char* name, int64_t default_value) {
  const std::string v = params.Get(name);
  if (v.empty()) return default_value;
  auto t = ParseTime(v);
  if (!t.ok()) {
    return InvalidParam(
        name, "Invalid time value for '" + std::string(name) + "': " + t.status().message());
  }
  return t;
}

// Float seconds or a Prometheus duration, in nanoseconds as Go's time.Duration (parseDuration).
Result<double> ParseDurationNs(std::string_view s) {
  if (auto f = ParseFloat(s)) {
    const double ns = *f * 1e9;
    if (!(std::fabs(ns) <= 9.2e18)) {
      return InvalidArgument("cannot parse " + promql::QuoteString(s) +
                             " to a valid duration. It overflows int64");
    }
    return ns;
  }
  if (auto d = promql::ParseDuration(s); d.ok()) return static_cast<double>(d->count()) * 1e6;
  return InvalidArgument("cannot parse " + promql::QuoteString(s) + " to a valid duration");
}

// ?limit=: 0 (the default) is no limit (parseLimitParam).
Result<size_t> LimitParam(const Params& params) {
  const std::string v = params.Get("limit");
  if (v.empty()) return size_t{0};
  const std::optional<int64_t> n = ParseInt(v);
  if (!n) {
    // Go tells a well-formed but too large number from one that is not a number at all.
    std::string_view d = v;
    if (d.front() == '+' || d.front() == '-') d.remove_prefix(1);
    const bool digits = !d.empty() && d.find_first_not_of("0123456789") == std::string::npos;
    return InvalidParam("limit", "strconv.Atoi: parsing " + promql::QuoteString(v) +
                                     (digits ? ": value out of range" : ": invalid syntax"));
  }
  if (*n < 0) return InvalidParam("limit", "limit must be non-negative");
  return static_cast<size_t>(*n);
}

// The series selectors of match[] (parseMatchersParam). Errors are bad_data without a prefix.
Result<std::vector<std::vector<Matcher>>> MatcherSets(const std::vector<std::string>& selectors) {
  std::vector<std::vector<Matcher>> sets;
  for (const std::string& text : selectors) {
    auto expr = promql::Parse(text);
    if (!expr.ok()) {
      // The parser refuses a selector whose matchers all match "" before Prometheus's API check
      // would; the condition is the same, the API's wording is Prometheus's.
      if (expr.status().message().ends_with("must contain at least one non-empty matcher")) {
        return InvalidArgument("match[] must contain at least one non-empty matcher");
      }
      return expr.status();
    }
    const auto* sel = (*expr)->kind == promql::ExprKind::kVectorSelector
                          ? static_cast<const promql::VectorSelector*>(expr->get())
                          : nullptr;
    if (sel == nullptr || sel->offset.count() != 0 ||
        sel->at.kind != promql::AtModifier::Kind::kNone) {
      return InvalidArgument("1:1: parse error: not a series selector: " +
                             promql::QuoteString(text));
    }
    bool selective = false;
    for (const Matcher& m : sel->matchers) {
      PLATOPS_ASSIGN_OR_RETURN(auto compiled, metrics::CompiledMatcher::Compile(m));
      selective = selective || !compiled.MatchesEmpty();
    }
    if (!selective) return InvalidArgument("match[] must contain at least one non-empty matcher");
    sets.push_back(sel->matchers);
  }
  return sets;
}

// Store errors of metadata reads: bad input is bad_data, the rest an execution error.
Status StoreError(const Status& st) {
  if (st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kInternal) return st;
  return Unprocessable(st.message());
}

std::string JsonOf(const json::value& v) { return json::serialize(v); }

// ---------------------------------------------------------------------------------------------
// Queries.

void AppendValue(std::string& out, const promql::Value& value, size_t limit, bool& truncated) {
  out += R"({"resultType":")";
  out += promql::ResultTypeName(value);
  out += R"(","result":)";
  auto shown = [&](size_t n) {
    truncated = limit > 0 && n > limit;
    return truncated ? limit : n;
  };
  if (const auto* s = std::get_if<promql::ScalarValue>(&value)) {
    AppendPoint(out, s->t, s->v);
  } else if (const auto* str = std::get_if<promql::StringValue>(&value)) {
    out += '[';
    AppendTimestamp(out, str->t);
    out += ',';
    AppendString(out, str->v);
    out += ']';
  } else if (const auto* vec = std::get_if<promql::Vector>(&value)) {
    out += '[';
    for (size_t i = 0, n = shown(vec->size()); i < n; ++i) {
      out += i > 0 ? R"(,{"metric":)" : R"({"metric":)";
      AppendLabels(out, (*vec)[i].metric);
      out += R"(,"value":)";
      AppendPoint(out, (*vec)[i].t, (*vec)[i].v);
      out += '}';
    }
    out += ']';
  } else {
    const auto& matrix = std::get<promql::Matrix>(value);
    // Most points print as [1767225600,"1234.5"]: size the answer once, not by doubling.
    size_t points = 0;
    for (size_t i = 0, n = shown(matrix.size()); i < n; ++i) points += matrix[i].samples.size();
    out.reserve(out.size() + points * 28 + matrix.size() * 128);
    out += '[';
    for (size_t i = 0, n = shown(matrix.size()); i < n; ++i) {
      out += i > 0 ? R"(,{"metric":)" : R"({"metric":)";
      AppendLabels(out, matrix[i].metric);
      out += R"(,"values":[)";
      for (size_t k = 0; k < matrix[i].samples.size(); ++k) {
        if (k > 0) out += ',';
        AppendPoint(out, matrix[i].samples[k].t, matrix[i].samples[k].v);
      }
      out += "]}";
    }
    out += ']';
  }
  out += '}';
}

Answer QueryAnswer(promql::QueryResult&& r, size_t limit, bool instant) {
  if (!r.ok()) {
    // Prometheus names the parameter for instant queries only (NewInstantQuery's errors).
    if (r.error == promql::ErrorType::kBadData && instant) {
      return InvalidParam("query", r.error_message);
    }
    return Answer(KindOf(r.error), std::move(r.error_message));
  }
  std::string data;
  bool truncated = false;
  AppendValue(data, r.value, limit, truncated);
  Answer a(std::move(data));
  a.warnings = std::move(r.warnings);
  a.infos = std::move(r.infos);
  if (truncated) a.warnings.emplace_back(kTruncated);
  a.release_after_send = std::move(r.retained);
  return a;
}

// The query's context from ?timeout=, which can only shorten the engine's own timeout. nullopt:
// the timeout has passed already (zero or negative), so the query times out at once.
Result<std::optional<promql::QueryContext>> QueryContextParam(const Params& params,
                                                              const promql::Engine& engine) {
  promql::QueryContext ctx;
  const std::string v = params.Get("timeout");
  if (v.empty()) return std::optional(ctx);
  auto ns = ParseDurationNs(v);
  if (!ns.ok()) return InvalidParam("timeout", ns.status().message());
  if (*ns <= 0) return std::optional<promql::QueryContext>();
  const auto ms = std::chrono::milliseconds(static_cast<int64_t>(std::ceil(*ns / 1e6)));
  ctx.timeout = std::min(ms, engine.options().timeout);
  return std::optional(ctx);
}

Answer TimedOutAtOnce() { return Answer(kTimeout, "query timed out in query queue"); }

// platops_prometheus_queries_canceled_total{endpoint}: queries the engine stopped because their
// client went away. Their answer (canceled, 499) reaches nobody; the access log shows the 499.
CounterFamily& RegisterCanceledCounter(MetricsRegistry& m) {
  CounterFamily& c = m.Counter("platops_prometheus_queries_canceled_total",
                               "PromQL queries of the Prometheus API stopped because their client "
                               "went away, by endpoint (query, query_range).",
                               {"endpoint"});
  c.Add({"query"}, 0);
  c.Add({"query_range"}, 0);
  return c;
}

// The engine's result, counted when the query was canceled.
promql::QueryResult Counted(promql::QueryResult r, CounterFamily& canceled, const char* endpoint) {
  if (r.error == promql::ErrorType::kCanceled) canceled.Add({endpoint});
  return r;
}

// The query stops (canceled, 499) when the client of `req` goes away while it runs.
Answer Query(ApiDeps& deps, const Params& params, const http::Request& req,
             CounterFamily& canceled) {
  PLATOPS_ASSIGN_OR_RETURN(size_t limit, LimitParam(params));
  PLATOPS_ASSIGN_OR_RETURN(int64_t t,
                           TimeParam(params, "time", deps.clock.Now().time_since_epoch().count()));
  PLATOPS_ASSIGN_OR_RETURN(auto ctx, QueryContextParam(params, *deps.promql));
  if (!ctx) return TimedOutAtOnce();
  ctx->canceled = req.canceled.get();
  return QueryAnswer(
      Counted(deps.promql->InstantQuery(params.Get("query"), t, *ctx), canceled, "query"), limit,
      true);
}

// As Query.
Answer QueryRange(ApiDeps& deps, const Params& params, const http::Request& req,
                  CounterFamily& canceled) {
  PLATOPS_ASSIGN_OR_RETURN(size_t limit, LimitParam(params));
  auto start = ParseTime(params.Get("start"));
  if (!start.ok()) return InvalidParam("start", start.status().message());
  auto end = ParseTime(params.Get("end"));
  if (!end.ok()) return InvalidParam("end", end.status().message());
  if (*end < *start) return InvalidParam("end", "end timestamp must not be before start time");
  auto step_ns = ParseDurationNs(params.Get("step"));
  if (!step_ns.ok()) return InvalidParam("step", step_ns.status().message());
  if (*step_ns <= 0) {
    return InvalidParam("step",
                        "zero or negative query resolution step widths are not accepted. Try a "
                        "positive integer");
  }
  // Go divides the range by the step as integer nanoseconds.
  if (std::floor(static_cast<long double>(*end - *start) * 1e6L / *step_ns) > kMaxPointsPerSeries) {
    return Answer(kBadData,
                  "exceeded maximum resolution of 11,000 points per timeseries. Try "
                  "decreasing the query resolution (?step=XX)");
  }
  PLATOPS_ASSIGN_OR_RETURN(auto ctx, QueryContextParam(params, *deps.promql));
  if (!ctx) return TimedOutAtOnce();
  // The store has millisecond resolution; a sub-millisecond step can only matter when
  // start == end, where any step gives the one point.
  const int64_t step_ms = std::max<int64_t>(1, static_cast<int64_t>(*step_ns / 1e6));
  ctx->canceled = req.canceled.get();
  return QueryAnswer(
      Counted(deps.promql->RangeQuery(params.Get("query"), *start, *end, step_ms, *ctx), canceled,
              "query_range"),
      limit, false);
}

bool HasSelector(const promql::Expr& e) {
  using promql::ExprKind;
  switch (e.kind) {
    case ExprKind::kVectorSelector:
    case ExprKind::kMatrixSelector:
      return true;
    case ExprKind::kSubquery:
      return HasSelector(*static_cast<const promql::SubqueryExpr&>(e).expr);
    case ExprKind::kUnary:
      return HasSelector(*static_cast<const promql::UnaryExpr&>(e).expr);
    case ExprKind::kParen:
      return HasSelector(*static_cast<const promql::ParenExpr&>(e).expr);
    case ExprKind::kBinary: {
      const auto& b = static_cast<const promql::BinaryExpr&>(e);
      return HasSelector(*b.lhs) || HasSelector(*b.rhs);
    }
    case ExprKind::kAggregate: {
      const auto& a = static_cast<const promql::AggregateExpr&>(e);
      return HasSelector(*a.expr) || (a.param && HasSelector(*a.param));
    }
    case ExprKind::kCall:
      for (const auto& arg : static_cast<const promql::Call&>(e).args) {
        if (HasSelector(*arg)) return true;
      }
      return false;
    case ExprKind::kNumber:
    case ExprKind::kString:
      return false;
  }
  return false;
}

// The store keeps no exemplars: a query with selectors finds none; one without answers 204.
Answer QueryExemplars(const Params& params) {
  PLATOPS_ASSIGN_OR_RETURN(int64_t start, TimeParam(params, "start", kMinTime));
  PLATOPS_ASSIGN_OR_RETURN(int64_t end, TimeParam(params, "end", kMaxTime));
  if (end < start) {
    return Answer(kBadData, "end timestamp must not be before start timestamp");
  }
  PLATOPS_ASSIGN_OR_RETURN(auto expr, promql::Parse(params.Get("query")));
  if (!HasSelector(*expr)) return Answer::NoContent();
  return Answer(std::string("[]"));
}

Answer FormatQuery(const Params& params) {
  auto expr = promql::Parse(params.Get("query"));
  if (!expr.ok()) return InvalidParam("query", expr.status().message());
  std::string data;
  AppendString(data, promql::String(**expr));
  return Answer(std::move(data));
}

// ---------------------------------------------------------------------------------------------
// Rules and alerts.

double Seconds(std::chrono::milliseconds d) { return static_cast<double>(d.count()) / 1000; }

// strconv.FormatFloat(v, 'e', -1, 64): the shortest exponent form ("1e+00", "2.5e-01").
std::string ExponentFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  return std::string(buf, r.ptr);
}

void AppendPairs(std::string& out, const alerting::StringPairs& pairs) {
  out += '{';
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i > 0) out += ',';
    AppendString(out, pairs[i].first);
    out += ':';
    AppendString(out, pairs[i].second);
  }
  out += '}';
}

void AppendNumber(std::string& out, double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

std::string ExprString(const std::string& expr) {
  auto parsed = promql::Parse(expr);
  return parsed.ok() ? promql::String(**parsed) : expr;
}

void AppendRuleAlert(std::string& out, const alerting::RuleAlert& a) {
  out += "{\"labels\":";
  AppendPairs(out, a.labels);
  out += ",\"annotations\":";
  AppendPairs(out, a.annotations);
  out += ",\"state\":";
  AppendString(out, alerting::RuleAlertStateName(a.state));
  out += ",\"activeAt\":";
  AppendString(out, alerting::GoTimeJson(a.active_at));
  if (a.keep_firing_since) {
    out += ",\"keepFiringSince\":";
    AppendString(out, alerting::GoTimeJson(*a.keep_firing_since));
  }
  out += ",\"value\":";
  AppendString(out, ExponentFloat(a.value));
  out += '}';
}

// GET /api/v1/rules with type, rule_name[], rule_group[], file[] and exclude_alerts.
Answer Rules(ApiDeps& deps, const Params& params) {
  const std::string type = params.Get("type");
  if (!type.empty() && type != "alert" && type != "record") {
    return InvalidParam("type", "not supported value \"" + type + "\"");
  }
  const std::string exclude = params.Get("exclude_alerts");
  if (!exclude.empty() && exclude != "true" && exclude != "false") {
    return InvalidParam("exclude_alerts", "strconv.ParseBool: parsing \"" + exclude +
                                              "\": invalid syntax");
  }
  const auto names = params.All("rule_name[]");
  const auto group_names = params.All("rule_group[]");
  const auto files = params.All("file[]");
  auto wanted = [](const std::vector<std::string>& list, const std::string& v) {
    return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
  };
  std::string data = "{\"groups\":[";
  bool first_group = true;
  if (deps.rules != nullptr) {
    deps.rules->ForEachGroup([&](const alerting::RuleGroup& g) {
      if (!wanted(group_names, g.spec().name) || !wanted(files, g.spec().file)) return;
      std::string rules;
      bool first_rule = true;
      for (size_t i = 0; i < g.size(); ++i) {
        const alerting::RuleSpec& r = g.rule(i);
        if ((type == "alert" && !r.alerting) || (type == "record" && r.alerting)) continue;
        if (!wanted(names, r.name)) continue;
        const alerting::RuleHealth& h = g.health(i);
        if (!first_rule) rules += ',';
        first_rule = false;
        rules += '{';
        if (const alerting::AlertingRule* a = g.alerting(i)) {
          rules += "\"state\":";
          AppendString(rules, alerting::RuleAlertStateName(a->State()));
          rules += ',';
        }
        rules += "\"name\":";
        AppendString(rules, r.name);
        rules += ",\"query\":";
        AppendString(rules, ExprString(r.expr));
        if (const alerting::AlertingRule* a = g.alerting(i)) {
          rules += ",\"duration\":";
          AppendNumber(rules, Seconds(r.for_duration));
          rules += ",\"keepFiringFor\":";
          AppendNumber(rules, Seconds(r.keep_firing_for));
          rules += ",\"labels\":";
          AppendPairs(rules, a->labels());
          rules += ",\"annotations\":";
          AppendPairs(rules, r.annotations);
          if (exclude != "true") {
            rules += ",\"alerts\":[";
            bool first_alert = true;
            for (const auto& [labels, alert] : a->active()) {
              if (alert.state == alerting::RuleAlertState::kInactive) continue;
              if (!first_alert) rules += ',';
              first_alert = false;
              AppendRuleAlert(rules, alert);
            }
            rules += ']';
          }
        } else if (!r.labels.empty() || !g.spec().labels.empty()) {
          alerting::StringPairs labels = g.spec().labels;
          for (const auto& l : r.labels) {
            std::erase_if(labels, [&](const auto& p) { return p.first == l.first; });
            labels.push_back(l);
          }
          std::sort(labels.begin(), labels.end());
          rules += ",\"labels\":";
          AppendPairs(rules, labels);
        }
        rules += ",\"health\":";
        AppendString(rules, h.health);
        if (!h.last_error.empty()) {
          rules += ",\"lastError\":";
          AppendString(rules, h.last_error);
        }
        rules += ",\"evaluationTime\":";
        AppendNumber(rules, static_cast<double>(h.evaluation_time.count()) / 1e6);
        rules += ",\"lastEvaluation\":";
        AppendString(rules, alerting::GoTimeJson(h.last_evaluation));
        rules += ",\"type\":";
        AppendString(rules, r.alerting ? "alerting" : "recording");
        rules += '}';
      }
      // A group whose rules were all filtered out is left out, as Prometheus does.
      if (first_rule && (!names.empty() || !type.empty())) return;
      if (!first_group) data += ',';
      first_group = false;
      data += "{\"name\":";
      AppendString(data, g.spec().name);
      data += ",\"file\":";
      AppendString(data, g.spec().file);
      data += ",\"rules\":[";
      data += rules;
      data += "],\"interval\":";
      AppendNumber(data, Seconds(g.interval()));
      data += ",\"limit\":";
      data += std::to_string(g.spec().limit);
      data += ",\"evaluationTime\":";
      AppendNumber(data, static_cast<double>(g.evaluation_time().count()) / 1e6);
      data += ",\"lastEvaluation\":";
      AppendString(data, alerting::GoTimeJson(g.last_evaluation()));
      data += '}';
    });
  }
  data += "]}";
  return Answer(std::move(data));
}

// GET /api/v1/alerts: the pending and firing alerts of every alerting rule.
Answer Alerts(ApiDeps& deps) {
  std::string data = "{\"alerts\":[";
  bool first = true;
  if (deps.rules != nullptr) {
    deps.rules->ForEachGroup([&](const alerting::RuleGroup& g) {
      for (size_t i = 0; i < g.size(); ++i) {
        const alerting::AlertingRule* a = g.alerting(i);
        if (a == nullptr) continue;
        for (const auto& [labels, alert] : a->active()) {
          if (alert.state == alerting::RuleAlertState::kInactive) continue;
          if (!first) data += ',';
          first = false;
          AppendRuleAlert(data, alert);
        }
      }
    });
  }
  data += "]}";
  return Answer(std::move(data));
}

// ---------------------------------------------------------------------------------------------
// Series and labels.

Answer Series(ApiDeps& deps, const Params& params) {
  const std::vector<std::string> selectors = params.All("match[]");
  if (selectors.empty()) return Answer(kBadData, "no match[] parameter provided");
  PLATOPS_ASSIGN_OR_RETURN(size_t limit, LimitParam(params));
  PLATOPS_ASSIGN_OR_RETURN(int64_t start, TimeParam(params, "start", kMinTime));
  PLATOPS_ASSIGN_OR_RETURN(int64_t end, TimeParam(params, "end", kMaxTime));
  auto sets = MatcherSets(selectors);
  if (!sets.ok()) return InvalidParam("match[]", sets.status().message());
  auto querier = deps.tsdb->NewQuerier(start, end);
  if (!querier.ok()) return StoreError(querier.status());
  std::set<Labels> found;
  for (const auto& matchers : *sets) {
    auto series = querier.value()->Select(matchers);
    if (!series.ok()) return StoreError(series.status());
    for (const auto& s : *series) found.insert(s->labels());
  }
  std::string data = "[";
  size_t n = 0;
  for (const Labels& labels : found) {
    if (limit > 0 && n == limit) break;
    if (n++ > 0) data += ',';
    AppendLabels(data, labels);
  }
  data += ']';
  Answer a(std::move(data));
  if (limit > 0 && found.size() > limit) a.warnings.emplace_back(kTruncated);
  return a;
}

// Label names (name empty) or the values of label `name`, over the union of the match[] sets.
Answer LabelsOrValues(ApiDeps& deps, const Params& params, const std::string& name) {
  PLATOPS_ASSIGN_OR_RETURN(size_t limit, LimitParam(params));
  PLATOPS_ASSIGN_OR_RETURN(int64_t start, TimeParam(params, "start", kMinTime));
  PLATOPS_ASSIGN_OR_RETURN(int64_t end, TimeParam(params, "end", kMaxTime));
  PLATOPS_ASSIGN_OR_RETURN(auto sets, MatcherSets(params.All("match[]")));
  if (sets.empty()) sets.emplace_back();
  auto querier = deps.tsdb->NewQuerier(start, end);
  if (!querier.ok()) return StoreError(querier.status());
  std::set<std::string> found;
  for (const auto& matchers : sets) {
    auto items = name.empty() ? querier.value()->LabelNames(matchers)
                              : querier.value()->LabelValues(name, matchers);
    if (!items.ok()) return StoreError(items.status());
    found.insert(items->begin(), items->end());
  }
  std::vector<std::string> list(found.begin(), found.end());
  const bool truncated = limit > 0 && list.size() > limit;
  if (truncated) list.resize(limit);
  std::string data;
  AppendStrings(data, list);
  Answer a(std::move(data));
  if (truncated) a.warnings.emplace_back(kTruncated);
  return a;
}

// Prometheus's "U__" escaping of label names in paths (model.UnescapeName, value encoding):
// `__` is `_`, `_<hex>_` a code point. Anything malformed is taken literally.
std::string UnescapeLabelName(const std::string& name) {
  if (!StartsWith(name, "U__")) return name;
  std::string out;
  const std::string_view s = std::string_view(name).substr(3);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '_') {
      out += s[i];
      continue;
    }
    if (++i >= s.size()) return name;
    if (s[i] == '_') {
      out += '_';
      continue;
    }
    const size_t close = s.find('_', i);
    uint32_t cp = 0;
    auto [p, ec] = std::from_chars(s.data() + i, s.data() + std::min(close, s.size()), cp, 16);
    if (close == std::string_view::npos || close - i > 6 || ec != std::errc() ||
        p != s.data() + close || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return name;
    }
    // UTF-8: a lead byte of n-1 ones (none for ASCII), then 6 bits per continuation byte.
    const int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    out += static_cast<char>((n == 1 ? 0 : (0xFF00 >> n) & 0xFF) | (cp >> (6 * (n - 1))));
    for (int k = n - 2; k >= 0; --k) out += static_cast<char>(0x80 | ((cp >> (6 * k)) & 0x3F));
    i = close;
  }
  return out;
}

Answer LabelValues(ApiDeps& deps, const Params& params, const http::Request& req) {
  const std::string name = UnescapeLabelName(req.PathParam("name"));
  // Prometheus 3 accepts any UTF-8 label name.
  if (name.empty() || !IsValidUtf8(name)) {
    return Answer(kBadData, "invalid label name: " + promql::QuoteString(name));
  }
  return LabelsOrValues(deps, params, name);
}

// ---------------------------------------------------------------------------------------------
// Status and metadata.

// Metric metadata comes from scrapes, which this store does not keep: always the empty map.
Answer Metadata(const Params& params) {
  for (const char* name : {"limit", "limit_per_metric"}) {
    if (const std::string v = params.Get(name); !v.empty() && !ParseInt(v)) {
      return Answer(kBadData, std::string(name) + " must be a number");
    }
  }
  return Answer(std::string("{}"));
}

Answer BuildInfo(const ApiDeps& deps) {
  // platops is not built from a Prometheus tree: the fields it cannot fill stay empty.
  return Answer(JsonOf(json::object{{"version", deps.version},
                                    {"revision", ""},
                                    {"branch", ""},
                                    {"buildUser", ""},
                                    {"buildDate", ""},
                                    {"goVersion", ""}}));
}

// The OS threads of this process (the closest thing to Go's goroutine count); 0 when unknown.
int64_t ThreadCount() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (StartsWith(line, "Threads:")) return std::atoll(line.c_str() + 8);
  }
  return 0;
}

Answer RuntimeInfo(const ApiDeps& deps, Timestamp started) {
  std::error_code ec;
  const std::string cwd = std::filesystem::current_path(ec).string();
  // The configuration is read once, at start; the server does not start with a bad one.
  return Answer(JsonOf(json::object{
      {"startTime", FormatRfc3339(started)},
      {"CWD", cwd},
      {"reloadConfigSuccess", true},
      {"lastConfigTime", FormatRfc3339(started)},
      {"corruptionCount", static_cast<int64_t>(deps.tsdb->open_report().wal.dropped.size())},
      {"goroutineCount", ThreadCount()},
      {"GOMAXPROCS", static_cast<int64_t>(std::thread::hardware_concurrency())}}));
}

json::array StatList(const std::vector<std::pair<std::string, size_t>>& items) {
  json::array a;
  for (const auto& [name, value] : items) {
    a.push_back(json::object{{"name", name}, {"value", static_cast<int64_t>(value)}});
  }
  return a;
}

// Cardinality of the head (the recent, in-memory part of the store), as Prometheus reports it.
Answer TsdbStatus(ApiDeps& deps, const Params& params) {
  size_t limit = 10;
  if (const std::string v = params.Get("limit"); !v.empty()) {
    const std::optional<int64_t> n = ParseInt(v);
    if (!n || *n < 1) return Answer(kBadData, "limit must be a positive number");
    limit = static_cast<size_t>(*n);
  }
  const metrics::DbStats stats = deps.tsdb->Stats();
  const metrics::Head::Cardinality top = deps.tsdb->head().TopCardinality(limit);
  // Label pairs and value bytes per label name from the head's index.
  auto head = deps.tsdb->head().NewQuerier(std::numeric_limits<int64_t>::min(),
                                           std::numeric_limits<int64_t>::max());
  PLATOPS_ASSIGN_OR_RETURN(auto names, head->LabelNames({}));
  int64_t label_pairs = 0;
  std::vector<std::pair<std::string, size_t>> bytes_by_name;
  for (const std::string& name : names) {
    PLATOPS_ASSIGN_OR_RETURN(auto values, head->LabelValues(name, {}));
    label_pairs += static_cast<int64_t>(values.size());
    size_t bytes = 0;
    for (const std::string& v : values) bytes += v.size();
    bytes_by_name.emplace_back(name, bytes);
  }
  std::sort(bytes_by_name.begin(), bytes_by_name.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (bytes_by_name.size() > limit) bytes_by_name.resize(limit);

  const json::object head_stats{{"numSeries", static_cast<int64_t>(stats.head.num_series)},
                                {"numLabelPairs", label_pairs},
                                {"chunkCount", static_cast<int64_t>(stats.head.chunks)},
                                {"minTime", stats.head.min_time},
                                {"maxTime", stats.head.max_time}};
  return Answer(
      JsonOf(json::object{{"headStats", head_stats},
                          {"seriesCountByMetricName", StatList(top.series_by_metric)},
                          {"labelValueCountByLabelName", StatList(top.values_by_label)},
                          {"memoryInBytesByLabelName", StatList(bytes_by_name)},
                          {"seriesCountByLabelValuePair", StatList(top.series_by_label_pair)}}));
}

// ---------------------------------------------------------------------------------------------
// Remote write.

struct WriteCounters {
  CounterFamily* requests;
  CounterFamily* received;
  CounterFamily* rejected;
  CounterFamily* histograms;
};

WriteCounters RegisterWriteCounters(MetricsRegistry& m) {
  return {
      &m.Counter("platops_remote_write_requests_total",
                 "Remote-write requests received, by HTTP status of the answer.", {"code"}),
      &m.Counter("platops_remote_write_samples_received_total",
                 "Float samples in decoded remote-write requests."),
      &m.Counter("platops_remote_write_samples_rejected_total",
                 "Remote-write float samples not stored, by reason (an append error, or "
                 "commit_failed).",
                 {"reason"}),
      &m.Counter("platops_remote_write_histograms_dropped_total",
                 "Remote-write native histogram samples dropped (not supported)."),
  };
}

// Checks the headers as Prometheus's write handler does: 415 for anything but remote-write 1.0
// (an absent Content-Type or Content-Encoding means 1.0 and snappy).
std::optional<std::string> UnsupportedMedia(const http::Request& req) {
  const std::string_view type = Trim(req.headers.Get("Content-Type").value_or(""));
  if (!type.empty()) {
    const std::vector<std::string> parts = Split(type, ';');
    if (parts[0] != "application/x-protobuf") {
      return "expected application/x-protobuf as the first (media) part, got " + std::string(type) +
             " content-type";
    }
    for (size_t i = 1; i < parts.size(); ++i) {
      const std::vector<std::string> kv = Split(parts[i], '=');
      if (kv.size() != 2) {
        return "as per https://www.rfc-editor.org/rfc/rfc9110#parameter expected parameters to "
               "be key-values, got " +
               parts[i] + " in " + std::string(type) + " content-type";
      }
      if (Trim(kv[0]) == "proto" && kv[1] != "prometheus.WriteRequest") {
        return kv[1] +
               " protobuf message is not accepted by this server; accepted "
               "[prometheus.WriteRequest]";
      }
    }
  }
  const std::string_view encoding = req.headers.Get("Content-Encoding").value_or("");
  if (!encoding.empty() && !EqualsIgnoreCase(encoding, "snappy")) {
    return std::string(encoding) +
           " encoding (compression) is not accepted by this server; only snappy is acceptable";
  }
  return std::nullopt;
}

// Decodes, appends and commits (durable before the answer); the status follows remote_write.h.
http::Response RemoteWrite(ApiDeps& deps, const WriteCounters& counters, const http::Request& req) {
  auto reply = [&](int status, const std::string& message) {
    counters.requests->Add({std::to_string(status)});
    if (status == 204) return http::Response::NoContent();
    return http::Response::Text(status, message + "\n");
  };
  if (auto why = UnsupportedMedia(req)) return reply(415, *why);
  auto request = ingest::DecodeWriteRequest(req.body);
  if (!request.ok()) {
    const ingest::RemoteWriteReply r = ingest::ReplyForDecodeError(request.status());
    return reply(r.http_status, r.message);
  }
  counters.received->Add({}, static_cast<double>(request->num_samples()));
  std::unique_ptr<metrics::Appender> appender = deps.tsdb->NewAppender();
  const ingest::AppendSummary summary = ingest::AppendWriteRequest(*request, *appender);
  const Status commit = appender->Commit();
  for (size_t i = 1; i < summary.rejected.size(); ++i) {
    if (summary.rejected[i] == 0) continue;
    counters.rejected->Add(
        {std::string(metrics::AppendErrorName(static_cast<metrics::AppendError>(i)))},
        static_cast<double>(summary.rejected[i]));
  }
  if (!commit.ok() && summary.samples_appended > 0) {
    counters.rejected->Add({"commit_failed"}, static_cast<double>(summary.samples_appended));
  }
  if (summary.histograms_dropped > 0) {
    counters.histograms->Add({}, static_cast<double>(summary.histograms_dropped));
  }
  const ingest::RemoteWriteReply r = ingest::ReplyForAppend(summary, commit);
  return reply(r.http_status, r.message);
}

// ---------------------------------------------------------------------------------------------
// Routes.

using Endpoint = std::function<Answer(const Params&, http::Request&)>;

// A read endpoint: viewer, or nobody when anonymous reads are allowed.
void AddRead(http::Router& router, ApiDeps& deps, std::initializer_list<http::Method> methods,
             std::string_view path, Endpoint endpoint) {
  auto handle = [endpoint = std::move(endpoint)](http::Request& req) {
    auto params = Params::Read(req);
    if (!params.ok()) return Reply(Answer(params.status()));
    return Reply(endpoint(*params, req));
  };
  http::Handler handler =
      deps.anonymous_query
          ? http::Handler(handle)
          : Protect(deps, Role::kViewer, [handle](http::Request& req, const identity::Principal&) {
              return handle(req);
            });
  for (http::Method m : methods) router.Add(m, std::string(kPrefix) + std::string(path), handler);
}

}  // namespace

void RegisterPrometheusApi(http::Router& router, ApiDeps& deps) {
  if (deps.tsdb == nullptr || deps.promql == nullptr) return;
  using M = http::Method;
  const Timestamp started = deps.clock.Now();
  CounterFamily& canceled = RegisterCanceledCounter(deps.metrics);
  AddRead(router, deps, {M::kGet, M::kPost}, "/query",
          [&deps, &canceled](const Params& p, http::Request& req) {
            return Query(deps, p, req, canceled);
          });
  AddRead(router, deps, {M::kGet, M::kPost}, "/query_range",
          [&deps, &canceled](const Params& p, http::Request& req) {
            return QueryRange(deps, p, req, canceled);
          });
  AddRead(router, deps, {M::kGet, M::kPost}, "/query_exemplars",
          [](const Params& p, http::Request&) { return QueryExemplars(p); });
  AddRead(router, deps, {M::kGet, M::kPost}, "/format_query",
          [](const Params& p, http::Request&) { return FormatQuery(p); });
  AddRead(router, deps, {M::kGet, M::kPost}, "/series",
          [&deps](const Params& p, http::Request&) { return Series(deps, p); });
  AddRead(router, deps, {M::kGet, M::kPost}, "/labels",
          [&deps](const Params& p, http::Request&) { return LabelsOrValues(deps, p, ""); });
  AddRead(router, deps, {M::kGet}, "/label/{name}/values",
          [&deps](const Params& p, http::Request& req) { return LabelValues(deps, p, req); });
  AddRead(router, deps, {M::kGet}, "/rules",
          [&deps](const Params& p, http::Request&) { return Rules(deps, p); });
  AddRead(router, deps, {M::kGet}, "/alerts",
          [&deps](const Params&, http::Request&) { return Alerts(deps); });
  AddRead(router, deps, {M::kGet}, "/metadata",
          [](const Params& p, http::Request&) { return Metadata(p); });
  AddRead(router, deps, {M::kGet}, "/status/buildinfo",
          [&deps](const Params&, http::Request&) { return BuildInfo(deps); });
  AddRead(router, deps, {M::kGet}, "/status/runtimeinfo",
          [&deps, started](const Params&, http::Request&) { return RuntimeInfo(deps, started); });
  AddRead(router, deps, {M::kGet}, "/status/tsdb",
          [&deps](const Params& p, http::Request&) { return TsdbStatus(deps, p); });

  // Writing samples needs the role that creates checks.
  const WriteCounters counters = RegisterWriteCounters(deps.metrics);
  router.Add(M::kPost, std::string(kPrefix) + "/write",
             Protect(deps, Role::kOperator,
                     [&deps, counters](http::Request& req, const identity::Principal&) {
                       return RemoteWrite(deps, counters, req);
                     }));
}

}  // namespace platops::api
