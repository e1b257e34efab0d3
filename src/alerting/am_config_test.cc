#include "alerting/am_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace platops::alerting {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Files the fake reader serves, by resolved path.
const std::map<std::string, std::string> kFiles = {
    {"/etc/am/secrets/slack_url", "  https://hooks.slack.com/services/FILE\n"},
    {"/etc/am/secrets/smtp_pw", "file-smtp-pw\n"},
    {"/etc/am/secrets/hook_url", "https://hooks.example.com/from-file\n"},
    {"/etc/am/secrets/basic_pw", "basic-pw\n"},
    {"/etc/am/secrets/token", " tok-from-file \n"},
    {"/abs/token", "abs-token"},
};

AmConfigOptions Options() {
  AmConfigOptions options;
  options.directory = "/etc/am";
  options.read_file = [](const std::string& path) -> Result<std::string> {
    const auto it = kFiles.find(path);
    if (it == kFiles.end()) return NotFound("no such file");
    return it->second;
  };
  return options;
}

Result<AmConfig> Load(std::string_view yaml) { return ParseAlertmanagerConfig(yaml, Options()); }

// A file in the style of Alertmanager's doc/examples/simple.yml.
constexpr std::string_view kRealistic = R"(
global:
  resolve_timeout: 2m
  smtp_smarthost: 'localhost:25'
  smtp_from: 'alertmanager@example.org'
  smtp_auth_username: 'alertmanager'
  smtp_auth_password: 'smtp-password'
  smtp_hello: mail.example.org
  smtp_require_tls: false
  slack_api_url: 'https://hooks.slack.com/services/GLOBAL'
  pagerduty_url: 'https://events.pagerduty.com/v2/enqueue'
  http_config:
    follow_redirects: false
    basic_auth:
      username: hook
      password: hook-password
templates:
  - 'templates/*.tmpl'
route:
  group_by: ['alertname', 'cluster', 'service']
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 3h
  receiver: team-X-mails
  routes:
    - matchers:
        - service=~"foo1|foo2|baz"
      receiver: team-X-mails
      routes:
        - matchers:
            - severity="critical"
          receiver: team-X-pager
    - match:
        service: files
      receiver: team-Y-slack
      mute_time_intervals: [offhours]
    - match_re:
        service: database
      receiver: team-DB-hook
      active_time_intervals: [business]
      group_by: [alertname, cluster, database]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname, cluster, service]
  - source_match:
      severity: critical
    source_match_re:
      service: 'db|cache'
    target_match:
      severity: info
    equal: [alertname]
receivers:
  - name: 'team-X-mails'
    email_configs:
      - to: 'team-X+alerts@example.org'
        headers:
          subject: 'Alert: {{ .CommonLabels.alertname }}'
          x-team: X
  - name: 'team-Y-slack'
    slack_configs:
      - channel: '#team-y'
        send_resolved: true
        title: 'custom title'
        fields:
          - title: Severity
            value: '{{ .CommonLabels.severity }}'
            short: true
        actions:
          - type: button
            text: Runbook
            url: 'https://runbooks.example.org'
        mrkdwn_in: [text, pretext]
  - name: 'team-DB-hook'
    webhook_configs:
      - url: 'https://hooks.example.org/db'
        max_alerts: 10
        send_resolved: false
  - name: 'team-X-pager'
    email_configs:
      - to: 'team-X+pager@example.org'
        smarthost: 'pager.example.org:587'
        require_tls: true
    pagerduty_configs:
      - routing_key: 'pd-routing-key'
time_intervals:
  - name: business
    time_intervals:
      - weekdays: ['monday:friday']
        times:
          - start_time: '09:00'
            end_time: '17:00'
mute_time_intervals:
  - name: offhours
    time_intervals:
      - weekdays: ['saturday', 'sunday']
)";

TEST(AmConfigTest, RealisticFileLoadsEveryField) {
  auto loaded = Load(kRealistic);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const AmConfig& c = *loaded;

  EXPECT_EQ(c.global.resolve_timeout, std::chrono::minutes(2));
  EXPECT_EQ(c.global.smtp_smarthost, "localhost:25");
  EXPECT_EQ(c.global.smtp_from, "alertmanager@example.org");
  EXPECT_EQ(c.global.smtp_hello, "mail.example.org");
  EXPECT_EQ(c.global.smtp_auth_username, "alertmanager");
  EXPECT_EQ(c.global.smtp_auth_password.value, "smtp-password");
  EXPECT_FALSE(c.global.smtp_require_tls);
  EXPECT_EQ(c.global.slack_api_url.value, "https://hooks.slack.com/services/GLOBAL");
  EXPECT_FALSE(c.global.http_config.follow_redirects);
  EXPECT_TRUE(c.global.http_config.has_basic_auth);
  EXPECT_EQ(c.global.http_config.basic_auth.username, "hook");
  EXPECT_EQ(c.global.http_config.basic_auth.password.value, "hook-password");

  // Route tree.
  ASSERT_NE(c.route, nullptr);
  EXPECT_EQ(c.route->receiver(), "team-X-mails");
  EXPECT_EQ(c.route->repeat_interval(), std::chrono::hours(3));
  ASSERT_EQ(c.route->routes().size(), 3u);
  EXPECT_EQ(c.route->routes()[0]->routes()[0]->receiver(), "team-X-pager");
  EXPECT_THAT(c.route->routes()[1]->mute_time_intervals(), ElementsAre("offhours"));
  EXPECT_THAT(c.route->routes()[2]->active_time_intervals(), ElementsAre("business"));

  // Receivers in file order.
  ASSERT_EQ(c.receivers.size(), 4u);
  const EmailConfig& mail = c.receivers[0].email_configs.at(0);
  EXPECT_EQ(c.receivers[0].name, "team-X-mails");
  EXPECT_EQ(mail.to, "team-X+alerts@example.org");
  EXPECT_EQ(mail.from, "alertmanager@example.org");
  EXPECT_EQ(mail.smarthost, "localhost:25");
  EXPECT_EQ(mail.hello, "mail.example.org");
  EXPECT_EQ(mail.auth_username, "alertmanager");
  EXPECT_EQ(mail.auth_password.value, "smtp-password");
  EXPECT_FALSE(mail.require_tls);
  EXPECT_FALSE(mail.send_resolved);
  EXPECT_EQ(mail.html, kDefaultEmailHtml);
  EXPECT_EQ(mail.text, "");
  EXPECT_EQ(mail.headers,
            (std::map<std::string, std::string>{{"Subject", "Alert: {{ .CommonLabels.alertname }}"},
                                                {"X-Team", "X"}}));

  const SlackConfig& slack = c.receivers[1].slack_configs.at(0);
  EXPECT_EQ(slack.channel, "#team-y");
  EXPECT_TRUE(slack.send_resolved);
  EXPECT_EQ(slack.title, "custom title");
  EXPECT_EQ(slack.text, kDefaultSlackText);
  EXPECT_EQ(slack.api_url.value, "https://hooks.slack.com/services/GLOBAL");
  EXPECT_FALSE(slack.http_config.follow_redirects);  // the global http_config
  EXPECT_EQ(slack.fields_json,
            R"([{"title":"Severity","value":"{{ .CommonLabels.severity }}","short":true}])");
  EXPECT_EQ(slack.actions_json,
            R"([{"type":"button","text":"Runbook","url":"https://runbooks.example.org"}])");
  EXPECT_THAT(slack.mrkdwn_in, ElementsAre("text", "pretext"));

  const WebhookConfig& hook = c.receivers[2].webhook_configs.at(0);
  EXPECT_EQ(hook.url.value, "https://hooks.example.org/db");
  EXPECT_EQ(hook.url.file, "");
  EXPECT_EQ(hook.max_alerts, 10u);
  EXPECT_FALSE(hook.send_resolved);
  EXPECT_EQ(hook.http_config.basic_auth.password.value, "hook-password");

  const Receiver& pager = c.receivers[3];
  EXPECT_EQ(pager.email_configs.at(0).smarthost, "pager.example.org:587");
  EXPECT_TRUE(pager.email_configs.at(0).require_tls);
  EXPECT_THAT(pager.unsupported_kinds, ElementsAre("pagerduty_configs"));

  // Inhibit rules: deprecated maps first (equality, then regex), then the matchers.
  ASSERT_EQ(c.inhibit_rules.size(), 2u);
  EXPECT_EQ(MatchersString(c.inhibit_rules[0].source_matchers), R"({severity="critical"})");
  EXPECT_EQ(MatchersString(c.inhibit_rules[0].target_matchers), R"({severity="warning"})");
  EXPECT_THAT(c.inhibit_rules[0].equal, ElementsAre("alertname", "cluster", "service"));
  EXPECT_EQ(MatchersString(c.inhibit_rules[1].source_matchers),
            R"({severity="critical",service=~"db|cache"})");
  EXPECT_EQ(MatchersString(c.inhibit_rules[1].target_matchers), R"({severity="info"})");

  // Time intervals: mute_time_intervals first.
  ASSERT_EQ(c.time_intervals.size(), 2u);
  EXPECT_EQ(c.time_intervals[0].name, "offhours");
  EXPECT_EQ(c.time_intervals[1].name, "business");
  ASSERT_EQ(c.time_intervals[1].intervals.size(), 1u);
  ASSERT_TRUE(c.time_intervals[1].intervals[0].times.has_value());
  EXPECT_EQ(c.time_intervals[1].intervals[0].times->at(0), (TimeRange{540, 1020}));

  EXPECT_THAT(c.templates, ElementsAre("/etc/am/templates/*.tmpl"));
  // Templates are loaded (server/core.cc reads the files); only the pager is unsupported.
  ASSERT_EQ(c.unsupported.size(), 1u);
  EXPECT_EQ(c.unsupported[0].path, "receivers[3].pagerduty_configs");
  EXPECT_THAT(c.unsupported[0].message, HasSubstr(R"(receiver "team-X-pager": pagerduty)"));
}

TEST(AmConfigTest, DefaultsWhenGlobalIsAbsentOrEmpty) {
  for (std::string_view yaml : {"route: {receiver: x}\nreceivers: [{name: x}]\n",
                                "global:\nroute: {receiver: x}\nreceivers: [{name: x}]\n",
                                "global: {}\nroute: {receiver: x}\nreceivers: [{name: x}]\n"}) {
    auto c = Load(yaml);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->global.resolve_timeout, std::chrono::minutes(5));
    EXPECT_EQ(c->global.smtp_hello, "localhost");
    EXPECT_TRUE(c->global.smtp_require_tls);
    EXPECT_TRUE(c->global.http_config.follow_redirects);
    EXPECT_FALSE(c->global.http_config.has_basic_auth);
    EXPECT_TRUE(c->global.slack_api_url.empty());
    EXPECT_THAT(c->unsupported, IsEmpty());
    ASSERT_EQ(c->receivers.size(), 1u);
    EXPECT_FALSE(c->receivers[0].HasSupportedConfig());
  }
}

TEST(AmConfigTest, ReceiverDefaults) {
  auto c = Load(R"(
global: {slack_api_url: 'https://slack.example/x', smtp_smarthost: 'm:25', smtp_from: a@b}
route: {receiver: r}
receivers:
  - name: r
    webhook_configs: [{url: 'http://h/'}]
    slack_configs: [{}]
    email_configs: [{to: x@y}]
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const Receiver& r = c->receivers[0];
  EXPECT_TRUE(r.webhook_configs[0].send_resolved);
  EXPECT_EQ(r.webhook_configs[0].max_alerts, 0u);
  const SlackConfig& s = r.slack_configs[0];
  EXPECT_FALSE(s.send_resolved);
  EXPECT_EQ(s.username, R"({{ template "slack.default.username" . }})");
  EXPECT_EQ(s.color, R"({{ if eq .Status "firing" }}danger{{ else }}good{{ end }})");
  EXPECT_EQ(s.title, R"({{ template "slack.default.title" . }})");
  EXPECT_EQ(s.title_link, R"({{ template "slack.default.titlelink" . }})");
  EXPECT_EQ(s.pretext, R"({{ template "slack.default.pretext" . }})");
  EXPECT_EQ(s.text, R"({{ template "slack.default.text" . }})");
  EXPECT_EQ(s.footer, R"({{ template "slack.default.footer" . }})");
  EXPECT_EQ(s.fallback, R"({{ template "slack.default.fallback" . }})");
  EXPECT_EQ(s.callback_id, R"({{ template "slack.default.callbackid" . }})");
  EXPECT_EQ(s.icon_emoji, R"({{ template "slack.default.iconemoji" . }})");
  EXPECT_EQ(s.icon_url, R"({{ template "slack.default.iconurl" . }})");
  EXPECT_EQ(s.channel, "");
  EXPECT_EQ(s.fields_json, "[]");
  EXPECT_EQ(s.actions_json, "[]");
  EXPECT_FALSE(s.short_fields);
  EXPECT_FALSE(s.link_names);
  EXPECT_EQ(s.api_url.value, "https://slack.example/x");
  const EmailConfig& e = r.email_configs[0];
  EXPECT_FALSE(e.send_resolved);
  EXPECT_EQ(e.hello, "localhost");
  EXPECT_TRUE(e.require_tls);
  EXPECT_EQ(e.html, R"({{ template "email.default.html" . }})");
  EXPECT_THAT(e.headers, IsEmpty());
}

TEST(AmConfigTest, OwnValuesWinOverGlobals) {
  auto c = Load(R"(
global:
  smtp_smarthost: 'g:25'
  smtp_from: g@example.org
  smtp_hello: g.example.org
  smtp_auth_username: guser
  smtp_auth_password: gpass
  smtp_auth_secret: gsecret
  smtp_auth_identity: gid
  slack_api_url: 'https://slack.example/global'
  http_config: {follow_redirects: false}
route: {receiver: r}
receivers:
  - name: r
    email_configs:
      - to: x@y
        smarthost: 'own:2525'
        from: own@example.org
        hello: own.example.org
        auth_username: ouser
        auth_password: opass
        auth_secret: osecret
        auth_identity: oid
        require_tls: false
        send_resolved: true
        text: plain
      - to: z@y
    slack_configs:
      - api_url: 'https://slack.example/own'
        http_config: {proxy_url: 'http://proxy:3128'}
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const EmailConfig& own = c->receivers[0].email_configs[0];
  EXPECT_EQ(own.smarthost, "own:2525");
  EXPECT_EQ(own.from, "own@example.org");
  EXPECT_EQ(own.hello, "own.example.org");
  EXPECT_EQ(own.auth_username, "ouser");
  EXPECT_EQ(own.auth_password.value, "opass");
  EXPECT_EQ(own.auth_secret.value, "osecret");
  EXPECT_EQ(own.auth_identity, "oid");
  EXPECT_FALSE(own.require_tls);
  EXPECT_TRUE(own.send_resolved);
  EXPECT_EQ(own.text, "plain");
  const EmailConfig& inherited = c->receivers[0].email_configs[1];
  EXPECT_EQ(inherited.smarthost, "g:25");
  EXPECT_EQ(inherited.from, "g@example.org");
  EXPECT_EQ(inherited.hello, "g.example.org");
  EXPECT_EQ(inherited.auth_username, "guser");
  EXPECT_EQ(inherited.auth_password.value, "gpass");
  EXPECT_EQ(inherited.auth_secret.value, "gsecret");
  EXPECT_EQ(inherited.auth_identity, "gid");
  EXPECT_TRUE(inherited.require_tls);
  const SlackConfig& slack = c->receivers[0].slack_configs[0];
  EXPECT_EQ(slack.api_url.value, "https://slack.example/own");
  // An own http_config replaces the global one whole; its unset fields take their defaults.
  EXPECT_EQ(slack.http_config.proxy_url, "http://proxy:3128");
  EXPECT_TRUE(slack.http_config.follow_redirects);
}

TEST(AmConfigTest, ScalarsReadAsYamlV2Would) {
  auto c = Load(R"(
route: {receiver: r}
receivers:
  - name: r
    slack_configs:
      - api_url: 'https://s/x'
        channel: 123
        send_resolved: yes
        link_names: on
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->receivers[0].slack_configs[0].channel, "123");
  EXPECT_TRUE(c->receivers[0].slack_configs[0].send_resolved);
  EXPECT_TRUE(c->receivers[0].slack_configs[0].link_names);
}

TEST(AmConfigTest, EmailHeadersAreCanonicalAndDuplicatesRefused) {
  auto c = Load(R"(
global: {smtp_smarthost: 'm:25', smtp_from: a@b}
route: {receiver: r}
receivers:
  - name: r
    email_configs:
      - to: x@y
        headers: {content-TYPE: text/plain, x-my-header: v, 'weird key': w}
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->receivers[0].email_configs[0].headers,
            (std::map<std::string, std::string>{
                {"Content-Type", "text/plain"}, {"X-My-Header", "v"}, {"weird key", "w"}}));

  auto dup = Load(R"(
global: {smtp_smarthost: 'm:25', smtp_from: a@b}
route: {receiver: r}
receivers:
  - name: r
    email_configs:
      - to: x@y
        headers: {Subject: a, subject: b}
)");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(), R"(duplicate header "Subject" in email config)");
  EXPECT_EQ(dup.status().field(), "receivers[0].email_configs[0].headers.subject");
}

TEST(AmConfigTest, FileFieldsAreReadThroughTheReader) {
  auto c = Load(R"(
global:
  slack_api_url_file: secrets/slack_url
  smtp_smarthost: 'm:25'
  smtp_from: a@b
  smtp_auth_password_file: secrets/smtp_pw
route: {receiver: r}
receivers:
  - name: r
    slack_configs: [{}]
    email_configs: [{to: x@y}]
    webhook_configs:
      - url_file: secrets/hook_url
        http_config:
          basic_auth: {username: u, password_file: secrets/basic_pw}
      - url: 'http://h/'
        http_config:
          authorization: {type: Token, credentials_file: secrets/token}
      - url: 'http://h/'
        http_config: {bearer_token_file: /abs/token}
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->global.slack_api_url.file, "/etc/am/secrets/slack_url");
  const Receiver& r = c->receivers[0];
  // URLs and HTTP credentials are trimmed; the SMTP password is kept verbatim (Alertmanager 0.25).
  EXPECT_EQ(r.slack_configs[0].api_url.value, "https://hooks.slack.com/services/FILE");
  EXPECT_EQ(r.slack_configs[0].api_url.file, "/etc/am/secrets/slack_url");
  EXPECT_EQ(r.email_configs[0].auth_password.value, "file-smtp-pw\n");
  EXPECT_EQ(r.email_configs[0].auth_password.file, "/etc/am/secrets/smtp_pw");
  EXPECT_EQ(r.webhook_configs[0].url.value, "https://hooks.example.com/from-file");
  EXPECT_EQ(r.webhook_configs[0].url.file, "/etc/am/secrets/hook_url");
  EXPECT_EQ(r.webhook_configs[0].http_config.basic_auth.password.value, "basic-pw");
  EXPECT_EQ(r.webhook_configs[1].http_config.authorization.type, "Token");
  EXPECT_EQ(r.webhook_configs[1].http_config.authorization.credentials.value, "tok-from-file");
  EXPECT_EQ(r.webhook_configs[1].http_config.authorization.credentials.file,
            "/etc/am/secrets/token");
  // bearer_token_file becomes a Bearer authorization; an absolute path stays as written.
  EXPECT_TRUE(r.webhook_configs[2].http_config.has_authorization);
  EXPECT_EQ(r.webhook_configs[2].http_config.authorization.type, "Bearer");
  EXPECT_EQ(r.webhook_configs[2].http_config.authorization.credentials.value, "abs-token");
  EXPECT_EQ(r.webhook_configs[2].http_config.authorization.credentials.file, "/abs/token");
}

TEST(AmConfigTest, UnreadableFilesAreErrorsAtTheirField) {
  auto missing = Load(R"(
route: {receiver: r}
receivers:
  - name: r
    webhook_configs: [{url_file: nope}]
)");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().field(), "receivers[0].webhook_configs[0].url_file");
  EXPECT_EQ(missing.status().message(), "could not read /etc/am/nope: no such file");

  auto no_reader = ParseAlertmanagerConfig(R"(
route: {receiver: r}
receivers:
  - name: r
    webhook_configs: [{url_file: /x}]
)",
                                           AmConfigOptions{});
  ASSERT_FALSE(no_reader.ok());
  EXPECT_EQ(no_reader.status().message(), "could not read /x: no file reader");
}

TEST(AmConfigTest, BearerTokenBecomesAuthorization) {
  auto c = Load(R"(
route: {receiver: r}
receivers:
  - name: r
    webhook_configs: [{url: 'http://h/', http_config: {bearer_token: abc}}]
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const HttpConfig& http = c->receivers[0].webhook_configs[0].http_config;
  EXPECT_TRUE(http.has_authorization);
  EXPECT_EQ(http.authorization.type, "Bearer");
  EXPECT_EQ(http.authorization.credentials.value, "abc");
}

TEST(AmConfigTest, UnsupportedHttpAndTlsFieldsAreReported) {
  auto c = Load(R"(
route: {receiver: r}
receivers:
  - name: r
    webhook_configs:
      - url: 'http://h/'
        http_config:
          oauth2: {client_id: a, client_secret: b, token_url: 'http://t/'}
          tls_config: {server_name: h.internal, ca_file: ca.pem, insecure_skip_verify: true}
          enable_http2: false
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const HttpConfig& http = c->receivers[0].webhook_configs[0].http_config;
  EXPECT_EQ(http.tls_config.ca_file, "/etc/am/ca.pem");
  EXPECT_TRUE(http.tls_config.insecure_skip_verify);
  ASSERT_EQ(c->unsupported.size(), 2u);
  EXPECT_EQ(c->unsupported[0].path, "receivers[0].webhook_configs[0].http_config.oauth2");
  EXPECT_EQ(c->unsupported[1].path,
            "receivers[0].webhook_configs[0].http_config.tls_config.server_name");
}

TEST(AmConfigTest, ClientCertificateNeedsItsKey) {
  auto c = Load(R"(
route: {receiver: r}
receivers:
  - name: r
    webhook_configs:
      - url: 'http://h/'
        http_config: {tls_config: {cert_file: c.pem, key_file: /tls/k.pem}}
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const TlsConfig& tls = c->receivers[0].webhook_configs[0].http_config.tls_config;
  EXPECT_EQ(tls.cert_file, "/etc/am/c.pem");
  EXPECT_EQ(tls.key_file, "/tls/k.pem");
  EXPECT_TRUE(c->unsupported.empty());

  auto no_key = Load(R"(
route: {receiver: r}
receivers:
  - name: r
    webhook_configs: [{url: 'http://h/', http_config: {tls_config: {cert_file: c.pem}}}]
)");
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.status().field(),
            "receivers[0].webhook_configs[0].http_config.tls_config.key_file");
  EXPECT_THAT(no_key.status().message(), HasSubstr("exactly one of key or key_file"));
  auto no_cert = Load(R"(
route: {receiver: r}
receivers:
  - name: r
    webhook_configs: [{url: 'http://h/', http_config: {tls_config: {key_file: k.pem}}}]
)");
  ASSERT_FALSE(no_cert.ok());
  EXPECT_THAT(no_cert.status().message(), HasSubstr("exactly one of cert or cert_file"));
}

TEST(AmConfigTest, WebhookSigningSecretInlineOrFromAFile) {
  auto c = Load(R"(
route: {receiver: r}
receivers:
  - name: r
    webhook_configs:
      - {url: 'http://h/', signing_secret: s3cret}
      - {url: 'http://h/', signing_secret_file: secrets/token}
      - {url: 'http://h/'}
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->receivers[0].webhook_configs[0].signing_secret.value, "s3cret");
  EXPECT_EQ(c->receivers[0].webhook_configs[1].signing_secret.value, "tok-from-file");
  EXPECT_EQ(c->receivers[0].webhook_configs[2].signing_secret.value, "");
  // A secret: masked in the redacted form.
  EXPECT_THAT(ToRedactedJson(*c), Not(HasSubstr("s3cret")));

  auto both = Load(R"(
route: {receiver: r}
receivers:
  - name: r
    webhook_configs: [{url: 'http://h/', signing_secret: a, signing_secret_file: secrets/token}]
)");
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().field(), "receivers[0].webhook_configs[0].signing_secret_file");
}

TEST(AmConfigTest, UnsupportedOnlyReceiverIsAWarningUnlessRouted) {
  auto unused = Load(R"(
route: {receiver: r}
receivers:
  - name: r
  - name: pd
    pagerduty_configs: [{routing_key: k}]
    opsgenie_configs: [{api_key: k}]
    discord_configs: []
)");
  ASSERT_TRUE(unused.ok()) << unused.status().ToString();
  EXPECT_THAT(unused->receivers[1].unsupported_kinds,
              ElementsAre("pagerduty_configs", "opsgenie_configs"));
  ASSERT_EQ(unused->unsupported.size(), 2u);
  EXPECT_EQ(unused->unsupported[1].path, "receivers[1].opsgenie_configs");

  auto routed = Load(R"(
route:
  receiver: r
  routes: [{receiver: pd, matchers: [team=db]}]
receivers:
  - name: r
  - name: pd
    pagerduty_configs: [{routing_key: k}]
)");
  ASSERT_FALSE(routed.ok());
  EXPECT_EQ(routed.status().field(), "receivers[1]");
  EXPECT_THAT(routed.status().message(), HasSubstr(R"(receiver "pd" is used by the route)"));
  EXPECT_THAT(routed.status().message(), HasSubstr("(pagerduty_configs)"));

  auto mixed = Load(R"(
route: {receiver: pd}
receivers:
  - name: pd
    pagerduty_configs: [{routing_key: k}]
    webhook_configs: [{url: 'http://h/'}]
)");
  ASSERT_TRUE(mixed.ok()) << mixed.status().ToString();
}

TEST(AmConfigTest, RedactedJsonMasksSecretsAndKeepsTheRest) {
  std::string yaml(kRealistic);
  const size_t at = yaml.find("receivers:\n") + std::string("receivers:\n").size();
  yaml.insert(at, R"(  - name: files
    webhook_configs:
      - url_file: secrets/hook_url
        http_config:
          authorization: {credentials: auth-cred}
    email_configs:
      - to: x@y
        auth_password: ''
)");
  auto c = Load(yaml);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const std::string json = ToRedactedJson(*c);
  for (const char* secret : {"smtp-password", "hook-password", "hooks.slack.com/services/GLOBAL",
                             "pd-routing-key", "hooks.example.org/db", "auth-cred"}) {
    EXPECT_THAT(json, Not(HasSubstr(secret))) << secret;
  }
  EXPECT_THAT(json, HasSubstr(R"("smtp_auth_password":"<secret>")"));
  EXPECT_THAT(json, HasSubstr(R"("slack_api_url":"<secret>")"));
  EXPECT_THAT(json, HasSubstr(R"("basic_auth":{"username":"hook","password":"<secret>"})"));
  EXPECT_THAT(json, HasSubstr(R"("routing_key":"<secret>")"));
  EXPECT_THAT(json, HasSubstr(R"("url":"<secret>","max_alerts":10)"));
  EXPECT_THAT(json, HasSubstr(R"("credentials":"<secret>")"));
  // File paths, empty secrets and non-secret fields are shown as written.
  EXPECT_THAT(json, HasSubstr(R"("url_file":"secrets/hook_url")"));
  EXPECT_THAT(json, HasSubstr(R"("auth_password":"")"));
  EXPECT_THAT(json, HasSubstr(R"("smtp_auth_username":"alertmanager")"));
  EXPECT_THAT(json, HasSubstr(R"("channel":"#team-y")"));
  // The structs keep the secrets.
  EXPECT_EQ(c->receivers[0].webhook_configs[0].http_config.authorization.credentials.value,
            "auth-cred");
  EXPECT_EQ(ToRedactedJson(AmConfig{}), "{}");
}

struct ErrorCase {
  const char* name;
  std::string yaml;
  const char* field;
  const char* message;
};

std::string WithReceivers(std::string_view receivers, std::string_view global = "") {
  std::string out = "route: {receiver: r}\n";
  if (!global.empty()) out += "global: " + std::string(global) + "\n";
  out += "receivers:\n";
  out += receivers;
  return out;
}

class AmConfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(AmConfigErrorTest, RefusedWithPathAndMessage) {
  const ErrorCase& c = GetParam();
  auto loaded = Load(c.yaml);
  ASSERT_FALSE(loaded.ok()) << c.yaml;
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(loaded.status().field(), c.field) << loaded.status().ToString();
  EXPECT_EQ(loaded.status().message(), c.message) << loaded.status().ToString();
}

const char* const kMail = "{smtp_smarthost: 'm:25', smtp_from: a@b}";

INSTANTIATE_TEST_SUITE_P(
    Errors, AmConfigErrorTest,
    ::testing::Values(
        ErrorCase{"MissingName", WithReceivers("  - name: r\n  - webhook_configs: []\n"),
                  "receivers[1].name", "missing name in receiver"},
        ErrorCase{"DuplicateName", WithReceivers("  - name: r\n  - name: r\n"), "receivers[1].name",
                  R"(notification config name "r" is not unique)"},
        ErrorCase{"WebhookNoUrl", WithReceivers("  - name: r\n    webhook_configs: [{}]\n"),
                  "receivers[0].webhook_configs[0].url",
                  "one of url or url_file must be configured"},
        ErrorCase{"WebhookBothUrls",
                  WithReceivers("  - name: r\n    webhook_configs: [{url: 'http://h/', "
                                "url_file: f}]\n"),
                  "receivers[0].webhook_configs[0].url_file",
                  "at most one of url & url_file must be configured"},
        ErrorCase{"WebhookScheme",
                  WithReceivers("  - name: r\n    webhook_configs: [{url: 'ftp://h/'}]\n"),
                  "receivers[0].webhook_configs[0].url", R"(unsupported scheme "ftp" for URL)"},
        ErrorCase{"WebhookHost",
                  WithReceivers("  - name: r\n    webhook_configs: [{url: 'http:///x'}]\n"),
                  "receivers[0].webhook_configs[0].url", "missing host for URL"},
        ErrorCase{"WebhookMaxAlerts",
                  WithReceivers("  - name: r\n    webhook_configs: [{url: 'http://h', "
                                "max_alerts: -1}]\n"),
                  "receivers[0].webhook_configs[0].max_alerts", "must be a non-negative integer"},
        ErrorCase{"SlackNoUrl", WithReceivers("  - name: r\n    slack_configs: [{}]\n"),
                  "receivers[0].slack_configs[0].api_url",
                  "no global Slack API URL set either inline or in a file"},
        ErrorCase{"SlackBothUrls",
                  WithReceivers("  - name: r\n    slack_configs: [{api_url: 'http://h', "
                                "api_url_file: f}]\n"),
                  "receivers[0].slack_configs[0].api_url_file",
                  "at most one of api_url & api_url_file must be configured"},
        ErrorCase{"SlackFieldTitle",
                  WithReceivers("  - name: r\n    slack_configs: [{api_url: 'http://h', "
                                "fields: [{value: v}]}]\n"),
                  "receivers[0].slack_configs[0].fields[0].title",
                  "missing title in Slack field configuration"},
        ErrorCase{"SlackActionType",
                  WithReceivers("  - name: r\n    slack_configs: [{api_url: 'http://h', "
                                "actions: [{text: t, url: 'http://u'}]}]\n"),
                  "receivers[0].slack_configs[0].actions[0].type",
                  "missing type in Slack action configuration"},
        ErrorCase{"SlackActionNameOrUrl",
                  WithReceivers("  - name: r\n    slack_configs: [{api_url: 'http://h', "
                                "actions: [{type: button, text: t}]}]\n"),
                  "receivers[0].slack_configs[0].actions[0]",
                  "missing name or url in Slack action configuration"},
        ErrorCase{"EmailNoTo", WithReceivers("  - name: r\n    email_configs: [{}]\n", kMail),
                  "receivers[0].email_configs[0].to", "missing to address in email config"},
        ErrorCase{"EmailNoSmarthost",
                  WithReceivers("  - name: r\n    email_configs: [{to: x@y, from: a@b}]\n"),
                  "receivers[0].email_configs[0].smarthost", "no global SMTP smarthost set"},
        ErrorCase{"EmailNoFrom",
                  WithReceivers("  - name: r\n    email_configs: [{to: x@y, smarthost: 'm:25'}]\n"),
                  "receivers[0].email_configs[0].from", "no global mail from address set"},
        ErrorCase{
            "EmailSmarthostPort",
            WithReceivers("  - name: r\n    email_configs: [{to: x@y, smarthost: m}]\n", kMail),
            "receivers[0].email_configs[0].smarthost", "address m: missing port in address"},
        ErrorCase{
            "EmailSmarthostEmptyPort",
            WithReceivers("  - name: r\n    email_configs: [{to: x@y, smarthost: 'm:'}]\n", kMail),
            "receivers[0].email_configs[0].smarthost", R"(address "m:": port cannot be empty)"},
        ErrorCase{"EmailBothPasswords",
                  WithReceivers("  - name: r\n    email_configs: [{to: x@y, auth_password: p, "
                                "auth_password_file: f}]\n",
                                kMail),
                  "receivers[0].email_configs[0].auth_password_file",
                  "at most one of auth_password & auth_password_file must be configured"},
        ErrorCase{
            "GlobalSlackBoth",
            WithReceivers("  - name: r\n", "{slack_api_url: 'http://h', slack_api_url_file: f}"),
            "global.slack_api_url_file",
            "at most one of slack_api_url & slack_api_url_file must be configured"},
        ErrorCase{
            "GlobalSmtpPasswordBoth",
            WithReceivers("  - name: r\n", "{smtp_auth_password: p, smtp_auth_password_file: f}"),
            "global.smtp_auth_password_file",
            "at most one of smtp_auth_password & smtp_auth_password_file must be "
            "configured"},
        ErrorCase{"GlobalResolveTimeout", WithReceivers("  - name: r\n", "{resolve_timeout: 5x}"),
                  "global.resolve_timeout", R"(not a valid duration string: "5x")"},
        ErrorCase{"BasicAuthAndAuthorization",
                  WithReceivers("  - name: r\n",
                                "{http_config: {basic_auth: {username: u}, authorization: "
                                "{credentials: c}}}"),
                  "global.http_config",
                  "at most one of basic_auth, oauth2 & authorization must be configured"},
        ErrorCase{"AuthorizationBasic",
                  WithReceivers("  - name: r\n", "{http_config: {authorization: {type: Basic}}}"),
                  "global.http_config.authorization.type",
                  R"(authorization type cannot be set to "basic", use "basic_auth" instead)"},
        ErrorCase{"BearerBoth",
                  WithReceivers("  - name: r\n",
                                "{http_config: {bearer_token: a, bearer_token_file: f}}"),
                  "global.http_config",
                  "at most one of bearer_token & bearer_token_file must be configured"},
        ErrorCase{"UnknownTopLevel", WithReceivers("  - name: r\n") + "extra: 1\n", "extra",
                  "unknown field"},
        ErrorCase{"UnknownNested",
                  WithReceivers("  - name: r\n    webhook_configs: [{url: 'http://h', urll: x}]\n"),
                  "receivers[0].webhook_configs[0].urll", "unknown field"},
        ErrorCase{"UnknownGlobal", WithReceivers("  - name: r\n", "{smtp_form: a}"),
                  "global.smtp_form", "unknown field"},
        ErrorCase{"KindNotIn025", WithReceivers("  - name: r\n    msteams_configs: [{}]\n"),
                  "receivers[0].msteams_configs", "unknown field"},
        ErrorCase{"NoRoute", "receivers: [{name: r}]\n", "route", "no routes provided"},
        ErrorCase{"UndefinedReceiver", "route: {receiver: nobody}\nreceivers: [{name: r}]\n",
                  "route.receiver", R"(undefined receiver "nobody" used in route)"},
        ErrorCase{"InhibitLabelName",
                  WithReceivers("  - name: r\n") + "inhibit_rules: [{source_match: {0x: a}}]\n",
                  "inhibit_rules[0].source_match.0x", R"(invalid label name "0x")"},
        ErrorCase{"InhibitNilRegex",
                  WithReceivers("  - name: r\n") + "inhibit_rules: [{target_match_re: {a: ~}}]\n",
                  "inhibit_rules[0].target_match_re.a", R"(invalid regexp value for "a")"},
        ErrorCase{"InhibitMatcher",
                  WithReceivers("  - name: r\n") +
                      "inhibit_rules: [{source_matchers: ['a=b', 'bad matcher']}]\n",
                  "inhibit_rules[0].source_matchers[1]", "bad matcher format: bad matcher"},
        ErrorCase{"InhibitEqual",
                  WithReceivers("  - name: r\n") + "inhibit_rules: [{equal: [ok, 'not-ok']}]\n",
                  "inhibit_rules[0].equal[1]", R"("not-ok" is not a valid label name)"},
        ErrorCase{"InhibitUnknown",
                  WithReceivers("  - name: r\n") + "inhibit_rules: [{source: {}}]\n",
                  "inhibit_rules[0].source", "unknown field"},
        ErrorCase{"TimeIntervalAcrossLists",
                  WithReceivers("  - name: r\n") +
                      "mute_time_intervals: [{name: a, time_intervals: []}]\n"
                      "time_intervals: [{name: a, time_intervals: []}]\n",
                  "time_intervals[0].name", R"(time interval "a" is not unique)"},
        ErrorCase{"MuteIntervalDuplicate",
                  WithReceivers("  - name: r\n") + "mute_time_intervals: [{name: a}, {name: a}]\n",
                  "mute_time_intervals[1].name", R"(mute time interval "a" is not unique)"},
        ErrorCase{"MuteIntervalName",
                  WithReceivers("  - name: r\n") + "mute_time_intervals: [{time_intervals: []}]\n",
                  "mute_time_intervals[0].name", "missing name in mute time interval"},
        ErrorCase{"TimeIntervalName",
                  WithReceivers("  - name: r\n") + "time_intervals: [{time_intervals: []}]\n",
                  "time_intervals[0].name", "missing name in time interval"},
        ErrorCase{"NotAMap", "- a\n- b\n", "", "an Alertmanager configuration must be a map"},
        ErrorCase{"TwoDocuments", WithReceivers("  - name: r\n") + "---\nroute: {}\n", "",
                  "an Alertmanager configuration is a single YAML document"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return info.param.name; });

// The configuration `make run` loads is one Alertmanager accepts (amtool check-config) and
// platops loads without reports.
TEST(AmConfigShippedTest, TheShippedExampleLoads) {
  const char* root = std::getenv("PLATOPS_SOURCE_DIR");
  ASSERT_NE(root, nullptr) << "PLATOPS_SOURCE_DIR is set by CTest";
  std::ifstream in(std::string(root) + "/examples/alerting/alertmanager.yml");
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  auto cfg = ParseAlertmanagerConfig(ss.str(), {});
  ASSERT_TRUE(cfg.ok()) << cfg.status().field() << ": " << cfg.status().message();
  EXPECT_EQ(cfg->receivers.size(), 3u);
  EXPECT_EQ(cfg->inhibit_rules.size(), 1u);
  EXPECT_TRUE(cfg->unsupported.empty());
}

}  // namespace
}  // namespace platops::alerting
