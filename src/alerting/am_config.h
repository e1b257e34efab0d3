#pragma once
// An Alertmanager configuration file (Alertmanager 0.25's config.Config) loaded as is: `global`,
// `route`, `receivers`, `inhibit_rules`, `time_intervals`, `mute_time_intervals`, `templates`.
// Receivers of the kinds platops sends (webhook, Slack, email) are loaded with the global defaults
// folded in as Alertmanager folds them; other kinds are kept out and reported by name.
// Thread-safety: AmConfig is a value; const use from many threads is safe.

#include <boost/json/fwd.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alerting/inhibit.h"
#include "alerting/route.h"
#include "alerting/time_interval.h"
#include "base/status.h"

namespace platops::alerting {

// A secret: written inline, or read through the file reader from `file` at load. Exports show a
// non-empty value as "<secret>", as Alertmanager does.
struct Secret {
  std::string value;  // the secret itself (the file's content when `file` is set)
  std::string file;   // the `*_file` path, resolved against the options' directory; "" inline
  bool empty() const { return value.empty() && file.empty(); }
};

// prometheus/common's TLSConfig, the fields platops honours. `cert_file`, `key_file`,
// `server_name`, `min_version` and `max_version` are accepted and reported as unsupported.
struct TlsConfig {
  std::string ca_file;  // resolved against the directory; "" = the system roots
  // A client certificate and its key (PEM), resolved against the directory; both or neither.
  std::string cert_file;
  std::string key_file;
  bool insecure_skip_verify = false;
};

// prometheus/common's HTTPClientConfig, the fields platops honours. `bearer_token` and
// `bearer_token_file` are folded into `authorization` as prometheus/common does; `oauth2` is
// accepted and reported as unsupported; `enable_http2` is accepted and has no effect.
struct HttpConfig {
  struct BasicAuth {
    std::string username;
    Secret password;  // `password` / `password_file` (file content trimmed of white space)
  };
  struct Authorization {
    std::string type = "Bearer";  // as written, trimmed; "Bearer" when absent or empty
    Secret credentials;           // `credentials` / `credentials_file` (trimmed)
  };
  bool has_basic_auth = false;
  BasicAuth basic_auth;
  bool has_authorization = false;
  Authorization authorization;
  TlsConfig tls_config;
  std::string proxy_url;  // "" = none
  bool follow_redirects = true;
};

// The Go-template defaults Alertmanager 0.25 gives unset fields; the text is kept as written.
inline constexpr const char* kDefaultSlackColor =
    R"({{ if eq .Status "firing" }}danger{{ else }}good{{ end }})";
inline constexpr const char* kDefaultSlackUsername = R"({{ template "slack.default.username" . }})";
inline constexpr const char* kDefaultSlackTitle = R"({{ template "slack.default.title" . }})";
inline constexpr const char* kDefaultSlackTitleLink =
    R"({{ template "slack.default.titlelink" . }})";
inline constexpr const char* kDefaultSlackIconEmoji =
    R"({{ template "slack.default.iconemoji" . }})";
inline constexpr const char* kDefaultSlackIconUrl = R"({{ template "slack.default.iconurl" . }})";
inline constexpr const char* kDefaultSlackPretext = R"({{ template "slack.default.pretext" . }})";
inline constexpr const char* kDefaultSlackText = R"({{ template "slack.default.text" . }})";
inline constexpr const char* kDefaultSlackFallback = R"({{ template "slack.default.fallback" . }})";
inline constexpr const char* kDefaultSlackCallbackId =
    R"({{ template "slack.default.callbackid" . }})";
inline constexpr const char* kDefaultSlackFooter = R"({{ template "slack.default.footer" . }})";
inline constexpr const char* kDefaultEmailHtml = R"({{ template "email.default.html" . }})";
// The Subject an email notifier adds when `headers` has none (not stored in EmailConfig).
inline constexpr const char* kDefaultEmailSubject = R"({{ template "email.default.subject" . }})";

// `global:`; every field has Alertmanager 0.25's default. Global fields of receiver kinds platops
// does not send (pagerduty_url, opsgenie_api_url, opsgenie_api_key, opsgenie_api_key_file,
// wechat_api_url, wechat_api_secret, wechat_api_corp_id, victorops_api_url, victorops_api_key,
// victorops_api_key_file, telegram_api_url, webex_api_url) are accepted and not kept.
struct GlobalConfig {
  std::chrono::milliseconds resolve_timeout{5 * 60'000};
  HttpConfig http_config;
  std::string smtp_from;
  std::string smtp_hello = "localhost";
  std::string smtp_smarthost;  // "host:port" or ""
  std::string smtp_auth_username;
  Secret smtp_auth_password;  // `smtp_auth_password` / `smtp_auth_password_file` (verbatim)
  Secret smtp_auth_secret;
  std::string smtp_auth_identity;
  bool smtp_require_tls = true;
  Secret slack_api_url;  // `slack_api_url` / `slack_api_url_file` (trimmed)
};

// `webhook_configs` entry. The URL is a secret here (as from Alertmanager 0.26 on, whose
// `url_file` this accepts too).
struct WebhookConfig {
  bool send_resolved = true;
  Secret url;               // `url` / `url_file` (trimmed); exactly one is set
  uint64_t max_alerts = 0;  // 0 = all alerts
  HttpConfig http_config;   // the global one when the entry sets none
  // platops: `signing_secret` / `signing_secret_file`. When set, each request carries
  // X-Platops-Signature: sha256=<hex HMAC-SHA256 of the body>.
  Secret signing_secret;
};

// `slack_configs` entry. Template fields hold Go template text, defaults as above.
struct SlackConfig {
  bool send_resolved = false;
  HttpConfig http_config;  // the global one when the entry sets none
  Secret api_url;          // own `api_url` / `api_url_file`, else the global one
  std::string channel;
  std::string username = kDefaultSlackUsername;
  std::string color = kDefaultSlackColor;
  std::string title = kDefaultSlackTitle;
  std::string title_link = kDefaultSlackTitleLink;
  std::string pretext = kDefaultSlackPretext;
  std::string text = kDefaultSlackText;
  std::string footer = kDefaultSlackFooter;
  std::string fallback = kDefaultSlackFallback;
  std::string callback_id = kDefaultSlackCallbackId;
  std::string icon_emoji = kDefaultSlackIconEmoji;
  std::string icon_url = kDefaultSlackIconUrl;
  std::string image_url;
  std::string thumb_url;
  bool short_fields = false;
  bool link_names = false;
  std::vector<std::string> mrkdwn_in;
  // `fields` and `actions` as JSON text ("[]" when absent), validated as Alertmanager does.
  std::string fields_json = "[]";
  std::string actions_json = "[]";
};

// `email_configs` entry with the global SMTP settings folded in.
struct EmailConfig {
  bool send_resolved = false;
  std::string to;
  std::string from;
  std::string hello;
  std::string smarthost;  // "host:port"
  std::string auth_username;
  Secret auth_password;  // `auth_password` / `auth_password_file` (verbatim), else the global one
  Secret auth_secret;
  std::string auth_identity;
  // Header names in Go's canonical MIME form ("content-type" -> "Content-Type").
  std::map<std::string, std::string> headers;
  std::string html = kDefaultEmailHtml;
  std::string text;
  bool require_tls = true;
  TlsConfig tls_config;
};

struct Receiver {
  std::string name;
  std::vector<WebhookConfig> webhook_configs;
  std::vector<SlackConfig> slack_configs;
  std::vector<EmailConfig> email_configs;
  // Non-empty lists of receiver kinds platops does not send ("pagerduty_configs"), file order.
  std::vector<std::string> unsupported_kinds;
  bool HasSupportedConfig() const {
    return !webhook_configs.empty() || !slack_configs.empty() || !email_configs.empty();
  }
};

// Something in the file that loaded but that platops does not act on; the caller logs each at
// load (a warning, not an error).
struct UnsupportedItem {
  std::string path;     // "receivers[3].pagerduty_configs", "templates[0]"
  std::string message;  // what is not done, in a sentence
};

struct AmConfig {
  GlobalConfig global;
  std::unique_ptr<Route> route;
  std::vector<Receiver> receivers;
  std::vector<InhibitRule> inhibit_rules;
  // `mute_time_intervals` entries first, then `time_intervals`; names unique across both.
  std::vector<NamedTimeInterval> time_intervals;
  // `templates` globs, resolved against the directory; the caller reads the files.
  std::vector<std::string> templates;
  std::vector<UnsupportedItem> unsupported;
  // The file as written (its JSON form), for ToRedactedJson.
  std::shared_ptr<const boost::json::value> document;
};

struct AmConfigOptions {
  // Directory that relative `*_file`, `ca_file` and `templates` paths are resolved against;
  // "" leaves them as written.
  std::string directory;
  // Reads a `*_file` (`url_file`, `api_url_file`, `slack_api_url_file`, `auth_password_file`,
  // `smtp_auth_password_file`, `password_file`, `credentials_file`, `bearer_token_file`) given
  // its resolved path. Unset: any such field is an error.
  std::function<Result<std::string>(const std::string& path)> read_file;
  // The zone `location: Local` of a time interval stands for. Default "UTC".
  std::string local_time_zone = "UTC";
  // Replaces the document's `route` (an applied `kind: Route`); its errors name `route.<field>`.
  std::optional<boost::json::object> route;
};

// Loads an Alertmanager configuration file. Errors are InvalidArgument with Alertmanager's own
// wording where it has one and the field path in Status::field()
// (`receivers[2].webhook_configs[0].url`); unknown fields are refused by path, as Alertmanager's
// strict decoding does. Receiver kinds platops does not send and `templates` are listed in
// `unsupported` and loading goes on, except that a receiver with unsupported kinds and no
// supported config that some route uses is an error: alerts routed there would go nowhere.
Result<AmConfig> ParseAlertmanagerConfig(std::string_view yaml, const AmConfigOptions& options);

// The configuration as written, re-serialised as JSON (not YAML), with every non-empty secret of
// Alertmanager's schema replaced by "<secret>": passwords, credentials, tokens, API keys and
// secret URLs, in unsupported receivers too. `*_file` paths are shown. For
// `GET /api/v2/status`'s `config.original`. "{}" when the config has no document.
std::string ToRedactedJson(const AmConfig& config);

// Calls `fn` with every non-empty secret of Alertmanager's schema in `document` (the JSON form
// of a configuration), in document order: the fields ToRedactedJson masks. `fn` may replace the
// value (mask, seal or open it).
void ForEachSecret(boost::json::value& document,
                   const std::function<void(boost::json::value&)>& fn);

}  // namespace platops::alerting
