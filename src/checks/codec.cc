#include "checks/codec.h"

#include "base/cron.h"
#include "base/json_reader.h"
#include "base/strings.h"
#include "base/time_util.h"
#include "catalog/catalog.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <type_traits>
#include <utility>
#include <variant>

namespace platops::checks {

namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

constexpr CheckType kAllTypes[] = {CheckType::kHttp, CheckType::kTcp,  CheckType::kDns,
                                   CheckType::kTls,  CheckType::kExec, CheckType::kHeartbeat};
constexpr milliseconds kMinInterval = std::chrono::seconds(1);
constexpr milliseconds kDefaultTimeout = std::chrono::seconds(10);
constexpr milliseconds kMinPeriod = std::chrono::seconds(10);
constexpr milliseconds kMaxGrace = std::chrono::hours(7 * 24);
constexpr size_t kMaxLabels = 64;
constexpr size_t kMaxLabelValue = 256;
constexpr size_t kMinToken = 16, kMaxToken = 128;
constexpr size_t kMaxReason = 4000;
constexpr const char* kSlugRule = "^[a-z0-9][a-z0-9-]{0,62}$";
constexpr const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr std::pair<probe::JsonOp, std::string_view> kJsonOps[] = {
    {probe::JsonOp::kEq, "=="},
    {probe::JsonOp::kNe, "!="},
    {probe::JsonOp::kLt, "<"},
    {probe::JsonOp::kLe, "<="},
    {probe::JsonOp::kGt, ">"},
    {probe::JsonOp::kGe, ">="},
    {probe::JsonOp::kContains, "contains"},
    {probe::JsonOp::kExists, "exists"},
};

constexpr probe::DnsRecord kDnsRecords[] = {probe::DnsRecord::kA,     probe::DnsRecord::kAAAA,
                                            probe::DnsRecord::kCNAME, probe::DnsRecord::kMX,
                                            probe::DnsRecord::kTXT,   probe::DnsRecord::kNS};

std::string Quote(std::string_view s) { return "\"" + Abbreviate(s) + "\""; }

std::string FormatNumber(double v) { return fmt::format("{}", v); }

// Whole numbers as JSON integers ("20", not "2E1"), others as doubles.
json::value JsonNumber(double v) {
  if (std::abs(v) < 1e15 && v == std::floor(v)) return static_cast<int64_t>(v);
  return v;
}

json::value TimeOrNull(Timestamp t) {
  if (t == Timestamp{}) return nullptr;
  return json::value(FormatRfc3339(t));
}

json::value OptionalTime(const std::optional<Timestamp>& t) {
  return t ? json::value(FormatRfc3339(*t)) : json::value(nullptr);
}

json::value OptionalNumber(const std::optional<double>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

double Seconds(std::chrono::microseconds d) { return static_cast<double>(d.count()) / 1e6; }
double Seconds(milliseconds d) { return static_cast<double>(d.count()) / 1e3; }

bool IsLabelName(std::string_view s) {
  if (s.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

bool IsToken(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

void ReadSlug(JsonReader& r, const char* name, std::string& out) {
  auto s = r.String(name, true);
  if (!s) return;
  if (!catalog::IsSlug(*s)) {
    r.Fail(name, std::string("must match ") + kSlugRule + ", got " + Quote(*s));
    return;
  }
  out = *s;
}

// An integer field within [lo, hi].
std::optional<int> ReadInt(JsonReader& r, const char* name, int lo, int hi, bool required = false) {
  auto v = r.Int(name, required);
  if (!v) return std::nullopt;
  if (*v < lo || *v > hi) {
    r.Fail(name, fmt::format("must be {}..{}, got {}", lo, hi, *v));
    return std::nullopt;
  }
  return static_cast<int>(*v);
}

// A label map (check labels, a window's check_labels); errors name "<field>.<label>".
std::map<std::string, std::string> ReadLabels(JsonReader& r, const char* field) {
  auto labels = r.StringMap(field);
  if (!labels) return {};
  if (labels->size() > kMaxLabels) {
    r.Fail(field, fmt::format("at most {} labels, got {}", kMaxLabels, labels->size()));
    return {};
  }
  for (const auto& [name, value] : *labels) {
    std::string where = std::string(field) + "." + name;
    if (!IsLabelName(name)) {
      r.Fail(where.c_str(), "label names must match ^[a-zA-Z_][a-zA-Z0-9_]*$");
      return {};
    }
    if (value.size() > kMaxLabelValue) {
      r.Fail(where.c_str(),
             fmt::format("must be at most {} bytes, got {}", kMaxLabelValue, value.size()));
      return {};
    }
  }
  return *labels;
}

// "200" or "200-299": a status code or a range of them, parsed but not range-checked.
std::optional<probe::StatusRange> ParseStatusText(std::string_view s) {
  auto number = [](std::string_view t) -> std::optional<int> {
    if (t.empty() || t.size() > 3) return std::nullopt;
    int v = 0;
    for (char c : t) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  size_t dash = s.find('-');
  auto low = number(s.substr(0, dash));
  auto high = dash == std::string_view::npos ? low : number(s.substr(dash + 1));
  if (!low || !high) return std::nullopt;
  return probe::StatusRange{*low, *high};
}

std::vector<probe::StatusRange> ReadExpectedStatus(JsonReader& t) {
  constexpr const char* kShape = "a status code (200) or a range (\"200-299\")";
  std::vector<probe::StatusRange> out;
  const json::value* list = t.Raw("expected_status");
  if (!list) return out;
  if (!list->is_array()) {
    t.Fail("expected_status", std::string("must be a list, each item ") + kShape);
    return out;
  }
  for (size_t i = 0; i < list->get_array().size(); ++i) {
    const json::value& item = list->get_array()[i];
    std::string field = "expected_status[" + std::to_string(i) + "]";
    std::optional<probe::StatusRange> range;
    std::string shown;
    if (item.is_int64()) {
      const int64_t code = std::clamp<int64_t>(item.get_int64(), -1, 1000);
      range = probe::StatusRange{static_cast<int>(code), static_cast<int>(code)};
      shown = std::to_string(item.get_int64());
    } else if (item.is_string()) {
      range = ParseStatusText(item.get_string());
      shown = Quote(item.get_string());
    }
    if (!range) {
      t.Fail(field.c_str(),
             std::string("must be ") + kShape + ", got " + Abbreviate(JsonToString(item)));
      return {};
    }
    if (range->low < 100 || range->high > 599) {
      t.Fail(field.c_str(), "status codes must be 100..599, got " + shown);
      return {};
    }
    if (range->low > range->high) {
      t.Fail(field.c_str(), "the range is reversed, got " + shown);
      return {};
    }
    out.push_back(*range);
  }
  return out;
}

probe::HttpSpec ReadHttp(JsonReader& t) {
  probe::HttpSpec s;
  if (auto x = t.String("url", true)) s.url = *x;
  if (auto x = t.String("method")) s.method = *x;
  if (const json::value* headers = t.Raw("headers")) {
    if (!headers->is_object()) {
      t.Fail("headers", "must be an object of strings");
    } else {
      for (const auto& kv : headers->get_object()) {
        if (!kv.value().is_string()) {
          t.Fail(("headers." + std::string(kv.key())).c_str(), "must be a string");
          break;
        }
        s.headers.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
      }
    }
  }
  if (auto x = t.String("body")) s.body = *x;
  s.expected_status = ReadExpectedStatus(t);
  if (auto x = t.String("body_contains")) s.body_contains = *x;
  if (auto x = t.String("body_regex")) s.body_regex = *x;
  t.Object("json", [&](JsonReader& j) {
    if (auto p = j.String("path", true)) {
      if (p->empty())
        j.Fail("path", "must not be empty");
      else
        s.json_path = *p;
    }
    if (auto op = j.String("op")) {
      auto it = std::find_if(std::begin(kJsonOps), std::end(kJsonOps),
                             [&](const auto& e) { return e.second == *op; });
      if (it == std::end(kJsonOps)) {
        j.Fail("op", "must be one of ==, !=, <, <=, >, >=, contains, exists; got " + Quote(*op));
        return;
      }
      s.json_op = it->first;
    }
    const json::value* value = j.Raw("value");
    if (s.json_op == probe::JsonOp::kExists) {
      if (value) j.Fail("value", "is not used with op exists");
    } else if (!value) {
      j.Fail("value", "is required (unless op is exists)");
    } else if (value->is_string()) {
      s.json_value = value->get_string();
    } else if (value->is_bool()) {
      s.json_value = value->get_bool() ? "true" : "false";
    } else if (value->is_int64()) {
      s.json_value = std::to_string(value->get_int64());
    } else if (value->is_uint64()) {
      s.json_value = std::to_string(value->get_uint64());
    } else if (value->is_double()) {
      s.json_value = FormatNumber(value->get_double());
    } else {
      j.Fail("value", "must be a string, a number or true/false");
    }
  });
  if (auto x = t.Duration("max_response_time")) s.max_response_time = *x;
  if (auto x = t.Bool("follow_redirects")) s.follow_redirects = *x;
  if (auto x = ReadInt(t, "max_redirects", 0, 10)) s.max_redirects = *x;
  if (auto x = t.Bool("verify_tls")) s.verify_tls = *x;
  if (auto x = t.String("ca_file")) s.ca_file = *x;
  t.Object("basic_auth", [&](JsonReader& b) {
    if (auto u = b.String("username", true)) {
      if (u->empty())
        b.Fail("username", "must not be empty");
      else
        s.basic_user = *u;
    }
    if (auto p = b.String("password")) s.basic_password = *p;
  });
  if (auto x = t.String("bearer_token")) s.bearer_token = *x;
  if (auto x = t.Int("max_body_bytes")) s.max_body_bytes = *x;
  return s;
}

probe::TcpSpec ReadTcp(JsonReader& t) {
  probe::TcpSpec s;
  if (auto x = t.String("host", true)) s.host = *x;
  if (auto x = ReadInt(t, "port", 1, 65535, true)) s.port = *x;
  if (auto x = t.String("send")) s.send = *x;
  if (auto x = t.String("expect")) s.expect_regex = *x;
  return s;
}

probe::DnsSpec ReadDns(JsonReader& t) {
  probe::DnsSpec s;
  if (auto x = t.String("name", true)) s.name = *x;
  if (auto x = t.String("record")) {
    auto it = std::find_if(std::begin(kDnsRecords), std::end(kDnsRecords),
                           [&](auto r) { return Lower(probe::DnsRecordName(r)) == Lower(*x); });
    if (it == std::end(kDnsRecords))
      t.Fail("record", "must be one of A, AAAA, CNAME, MX, TXT, NS; got " + Quote(*x));
    else
      s.record = *it;
  }
  if (auto x = t.String("server")) s.server = *x;
  if (auto x = t.StringList("expected")) s.expected = *x;
  return s;
}

probe::TlsSpec ReadTls(JsonReader& t) {
  probe::TlsSpec s;
  if (auto x = t.String("host", true)) s.host = *x;
  if (auto x = ReadInt(t, "port", 1, 65535)) s.port = *x;
  if (auto x = t.String("server_name")) s.server_name = *x;
  if (auto x = t.Bool("verify")) s.verify = *x;
  if (auto x = t.String("ca_file")) s.ca_file = *x;
  if (auto x = ReadInt(t, "warning_days", 0, 3650)) s.warning_days = *x;
  if (auto x = ReadInt(t, "critical_days", 0, 3650)) s.critical_days = *x;
  return s;
}

probe::ExecSpec ReadExec(JsonReader& t) {
  probe::ExecSpec s;
  if (auto x = t.String("command", true)) s.command = *x;
  if (auto x = t.StringList("args")) s.args = *x;
  if (auto x = t.StringMap("env")) s.env = *x;
  if (auto x = t.String("working_dir")) s.working_dir = *x;
  if (auto x = t.Int("max_output_bytes")) s.max_output_bytes = *x;
  return s;
}

HeartbeatSpec ReadHeartbeat(JsonReader& t) {
  HeartbeatSpec hb;
  auto period = t.Duration("period");
  auto cron = t.String("cron");
  auto zone = t.String("time_zone");
  if (auto g = t.Duration("grace")) {
    if (*g > kMaxGrace)
      t.Fail("grace",
             "must be at most " + FormatDuration(kMaxGrace) + ", got " + FormatDuration(*g));
    else
      hb.grace = *g;
  }
  if (auto token = t.String("token")) {
    if (token->size() < kMinToken || token->size() > kMaxToken || !IsToken(*token)) {
      t.Fail("token",
             fmt::format("must be {}..{} characters of A-Z a-z 0-9 _ -", kMinToken, kMaxToken));
    } else {
      hb.token = *token;
    }
  }
  if (!t.ok()) return hb;
  if (period && cron) {
    t.Fail("cron", "cannot be combined with period; set one of them");
  } else if (!period && !cron) {
    t.Fail("period", "is required (or set cron)");
  } else if (period) {
    if (*period < kMinPeriod) {
      t.Fail("period",
             "must be at least " + FormatDuration(kMinPeriod) + ", got " + FormatDuration(*period));
    } else if (zone) {
      t.Fail("time_zone", "is only used with cron");
    } else {
      hb.period = *period;
    }
  } else {
    if (zone) hb.time_zone = *zone;
    if (!IsValidTimeZone(hb.time_zone)) {
      t.Fail("time_zone", "unknown time zone " + Quote(hb.time_zone));
      return hb;
    }
    auto parsed = CronSchedule::Parse(*cron, hb.time_zone);
    if (!parsed.ok()) {
      std::string message = parsed.status().message();
      if (StartsWith(message, "cron: ")) message.erase(0, 6);
      t.Fail("cron", message);
    } else {
      hb.cron = *cron;
    }
  }
  return hb;
}

// Prepare names a few fields after the spec's members; these are their names in the document.
Status RenameProbeField(const Status& st, const probe::Spec& spec) {
  const std::string& f = st.field();
  std::string renamed;
  if (f == "http.basic_user") {
    renamed = "http.basic_auth.username";
  } else if (f == "http.basic_password") {
    renamed = "http.basic_auth.password";
  } else if (f == "http.json_path") {
    renamed = "http.json.path";
  } else if (StartsWith(f, "http.headers[") && std::holds_alternative<probe::HttpSpec>(spec)) {
    const auto& headers = std::get<probe::HttpSpec>(spec).headers;
    size_t i = std::strtoul(f.c_str() + 13, nullptr, 10);
    if (i < headers.size()) renamed = "http.headers." + headers[i].first;
  }
  if (renamed.empty()) return st;
  return Status(st.code(), st.message(), renamed);
}

// The type object of a check built in code (no document): its spec's fields that differ from
// the defaults. A generated heartbeat token is a secret the document never named: left out.
json::object TypeObjectFromSpec(const CheckDef& def) {
  json::object o;
  if (def.type == CheckType::kHeartbeat) {
    const HeartbeatSpec& hb = def.heartbeat;
    if (!hb.cron.empty()) {
      o["cron"] = hb.cron;
      o["time_zone"] = hb.time_zone;
    } else {
      o["period"] = FormatDuration(hb.period);
    }
    o["grace"] = FormatDuration(hb.grace);
    return o;
  }
  if (!def.probe) return o;
  std::visit(
      [&](const auto& s) {
        using T = std::decay_t<decltype(s)>;
        const T d{};
        if constexpr (std::is_same_v<T, probe::HttpSpec>) {
          o["url"] = s.url;
          if (s.method != d.method) o["method"] = s.method;
          if (!s.headers.empty()) {
            json::object headers;
            for (const auto& [name, value] : s.headers) headers[name] = value;
            o["headers"] = std::move(headers);
          }
          if (!s.body.empty()) o["body"] = s.body;
          if (!s.expected_status.empty()) {
            json::array codes;
            for (const auto& r : s.expected_status) {
              if (r.low == r.high)
                codes.emplace_back(r.low);
              else
                codes.emplace_back(fmt::format("{}-{}", r.low, r.high));
            }
            o["expected_status"] = std::move(codes);
          }
          if (!s.body_contains.empty()) o["body_contains"] = s.body_contains;
          if (!s.body_regex.empty()) o["body_regex"] = s.body_regex;
          if (!s.json_path.empty()) {
            json::object j;
            j["path"] = s.json_path;
            for (const auto& [op, name] : kJsonOps)
              if (op == s.json_op) j["op"] = name;
            if (s.json_op != probe::JsonOp::kExists) j["value"] = s.json_value;
            o["json"] = std::move(j);
          }
          if (s.max_response_time) o["max_response_time"] = FormatDuration(*s.max_response_time);
          if (s.follow_redirects != d.follow_redirects) o["follow_redirects"] = s.follow_redirects;
          if (s.max_redirects != d.max_redirects) o["max_redirects"] = s.max_redirects;
          if (s.verify_tls != d.verify_tls) o["verify_tls"] = s.verify_tls;
          if (!s.ca_file.empty()) o["ca_file"] = s.ca_file;
          if (!s.basic_user.empty()) {
            json::object auth;
            auth["username"] = s.basic_user;
            if (!s.basic_password.empty()) auth["password"] = s.basic_password;
            o["basic_auth"] = std::move(auth);
          }
          if (!s.bearer_token.empty()) o["bearer_token"] = s.bearer_token;
          if (s.max_body_bytes != d.max_body_bytes) o["max_body_bytes"] = s.max_body_bytes;
        } else if constexpr (std::is_same_v<T, probe::TcpSpec>) {
          o["host"] = s.host;
          o["port"] = s.port;
          if (!s.send.empty()) o["send"] = s.send;
          if (!s.expect_regex.empty()) o["expect"] = s.expect_regex;
        } else if constexpr (std::is_same_v<T, probe::DnsSpec>) {
          o["name"] = s.name;
          if (s.record != d.record) o["record"] = probe::DnsRecordName(s.record);
          if (!s.server.empty()) o["server"] = s.server;
          if (!s.expected.empty()) {
            json::array expected;
            for (const auto& e : s.expected) expected.emplace_back(e);
            o["expected"] = std::move(expected);
          }
        } else if constexpr (std::is_same_v<T, probe::TlsSpec>) {
          o["host"] = s.host;
          if (s.port != d.port) o["port"] = s.port;
          if (!s.server_name.empty()) o["server_name"] = s.server_name;
          if (s.verify != d.verify) o["verify"] = s.verify;
          if (!s.ca_file.empty()) o["ca_file"] = s.ca_file;
          if (s.warning_days != d.warning_days) o["warning_days"] = s.warning_days;
          if (s.critical_days != d.critical_days) o["critical_days"] = s.critical_days;
        } else {
          static_assert(std::is_same_v<T, probe::ExecSpec>);
          o["command"] = s.command;
          if (!s.args.empty()) {
            json::array args;
            for (const auto& a : s.args) args.emplace_back(a);
            o["args"] = std::move(args);
          }
          if (!s.env.empty()) {
            json::object env;
            for (const auto& [k, v] : s.env) env[k] = v;
            o["env"] = std::move(env);
          }
          if (!s.working_dir.empty()) o["working_dir"] = s.working_dir;
          if (s.max_output_bytes != d.max_output_bytes) o["max_output_bytes"] = s.max_output_bytes;
        }
      },
      *def.probe);
  return o;
}

json::object LabelsJson(const std::map<std::string, std::string>& labels) {
  json::object o;
  for (const auto& [k, v] : labels) o[k] = v;
  return o;
}

// The normalised check document; `type_object` is the document's own object when there is one.
json::object BuildCheckDoc(const CheckDef& def, const json::object* type_object) {
  const bool heartbeat = def.type == CheckType::kHeartbeat;
  json::object o;
  o["service"] = def.service;
  o["name"] = def.name;
  o["type"] = CheckTypeName(def.type);
  if (!heartbeat) {
    o["interval"] = FormatDuration(def.interval);
    o["timeout"] = FormatDuration(def.timeout);
  }
  o["max_attempts"] = def.max_attempts;
  if (!heartbeat) o["retry_interval"] = FormatDuration(def.effective_retry());
  o["recovery_attempts"] = def.recovery_attempts;
  o["severity"] = SeverityName(def.severity);
  o["labels"] = LabelsJson(def.labels);
  o["enabled"] = def.enabled;
  json::object flapping;
  flapping["enabled"] = def.flap_detection;
  flapping["low"] = JsonNumber(def.flap_low);
  flapping["high"] = JsonNumber(def.flap_high);
  o["flapping"] = std::move(flapping);
  o[CheckTypeName(def.type)] = type_object ? *type_object : TypeObjectFromSpec(def);
  return o;
}

std::string FormatClock(int minute) { return fmt::format("{:02}:{:02}", minute / 60, minute % 60); }

// "HH:MM" (or "H:MM") from 00:00 to 24:00, as minutes after midnight.
std::optional<int> ParseClock(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon < 1 || colon > 2 || s.size() != colon + 3)
    return std::nullopt;
  int h = 0, m = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == colon) continue;
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    int& part = i < colon ? h : m;
    part = part * 10 + (s[i] - '0');
  }
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return std::nullopt;
  return h * 60 + m;
}

std::optional<int> ParseDay(std::string_view s) {
  std::string lower = Lower(s);
  for (int i = 0; i < 7; ++i)
    if (lower == kDays[i]) return i;
  return std::nullopt;
}

std::optional<Timestamp> ReadTime(JsonReader& r, const char* name) {
  auto s = r.String(name);
  if (!s) return std::nullopt;
  auto t = ParseRfc3339(*s);
  if (!t.ok()) {
    r.Fail(name, t.status().message());
    return std::nullopt;
  }
  return *t;
}

}  // namespace

Result<CheckDef> CheckFromJson(const json::value& v, const std::string& path) {
  JsonReader r(v, path);
  CheckDef def;
  ReadSlug(r, "service", def.service);
  ReadSlug(r, "name", def.name);
  std::optional<CheckType> type;
  if (auto s = r.String("type", true)) {
    type = ParseCheckType(*s);
    if (!type)
      r.Fail("type", "must be one of http, tcp, dns, tls, exec, heartbeat; got " + Quote(*s));
    else
      def.type = *type;
  }
  const bool heartbeat = type == CheckType::kHeartbeat;
  if (heartbeat) {
    for (const char* unused : {"interval", "timeout", "retry_interval"}) {
      if (r.Has(unused))
        r.Fail(unused,
               "is not used by heartbeats (they are judged by heartbeat.period or "
               "heartbeat.cron)");
    }
    def.max_attempts = 1;
  } else {
    if (auto d = r.Duration("interval")) {
      if (*d < kMinInterval)
        r.Fail("interval", "must be at least 1s, got " + FormatDuration(*d));
      else
        def.interval = *d;
    }
    if (auto d = r.Duration("timeout")) {
      if (d->count() <= 0)
        r.Fail("timeout", "must be positive");
      else if (*d >= def.interval)
        r.Fail("timeout", "must be less than the interval (" + FormatDuration(def.interval) + ")");
      else
        def.timeout = *d;
    } else {
      def.timeout = std::min(kDefaultTimeout, def.interval * 4 / 5);
    }
    def.retry_interval = def.interval;
    if (auto d = r.Duration("retry_interval")) {
      if (*d < kMinInterval)
        r.Fail("retry_interval", "must be at least 1s, got " + FormatDuration(*d));
      else
        def.retry_interval = *d;
    }
  }
  if (auto n = ReadInt(r, "max_attempts", 1, 10)) def.max_attempts = *n;
  if (auto n = ReadInt(r, "recovery_attempts", 1, 10)) def.recovery_attempts = *n;
  if (auto s = r.String("severity")) {
    auto severity = ParseSeverity(*s);
    if (!severity)
      r.Fail("severity", "must be critical, warning or info; got " + Quote(*s));
    else
      def.severity = *severity;
  }
  def.labels = ReadLabels(r, "labels");
  if (auto b = r.Bool("enabled")) def.enabled = *b;
  r.Object("flapping", [&](JsonReader& f) {
    if (auto b = f.Bool("enabled")) def.flap_detection = *b;
    for (auto [name, target] :
         {std::pair{"low", &def.flap_low}, std::pair{"high", &def.flap_high}}) {
      if (auto x = f.Number(name)) {
        if (*x < 0 || *x > 100)
          f.Fail(name, "must be 0..100, got " + FormatNumber(*x));
        else
          *target = *x;
      }
    }
    if (f.ok() && def.flap_low >= def.flap_high) {
      f.Fail("low", "must be less than high (" + FormatNumber(def.flap_high) + "), got " +
                        FormatNumber(def.flap_low));
    }
  });

  const json::object* type_object = nullptr;
  std::optional<probe::Spec> spec;
  if (type) {
    const std::string name(CheckTypeName(*type));
    for (CheckType other : kAllTypes) {
      const std::string other_name(CheckTypeName(other));
      if (other != *type && r.Has(other_name.c_str()))
        r.Fail(other_name.c_str(), "is not allowed for type " + name);
    }
    if (!r.Has(name.c_str())) r.Fail(name.c_str(), "is required for type " + name);
    if (const json::value* raw = r.Raw(name.c_str()); raw && raw->is_object())
      type_object = &raw->get_object();
    r.Object(name.c_str(), [&](JsonReader& t) {
      switch (*type) {
        case CheckType::kHttp:
          spec = ReadHttp(t);
          break;
        case CheckType::kTcp:
          spec = ReadTcp(t);
          break;
        case CheckType::kDns:
          spec = ReadDns(t);
          break;
        case CheckType::kTls:
          spec = ReadTls(t);
          break;
        case CheckType::kExec:
          spec = ReadExec(t);
          break;
        case CheckType::kHeartbeat:
          def.heartbeat = ReadHeartbeat(t);
          break;
      }
    });
  }

  // Read-only fields of a GET answer.
  r.Ignore("id");
  if (auto n = r.Int("version")) def.version = *n;
  for (const char* read_only : {"created_at", "updated_at", "status", "ping_url"})
    r.Ignore(read_only);
  PLATOPS_RETURN_IF_ERROR(r.Finish());

  if (!heartbeat) {
    Status st = probe::Prepare(*spec);
    if (!st.ok()) return RenameProbeField(st, *spec).WithFieldPrefix(path);
    def.probe = std::make_shared<const probe::Spec>(std::move(*spec));
  }
  def.doc = JsonToString(BuildCheckDoc(def, type_object));
  return def;
}

json::object CheckDocJson(const CheckDef& def) {
  if (!def.doc.empty()) {
    auto parsed = ParseJson(def.doc);
    if (parsed.ok() && parsed->is_object()) {
      const auto& doc = parsed->get_object();
      auto it = doc.find(CheckTypeName(def.type));
      if (it != doc.end() && it->value().is_object())
        return BuildCheckDoc(def, &it->value().get_object());
    }
  }
  return BuildCheckDoc(def, nullptr);
}

json::object CheckToJson(const CheckDef& def, const CheckStatus* status) {
  json::object o = CheckDocJson(def);
  o["id"] = def.id();
  o["version"] = def.version;
  o["created_at"] = FormatRfc3339(def.created_at);
  o["updated_at"] = FormatRfc3339(def.updated_at);
  if (def.type == CheckType::kHeartbeat && !def.heartbeat.token.empty())
    o["ping_url"] = "/ping/" + def.heartbeat.token;
  if (status) o["status"] = StatusToJson(*status);
  return o;
}

json::object StatusToJson(const CheckStatus& status) {
  const CheckState& s = status.state;
  json::object o;
  o["state"] = s.pending ? std::string_view("PENDING") : probe::OutcomeName(s.state);
  o["state_type"] = s.hard ? "hard" : "soft";
  o["attempt"] = s.attempt;
  o["since"] = TimeOrNull(s.since);
  o["hard_state"] = s.pending ? std::string_view("PENDING") : probe::OutcomeName(s.hard_state);
  o["hard_since"] = TimeOrNull(s.hard_since);
  o["flapping"] = s.flapping;
  o["flap_percent"] = JsonNumber(std::round(s.flap_percent * 100) / 100);
  o["in_maintenance"] = status.in_maintenance;
  o["suppressed_by"] =
      status.suppressed_by.empty() ? json::value(nullptr) : json::value(status.suppressed_by);
  o["next_run"] = OptionalTime(status.next_run);
  o["skipped_in_flight"] = status.skipped_in_flight;
  if (status.last) {
    json::object last = ProbeResultToJson(*status.last);
    last["in_maintenance"] = status.last_in_maintenance;
    o["last_result"] = std::move(last);
  } else {
    o["last_result"] = nullptr;
  }
  if (status.last_ping) o["last_ping"] = FormatRfc3339(*status.last_ping);
  if (status.last_start) o["last_start"] = FormatRfc3339(*status.last_start);
  if (status.last_job_duration) o["last_job_duration"] = FormatDuration(*status.last_job_duration);
  if (status.ping_deadline) o["ping_deadline"] = FormatRfc3339(*status.ping_deadline);
  return o;
}

json::object ProbeResultToJson(const probe::Result& r) {
  json::object o;
  o["outcome"] = probe::OutcomeName(r.outcome);
  o["message"] = r.message;
  o["started"] = FormatRfc3339(r.started);
  o["duration_seconds"] = Seconds(r.duration);
  if (r.http_status != 0) {
    o["http_status"] = r.http_status;
    o["response_bytes"] = r.response_bytes;
  }
  if (r.redirects > 0) o["redirects"] = r.redirects;
  if (r.http_phases) {
    json::object phases;
    phases["resolve"] = Seconds(r.http_phases->resolve);
    phases["connect"] = Seconds(r.http_phases->connect);
    phases["tls"] = Seconds(r.http_phases->tls);
    phases["processing"] = Seconds(r.http_phases->processing);
    phases["transfer"] = Seconds(r.http_phases->transfer);
    o["phases"] = std::move(phases);
  }
  if (r.cert_expiry) o["cert_expiry"] = FormatRfc3339(*r.cert_expiry);
  if (r.dns_lookup) {
    o["dns_lookup_seconds"] = Seconds(*r.dns_lookup);
    json::array answers;
    for (const auto& a : r.dns_answers) answers.emplace_back(a);
    o["dns_answers"] = std::move(answers);
  }
  if (r.exit_code >= 0) o["exit_code"] = r.exit_code;
  if (!r.perfdata.empty()) {
    json::array perf;
    for (const auto& p : r.perfdata) {
      json::object item;
      item["label"] = p.label;
      item["value"] = p.value;
      if (!p.unit.empty()) item["unit"] = p.unit;
      if (p.warn) item["warn"] = *p.warn;
      if (p.crit) item["crit"] = *p.crit;
      if (p.min) item["min"] = *p.min;
      if (p.max) item["max"] = *p.max;
      perf.emplace_back(std::move(item));
    }
    o["perfdata"] = std::move(perf);
  }
  return o;
}

Result<MaintenanceWindow> WindowFromJson(const json::value& v, const std::string& path) {
  JsonReader r(v, path);
  MaintenanceWindow w;
  ReadSlug(r, "name", w.name);
  if (auto services = r.StringList("services", true)) {
    if (services->empty()) r.Fail("services", "must name at least one service");
    std::set<std::string> seen;
    for (size_t i = 0; i < services->size(); ++i) {
      const std::string& s = (*services)[i];
      const std::string field = "services[" + std::to_string(i) + "]";
      if (!catalog::IsSlug(s))
        r.Fail(field.c_str(), "must be a service slug, got " + Quote(s));
      else if (!seen.insert(s).second)
        r.Fail(field.c_str(), Quote(s) + " is listed twice");
    }
    w.services = *services;
  }
  w.check_labels = ReadLabels(r, "check_labels");
  MaintenanceTiming& t = w.timing;
  t.start = ReadTime(r, "start");
  t.end = ReadTime(r, "end");
  if (auto cron = r.String("cron")) {
    if (cron->empty())
      r.Fail("cron", "must not be empty");
    else
      t.cron = *cron;
  }
  if (auto d = r.Duration("duration")) {
    if (d->count() % 60000 != 0)
      r.Fail("duration", "must be whole minutes, got " + FormatDuration(*d));
    else
      t.duration = std::chrono::duration_cast<std::chrono::minutes>(*d);
  }
  if (const json::value* weekly = r.Raw("weekly");
      weekly && weekly->is_array() && weekly->get_array().empty())
    r.Fail("weekly", "must have at least one range");
  r.ObjectList("weekly", [&](JsonReader& item, size_t) {
    WeeklyRange range;
    auto read_day = [&](const char* name, bool required) -> std::optional<int> {
      auto s = item.String(name, required);
      if (!s) return std::nullopt;
      auto day = ParseDay(*s);
      if (!day)
        item.Fail(name, "must be one of sun, mon, tue, wed, thu, fri, sat; got " + Quote(*s));
      return day;
    };
    auto read_clock = [&](const char* name) -> std::optional<int> {
      auto s = item.String(name, true);
      if (!s) return std::nullopt;
      auto minute = ParseClock(*s);
      if (!minute) item.Fail(name, "must be a time HH:MM from 00:00 to 24:00, got " + Quote(*s));
      return minute;
    };
    auto day = read_day("day", true);
    auto start = read_clock("start");
    auto end_day = read_day("end_day", false);
    auto end = read_clock("end");
    if (!item.ok()) return;
    range.day = *day;
    range.start_minute = *start;
    range.end_minute = *end;
    range.end_day = end_day ? *end_day : (*end <= *start ? (*day + 1) % 7 : *day);
    t.weekly.push_back(range);
  });
  if (auto zone = r.String("time_zone")) t.time_zone = *zone;
  if (auto reason = r.String("reason")) {
    if (reason->size() > kMaxReason)
      r.Fail("reason", fmt::format("must be at most {} bytes, got {}", kMaxReason, reason->size()));
    else
      w.reason = *reason;
  }
  // Read-only fields of a GET answer.
  r.Ignore("created_by");
  if (auto n = r.Int("version")) w.version = *n;
  r.Ignore("created_at");
  r.Ignore("updated_at");
  PLATOPS_RETURN_IF_ERROR(r.Finish());
  PLATOPS_RETURN_IF_ERROR(ValidateTiming(t).WithFieldPrefix(path));
  w.doc = JsonToString(WindowDocJson(w));
  return w;
}

json::object WindowDocJson(const MaintenanceWindow& w) {
  const MaintenanceTiming& t = w.timing;
  json::object o;
  o["name"] = w.name;
  json::array services;
  for (const auto& s : w.services) services.emplace_back(s);
  o["services"] = std::move(services);
  o["check_labels"] = LabelsJson(w.check_labels);
  if (t.start) o["start"] = FormatRfc3339(*t.start);
  if (t.end) o["end"] = FormatRfc3339(*t.end);
  if (!t.cron.empty()) o["cron"] = t.cron;
  if (t.duration.count() != 0) o["duration"] = FormatDuration(t.duration);
  if (!t.weekly.empty()) {
    json::array weekly;
    for (const auto& range : t.weekly) {
      json::object item;
      item["day"] = kDays[range.day % 7];
      item["start"] = FormatClock(range.start_minute);
      item["end_day"] = kDays[range.end_day % 7];
      item["end"] = FormatClock(range.end_minute);
      weekly.emplace_back(std::move(item));
    }
    o["weekly"] = std::move(weekly);
  }
  o["time_zone"] = t.time_zone;
  o["reason"] = w.reason;
  return o;
}

json::object WindowToJson(const MaintenanceWindow& w) {
  json::object o = WindowDocJson(w);
  o["created_by"] = w.created_by;
  o["version"] = w.version;
  o["created_at"] = FormatRfc3339(w.created_at);
  o["updated_at"] = FormatRfc3339(w.updated_at);
  return o;
}

json::object StoredResultToJson(const StoredResult& r) {
  json::object o;
  o["at"] = FormatRfc3339(r.at);
  o["outcome"] = probe::OutcomeName(r.outcome);
  o["duration_seconds"] = Seconds(r.duration);
  o["message"] = r.message;
  o["in_maintenance"] = r.in_maintenance;
  if (!r.details.empty()) {
    auto details = ParseJson(r.details);
    if (details.ok()) o["details"] = std::move(details).value();
  }
  return o;
}

json::object AvailabilityToJson(const std::string& subject, const AvailabilitySummary& a) {
  const AvailabilityReport& rep = a.report;
  json::object o;
  o["subject"] = subject;
  o["from"] = FormatRfc3339(rep.from);
  o["to"] = FormatRfc3339(rep.to);
  o["monitored_seconds"] = Seconds(rep.monitored);
  o["maintenance_seconds"] = Seconds(rep.maintenance);
  o["down_seconds"] = Seconds(rep.down);
  o["uptime_percent"] = OptionalNumber(rep.uptime_percent);
  json::array outages;
  for (const auto& out : rep.outages) {
    json::object item;
    item["start"] = FormatRfc3339(out.start);
    item["end"] = FormatRfc3339(out.end);
    item["duration_seconds"] =
        Seconds(std::chrono::duration_cast<milliseconds>(out.end - out.start));
    item["cause"] = out.cause;
    item["ongoing"] = out.ongoing;
    outages.emplace_back(std::move(item));
  }
  o["outages"] = std::move(outages);
  json::object response;
  response["count"] = a.response.count;
  response["mean_ms"] = OptionalNumber(a.response.mean_ms);
  response["p95_ms"] = OptionalNumber(a.response.p95_ms);
  response["min_ms"] = OptionalNumber(a.response.min_ms);
  response["max_ms"] = OptionalNumber(a.response.max_ms);
  o["response_times"] = std::move(response);
  return o;
}

}  // namespace platops::checks
