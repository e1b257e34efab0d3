#include "ingest/prom_config.h"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <span>
#include <sstream>

#include "base/json_reader.h"
#include "base/strings.h"
#include "base/time_util.h"

namespace platops::ingest {

namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

std::string Quote(std::string_view s) { return QuoteForMessage(s); }

std::string Join(std::string_view ctx, std::string_view msg) {
  if (ctx.empty()) return std::string(msg);
  return std::string(ctx) + ": " + std::string(msg);
}

std::string Indexed(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

// A mapping being read: remembers the keys asked for, so the others can be reported.
class Fields {
 public:
  Fields(const json::object* obj, std::string path) : obj_(obj), path_(std::move(path)) {}

  // The value of `key`, or nullptr when absent (a present null is returned as null).
  const json::value* Get(std::string_view key) {
    taken_.insert(std::string(key));
    if (!obj_) return nullptr;
    auto it = obj_->find(key);
    return it == obj_->end() ? nullptr : &it->value();
  }
  std::string Path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  // Keys nobody asked for, in document order.
  std::vector<std::string> Untaken() const {
    std::vector<std::string> out;
    if (!obj_) return out;
    for (const auto& kv : *obj_) {
      std::string key(kv.key());
      if (!taken_.contains(key)) out.push_back(std::move(key));
    }
    return out;
  }

 private:
  const json::object* obj_;
  std::string path_;
  std::set<std::string> taken_;
};

Result<Fields> OpenMapping(const json::value* v, const std::string& path) {
  if (!v || v->is_null()) return Fields(nullptr, path);
  if (!v->is_object()) return InvalidArgument("must be a mapping", path);
  return Fields(&v->get_object(), path);
}

// Readers with yaml.v2's typing: absent gives the default, null the zero value.

Result<std::string> ReadString(const json::value* v, const std::string& path,
                               std::string def = {}) {
  if (!v) return def;
  auto text = ScalarText(*v);
  if (!text) return InvalidArgument("must be a string", path);
  return std::move(*text);
}

Result<bool> ReadBool(const json::value* v, const std::string& path, bool def) {
  if (!v) return def;
  if (v->is_null()) return false;
  if (v->is_bool()) return v->get_bool();
  if (v->is_string()) {
    // YAML 1.1 booleans, as yaml.v2 resolves them.
    static constexpr std::string_view kTrue[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                                 "on",   "On",   "ON",   "y",   "Y"};
    static constexpr std::string_view kFalse[] = {"false", "False", "FALSE", "no", "No", "NO",
                                                  "off",   "Off",   "OFF",   "n",  "N"};
    std::string_view s = v->get_string();
    if (std::find(std::begin(kTrue), std::end(kTrue), s) != std::end(kTrue)) return true;
    if (std::find(std::begin(kFalse), std::end(kFalse), s) != std::end(kFalse)) return false;
  }
  return InvalidArgument("must be true or false", path);
}

Result<uint64_t> ReadUint(const json::value* v, const std::string& path, uint64_t def = 0) {
  if (!v) return def;
  if (v->is_null()) return uint64_t{0};
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<uint64_t>(v->get_int64());
  if (v->is_string()) {
    std::string_view s = v->get_string();
    if (!s.empty() && s[0] == '+') s.remove_prefix(1);
    uint64_t n = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), n);
    if (!s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size()) return n;
  }
  return InvalidArgument("must be a non-negative integer", path);
}

Result<milliseconds> ReadDuration(const json::value* v, const std::string& path, milliseconds def) {
  if (!v) return def;
  if (v->is_null()) return milliseconds(0);
  if (!v->is_string()) return InvalidArgument("must be a duration like 30s, 5m or 1h30m", path);
  auto d = ParseDuration(v->get_string());
  if (!d.ok()) return InvalidArgument(d.status().message(), path);
  return d.value();
}

Result<std::vector<std::string>> ReadStringList(const json::value* v, const std::string& path) {
  std::vector<std::string> out;
  if (!v || v->is_null()) return out;
  if (!v->is_array()) return InvalidArgument("must be a list of strings", path);
  const auto& arr = v->get_array();
  for (size_t i = 0; i < arr.size(); ++i) {
    auto text = ScalarText(arr[i]);
    if (!text) return InvalidArgument("must be a string", Indexed(path, i));
    out.push_back(std::move(*text));
  }
  return out;
}

// alecthomas/units ParseBase2Bytes, as Prometheus reads body_size_limit: "0" or one or more
// <number><unit> with B, KB/KiB, MB/MiB, ... EB/EiB, all powers of 1024.
Result<uint64_t> ReadBytes(const json::value* v, const std::string& path, uint64_t def) {
  if (!v) return def;
  if (v->is_null()) return uint64_t{0};
  auto bad = [&] { return InvalidArgument("must be a size like 10MB or 512KiB", path); };
  if (!v->is_string()) return bad();
  std::string_view s = v->get_string();
  if (s == "0") return uint64_t{0};
  if (s.empty()) return bad();
  static constexpr std::pair<std::string_view, int> kUnits[] = {
      {"B", 0},  {"KB", 1},  {"KiB", 1}, {"MB", 2},  {"MiB", 2}, {"GB", 3}, {"GiB", 3},
      {"TB", 4}, {"TiB", 4}, {"PB", 5},  {"PiB", 5}, {"EB", 6},  {"EiB", 6}};
  long double total = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t start = pos;
    while (pos < s.size() && (std::isdigit(static_cast<unsigned char>(s[pos])) || s[pos] == '.'))
      ++pos;
    if (pos == start) return bad();
    std::string number(s.substr(start, pos - start));
    char* end = nullptr;
    long double n = std::strtold(number.c_str(), &end);
    if (end != number.c_str() + number.size()) return bad();
    size_t ustart = pos;
    while (pos < s.size() && std::isalpha(static_cast<unsigned char>(s[pos]))) ++pos;
    std::string_view unit = s.substr(ustart, pos - ustart);
    int power = -1;
    for (const auto& [name, p] : kUnits)
      if (name == unit) power = p;
    if (power < 0) return bad();
    for (int i = 0; i < power; ++i) n *= 1024;
    total += n;
  }
  if (total > 1.8e19L) return bad();
  return static_cast<uint64_t>(total);
}

// os.Expand with Prometheus's mapping for external label values: $$ and ${$} give "$".
std::string ExpandEnv(std::string_view s, std::vector<std::string>& empty_vars) {
  auto special = [](char c) {
    return c == '*' || c == '#' || c == '$' || c == '@' || c == '!' || c == '?' || c == '-' ||
           (c >= '0' && c <= '9');
  };
  auto alnum = [](char c) { return c == '_' || std::isalnum(static_cast<unsigned char>(c)); };
  auto lookup = [&](std::string_view name) -> std::string {
    if (name == "$") return "$";
    const char* v = std::getenv(std::string(name).c_str());
    if (!v || !*v) {
      empty_vars.emplace_back(name);
      return "";
    }
    return v;
  };
  std::string out;
  size_t i = 0;
  for (size_t j = 0; j < s.size(); ++j) {
    if (s[j] != '$' || j + 1 >= s.size()) continue;
    out.append(s.substr(i, j - i));
    std::string_view rest = s.substr(j + 1);
    std::string_view name;
    size_t w = 0;
    if (rest[0] == '{') {
      if (rest.size() > 2 && special(rest[1]) && rest[2] == '}') {
        name = rest.substr(1, 1);
        w = 3;
      } else {
        w = 1;  // "${" without a closing brace is eaten.
        for (size_t k = 1; k < rest.size(); ++k) {
          if (rest[k] == '}') {
            if (k == 1) {
              w = 2;  // "${}" is eaten.
            } else {
              name = rest.substr(1, k - 1);
              w = k + 1;
            }
            break;
          }
        }
      }
    } else if (special(rest[0])) {
      name = rest.substr(0, 1);
      w = 1;
    } else {
      while (w < rest.size() && alnum(rest[w])) ++w;
      name = rest.substr(0, w);
    }
    if (name.empty() && w == 0) {
      out += '$';  // '$' not followed by a name stays.
    } else if (!name.empty()) {
      out += lookup(name);
    }
    j += w;
    i = j + 1;
  }
  if (i < s.size()) out.append(s.substr(i));
  return out;
}

Result<metrics::Labels> ReadLabelMap(const json::value* v, const std::string& path) {
  metrics::Labels out;
  if (!v || v->is_null()) return out;
  if (!v->is_object()) return InvalidArgument("must be a mapping of label names to values", path);
  for (const auto& kv : v->get_object()) {
    std::string name(kv.key());
    if (!IsValidLabelName(name))
      return InvalidArgument(Quote(name) + " is not a valid label name", path);
    auto value = ScalarText(kv.value());
    if (!value) return InvalidArgument("must be a string", path + "." + name);
    if (!IsValidUtf8(*value))
      return InvalidArgument(Quote(Abbreviate(*value)) + " is not a valid label value",
                             path + "." + name);
    out.push_back({std::move(name), std::move(*value)});
  }
  return out;
}

bool IsValidRulePattern(std::string_view p) {
  // ^[^*]*(\*[^/]*)?$
  size_t star = p.find('*');
  return star == std::string_view::npos ||
         p.find_first_of("*/", star + 1) == std::string_view::npos;
}

constexpr std::string_view kUnsupportedTop[] = {
    "remote_write", "remote_read", "storage", "tracing", "otlp", "runtime", "scrape_config_files"};
constexpr std::string_view kUnsupportedGlobal[] = {"query_log_file",
                                                   "scrape_failure_log_file",
                                                   "scrape_protocols",
                                                   "metric_name_validation_scheme",
                                                   "metric_name_escaping_scheme",
                                                   "scrape_native_histograms",
                                                   "convert_classic_histograms_to_nhcb",
                                                   "always_scrape_classic_histograms",
                                                   "extra_scrape_metrics"};
constexpr std::string_view kUnsupportedScrape[] = {"track_timestamps_staleness",
                                                   "scrape_protocols",
                                                   "fallback_scrape_protocol",
                                                   "scrape_classic_histograms",
                                                   "always_scrape_classic_histograms",
                                                   "convert_classic_histograms_to_nhcb",
                                                   "scrape_native_histograms",
                                                   "native_histogram_bucket_limit",
                                                   "native_histogram_min_bucket_factor",
                                                   "scrape_failure_log_file",
                                                   "metric_name_validation_scheme",
                                                   "metric_name_escaping_scheme",
                                                   "extra_scrape_metrics",
                                                   "enable_http2",
                                                   "oauth2",
                                                   "proxy_url",
                                                   "no_proxy",
                                                   "proxy_from_environment",
                                                   "proxy_connect_header",
                                                   "http_headers"};

bool In(std::span<const std::string_view> list, std::string_view key) {
  return std::find(list.begin(), list.end(), key) != list.end();
}

class ConfigParser {
 public:
  explicit ConfigParser(std::string_view dir) : dir_(dir) {}

  Result<PromConfig> Parse(const json::value& root) {
    PromConfig config;
    PLATOPS_ASSIGN_OR_RETURN(Fields top, OpenMapping(&root, ""));
    PLATOPS_ASSIGN_OR_RETURN(config.global, ParseGlobal(top.Get("global")));

    PLATOPS_ASSIGN_OR_RETURN(auto rules, ReadStringList(top.Get("rule_files"), "rule_files"));
    for (size_t i = 0; i < rules.size(); ++i) {
      if (!IsValidRulePattern(rules[i]))
        return InvalidArgument("invalid rule file path " + Quote(rules[i]),
                               Indexed("rule_files", i));
      config.rule_files.push_back(JoinDir(rules[i]));
    }

    if (const json::value* sc = top.Get("scrape_configs"); sc && !sc->is_null()) {
      if (!sc->is_array()) return InvalidArgument("must be a list", "scrape_configs");
      std::map<std::string, size_t> seen;
      const auto& arr = sc->get_array();
      for (size_t i = 0; i < arr.size(); ++i) {
        const std::string path = Indexed("scrape_configs", i);
        PLATOPS_ASSIGN_OR_RETURN(auto job, ParseScrape(arr[i], path, config.global));
        auto [it, inserted] = seen.emplace(job.job_name, i);
        if (!inserted)
          return InvalidArgument("found multiple scrape configs with job name " +
                                     Quote(job.job_name) + " (first in " +
                                     Indexed("scrape_configs", it->second) + ")",
                                 path + ".job_name");
        config.scrape_configs.push_back(std::move(job));
      }
    }

    if (const json::value* alerting = top.Get("alerting"); alerting && !alerting->is_null()) {
      if (!alerting->is_object()) return InvalidArgument("must be a mapping", "alerting");
      config.alerting_json = JsonToString(*alerting);
    }

    ReportRest(top, "", kUnsupportedTop);
    config.warnings = std::move(warnings_);
    return config;
  }

 private:
  void Warn(std::string_view ctx, std::string_view msg) { warnings_.push_back(Join(ctx, msg)); }

  // Reports every key of `f` nobody read: as unsupported when listed, else as unknown.
  void ReportRest(const Fields& f, std::string_view ctx,
                  std::span<const std::string_view> unsupported) {
    for (const auto& key : f.Untaken()) {
      if (In(unsupported, key)) {
        Warn(ctx, key + " is not supported by platops; ignored");
      } else {
        Warn(ctx, "unknown field " + Quote(key) + "; ignored");
      }
    }
  }

  // Go's config.JoinDir: relative paths are joined to the config file's directory.
  std::string JoinDir(const std::string& p) const {
    if (p.empty() || p[0] == '/' || dir_.empty()) return p;
    return (std::filesystem::path(dir_) / p).lexically_normal().string();
  }

  Result<ScrapeLimits> ParseLimits(Fields& f, const ScrapeLimits& inherit) {
    ScrapeLimits l;
    auto one = [&](const char* key, uint64_t parent) -> Result<uint64_t> {
      PLATOPS_ASSIGN_OR_RETURN(uint64_t v, ReadUint(f.Get(key), f.Path(key)));
      return v == 0 ? parent : v;
    };
    PLATOPS_ASSIGN_OR_RETURN(l.sample_limit, one("sample_limit", inherit.sample_limit));
    PLATOPS_ASSIGN_OR_RETURN(l.target_limit, one("target_limit", inherit.target_limit));
    PLATOPS_ASSIGN_OR_RETURN(l.label_limit, one("label_limit", inherit.label_limit));
    PLATOPS_ASSIGN_OR_RETURN(l.label_name_length_limit,
                             one("label_name_length_limit", inherit.label_name_length_limit));
    PLATOPS_ASSIGN_OR_RETURN(l.label_value_length_limit,
                             one("label_value_length_limit", inherit.label_value_length_limit));
    PLATOPS_ASSIGN_OR_RETURN(l.keep_dropped_targets,
                             one("keep_dropped_targets", inherit.keep_dropped_targets));
    PLATOPS_ASSIGN_OR_RETURN(uint64_t body,
                             ReadBytes(f.Get("body_size_limit"), f.Path("body_size_limit"), 0));
    l.body_size_limit = body == 0 ? inherit.body_size_limit : body;
    return l;
  }

  Result<GlobalConfig> ParseGlobal(const json::value* v) {
    GlobalConfig g;
    PLATOPS_ASSIGN_OR_RETURN(Fields f, OpenMapping(v, "global"));
    PLATOPS_ASSIGN_OR_RETURN(auto interval,
                             ReadDuration(f.Get("scrape_interval"), f.Path("scrape_interval"), {}));
    PLATOPS_ASSIGN_OR_RETURN(auto timeout,
                             ReadDuration(f.Get("scrape_timeout"), f.Path("scrape_timeout"), {}));
    PLATOPS_ASSIGN_OR_RETURN(
        auto eval, ReadDuration(f.Get("evaluation_interval"), f.Path("evaluation_interval"), {}));
    PLATOPS_ASSIGN_OR_RETURN(
        g.rule_query_offset,
        ReadDuration(f.Get("rule_query_offset"), f.Path("rule_query_offset"), milliseconds(0)));
    if (interval.count() != 0) g.scrape_interval = interval;
    if (timeout > g.scrape_interval)
      return InvalidArgument("global scrape timeout (" + FormatPromDuration(timeout) +
                                 ") greater than scrape interval (" +
                                 FormatPromDuration(g.scrape_interval) + ")",
                             f.Path("scrape_timeout"));
    g.scrape_timeout =
        timeout.count() != 0 ? timeout : std::min(milliseconds(10000), g.scrape_interval);
    if (eval.count() != 0) g.evaluation_interval = eval;

    PLATOPS_ASSIGN_OR_RETURN(auto external,
                             ReadLabelMap(f.Get("external_labels"), f.Path("external_labels")));
    for (auto& l : external) {
      std::vector<std::string> empty_vars;
      l.value = ExpandEnv(l.value, empty_vars);
      for (const auto& var : empty_vars)
        Warn(f.Path("external_labels." + l.name),
             "environment variable " + Quote(var) + " is empty or unset");
    }
    g.external_labels = metrics::Normalize(std::move(external));
    PLATOPS_ASSIGN_OR_RETURN(g.limits, ParseLimits(f, ScrapeLimits{}));
    ReportRest(f, "global", kUnsupportedGlobal);
    return g;
  }

  Result<TlsConfig> ParseTls(const json::value* v, const std::string& path) {
    TlsConfig t;
    PLATOPS_ASSIGN_OR_RETURN(Fields f, OpenMapping(v, path));
    PLATOPS_ASSIGN_OR_RETURN(t.ca, ReadString(f.Get("ca"), f.Path("ca")));
    PLATOPS_ASSIGN_OR_RETURN(t.ca_file, ReadString(f.Get("ca_file"), f.Path("ca_file")));
    PLATOPS_ASSIGN_OR_RETURN(t.cert, ReadString(f.Get("cert"), f.Path("cert")));
    PLATOPS_ASSIGN_OR_RETURN(t.cert_file, ReadString(f.Get("cert_file"), f.Path("cert_file")));
    PLATOPS_ASSIGN_OR_RETURN(t.key, ReadString(f.Get("key"), f.Path("key")));
    PLATOPS_ASSIGN_OR_RETURN(t.key_file, ReadString(f.Get("key_file"), f.Path("key_file")));
    PLATOPS_ASSIGN_OR_RETURN(t.server_name,
                             ReadString(f.Get("server_name"), f.Path("server_name")));
    PLATOPS_ASSIGN_OR_RETURN(
        t.insecure_skip_verify,
        ReadBool(f.Get("insecure_skip_verify"), f.Path("insecure_skip_verify"), false));
    PLATOPS_ASSIGN_OR_RETURN(t.min_version,
                             ReadString(f.Get("min_version"), f.Path("min_version")));
    PLATOPS_ASSIGN_OR_RETURN(t.max_version,
                             ReadString(f.Get("max_version"), f.Path("max_version")));
    for (const char* key : {"min_version", "max_version"}) {
      const std::string& version =
          std::string_view(key) == "min_version" ? t.min_version : t.max_version;
      if (!version.empty() && version != "TLS10" && version != "TLS11" && version != "TLS12" &&
          version != "TLS13")
        return InvalidArgument("unknown TLS version: " + version, f.Path(key));
    }
    if (!t.min_version.empty() && !t.max_version.empty() && t.max_version < t.min_version)
      return InvalidArgument(
          "tls_config.max_version must be greater than or equal to tls_config.min_version if both "
          "are specified",
          f.Path("max_version"));
    if (!t.ca.empty() && !t.ca_file.empty())
      return InvalidArgument("at most one of ca, ca_file & ca_ref must be configured", path);
    if (!t.cert.empty() && !t.cert_file.empty())
      return InvalidArgument("at most one of cert, cert_file & cert_ref must be configured", path);
    if (!t.key.empty() && !t.key_file.empty())
      return InvalidArgument("at most one of key and key_file must be configured", path);
    bool has_cert = !t.cert.empty() || !t.cert_file.empty();
    bool has_key = !t.key.empty() || !t.key_file.empty();
    if (has_cert && !has_key)
      return InvalidArgument(
          "exactly one of key or key_file must be configured when a client certificate is "
          "configured",
          path);
    if (has_key && !has_cert)
      return InvalidArgument(
          "exactly one of cert or cert_file must be configured when a client key is configured",
          path);
    t.ca_file = JoinDir(t.ca_file);
    t.cert_file = JoinDir(t.cert_file);
    t.key_file = JoinDir(t.key_file);
    static constexpr std::string_view kUnsupported[] = {"ca_ref", "cert_ref", "key_ref",
                                                        "next_protos"};
    ReportRest(f, path, kUnsupported);
    return t;
  }

  // prometheus/common's HTTPClientConfig, inlined into a scrape config.
  Result<HttpClientConfig> ParseHttp(Fields& f, const std::string& path, const std::string& ctx) {
    HttpClientConfig h;
    static constexpr std::string_view kUnsupportedRef[] = {"username_ref", "password_ref",
                                                           "credentials_ref"};
    if (const json::value* v = f.Get("basic_auth"); v && !v->is_null()) {
      PLATOPS_ASSIGN_OR_RETURN(Fields b, OpenMapping(v, f.Path("basic_auth")));
      BasicAuth a;
      PLATOPS_ASSIGN_OR_RETURN(a.username, ReadString(b.Get("username"), b.Path("username")));
      PLATOPS_ASSIGN_OR_RETURN(a.username_file,
                               ReadString(b.Get("username_file"), b.Path("username_file")));
      PLATOPS_ASSIGN_OR_RETURN(a.password, ReadString(b.Get("password"), b.Path("password")));
      PLATOPS_ASSIGN_OR_RETURN(a.password_file,
                               ReadString(b.Get("password_file"), b.Path("password_file")));
      if (!a.username.empty() && !a.username_file.empty())
        return InvalidArgument(
            "at most one of basic_auth username, username_file & username_ref must be configured",
            f.Path("basic_auth"));
      if (!a.password.empty() && !a.password_file.empty())
        return InvalidArgument(
            "at most one of basic_auth password, password_file & password_ref must be configured",
            f.Path("basic_auth"));
      a.username_file = JoinDir(a.username_file);
      a.password_file = JoinDir(a.password_file);
      ReportRest(b, f.Path("basic_auth"), kUnsupportedRef);
      h.basic_auth = std::move(a);
    }
    PLATOPS_ASSIGN_OR_RETURN(std::string bearer_token,
                             ReadString(f.Get("bearer_token"), f.Path("bearer_token")));
    PLATOPS_ASSIGN_OR_RETURN(std::string bearer_token_file,
                             ReadString(f.Get("bearer_token_file"), f.Path("bearer_token_file")));
    const json::value* oauth2 = f.Get("oauth2");
    bool has_oauth2 = oauth2 && !oauth2->is_null();
    if (has_oauth2) Warn(ctx, "oauth2 is not supported by platops; ignored");
    bool has_bearer = !bearer_token.empty() || !bearer_token_file.empty();
    if (!bearer_token.empty() && !bearer_token_file.empty())
      return InvalidArgument("at most one of bearer_token & bearer_token_file must be configured",
                             f.Path("bearer_token_file"));
    if ((h.basic_auth || has_oauth2) && has_bearer)
      return InvalidArgument(
          "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
          path);
    if (const json::value* v = f.Get("authorization"); v && !v->is_null()) {
      PLATOPS_ASSIGN_OR_RETURN(Fields a, OpenMapping(v, f.Path("authorization")));
      Authorization auth;
      PLATOPS_ASSIGN_OR_RETURN(auth.type, ReadString(a.Get("type"), a.Path("type")));
      PLATOPS_ASSIGN_OR_RETURN(auth.credentials,
                               ReadString(a.Get("credentials"), a.Path("credentials")));
      PLATOPS_ASSIGN_OR_RETURN(auth.credentials_file,
                               ReadString(a.Get("credentials_file"), a.Path("credentials_file")));
      if (has_bearer)
        return InvalidArgument(
            "authorization is not compatible with bearer_token & "
            "bearer_token_file",
            f.Path("authorization"));
      if (!auth.credentials.empty() && !auth.credentials_file.empty())
        return InvalidArgument(
            "at most one of authorization credentials & credentials_file must be configured",
            f.Path("authorization"));
      auto first = auth.type.find_first_not_of(" \t\r\n");
      auth.type = first == std::string::npos
                      ? std::string()
                      : auth.type.substr(first, auth.type.find_last_not_of(" \t\r\n") - first + 1);
      if (auth.type.empty()) auth.type = "Bearer";
      if (EqualsIgnoreCase(auth.type, "basic"))
        return InvalidArgument(
            "authorization type cannot be set to \"basic\", use \"basic_auth\" "
            "instead",
            a.Path("type"));
      if (h.basic_auth || has_oauth2)
        return InvalidArgument(
            "at most one of basic_auth, oauth2 & authorization must be "
            "configured",
            path);
      auth.credentials_file = JoinDir(auth.credentials_file);
      ReportRest(a, f.Path("authorization"), kUnsupportedRef);
      h.authorization = std::move(auth);
    } else if (!bearer_token.empty()) {
      h.authorization = Authorization{"Bearer", bearer_token, ""};
    } else if (!bearer_token_file.empty()) {
      h.authorization = Authorization{"Bearer", "", JoinDir(bearer_token_file)};
    }
    if (has_oauth2 && h.basic_auth)
      return InvalidArgument("at most one of basic_auth, oauth2 & authorization must be configured",
                             path);
    PLATOPS_ASSIGN_OR_RETURN(h.tls, ParseTls(f.Get("tls_config"), f.Path("tls_config")));
    PLATOPS_ASSIGN_OR_RETURN(h.follow_redirects,
                             ReadBool(f.Get("follow_redirects"), f.Path("follow_redirects"), true));
    return h;
  }

  Result<FileSdConfig> ParseFileSd(const json::value& v, const std::string& path) {
    if (v.is_null()) return InvalidArgument("empty or null file_sd_config", path);
    PLATOPS_ASSIGN_OR_RETURN(Fields f, OpenMapping(&v, path));
    FileSdConfig c;
    PLATOPS_ASSIGN_OR_RETURN(auto files, ReadStringList(f.Get("files"), f.Path("files")));
    if (files.empty())
      return InvalidArgument("file service discovery config must contain at least one path name",
                             f.Path("files"));
    for (size_t i = 0; i < files.size(); ++i) {
      if (!IsValidFileSdPattern(files[i]))
        return InvalidArgument("path name " + Quote(files[i]) + " is not valid for file discovery",
                               Indexed(f.Path("files"), i));
      c.files.push_back(JoinDir(files[i]));
    }
    PLATOPS_ASSIGN_OR_RETURN(c.refresh_interval,
                             ReadDuration(f.Get("refresh_interval"), f.Path("refresh_interval"),
                                          FileSd::kDefaultRefreshInterval));
    if (c.refresh_interval.count() <= 0)
      return InvalidArgument("must be greater than 0s", f.Path("refresh_interval"));
    ReportRest(f, path, {});
    return c;
  }

  Result<ScrapeConfig> ParseScrape(const json::value& v, const std::string& path,
                                   const GlobalConfig& g) {
    if (v.is_null()) return InvalidArgument("empty or null scrape config section", path);
    PLATOPS_ASSIGN_OR_RETURN(Fields f, OpenMapping(&v, path));
    ScrapeConfig c;
    PLATOPS_ASSIGN_OR_RETURN(c.job_name, ReadString(f.Get("job_name"), f.Path("job_name")));
    if (c.job_name.empty()) return InvalidArgument("job_name is empty", f.Path("job_name"));
    const std::string ctx = path + " (job " + Quote(c.job_name) + ")";

    PLATOPS_ASSIGN_OR_RETURN(
        c.scrape_interval,
        ReadDuration(f.Get("scrape_interval"), f.Path("scrape_interval"), milliseconds(0)));
    PLATOPS_ASSIGN_OR_RETURN(
        c.scrape_timeout,
        ReadDuration(f.Get("scrape_timeout"), f.Path("scrape_timeout"), milliseconds(0)));
    if (c.scrape_interval.count() == 0) c.scrape_interval = g.scrape_interval;
    if (c.scrape_timeout > c.scrape_interval)
      return InvalidArgument("scrape timeout (" + FormatPromDuration(c.scrape_timeout) +
                                 ") greater than scrape interval (" +
                                 FormatPromDuration(c.scrape_interval) +
                                 ") for scrape config with job name " + Quote(c.job_name),
                             f.Path("scrape_timeout"));
    if (c.scrape_timeout.count() == 0)
      c.scrape_timeout = std::min(g.scrape_timeout, c.scrape_interval);

    PLATOPS_ASSIGN_OR_RETURN(c.metrics_path,
                             ReadString(f.Get("metrics_path"), f.Path("metrics_path"), "/metrics"));
    PLATOPS_ASSIGN_OR_RETURN(c.scheme, ReadString(f.Get("scheme"), f.Path("scheme"), "http"));
    if (c.scheme != "http" && c.scheme != "https")
      return InvalidArgument("must be http or https, got " + Quote(c.scheme), f.Path("scheme"));

    if (const json::value* p = f.Get("params"); p && !p->is_null()) {
      if (!p->is_object())
        return InvalidArgument("must be a mapping of names to lists of values", f.Path("params"));
      for (const auto& kv : p->get_object()) {
        const std::string key(kv.key());
        PLATOPS_ASSIGN_OR_RETURN(auto values,
                                 ReadStringList(&kv.value(), f.Path("params") + "." + key));
        c.params[key] = std::move(values);
      }
    }
    PLATOPS_ASSIGN_OR_RETURN(c.honor_labels,
                             ReadBool(f.Get("honor_labels"), f.Path("honor_labels"), false));
    PLATOPS_ASSIGN_OR_RETURN(c.honor_timestamps,
                             ReadBool(f.Get("honor_timestamps"), f.Path("honor_timestamps"), true));
    PLATOPS_ASSIGN_OR_RETURN(c.enable_compression, ReadBool(f.Get("enable_compression"),
                                                            f.Path("enable_compression"), true));
    PLATOPS_ASSIGN_OR_RETURN(c.limits, ParseLimits(f, g.limits));

    const json::value kNull;
    const json::value* rc = f.Get("relabel_configs");
    PLATOPS_ASSIGN_OR_RETURN(c.relabel_configs,
                             ParseRelabelConfigs(rc ? *rc : kNull, f.Path("relabel_configs")));
    const json::value* mrc = f.Get("metric_relabel_configs");
    PLATOPS_ASSIGN_OR_RETURN(
        c.metric_relabel_configs,
        ParseRelabelConfigs(mrc ? *mrc : kNull, f.Path("metric_relabel_configs")));

    const json::value* sc = f.Get("static_configs");
    PLATOPS_ASSIGN_OR_RETURN(c.static_configs,
                             ParseTargetGroups(sc ? *sc : kNull, f.Path("static_configs")));
    if (c.relabel_configs.empty()) {
      // Prometheus catches URLs put where addresses belong, unless relabeling may fix them.
      for (size_t i = 0; i < c.static_configs.size(); ++i) {
        const auto& targets = c.static_configs[i].targets;
        for (size_t t = 0; t < targets.size(); ++t) {
          if (targets[t].find('/') != std::string::npos)
            return InvalidArgument(Quote(targets[t]) + " is not a valid hostname",
                                   Indexed(Indexed(f.Path("static_configs"), i) + ".targets", t));
        }
      }
    }
    if (const json::value* fsd = f.Get("file_sd_configs"); fsd && !fsd->is_null()) {
      if (!fsd->is_array()) return InvalidArgument("must be a list", f.Path("file_sd_configs"));
      const auto& arr = fsd->get_array();
      for (size_t i = 0; i < arr.size(); ++i) {
        PLATOPS_ASSIGN_OR_RETURN(auto sd,
                                 ParseFileSd(arr[i], Indexed(f.Path("file_sd_configs"), i)));
        c.file_sd_configs.push_back(std::move(sd));
      }
    }
    PLATOPS_ASSIGN_OR_RETURN(c.http, ParseHttp(f, path, ctx));

    bool has_targets = !c.static_configs.empty() || !c.file_sd_configs.empty();
    for (const auto& key : f.Untaken()) {
      if (key.ends_with("_sd_configs")) {
        Warn(ctx, key + " is not supported by platops; " +
                      (has_targets ? std::string("only static_configs and file_sd_configs targets "
                                                 "of this job are scraped")
                                   : std::string("this job has no targets")));
      } else if (In(kUnsupportedScrape, key)) {
        Warn(ctx, key + " is not supported by platops; ignored");
      } else {
        Warn(ctx, "unknown field " + Quote(key) + "; ignored");
      }
    }
    return c;
  }

  std::string dir_;
  std::vector<std::string> warnings_;
};

// --- URL building as Go's net/url does it. ---

bool IsUnreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

void AppendPercent(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += '%';
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

std::string EscapePath(std::string_view s) {
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || std::string_view("$&+,/:;=@").find(ch) != std::string_view::npos) {
      out += ch;
    } else {
      AppendPercent(out, c);
    }
  }
  return out;
}

std::string EscapeHost(std::string_view s) {
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) ||
        std::string_view("!$&'()*+,;=:[]<>\"").find(ch) != std::string_view::npos) {
      out += ch;
    } else {
      AppendPercent(out, c);
    }
  }
  return out;
}

std::string QueryEscape(std::string_view s) {
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c)) {
      out += ch;
    } else if (ch == ' ') {
      out += '+';
    } else {
      AppendPercent(out, c);
    }
  }
  return out;
}

constexpr std::string_view kParamPrefix = "__param_";

// Prometheus's PopulateDiscoveredLabels: the config's labels where the target has none.
metrics::Labels Discovered(const ScrapeConfig& config, const metrics::Labels& source) {
  metrics::Labels base = metrics::Normalize(source);
  metrics::Labels out = base;
  auto add_default = [&](std::string name, std::string value) {
    if (metrics::Get(base, name).empty()) out.push_back({std::move(name), std::move(value)});
  };
  add_default("job", config.job_name);
  add_default("__scrape_interval__", FormatPromDuration(config.scrape_interval));
  add_default("__scrape_timeout__", FormatPromDuration(config.scrape_timeout));
  add_default("__metrics_path__", config.metrics_path);
  add_default("__scheme__", config.scheme);
  for (const auto& [key, values] : config.params)
    if (!values.empty()) add_default(std::string(kParamPrefix) + key, values[0]);
  return metrics::Normalize(std::move(out));
}

std::string TargetUrl(const ScrapeConfig& config, const metrics::Labels& labels) {
  std::map<std::string, std::vector<std::string>> params = config.params;
  for (const auto& l : labels) {
    if (!l.name.starts_with(kParamPrefix)) continue;
    auto& values = params[l.name.substr(kParamPrefix.size())];
    if (values.empty()) {
      values.push_back(l.value);
    } else {
      values[0] = l.value;
    }
  }
  std::string scheme(metrics::Get(labels, "__scheme__"));
  std::string host(metrics::Get(labels, "__address__"));
  std::string path(metrics::Get(labels, "__metrics_path__"));
  std::string url;
  if (!scheme.empty()) url += scheme + ":";
  if (!host.empty() || !path.empty()) url += "//";
  url += EscapeHost(host);
  std::string escaped = path == "*" ? path : EscapePath(path);
  if (!escaped.empty() && escaped[0] != '/' && !host.empty()) url += '/';
  url += escaped;
  std::string query;
  for (const auto& [key, values] : params) {
    for (const auto& value : values) {
      if (!query.empty()) query += '&';
      query += QueryEscape(key) + "=" + QueryEscape(value);
    }
  }
  if (!query.empty()) url += "?" + query;
  return url;
}

}  // namespace

std::string FormatPromDuration(milliseconds d) {
  long long ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  struct Unit {
    const char* name;
    long long ms;
    bool exact;  // Years and weeks only when nothing smaller remains ("90d", not "12w6d").
  };
  static constexpr Unit kUnits[] = {{"y", 365LL * 86400000, true},
                                    {"w", 7LL * 86400000, true},
                                    {"d", 86400000, false},
                                    {"h", 3600000, false},
                                    {"m", 60000, false},
                                    {"s", 1000, false},
                                    {"ms", 1, false}};
  for (const auto& u : kUnits) {
    if (u.exact && ms % u.ms != 0) continue;
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms) + u.name;
      ms %= u.ms;
    }
  }
  return out;
}

Result<PromConfig> ParsePromConfig(std::string_view yaml, std::string_view directory) {
  PLATOPS_ASSIGN_OR_RETURN(json::value root, PromYamlToJson(yaml));
  return ConfigParser(directory).Parse(root);
}

Result<PromConfig> LoadPromConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open Prometheus config " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Unavailable("cannot read Prometheus config " + path);
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  return ParsePromConfig(ss.str(), dir);
}

std::vector<std::string> RuleFilePaths(const PromConfig& config) {
  return ExpandGlobs(config.rule_files);
}

metrics::Labels TargetSourceLabels(const TargetGroup& group, size_t index) {
  metrics::Labels out = group.labels;
  if (index < group.targets.size()) {
    // The target's own __address__ wins, even when empty (then the target has no address).
    std::erase_if(out, [](const metrics::Label& l) { return l.name == "__address__"; });
    out.push_back({"__address__", group.targets[index]});
  }
  return metrics::Normalize(std::move(out));
}

Result<std::optional<ScrapeTargetSpec>> BuildTarget(const ScrapeConfig& config,
                                                    const metrics::Labels& source_labels) {
  ScrapeTargetSpec spec;
  spec.discovered_labels = Discovered(config, source_labels);
  metrics::Labels labels = spec.discovered_labels;
  if (!Relabel(config.relabel_configs, labels)) return std::optional<ScrapeTargetSpec>();

  const std::string addr(metrics::Get(labels, "__address__"));
  if (addr.empty()) return InvalidArgument("no address");
  if (addr.find('/') != std::string::npos)
    return InvalidArgument(Quote(addr) + " is not a valid hostname");
  const std::string interval(metrics::Get(labels, "__scrape_interval__"));
  auto interval_d = ParseDuration(interval);
  if (!interval_d.ok())
    return InvalidArgument("error parsing scrape interval: " + interval_d.status().message());
  if (interval_d->count() == 0) return InvalidArgument("scrape interval cannot be 0");
  const std::string timeout(metrics::Get(labels, "__scrape_timeout__"));
  auto timeout_d = ParseDuration(timeout);
  if (!timeout_d.ok())
    return InvalidArgument("error parsing scrape timeout: " + timeout_d.status().message());
  if (timeout_d->count() == 0) return InvalidArgument("scrape timeout cannot be 0");
  if (*timeout_d > *interval_d)
    return InvalidArgument("scrape timeout cannot be greater than scrape interval (" +
                           Quote(timeout) + " > " + Quote(interval) + ")");

  std::erase_if(labels, [](const metrics::Label& l) { return l.name.starts_with("__meta_"); });
  if (metrics::Get(labels, "instance").empty()) {
    labels.push_back({"instance", addr});
    labels = metrics::Normalize(std::move(labels));
  }
  for (const auto& l : labels) {
    if (!IsValidUtf8(l.value))
      return InvalidArgument("invalid label value for " + Quote(l.name) + ": " +
                             Quote(Abbreviate(l.value)));
  }
  spec.url = TargetUrl(config, labels);
  spec.interval = *interval_d;
  spec.timeout = *timeout_d;
  for (const auto& l : labels)
    if (!l.name.starts_with("__")) spec.labels.push_back(l);
  spec.target_labels = std::move(labels);
  return std::optional<ScrapeTargetSpec>(std::move(spec));
}

BuiltTargets BuildTargets(const ScrapeConfig& config, std::span<const TargetGroup> groups) {
  BuiltTargets out;
  for (const auto& group : groups) {
    for (size_t i = 0; i < group.targets.size(); ++i) {
      metrics::Labels source = TargetSourceLabels(group, i);
      auto built = BuildTarget(config, source);
      if (!built.ok()) {
        out.errors.push_back(InvalidArgument("instance " + std::to_string(i) + " in group " +
                                             group.source + ": " + built.status().message()));
      } else if (!built->has_value()) {
        out.dropped.push_back(Discovered(config, source));
      } else {
        out.active.push_back(std::move(**built));
      }
    }
  }
  return out;
}

}  // namespace platops::ingest
