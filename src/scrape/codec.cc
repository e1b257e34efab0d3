#include "scrape/codec.h"

#include <boost/json.hpp>

#include <charconv>
#include <set>

#include "base/json_reader.h"
#include "base/strings.h"
#include "base/time_util.h"
#include "catalog/catalog.h"

namespace platops::scrape {

namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

std::string Quote(std::string_view s) { return "\"" + Abbreviate(s) + "\""; }

// "host:port" or "[v6]:port", port 1..65535, no scheme, path or blanks.
bool ValidAddress(std::string_view a) {
  const size_t colon = a.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == a.size()) return false;
  std::string_view host = a.substr(0, colon);
  std::string_view port = a.substr(colon + 1);
  int p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) return false;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
  } else if (host.find(':') != std::string_view::npos) {
    return false;
  }
  for (char c : host)
    if (c == '/' || c == ' ' || c == '\t' || c == '?' || c == '#' || c == '@') return false;
  return true;
}

std::optional<uint64_t> ReadLimit(JsonReader& r, const char* name) {
  auto v = r.Int(name);
  if (!v) return std::nullopt;
  if (*v < 0) {
    r.Fail(name, "must be 0 (no limit) or more, got " + std::to_string(*v));
    return std::nullopt;
  }
  return static_cast<uint64_t>(*v);
}

std::string Child(const std::string& path, const char* name) {
  return path.empty() ? std::string(name) : path + "." + name;
}

json::object BuildDoc(const ScrapeTargetDef& def, const json::value* relabel,
                      const json::value* metric_relabel) {
  json::object o;
  o["job"] = def.job;
  if (!def.service.empty()) o["service"] = def.service;
  json::array targets;
  for (const auto& t : def.targets) targets.push_back(json::value(t));
  o["targets"] = std::move(targets);
  o["interval"] = FormatDuration(def.interval);
  o["timeout"] = FormatDuration(def.timeout);
  o["path"] = def.path;
  o["scheme"] = def.scheme;
  json::object params;
  for (const auto& [name, values] : def.params) {
    json::array a;
    for (const auto& v : values) a.push_back(json::value(v));
    params[name] = std::move(a);
  }
  o["params"] = std::move(params);
  json::object labels;
  for (const auto& [name, value] : def.labels) labels[name] = value;
  o["labels"] = std::move(labels);
  o["honor_labels"] = def.honor_labels;
  o["honor_timestamps"] = def.honor_timestamps;
  o["sample_limit"] = def.sample_limit;
  o["label_limit"] = def.label_limit;
  o["label_name_length_limit"] = def.label_name_length_limit;
  o["label_value_length_limit"] = def.label_value_length_limit;
  if (def.file_sd) {
    json::object sd;
    json::array files;
    for (const auto& f : def.file_sd->files) files.push_back(json::value(f));
    sd["files"] = std::move(files);
    sd["refresh_interval"] = FormatDuration(def.file_sd->refresh_interval);
    o["file_sd"] = std::move(sd);
  }
  if (def.basic_auth) {
    json::object a;
    a["username"] = def.basic_auth->username;
    if (!def.basic_auth->password.empty()) a["password"] = def.basic_auth->password;
    if (!def.basic_auth->password_file.empty()) a["password_file"] = def.basic_auth->password_file;
    o["basic_auth"] = std::move(a);
  }
  if (!def.bearer_token.empty()) o["bearer_token"] = def.bearer_token;
  if (!def.bearer_token_file.empty()) o["bearer_token_file"] = def.bearer_token_file;
  if (def.tls) {
    json::object t;
    if (!def.tls->ca_file.empty()) t["ca_file"] = def.tls->ca_file;
    if (!def.tls->cert_file.empty()) t["cert_file"] = def.tls->cert_file;
    if (!def.tls->key_file.empty()) t["key_file"] = def.tls->key_file;
    t["insecure_skip_verify"] = def.tls->insecure_skip_verify;
    o["tls"] = std::move(t);
  }
  o["relabel_configs"] = relabel && relabel->is_array() ? *relabel : json::value(json::array());
  o["metric_relabel_configs"] =
      metric_relabel && metric_relabel->is_array() ? *metric_relabel : json::value(json::array());
  return o;
}

}  // namespace

Result<ScrapeTargetDef> ScrapeTargetFromJson(const json::value& v, const std::string& path) {
  JsonReader r(v, path);
  ScrapeTargetDef def;
  if (auto s = r.String("job", true)) {
    if (!IsValidJobName(*s))
      r.Fail("job",
             "must be 1..128 characters of [A-Za-z0-9_.-], not starting with '.' or '-'; "
             "got " +
                 Quote(*s));
    else
      def.job = *s;
  }
  if (auto s = r.String("service")) {
    if (!catalog::IsSlug(*s))
      r.Fail("service", "must match ^[a-z0-9][a-z0-9-]{0,62}$, got " + Quote(*s));
    else
      def.service = *s;
  }
  if (auto targets = r.StringList("targets")) {
    std::set<std::string> seen;
    for (size_t i = 0; i < targets->size(); ++i) {
      const std::string& t = (*targets)[i];
      const std::string field = "targets[" + std::to_string(i) + "]";
      if (!ValidAddress(t)) {
        r.Fail(field.c_str(), "must be host:port (no scheme or path), got " + Quote(t));
        break;
      }
      if (!seen.insert(t).second) {
        r.Fail(field.c_str(), Quote(t) + " is listed twice");
        break;
      }
    }
    def.targets = std::move(*targets);
  }
  if (auto d = r.Duration("interval")) {
    if (*d < kMinInterval)
      r.Fail("interval", "must be at least 1s, got " + FormatDuration(*d));
    else
      def.interval = *d;
  }
  def.timeout = std::min(kDefaultTimeout, def.interval);
  if (auto d = r.Duration("timeout")) {
    if (d->count() <= 0)
      r.Fail("timeout", "must be positive");
    else if (*d > def.interval)
      r.Fail("timeout", "must not be longer than the interval (" + FormatDuration(def.interval) +
                            "), got " + FormatDuration(*d));
    else
      def.timeout = *d;
  }
  if (auto s = r.String("path")) {
    if (s->empty() || (*s)[0] != '/')
      r.Fail("path", "must start with '/', got " + Quote(*s));
    else
      def.path = *s;
  }
  if (auto s = r.String("scheme")) {
    if (*s != "http" && *s != "https")
      r.Fail("scheme", "must be http or https, got " + Quote(*s));
    else
      def.scheme = *s;
  }
  if (const json::value* p = r.Raw("params")) {
    if (!p->is_object()) {
      r.Fail("params", "must be an object of names to a value or a list of values");
    } else {
      for (const auto& kv : p->get_object()) {
        const std::string name(kv.key());
        const std::string field = "params." + name;
        std::vector<std::string> values;
        bool ok = true;
        if (kv.value().is_string()) {
          values.emplace_back(kv.value().get_string());
        } else if (kv.value().is_array()) {
          for (const auto& item : kv.value().get_array()) {
            if (!item.is_string())
              ok = false;
            else
              values.emplace_back(item.get_string());
          }
        } else {
          ok = false;
        }
        if (!ok) {
          r.Fail(field.c_str(), "must be a string or a list of strings");
          break;
        }
        def.params[name] = std::move(values);
      }
    }
  }
  if (auto labels = r.StringMap("labels")) {
    for (const auto& [name, value] : *labels) {
      const std::string field = "labels." + name;
      if (!ingest::IsValidLabelName(name)) {
        r.Fail(field.c_str(), "label names must match ^[a-zA-Z_][a-zA-Z0-9_]*$");
        break;
      }
      if (!IsValidUtf8(value)) {
        r.Fail(field.c_str(), "must be valid UTF-8");
        break;
      }
    }
    def.labels = std::move(*labels);
  }
  if (auto b = r.Bool("honor_labels")) def.honor_labels = *b;
  if (auto b = r.Bool("honor_timestamps")) def.honor_timestamps = *b;
  if (auto n = ReadLimit(r, "sample_limit")) def.sample_limit = *n;
  if (auto n = ReadLimit(r, "label_limit")) def.label_limit = *n;
  if (auto n = ReadLimit(r, "label_name_length_limit")) def.label_name_length_limit = *n;
  if (auto n = ReadLimit(r, "label_value_length_limit")) def.label_value_length_limit = *n;
  r.Object("file_sd", [&](JsonReader& f) {
    FileSdSpec sd;
    if (auto files = f.StringList("files", true)) {
      if (files->empty()) f.Fail("files", "must name at least one file pattern");
      for (size_t i = 0; i < files->size(); ++i) {
        if (!ingest::IsValidFileSdPattern((*files)[i])) {
          const std::string field = "files[" + std::to_string(i) + "]";
          f.Fail(field.c_str(),
                 "must end in .json, .yml or .yaml, with '*' only in the last path element; got " +
                     Quote((*files)[i]));
          break;
        }
      }
      sd.files = std::move(*files);
    }
    if (auto d = f.Duration("refresh_interval")) {
      if (d->count() <= 0)
        f.Fail("refresh_interval", "must be positive");
      else
        sd.refresh_interval = *d;
    }
    def.file_sd = std::move(sd);
  });
  r.Object("basic_auth", [&](JsonReader& b) {
    BasicAuthSpec a;
    if (auto s = b.String("username", true)) a.username = *s;
    if (auto s = b.String("password")) a.password = *s;
    if (auto s = b.String("password_file")) a.password_file = *s;
    if (!a.password.empty() && !a.password_file.empty())
      b.Fail("password_file", "at most one of password and password_file");
    def.basic_auth = std::move(a);
  });
  if (auto s = r.String("bearer_token")) def.bearer_token = *s;
  if (auto s = r.String("bearer_token_file")) def.bearer_token_file = *s;
  if (!def.bearer_token.empty() && !def.bearer_token_file.empty())
    r.Fail("bearer_token_file", "at most one of bearer_token and bearer_token_file");
  if (def.basic_auth && (!def.bearer_token.empty() || !def.bearer_token_file.empty()))
    r.Fail("basic_auth", "at most one of basic_auth and a bearer token");
  r.Object("tls", [&](JsonReader& t) {
    TlsSpec tls;
    if (auto s = t.String("ca_file")) tls.ca_file = *s;
    if (auto s = t.String("cert_file")) tls.cert_file = *s;
    if (auto s = t.String("key_file")) tls.key_file = *s;
    if (auto b = t.Bool("insecure_skip_verify")) tls.insecure_skip_verify = *b;
    if (tls.cert_file.empty() != tls.key_file.empty())
      t.Fail(tls.cert_file.empty() ? "cert_file" : "key_file",
             "cert_file and key_file go together (a client certificate and its key)");
    def.tls = std::move(tls);
  });
  const json::value* relabel = r.Raw("relabel_configs");
  const json::value* metric_relabel = r.Raw("metric_relabel_configs");
  // Read-only fields of a GET answer.
  if (auto n = r.Int("version")) def.version = *n;
  for (const char* read_only : {"created_at", "updated_at", "status"}) r.Ignore(read_only);
  PLATOPS_RETURN_IF_ERROR(r.Finish());

  const json::value kNull;
  PLATOPS_ASSIGN_OR_RETURN(
      def.relabel_configs,
      ingest::ParseRelabelConfigs(relabel ? *relabel : kNull, Child(path, "relabel_configs")));
  PLATOPS_ASSIGN_OR_RETURN(def.metric_relabel_configs,
                           ingest::ParseRelabelConfigs(metric_relabel ? *metric_relabel : kNull,
                                                       Child(path, "metric_relabel_configs")));
  if (def.targets.empty() && !def.file_sd)
    return InvalidArgument("a job needs targets, file_sd or both", Child(path, "targets"));
  def.doc = JsonToString(BuildDoc(def, relabel, metric_relabel));
  return def;
}

json::object ScrapeTargetDocJson(const ScrapeTargetDef& def) {
  auto parsed = ParseJson(def.doc);
  if (parsed.ok() && parsed->is_object()) return std::move(parsed->get_object());
  return BuildDoc(def, nullptr, nullptr);
}

json::object ScrapeTargetToJson(const ScrapeTargetDef& def, const JobStatus* status) {
  json::object o = ScrapeTargetDocJson(def);
  o["version"] = def.version;
  o["created_at"] = FormatRfc3339(def.created_at);
  o["updated_at"] = FormatRfc3339(def.updated_at);
  if (status) o["status"] = JobStatusToJson(*status);
  return o;
}

json::object JobStatusToJson(const JobStatus& s) {
  json::object o;
  o["source"] = JobSourceName(s.source);
  o["targets"] = s.targets;
  o["up"] = s.up;
  o["down"] = s.down;
  o["unknown"] = s.unknown;
  o["dropped"] = s.dropped;
  json::array errors;
  for (const auto& e : s.errors) errors.push_back(json::value(e));
  o["errors"] = std::move(errors);
  return o;
}

}  // namespace platops::scrape
