#include "alerting/am_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <set>
#include <utility>

#include "alerting/label_set.h"
#include "alerting/matcher.h"
#include "alerting/yaml_scalar.h"
#include "base/json_reader.h"
#include "base/time_util.h"
#include "config/yaml_json.h"

namespace platops::alerting {

namespace {

namespace json = boost::json;

constexpr std::string_view kSecretMask = "<secret>";

// Receiver kinds of Alertmanager 0.25 that platops does not send.
constexpr std::array<const char*, 9> kUnsupportedKinds = {
    "pagerduty_configs", "opsgenie_configs",  "wechat_configs",
    "pushover_configs",  "victorops_configs", "sns_configs",
    "telegram_configs",  "webex_configs",     "discord_configs"};

// Global fields of those kinds: accepted, not kept.
constexpr std::array<const char*, 12> kIgnoredGlobals = {
    "pagerduty_url",     "opsgenie_api_url",       "opsgenie_api_key",   "opsgenie_api_key_file",
    "wechat_api_url",    "wechat_api_secret",      "wechat_api_corp_id", "victorops_api_url",
    "victorops_api_key", "victorops_api_key_file", "telegram_api_url",   "webex_api_url"};

std::string Index(std::string_view path, size_t i) { return fmt::format("{}[{}]", path, i); }
std::string Child(std::string_view path, std::string_view name) {
  return path.empty() ? std::string(name) : fmt::format("{}.{}", path, name);
}

std::string TrimSpace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  const size_t end = s.find_last_not_of(kSpace);
  return std::string(s.substr(begin, end - begin + 1));
}

// One YAML mapping decoded strictly: every read marks its key known, Finish() refuses the rest
// and returns the first error of any read.
class Fields {
 public:
  Fields(const json::value& v, std::string path) : path_(std::move(path)) {
    if (v.is_object()) {
      obj_ = &v.get_object();
    } else {
      status_ = InvalidArgument("must be a map", path_);
    }
  }

  const std::string& path() const { return path_; }
  std::string Path(std::string_view name) const { return Child(path_, name); }
  bool ok() const { return status_.ok(); }

  // The value, or nullptr when absent or null (yaml.v2 leaves the field at its default).
  const json::value* Get(std::string_view name) {
    known_.insert(std::string(name));
    if (obj_ == nullptr) return nullptr;
    const auto it = obj_->find(name);
    if (it == obj_->end() || it->value().is_null()) return nullptr;
    return &it->value();
  }
  void Ignore(std::string_view name) { known_.insert(std::string(name)); }

  std::optional<std::string> Text(std::string_view name) {
    const json::value* v = Get(name);
    if (v == nullptr) return std::nullopt;
    return Keep(ScalarText(*v, Path(name)));
  }
  std::optional<bool> Bool(std::string_view name) {
    const json::value* v = Get(name);
    if (v == nullptr) return std::nullopt;
    return Keep(ScalarBool(*v, Path(name)));
  }
  std::optional<std::vector<std::string>> TextList(std::string_view name) {
    const json::value* v = Get(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_array()) {
      Fail(Path(name), "must be a list");
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (size_t i = 0; i < v->get_array().size(); ++i) {
      auto text = Keep(ScalarText(v->get_array()[i], Index(Path(name), i)));
      if (!text) return std::nullopt;
      out.push_back(std::move(*text));
    }
    return out;
  }

  template <typename T>
  std::optional<T> Keep(Result<T> r) {
    if (r.ok()) return std::move(r).value();
    Record(r.status());
    return std::nullopt;
  }
  void Record(const Status& s) {
    if (status_.ok() && !s.ok()) status_ = s;
  }
  void Fail(std::string field, std::string message) {
    Record(InvalidArgument(std::move(message), std::move(field)));
  }

  Status Finish() const {
    if (!status_.ok() || obj_ == nullptr) return status_;
    for (const auto& kv : *obj_) {
      if (known_.count(std::string(kv.key())) == 0) {
        return InvalidArgument("unknown field", Path(kv.key()));
      }
    }
    return Status::Ok();
  }

 private:
  const json::object* obj_ = nullptr;
  std::string path_;
  std::set<std::string, std::less<>> known_;
  Status status_;
};

// What every section parser needs: the options and where to report unsupported items.
struct Context {
  const AmConfigOptions& options;
  std::vector<UnsupportedItem>& unsupported;

  std::string Resolve(const std::string& path) const {
    if (path.empty() || path.front() == '/' || options.directory.empty()) return path;
    std::string dir = options.directory;
    if (dir.back() != '/') dir += '/';
    return dir + path;
  }

  Result<std::string> Read(const std::string& resolved, const std::string& field) const {
    if (!options.read_file) {
      return InvalidArgument(fmt::format("could not read {}: no file reader", resolved), field);
    }
    auto content = options.read_file(resolved);
    if (!content.ok()) {
      return InvalidArgument(
          fmt::format("could not read {}: {}", resolved, content.status().message()), field);
    }
    return std::move(content).value();
  }

  void Report(std::string path, std::string message) const {
    unsupported.push_back({std::move(path), std::move(message)});
  }
};

// url.Parse followed by Alertmanager's parseURL checks: an http or https scheme and a host.
Status CheckUrl(std::string_view s, const std::string& field) {
  const size_t colon = s.find(':');
  std::string scheme;
  if (colon != std::string_view::npos && colon > 0 &&
      std::isalpha(static_cast<unsigned char>(s[0]))) {
    scheme = std::string(s.substr(0, colon));
    const bool valid = std::all_of(scheme.begin(), scheme.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
    });
    if (!valid) scheme.clear();
  }
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "http" && scheme != "https") {
    return InvalidArgument(fmt::format("unsupported scheme {} for URL", GoQuote(scheme)), field);
  }
  std::string_view rest = s.substr(colon + 1);
  std::string_view host;
  if (rest.substr(0, 2) == "//") {
    rest.remove_prefix(2);
    host = rest.substr(0, rest.find_first_of("/?#"));
    const size_t at = host.rfind('@');
    if (at != std::string_view::npos) host.remove_prefix(at + 1);
  }
  if (host.empty()) return InvalidArgument("missing host for URL", field);
  return Status::Ok();
}

// net.SplitHostPort's errors, then Alertmanager's HostPort check for an empty port.
Status CheckHostPort(const std::string& s, const std::string& field) {
  auto error = [&](std::string_view why) {
    return InvalidArgument(fmt::format("address {}: {}", s, why), field);
  };
  size_t port_colon;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string::npos) return error("missing ']' in address");
    if (close + 1 == s.size() || s[close + 1] != ':') return error("missing port in address");
    port_colon = close + 1;
  } else {
    port_colon = s.rfind(':');
    if (port_colon == std::string::npos) return error("missing port in address");
    if (s.find(':') != port_colon) return error("too many colons in address");
  }
  if (port_colon + 1 == s.size()) {
    return InvalidArgument(fmt::format("address {}: port cannot be empty", GoQuote(s)), field);
  }
  return Status::Ok();
}

// textproto.CanonicalMIMEHeaderKey: names with a byte outside HTTP's token set stay as written.
std::string CanonicalHeaderKey(const std::string& key) {
  constexpr std::string_view kTokenPunct = "!#$%&'*+-.^_`|~";
  for (char c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && kTokenPunct.find(c) == std::string::npos) {
      return key;
    }
  }
  std::string out = key;
  bool upper = true;
  for (char& c : out) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    upper = c == '-';
  }
  return out;
}

// Reads `name` (inline) and `file_name` (a path read through the reader) into a Secret. Both set
// is an error worded `both_message`. `trim` drops white space around the file's content.
std::optional<Secret> SecretField(Fields& f, const Context& ctx, std::string_view name,
                                  std::string_view file_name, bool trim,
                                  std::string_view both_message) {
  auto inline_value = f.Text(name);
  auto file = f.Text(file_name);
  if (!f.ok()) return std::nullopt;
  if (inline_value && !inline_value->empty() && file && !file->empty()) {
    f.Fail(f.Path(file_name), std::string(both_message));
    return std::nullopt;
  }
  Secret secret;
  if (file && !file->empty()) {
    secret.file = ctx.Resolve(*file);
    auto content = f.Keep(ctx.Read(secret.file, f.Path(file_name)));
    if (!content) return std::nullopt;
    secret.value = trim ? TrimSpace(*content) : std::move(*content);
  } else if (inline_value) {
    secret.value = std::move(*inline_value);
  }
  return secret;
}

Result<TlsConfig> ParseTlsConfig(const json::value& v, const std::string& path,
                                 const Context& ctx) {
  Fields f(v, path);
  TlsConfig tls;
  if (auto ca = f.Text("ca_file")) tls.ca_file = ctx.Resolve(*ca);
  if (auto cert = f.Text("cert_file"); cert && !cert->empty()) tls.cert_file = ctx.Resolve(*cert);
  if (auto key = f.Text("key_file"); key && !key->empty()) tls.key_file = ctx.Resolve(*key);
  if (auto skip = f.Bool("insecure_skip_verify")) tls.insecure_skip_verify = *skip;
  // prometheus/common's TLSConfig.Validate wording.
  if (!tls.cert_file.empty() && tls.key_file.empty()) {
    f.Fail(f.Path("key_file"),
           "exactly one of key or key_file must be configured when a client certificate is "
           "configured");
  }
  if (!tls.key_file.empty() && tls.cert_file.empty()) {
    f.Fail(f.Path("cert_file"),
           "exactly one of cert or cert_file must be configured when a client key is configured");
  }
  for (const char* name : {"server_name", "min_version", "max_version"}) {
    if (f.Get(name) != nullptr) {
      ctx.Report(f.Path(name), fmt::format("tls_config.{} is not supported by platops and has "
                                           "no effect",
                                           name));
    }
  }
  PLATOPS_RETURN_IF_ERROR(f.Finish());
  return tls;
}

// prometheus/common's HTTPClientConfig with its Validate() checks and wording.
Result<HttpConfig> ParseHttpConfig(const json::value& v, const std::string& path,
                                   const Context& ctx) {
  Fields f(v, path);
  HttpConfig http;
  if (const json::value* basic = f.Get("basic_auth")) {
    Fields b(*basic, f.Path("basic_auth"));
    http.has_basic_auth = true;
    if (auto user = b.Text("username")) http.basic_auth.username = *user;
    auto password = SecretField(b, ctx, "password", "password_file", true,
                                "at most one of basic_auth password & password_file must be "
                                "configured");
    if (password) http.basic_auth.password = std::move(*password);
    f.Record(b.Finish());
  }
  if (const json::value* auth = f.Get("authorization")) {
    Fields a(*auth, f.Path("authorization"));
    http.has_authorization = true;
    if (auto type = a.Text("type")) http.authorization.type = TrimSpace(*type);
    if (http.authorization.type.empty()) http.authorization.type = "Bearer";
    auto credentials = SecretField(a, ctx, "credentials", "credentials_file", true,
                                   "at most one of authorization credentials & credentials_file "
                                   "must be configured");
    if (credentials) http.authorization.credentials = std::move(*credentials);
    f.Record(a.Finish());
    std::string lower = http.authorization.type;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](char c) { return static_cast<char>(std::tolower(c)); });
    if (f.ok() && lower == "basic") {
      f.Fail(a.Path("type"),
             R"(authorization type cannot be set to "basic", use "basic_auth" instead)");
    }
  }
  const bool has_oauth2 = f.Get("oauth2") != nullptr;
  if (has_oauth2) {
    ctx.Report(f.Path("oauth2"),
               "OAuth 2.0 client credentials are not supported by platops: requests are sent "
               "without them");
  }
  auto bearer = f.Text("bearer_token");
  auto bearer_file = f.Text("bearer_token_file");
  const bool has_bearer = (bearer && !bearer->empty()) || (bearer_file && !bearer_file->empty());
  if (auto tls = f.Get("tls_config")) {
    if (auto parsed = f.Keep(ParseTlsConfig(*tls, f.Path("tls_config"), ctx))) {
      http.tls_config = std::move(*parsed);
    }
  }
  if (auto proxy = f.Text("proxy_url")) {
    f.Record(CheckUrl(*proxy, f.Path("proxy_url")));
    http.proxy_url = *proxy;
  }
  if (auto follow = f.Bool("follow_redirects")) http.follow_redirects = *follow;
  f.Bool("enable_http2");
  PLATOPS_RETURN_IF_ERROR(f.Finish());

  if (bearer && !bearer->empty() && bearer_file && !bearer_file->empty()) {
    return InvalidArgument("at most one of bearer_token & bearer_token_file must be configured",
                           path);
  }
  if (http.has_basic_auth && has_bearer) {
    return InvalidArgument(
        "at most one of basic_auth, bearer_token & bearer_token_file must be configured", path);
  }
  if (http.has_authorization && has_bearer) {
    return InvalidArgument("authorization is not compatible with bearer_token & bearer_token_file",
                           path);
  }
  if (static_cast<int>(http.has_basic_auth) + static_cast<int>(http.has_authorization) +
          static_cast<int>(has_oauth2) >
      1) {
    return InvalidArgument("at most one of basic_auth, oauth2 & authorization must be configured",
                           path);
  }
  if (has_bearer) {
    http.has_authorization = true;
    http.authorization.type = "Bearer";
    if (bearer && !bearer->empty()) {
      http.authorization.credentials.value = *bearer;
    } else {
      http.authorization.credentials.file = ctx.Resolve(*bearer_file);
      PLATOPS_ASSIGN_OR_RETURN(std::string content, ctx.Read(http.authorization.credentials.file,
                                                             Child(path, "bearer_token_file")));
      http.authorization.credentials.value = TrimSpace(content);
    }
  }
  return http;
}

Result<GlobalConfig> ParseGlobal(const json::value& v, const Context& ctx) {
  Fields f(v, "global");
  GlobalConfig g;
  if (const json::value* timeout = f.Get("resolve_timeout")) {
    auto text = f.Keep(ScalarText(*timeout, f.Path("resolve_timeout")));
    if (text && text->empty()) {
      f.Fail(f.Path("resolve_timeout"), "empty duration string");
    } else if (text) {
      auto d = ParseDuration(*text);
      if (d.ok()) {
        g.resolve_timeout = *d;
      } else {
        f.Fail(f.Path("resolve_timeout"),
               fmt::format("not a valid duration string: \"{}\"", *text));
      }
    }
  }
  if (const json::value* http = f.Get("http_config")) {
    if (auto parsed = f.Keep(ParseHttpConfig(*http, f.Path("http_config"), ctx))) {
      g.http_config = std::move(*parsed);
    }
  }
  if (auto from = f.Text("smtp_from")) g.smtp_from = *from;
  if (auto hello = f.Text("smtp_hello")) g.smtp_hello = *hello;
  if (auto host = f.Text("smtp_smarthost")) {
    if (!host->empty()) f.Record(CheckHostPort(*host, f.Path("smtp_smarthost")));
    g.smtp_smarthost = *host;
  }
  if (auto user = f.Text("smtp_auth_username")) g.smtp_auth_username = *user;
  if (auto password = SecretField(
          f, ctx, "smtp_auth_password", "smtp_auth_password_file", false,
          "at most one of smtp_auth_password & smtp_auth_password_file must be configured")) {
    g.smtp_auth_password = std::move(*password);
  }
  if (auto secret = f.Text("smtp_auth_secret")) g.smtp_auth_secret.value = *secret;
  if (auto identity = f.Text("smtp_auth_identity")) g.smtp_auth_identity = *identity;
  if (auto tls = f.Bool("smtp_require_tls")) g.smtp_require_tls = *tls;
  if (auto url =
          SecretField(f, ctx, "slack_api_url", "slack_api_url_file", true,
                      "at most one of slack_api_url & slack_api_url_file must be configured")) {
    if (!url->value.empty() && url->file.empty()) {
      f.Record(CheckUrl(url->value, f.Path("slack_api_url")));
    }
    g.slack_api_url = std::move(*url);
  }
  for (const char* name : kIgnoredGlobals) f.Ignore(name);
  PLATOPS_RETURN_IF_ERROR(f.Finish());
  return g;
}

Result<WebhookConfig> ParseWebhook(const json::value& v, const std::string& path,
                                   const GlobalConfig& global, const Context& ctx) {
  Fields f(v, path);
  WebhookConfig wh;
  if (auto resolved = f.Bool("send_resolved")) wh.send_resolved = *resolved;
  auto url = SecretField(f, ctx, "url", "url_file", true,
                         "at most one of url & url_file must be configured");
  if (const json::value* max = f.Get("max_alerts")) {
    if (max->is_uint64() || (max->is_int64() && max->get_int64() >= 0)) {
      wh.max_alerts =
          max->is_uint64() ? max->get_uint64() : static_cast<uint64_t>(max->get_int64());
    } else {
      f.Fail(f.Path("max_alerts"), "must be a non-negative integer");
    }
  }
  auto signing = SecretField(f, ctx, "signing_secret", "signing_secret_file", true,
                             "at most one of signing_secret & signing_secret_file must be "
                             "configured");
  std::optional<HttpConfig> http;
  if (const json::value* h = f.Get("http_config")) {
    http = f.Keep(ParseHttpConfig(*h, f.Path("http_config"), ctx));
  }
  PLATOPS_RETURN_IF_ERROR(f.Finish());
  if (signing) wh.signing_secret = std::move(*signing);
  if (url->value.empty() && url->file.empty()) {
    return InvalidArgument("one of url or url_file must be configured", f.Path("url"));
  }
  PLATOPS_RETURN_IF_ERROR(CheckUrl(url->value, f.Path(url->file.empty() ? "url" : "url_file")));
  wh.url = std::move(*url);
  wh.http_config = http ? std::move(*http) : global.http_config;
  return wh;
}

// SlackField / SlackAction / SlackConfirmationField checks, on the JSON as written.
Status CheckSlackFields(const json::value& v, const std::string& path) {
  if (!v.is_array()) return InvalidArgument("must be a list", path);
  for (size_t i = 0; i < v.get_array().size(); ++i) {
    Fields f(v.get_array()[i], Index(path, i));
    auto title = f.Text("title");
    auto value = f.Text("value");
    f.Bool("short");
    PLATOPS_RETURN_IF_ERROR(f.Finish());
    if (!title || title->empty()) {
      return InvalidArgument("missing title in Slack field configuration", f.Path("title"));
    }
    if (!value || value->empty()) {
      return InvalidArgument("missing value in Slack field configuration", f.Path("value"));
    }
  }
  return Status::Ok();
}

Status CheckSlackActions(const json::value& v, const std::string& path) {
  if (!v.is_array()) return InvalidArgument("must be a list", path);
  for (size_t i = 0; i < v.get_array().size(); ++i) {
    Fields f(v.get_array()[i], Index(path, i));
    auto type = f.Text("type");
    auto text = f.Text("text");
    auto url = f.Text("url");
    auto name = f.Text("name");
    f.Text("style");
    f.Text("value");
    if (const json::value* confirm = f.Get("confirm")) {
      Fields c(*confirm, f.Path("confirm"));
      auto confirm_text = c.Text("text");
      c.Text("title");
      c.Text("ok_text");
      c.Text("dismiss_text");
      PLATOPS_RETURN_IF_ERROR(c.Finish());
      if (!confirm_text || confirm_text->empty()) {
        return InvalidArgument("missing text in Slack confirmation configuration", c.Path("text"));
      }
    }
    PLATOPS_RETURN_IF_ERROR(f.Finish());
    if (!type || type->empty()) {
      return InvalidArgument("missing type in Slack action configuration", f.Path("type"));
    }
    if (!text || text->empty()) {
      return InvalidArgument("missing text in Slack action configuration", f.Path("text"));
    }
    if ((!url || url->empty()) && (!name || name->empty())) {
      return InvalidArgument("missing name or url in Slack action configuration", f.path());
    }
  }
  return Status::Ok();
}

Result<SlackConfig> ParseSlack(const json::value& v, const std::string& path,
                               const GlobalConfig& global, const Context& ctx) {
  Fields f(v, path);
  SlackConfig sc;
  if (auto resolved = f.Bool("send_resolved")) sc.send_resolved = *resolved;
  auto url = SecretField(f, ctx, "api_url", "api_url_file", true,
                         "at most one of api_url & api_url_file must be configured");
  if (url && !url->value.empty() && url->file.empty()) {
    f.Record(CheckUrl(url->value, f.Path("api_url")));
  }
  std::optional<HttpConfig> http;
  if (const json::value* h = f.Get("http_config")) {
    http = f.Keep(ParseHttpConfig(*h, f.Path("http_config"), ctx));
  }
  const std::array<std::pair<const char*, std::string*>, 14> texts = {{
      {"channel", &sc.channel},
      {"username", &sc.username},
      {"color", &sc.color},
      {"title", &sc.title},
      {"title_link", &sc.title_link},
      {"pretext", &sc.pretext},
      {"text", &sc.text},
      {"footer", &sc.footer},
      {"fallback", &sc.fallback},
      {"callback_id", &sc.callback_id},
      {"icon_emoji", &sc.icon_emoji},
      {"icon_url", &sc.icon_url},
      {"image_url", &sc.image_url},
      {"thumb_url", &sc.thumb_url},
  }};
  for (const auto& [name, target] : texts) {
    if (auto text = f.Text(name)) *target = std::move(*text);
  }
  if (auto short_fields = f.Bool("short_fields")) sc.short_fields = *short_fields;
  if (auto link_names = f.Bool("link_names")) sc.link_names = *link_names;
  if (auto mrkdwn = f.TextList("mrkdwn_in")) sc.mrkdwn_in = std::move(*mrkdwn);
  if (const json::value* fields = f.Get("fields")) {
    f.Record(CheckSlackFields(*fields, f.Path("fields")));
    sc.fields_json = JsonToString(*fields);
  }
  if (const json::value* actions = f.Get("actions")) {
    f.Record(CheckSlackActions(*actions, f.Path("actions")));
    sc.actions_json = JsonToString(*actions);
  }
  PLATOPS_RETURN_IF_ERROR(f.Finish());
  if (url->empty()) {
    if (global.slack_api_url.empty()) {
      return InvalidArgument("no global Slack API URL set either inline or in a file",
                             f.Path("api_url"));
    }
    sc.api_url = global.slack_api_url;
  } else {
    sc.api_url = std::move(*url);
  }
  sc.http_config = http ? std::move(*http) : global.http_config;
  return sc;
}

Result<EmailConfig> ParseEmail(const json::value& v, const std::string& path,
                               const GlobalConfig& global, const Context& ctx) {
  Fields f(v, path);
  EmailConfig ec;
  if (auto resolved = f.Bool("send_resolved")) ec.send_resolved = *resolved;
  if (auto to = f.Text("to")) ec.to = *to;
  if (auto from = f.Text("from")) ec.from = *from;
  if (auto hello = f.Text("hello")) ec.hello = *hello;
  if (auto host = f.Text("smarthost")) {
    if (!host->empty()) f.Record(CheckHostPort(*host, f.Path("smarthost")));
    ec.smarthost = *host;
  }
  if (auto user = f.Text("auth_username")) ec.auth_username = *user;
  auto password = SecretField(f, ctx, "auth_password", "auth_password_file", false,
                              "at most one of auth_password & auth_password_file must be "
                              "configured");
  if (auto secret = f.Text("auth_secret")) ec.auth_secret.value = *secret;
  if (auto identity = f.Text("auth_identity")) ec.auth_identity = *identity;
  std::vector<std::pair<std::string, std::string>> headers;
  if (const json::value* h = f.Get("headers")) {
    Fields hf(*h, f.Path("headers"));
    if (h->is_object()) {
      for (const auto& kv : h->get_object()) {
        if (auto value = hf.Text(kv.key())) headers.emplace_back(std::string(kv.key()), *value);
      }
    }
    f.Record(hf.Finish());
  }
  if (auto html = f.Text("html")) ec.html = *html;
  if (auto text = f.Text("text")) ec.text = *text;
  std::optional<bool> require_tls = f.Bool("require_tls");
  if (const json::value* tls = f.Get("tls_config")) {
    if (auto parsed = f.Keep(ParseTlsConfig(*tls, f.Path("tls_config"), ctx))) {
      ec.tls_config = std::move(*parsed);
    }
  }
  PLATOPS_RETURN_IF_ERROR(f.Finish());

  if (ec.to.empty()) return InvalidArgument("missing to address in email config", f.Path("to"));
  for (const auto& [name, value] : headers) {
    std::string canonical = CanonicalHeaderKey(name);
    if (!ec.headers.emplace(canonical, value).second) {
      return InvalidArgument(fmt::format("duplicate header {} in email config", GoQuote(canonical)),
                             Child(f.Path("headers"), name));
    }
  }
  if (ec.smarthost.empty()) {
    if (global.smtp_smarthost.empty()) {
      return InvalidArgument("no global SMTP smarthost set", f.Path("smarthost"));
    }
    ec.smarthost = global.smtp_smarthost;
  }
  if (ec.from.empty()) {
    if (global.smtp_from.empty()) {
      return InvalidArgument("no global mail from address set", f.Path("from"));
    }
    ec.from = global.smtp_from;
  }
  if (ec.hello.empty()) ec.hello = global.smtp_hello;
  if (ec.auth_username.empty()) ec.auth_username = global.smtp_auth_username;
  ec.auth_password = password->empty() ? global.smtp_auth_password : std::move(*password);
  if (ec.auth_secret.empty()) ec.auth_secret = global.smtp_auth_secret;
  if (ec.auth_identity.empty()) ec.auth_identity = global.smtp_auth_identity;
  ec.require_tls = require_tls.value_or(global.smtp_require_tls);
  return ec;
}

template <typename T, typename ParseOne>
Result<std::vector<T>> ParseList(const json::value& v, const std::string& path, ParseOne parse) {
  if (!v.is_array()) return InvalidArgument("must be a list", path);
  std::vector<T> out;
  for (size_t i = 0; i < v.get_array().size(); ++i) {
    PLATOPS_ASSIGN_OR_RETURN(T item, parse(v.get_array()[i], Index(path, i)));
    out.push_back(std::move(item));
  }
  return out;
}

Result<Receiver> ParseReceiver(const json::value& v, const std::string& path,
                               const GlobalConfig& global, const Context& ctx) {
  Fields f(v, path);
  Receiver r;
  if (auto name = f.Text("name")) r.name = *name;
  if (const json::value* list = f.Get("webhook_configs")) {
    auto parsed = f.Keep(ParseList<WebhookConfig>(
        *list, f.Path("webhook_configs"), [&](const json::value& item, const std::string& p) {
          return ParseWebhook(item, p, global, ctx);
        }));
    if (parsed) r.webhook_configs = std::move(*parsed);
  }
  if (const json::value* list = f.Get("slack_configs")) {
    auto parsed = f.Keep(ParseList<SlackConfig>(*list, f.Path("slack_configs"),
                                                [&](const json::value& item, const std::string& p) {
                                                  return ParseSlack(item, p, global, ctx);
                                                }));
    if (parsed) r.slack_configs = std::move(*parsed);
  }
  if (const json::value* list = f.Get("email_configs")) {
    auto parsed = f.Keep(ParseList<EmailConfig>(*list, f.Path("email_configs"),
                                                [&](const json::value& item, const std::string& p) {
                                                  return ParseEmail(item, p, global, ctx);
                                                }));
    if (parsed) r.email_configs = std::move(*parsed);
  }
  for (const char* kind : kUnsupportedKinds) {
    const json::value* list = f.Get(kind);
    if (list == nullptr) continue;
    if (!list->is_array()) {
      f.Fail(f.Path(kind), "must be a list");
    } else if (!list->get_array().empty()) {
      r.unsupported_kinds.push_back(kind);
    }
  }
  PLATOPS_RETURN_IF_ERROR(f.Finish());
  if (r.name.empty()) return InvalidArgument("missing name in receiver", f.Path("name"));
  return r;
}

Result<std::map<std::string, std::string>> MatchMap(const json::value& v, const std::string& path,
                                                    bool regex) {
  if (!v.is_object()) return InvalidArgument("must be a map of label names to values", path);
  std::map<std::string, std::string> out;
  for (const auto& kv : v.get_object()) {
    const std::string name(kv.key());
    const std::string field = Child(path, name);
    if (!IsValidLabelName(name)) {
      return InvalidArgument(fmt::format("invalid label name {}", GoQuote(name)), field);
    }
    std::string value;
    if (kv.value().is_null()) {
      if (regex) {
        return InvalidArgument(fmt::format("invalid regexp value for {}", GoQuote(name)), field);
      }
    } else {
      PLATOPS_ASSIGN_OR_RETURN(value, ScalarText(kv.value(), field));
    }
    out.emplace(name, std::move(value));
  }
  return out;
}

// One side (`source` or `target`) of an inhibit rule: the deprecated maps, then the matchers
// sorted by name, value and type, as Alertmanager appends them.
Result<std::vector<Matcher>> InhibitSide(Fields& f, std::string_view side) {
  const std::string match_name = fmt::format("{}_match", side);
  const std::string re_name = fmt::format("{}_match_re", side);
  const std::string matchers_name = fmt::format("{}_matchers", side);
  std::map<std::string, std::string> match;
  std::map<std::string, std::string> match_re;
  if (const json::value* v = f.Get(match_name)) {
    PLATOPS_ASSIGN_OR_RETURN(match, MatchMap(*v, f.Path(match_name), false));
  }
  if (const json::value* v = f.Get(re_name)) {
    PLATOPS_ASSIGN_OR_RETURN(match_re, MatchMap(*v, f.Path(re_name), true));
  }
  auto from_maps = MatchersFromMaps(match, match_re);
  if (!from_maps.ok()) {
    const std::string& name = from_maps.status().field();
    const std::string map_field = match_re.count(name) > 0 ? re_name : match_name;
    return InvalidArgument(from_maps.status().message(), Child(f.Path(map_field), name));
  }
  std::vector<Matcher> out = std::move(from_maps).value();
  if (const json::value* v = f.Get(matchers_name)) {
    const std::string field = f.Path(matchers_name);
    if (!v->is_array()) return InvalidArgument("must be a list", field);
    std::vector<Matcher> parsed_all;
    for (size_t i = 0; i < v->get_array().size(); ++i) {
      PLATOPS_ASSIGN_OR_RETURN(std::string line, ScalarText(v->get_array()[i], Index(field, i)));
      auto parsed = ParseMatchers(line);
      if (!parsed.ok()) return InvalidArgument(parsed.status().message(), Index(field, i));
      for (Matcher& m : *parsed) parsed_all.push_back(std::move(m));
    }
    std::stable_sort(parsed_all.begin(), parsed_all.end(), [](const Matcher& a, const Matcher& b) {
      if (a.name() != b.name()) return a.name() < b.name();
      if (a.value() != b.value()) return a.value() < b.value();
      return a.type() < b.type();
    });
    for (Matcher& m : parsed_all) out.push_back(std::move(m));
  }
  return out;
}

Result<InhibitRule> ParseInhibitRule(const json::value& v, const std::string& path) {
  Fields f(v, path);
  if (!f.ok()) return f.Finish();
  InhibitRule rule;
  PLATOPS_ASSIGN_OR_RETURN(rule.source_matchers, InhibitSide(f, "source"));
  PLATOPS_ASSIGN_OR_RETURN(rule.target_matchers, InhibitSide(f, "target"));
  if (auto equal = f.TextList("equal")) {
    for (size_t i = 0; i < equal->size(); ++i) {
      if (!IsValidLabelName((*equal)[i])) {
        return InvalidArgument(fmt::format("{} is not a valid label name", GoQuote((*equal)[i])),
                               Index(f.Path("equal"), i));
      }
    }
    rule.equal = std::move(*equal);
  }
  PLATOPS_RETURN_IF_ERROR(f.Finish());
  return rule;
}

// `mute_time_intervals` then `time_intervals`, names unique across both.
Result<std::vector<NamedTimeInterval>> ParseTimeIntervals(Fields& top, const Context& ctx) {
  std::vector<NamedTimeInterval> out;
  TimeIntervalParseOptions ti_options;
  ti_options.local_time_zone = ctx.options.local_time_zone;
  std::set<std::string> names;
  for (const bool mute : {true, false}) {
    const char* key = mute ? "mute_time_intervals" : "time_intervals";
    const json::value* list = top.Get(key);
    if (list == nullptr) continue;
    const std::string path = top.Path(key);
    if (!list->is_array()) return InvalidArgument("must be a list", path);
    for (size_t i = 0; i < list->get_array().size(); ++i) {
      const std::string item_path = Index(path, i);
      auto parsed = ParseNamedTimeInterval(list->get_array()[i], ti_options);
      if (!parsed.ok()) {
        Status s = parsed.status().WithFieldPrefix(item_path);
        if (mute && s.message() == "missing name in time interval") {
          return InvalidArgument("missing name in mute time interval", s.field());
        }
        return s;
      }
      if (!names.insert(parsed->name).second) {
        return InvalidArgument(fmt::format("{}time interval {} is not unique", mute ? "mute " : "",
                                           GoQuote(parsed->name)),
                               Child(item_path, "name"));
      }
      out.push_back(std::move(parsed).value());
    }
  }
  return out;
}

// Secret fields of Alertmanager 0.25's schema, by receiver kind.
const std::map<std::string, std::vector<std::string>, std::less<>>& SecretKeysByKind() {
  static const auto* const kKeys = new std::map<std::string, std::vector<std::string>, std::less<>>{
      {"email_configs", {"auth_password", "auth_secret"}},
      {"slack_configs", {"api_url"}},
      {"webhook_configs", {"url", "signing_secret"}},
      {"pagerduty_configs", {"service_key", "routing_key"}},
      {"opsgenie_configs", {"api_key"}},
      {"wechat_configs", {"api_secret"}},
      {"pushover_configs", {"user_key", "token"}},
      {"victorops_configs", {"api_key"}},
      {"telegram_configs", {"bot_token"}},
      {"discord_configs", {"webhook_url"}},
  };
  return *kKeys;
}

using SecretVisitor = std::function<void(json::value& secret)>;

// Calls `fn` with the value of `key` when it is set (not null, not an empty string).
void Visit(json::object& obj, std::string_view key, const SecretVisitor& fn) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->value().is_null()) return;
  if (it->value().is_string() && it->value().get_string().empty()) return;
  fn(it->value());
}

json::object* ObjectAt(json::object& obj, std::string_view key) {
  const auto it = obj.find(key);
  return it != obj.end() && it->value().is_object() ? &it->value().get_object() : nullptr;
}

void VisitHttpConfig(json::object& parent, const SecretVisitor& fn) {
  json::object* http = ObjectAt(parent, "http_config");
  if (http == nullptr) return;
  Visit(*http, "bearer_token", fn);
  if (json::object* basic = ObjectAt(*http, "basic_auth")) Visit(*basic, "password", fn);
  if (json::object* auth = ObjectAt(*http, "authorization")) Visit(*auth, "credentials", fn);
  if (json::object* oauth2 = ObjectAt(*http, "oauth2")) Visit(*oauth2, "client_secret", fn);
}

}  // namespace

Result<AmConfig> ParseAlertmanagerConfig(std::string_view yaml, const AmConfigOptions& options) {
  PLATOPS_ASSIGN_OR_RETURN(std::vector<json::value> docs, config::YamlToJson(yaml));
  if (docs.size() > 1) {
    return InvalidArgument("an Alertmanager configuration is a single YAML document");
  }
  auto document = std::make_shared<json::value>(docs.empty() ? json::value(json::object())
                                                             : std::move(docs.front()));
  if (options.route) {
    if (!document->is_object()) return InvalidArgument("an Alertmanager configuration must be a map");
    document->get_object()["route"] = *options.route;
  }
  AmConfig config;
  Context ctx{options, config.unsupported};
  Fields top(*document, "");
  if (!top.ok()) return InvalidArgument("an Alertmanager configuration must be a map");

  if (const json::value* global = top.Get("global")) {
    PLATOPS_ASSIGN_OR_RETURN(config.global, ParseGlobal(*global, ctx));
  }

  std::set<std::string> receiver_names;
  if (const json::value* list = top.Get("receivers")) {
    if (!list->is_array()) return InvalidArgument("must be a list", "receivers");
    for (size_t i = 0; i < list->get_array().size(); ++i) {
      const std::string path = Index("receivers", i);
      PLATOPS_ASSIGN_OR_RETURN(Receiver r,
                               ParseReceiver(list->get_array()[i], path, config.global, ctx));
      if (!receiver_names.insert(r.name).second) {
        return InvalidArgument(
            fmt::format("notification config name {} is not unique", GoQuote(r.name)),
            Child(path, "name"));
      }
      for (const std::string& kind : r.unsupported_kinds) {
        const std::string short_kind = kind.substr(0, kind.size() - std::string("_configs").size());
        ctx.Report(Child(path, kind),
                   fmt::format("receiver {}: {} receivers are not supported by platops; these "
                               "notifications are not sent",
                               GoQuote(r.name), short_kind));
      }
      config.receivers.push_back(std::move(r));
    }
  }

  PLATOPS_ASSIGN_OR_RETURN(config.time_intervals, ParseTimeIntervals(top, ctx));
  std::set<std::string> interval_names;
  for (const NamedTimeInterval& ti : config.time_intervals) interval_names.insert(ti.name);

  const json::value* route = top.Get("route");
  if (route == nullptr) return InvalidArgument("no routes provided", "route");
  PLATOPS_ASSIGN_OR_RETURN(config.route, ParseRouteTree(*route, receiver_names, interval_names));

  std::set<std::string> routed;
  config.route->Walk([&](const Route& r) { routed.insert(r.receiver()); });
  for (size_t i = 0; i < config.receivers.size(); ++i) {
    const Receiver& r = config.receivers[i];
    if (r.unsupported_kinds.empty() || r.HasSupportedConfig() || routed.count(r.name) == 0) {
      continue;
    }
    return InvalidArgument(
        fmt::format("receiver {} is used by the route but has only receiver kinds platops does "
                    "not support ({}); give it a webhook, Slack or email config",
                    GoQuote(r.name), fmt::join(r.unsupported_kinds, ", ")),
        Index("receivers", i));
  }

  if (const json::value* list = top.Get("inhibit_rules")) {
    PLATOPS_ASSIGN_OR_RETURN(config.inhibit_rules,
                             ParseList<InhibitRule>(*list, "inhibit_rules", ParseInhibitRule));
  }

  if (auto templates = top.TextList("templates")) {
    for (size_t i = 0; i < templates->size(); ++i) {
      config.templates.push_back(ctx.Resolve((*templates)[i]));
    }
  }
  PLATOPS_RETURN_IF_ERROR(top.Finish());
  config.document = std::move(document);
  return config;
}

void ForEachSecret(json::value& document, const std::function<void(json::value&)>& fn) {
  if (!document.is_object()) return;
  json::object& top = document.get_object();
  if (json::object* global = ObjectAt(top, "global")) {
    for (const char* key : {"smtp_auth_password", "smtp_auth_secret", "slack_api_url",
                            "opsgenie_api_key", "wechat_api_secret", "victorops_api_key"}) {
      Visit(*global, key, fn);
    }
    VisitHttpConfig(*global, fn);
  }
  const auto receivers = top.find("receivers");
  if (receivers == top.end() || !receivers->value().is_array()) return;
  for (json::value& receiver : receivers->value().get_array()) {
    if (!receiver.is_object()) continue;
    for (auto& kv : receiver.get_object()) {
      if (!kv.value().is_array()) continue;
      const auto keys = SecretKeysByKind().find(std::string_view(kv.key()));
      for (json::value& entry : kv.value().get_array()) {
        if (!entry.is_object()) continue;
        json::object& obj = entry.get_object();
        if (keys != SecretKeysByKind().end()) {
          for (const std::string& key : keys->second) Visit(obj, key, fn);
        }
        if (json::object* sigv4 = ObjectAt(obj, "sigv4")) Visit(*sigv4, "secret_key", fn);
        VisitHttpConfig(obj, fn);
      }
    }
  }
}

std::string ToRedactedJson(const AmConfig& config) {
  if (config.document == nullptr) return "{}";
  json::value doc = *config.document;
  ForEachSecret(doc, [](json::value& secret) { secret = json::string(kSecretMask); });
  return JsonToString(doc);
}

}  // namespace platops::alerting
