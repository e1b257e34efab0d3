#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "alerting/email.h"
#include "alerting/outbox.h"
#include "alerting/slack.h"
#include "alerting/webhook_notify.h"
#include "alerting/smtp.h"
#include "base/time_util.h"
#include "testing/temp_store.h"

namespace platops::alerting {
namespace {

using std::chrono::milliseconds;

Timestamp T(std::string_view s) { return *ParseRfc3339(s); }

NotificationData Data() {
  NotificationData d;
  d.receiver = "team-x";
  d.group_key = "{}/{team=\"x\"}:{alertname=\"InstanceDown\"}";
  d.group_labels = LabelSet{{"alertname", "InstanceDown"}};
  d.external_url = "http://platops:9470";
  d.now = T("2026-01-01T00:10:00Z");
  return d;
}

SecretBox Box(char fill = 'k') { return SecretBox::FromKey(std::string(32, fill)).value(); }

// Stands in for NotificationTemplates::Render: known template texts render to fixed outputs,
// "{{ fail }}" fails as Go's parser would, other template text is a test bug, and text without
// actions renders as itself. Records every call.
class FakeRender {
 public:
  explicit FakeRender(std::map<std::string, std::string> outputs) : outputs_(std::move(outputs)) {}

  RenderFn Fn() {
    return [this](std::string_view text, bool html) -> Result<std::string> {
      calls_.emplace_back(std::string(text), html);
      if (text.find("{{ fail }}") != std::string_view::npos) {
        return InvalidArgument("template: :1: function \"fail\" not defined");
      }
      auto it = outputs_.find(std::string(text));
      if (it != outputs_.end()) return it->second;
      if (text.find("{{") != std::string_view::npos) {
        ADD_FAILURE() << "no fake output for " << text;
        return InvalidArgument("no fake output");
      }
      return std::string(text);
    };
  }
  const std::vector<std::pair<std::string, bool>>& calls() const { return calls_; }

 private:
  std::map<std::string, std::string> outputs_;
  std::vector<std::pair<std::string, bool>> calls_;
};

// What Alertmanager's default Slack templates render to for a firing group of two.
std::map<std::string, std::string> SlackDefaults() {
  const std::string link = "http://platops:9470/#/alerts?receiver=team-x&silenced=false";
  return {
      {kDefaultSlackUsername, "Alertmanager"},
      {kDefaultSlackColor, "danger"},
      {kDefaultSlackTitle, "[FIRING:2] InstanceDown"},
      {kDefaultSlackTitleLink, link},
      {kDefaultSlackIconEmoji, ""},
      {kDefaultSlackIconUrl, ""},
      {kDefaultSlackPretext, ""},
      {kDefaultSlackText, "*Alert:* a down\n*Alert:* b down"},
      {kDefaultSlackFallback, "[FIRING:2] InstanceDown | " + link},
      {kDefaultSlackCallbackId, ""},
      {kDefaultSlackFooter, ""},
  };
}

SlackConfig DefaultSlack() {
  SlackConfig c;
  c.api_url.value = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
  return c;
}

// ---- Slack
// ---------------------------------------------------------------------------------------

TEST(SlackTest, DefaultConfigPayloadIsAlertmanagersAttachmentWithASectionBlock) {
  FakeRender render(SlackDefaults());
  auto body = SlackPayload(DefaultSlack(), render.Fn());
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  // Title and text once, in the block (title escaped for Slack: & -> &amp;); the attachment keeps
  // colour, fallback, footer and mrkdwn_in with Alertmanager's omission rules.
  EXPECT_EQ(
      *body,
      R"({"username":"Alertmanager",)"
      R"("text":"[FIRING:2] InstanceDown | http://platops:9470/#/alerts?receiver=team-x\u0026silenced=false",)"
      R"("blocks":[{"type":"section","text":{"type":"mrkdwn","text":)"
      R"("*\u003chttp://platops:9470/#/alerts?receiver=team-x\u0026amp;silenced=false|[FIRING:2] InstanceDown\u003e*\n)"
      R"(*Alert:* a down\n*Alert:* b down"}}],)"
      R"("attachments":[{"fallback":"[FIRING:2] InstanceDown | http://platops:9470/#/alerts?receiver=team-x\u0026silenced=false",)"
      R"("callback_id":"","footer":"","color":"danger","mrkdwn_in":["fallback","pretext","text"]}]})");
}

TEST(SlackTest, CustomFieldsActionsAndEscaping) {
  SlackConfig c = DefaultSlack();
  c.channel = "#ops";
  c.username = "platops-bot";
  c.icon_emoji = "";
  c.icon_url = "https://x.example/icon.png";
  c.link_names = true;
  c.title = "Disk <full> & co";
  c.title_link = "";
  c.pretext = "Heads up";
  c.text = "body";
  c.fallback = "";
  c.callback_id = "cb";
  c.footer = "platops";
  c.color = "#ff0000";
  c.image_url = "https://x.example/img.png";
  c.thumb_url = "https://x.example/thumb.png";
  c.short_fields = true;
  c.mrkdwn_in = {"text"};
  c.fields_json = R"([{"title":"Severity","value":"{{ .CommonLabels.severity }}"},)"
                  R"({"title":"Runbook","value":"http://wiki","short":false}])";
  // A URL button loses name/value/confirm as in Alertmanager; a message action keeps them.
  c.actions_json =
      R"([{"type":"button","text":"Silence","url":"{{ silence }}","name":"x","style":"danger"},)"
      R"({"type":"button","text":"Ack","name":"ack","value":"{{ ack }}",)"
      R"("confirm":{"text":"Sure?","ok_text":"Yes"}}])";
  FakeRender render({{"{{ .CommonLabels.severity }}", "critical"},
                     {"{{ silence }}", "http://am/#/silences/new?a=1&b=2"},
                     {"{{ ack }}", "ack-1"}});
  auto body = SlackPayload(c, render.Fn());
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(
      *body,
      R"({"channel":"#ops","username":"platops-bot","icon_url":"https://x.example/icon.png",)"
      R"("link_names":true,"text":"Disk \u003cfull\u003e \u0026 co",)"
      R"("blocks":[{"type":"section","text":{"type":"mrkdwn",)"
      R"("text":"*Disk \u0026lt;full\u0026gt; \u0026amp; co*\nbody"}}],)"
      R"("attachments":[{"pretext":"Heads up","fallback":"","callback_id":"cb",)"
      R"("fields":[{"title":"Severity","value":"critical","short":true},)"
      R"({"title":"Runbook","value":"http://wiki","short":false}],)"
      R"("actions":[{"type":"button","text":"Silence","url":"http://am/#/silences/new?a=1\u0026b=2",)"
      R"("style":"danger"},{"type":"button","text":"Ack","name":"ack","value":"ack-1",)"
      R"("confirm":{"text":"Sure?","ok_text":"Yes"}}],)"
      R"("image_url":"https://x.example/img.png","thumb_url":"https://x.example/thumb.png",)"
      R"("footer":"platops","color":"#ff0000","mrkdwn_in":["text"]}]})");
  // Every template field went through the renderer, as text (not HTML).
  for (const auto& [text, html] : render.calls()) EXPECT_FALSE(html) << text;
}

TEST(SlackTest, LinkWithAPipeCannotEndTheUrlEarly) {
  SlackConfig c = DefaultSlack();
  c.title = "t";
  c.title_link = "http://x/?q=a|b";
  c.text = "";
  FakeRender render(SlackDefaults());
  auto body = SlackPayload(c, render.Fn());
  ASSERT_TRUE(body.ok());
  auto v = boost::json::parse(*body);
  EXPECT_EQ(v.at("blocks").at(0).at("text").at("text").as_string(), "*<http://x/?q=a%7Cb|t>*");
}

size_t Runes(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

TEST(SlackTest, TitleIsCutAt1024RunesAndTheSectionAt3000) {
  SlackConfig c = DefaultSlack();
  std::string long_title;
  for (int i = 0; i < 1100; ++i) long_title += "é";
  c.title = long_title;
  c.title_link = "";
  c.fallback = "";
  c.text = std::string(5000, 'a');
  FakeRender render(SlackDefaults());
  auto body = SlackPayload(c, render.Fn());
  ASSERT_TRUE(body.ok());
  auto v = boost::json::parse(*body);
  std::string title(v.at("text").as_string());  // the fallback is empty, so the title
  EXPECT_EQ(Runes(title), 1024u);
  EXPECT_EQ(title.substr(title.size() - 3), "…");
  EXPECT_EQ(title.substr(0, 1023 * 2), long_title.substr(0, 1023 * 2));

  std::string section(v.at("blocks").at(0).at("text").at("text").as_string());
  EXPECT_EQ(Runes(section), kSlackMaxSectionChars);
  EXPECT_EQ(section.rfind("*" + title + "*\naaaa", 0), 0u);
  EXPECT_EQ(section.substr(section.size() - 4), "a…");
  // Nothing is cut below the limits.
  c.title = "short";
  c.text = std::string(100, 'b');
  auto small = boost::json::parse(*SlackPayload(c, render.Fn()));
  EXPECT_EQ(small.at("blocks").at(0).at("text").at("text").as_string(),
            "*short*\n" + std::string(100, 'b'));
}

TEST(SlackTest, TemplateErrorsNameTheField) {
  FakeRender render(SlackDefaults());
  SlackConfig c = DefaultSlack();
  c.title = "{{ fail }}";
  auto n = SlackNotification(c, 2, Data(), render.Fn(), Box(), "key-1");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().field(), "slack_configs[2].title");
  EXPECT_EQ(n.status().ToString(),
            "validation_failed: slack_configs[2].title: template: :1: function \"fail\" not "
            "defined");

  c = DefaultSlack();
  c.fields_json = R"([{"title":"a","value":"b"},{"title":"c","value":"{{ fail }}"}])";
  n = SlackNotification(c, 0, Data(), render.Fn(), Box(), "key-1");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().field(), "slack_configs[0].fields[1].value");

  c = DefaultSlack();
  c.actions_json = R"([{"type":"button","text":"t","name":"n","confirm":{"text":"{{ fail }}"}}])";
  n = SlackNotification(c, 0, Data(), render.Fn(), Box(), "key-1");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().field(), "slack_configs[0].actions[0].confirm.text");
}

TEST(SlackTest, RedactSecretUrlKeepsOnlySchemeAndHost) {
  EXPECT_EQ(RedactSecretUrl("https://hooks.slack.com/services/T0/B0/XXX"),
            "https://hooks.slack.com/<secret>");
  EXPECT_EQ(RedactSecretUrl("https://user:pw@chat.example:8443/hook?token=abc#frag"),
            "https://chat.example:8443/<secret>");
  EXPECT_EQ(RedactSecretUrl("http://127.0.0.1:9000"), "http://127.0.0.1:9000/<secret>");
  EXPECT_EQ(RedactSecretUrl("not a url"), "<secret>");
}

TEST(SlackTest, NotificationSealsTheUrlAndShowsItRedacted) {
  FakeRender render(SlackDefaults());
  SecretBox box = Box();
  SlackConfig c = DefaultSlack();
  auto n = SlackNotification(c, 1, Data(), render.Fn(), box, "key-9");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->idempotency_key, "key-9");
  EXPECT_EQ(n->receiver, "team-x");
  EXPECT_EQ(n->integration, "slack[1]");
  EXPECT_EQ(n->kind, "slack");
  EXPECT_EQ(n->target, "https://hooks.slack.com/<secret>");
  EXPECT_EQ(n->request, *SlackPayload(c, render.Fn()));
  EXPECT_TRUE(n->headers.empty());
  auto secret = OpenDeliverySecret(&box, n->sealed_secret);
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  EXPECT_EQ(secret->url, c.api_url.value);
  EXPECT_EQ(secret->password, "");
  // The secret part of the URL is nowhere in clear.
  for (const std::string* s : {&n->target, &n->request, &n->sealed_secret}) {
    EXPECT_EQ(s->find("XXXXSECRET"), std::string::npos) << *s;
  }

  c.api_url.value = "";
  auto missing = SlackNotification(c, 0, Data(), render.Fn(), box, "key-9");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().field(), "slack_configs[0].api_url");
}

TEST(SlackTest, NotificationCarriesItsHttpConfig) {
  FakeRender render(SlackDefaults());
  SecretBox box = Box();
  SlackConfig c = DefaultSlack();
  c.http_config.proxy_url = "http://proxy.internal:3128";
  c.http_config.tls_config.ca_file = "/etc/platops/ca.pem";
  c.http_config.has_authorization = true;
  c.http_config.authorization.credentials.value = "xoxb-token";
  auto n = SlackNotification(c, 0, Data(), render.Fn(), box, "key-1");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  auto t = HttpTransport::From(n->headers);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->proxy_url, "http://proxy.internal:3128");
  EXPECT_EQ(t->ca_file, "/etc/platops/ca.pem");
  EXPECT_TRUE(t->follow_redirects);
  auto secret = OpenDeliverySecret(&box, n->sealed_secret);
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(secret->url, c.api_url.value);
  EXPECT_EQ(secret->authorization, "Bearer xoxb-token");
}

// ---- Webhook rows ----------------------------------------------------------------------------

WebhookConfig Hook() {
  WebhookConfig w;
  w.url.value = "https://hooks.example.com/in/t0k3n";
  return w;
}

NotificationData FiringData() {
  NotificationData d = Data();
  Alert a;
  a.labels = LabelSet{{"alertname", "InstanceDown"}};
  a.starts_at = T("2026-01-01T00:00:00Z");
  d.alerts.push_back(a);
  return d;
}

TEST(WebhookNotificationTest, SealsTheUrlAndSendsThePayload) {
  SecretBox box = Box();
  auto n = WebhookNotification(Hook(), 2, FiringData(), &box, "key-2");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->integration, "webhook[2]");
  EXPECT_EQ(n->kind, "webhook");
  EXPECT_EQ(n->receiver, "team-x");
  EXPECT_EQ(n->idempotency_key, "key-2");
  EXPECT_EQ(n->target, "https://hooks.example.com/<secret>");
  EXPECT_EQ(n->request, WebhookPayload(FiringData()));
  EXPECT_TRUE(n->headers.empty());  // default http_config, no signature
  auto secret = OpenDeliverySecret(&box, n->sealed_secret);
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(secret->url, "https://hooks.example.com/in/t0k3n");
  EXPECT_EQ(secret->authorization, "");

  // Without a key the URL is the target; nothing is sealed.
  auto plain = WebhookNotification(Hook(), 0, FiringData(), nullptr, "key-3");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->target, "https://hooks.example.com/in/t0k3n");
  EXPECT_EQ(plain->sealed_secret, "");
}

TEST(WebhookNotificationTest, SigningSecretSignsTheBodyAsSent) {
  WebhookConfig w = Hook();
  w.signing_secret.value = "s1gn";
  w.max_alerts = 1;
  SecretBox box = Box();
  auto n = WebhookNotification(w, 0, FiringData(), &box, "key");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->headers.at("X-Platops-Signature"), WebhookSignature("s1gn", n->request));
  EXPECT_EQ(n->headers.at("X-Platops-Signature").rfind("sha256=", 0), 0u);
  EXPECT_EQ(n->request.find("s1gn"), std::string::npos);
  EXPECT_EQ(n->sealed_secret.find("s1gn"), std::string::npos);
}

TEST(WebhookNotificationTest, BasicAuthAndBearerAreSealedNeverHeaders) {
  SecretBox box = Box();
  WebhookConfig w = Hook();
  w.http_config.has_basic_auth = true;
  w.http_config.basic_auth.username = "hook";
  w.http_config.basic_auth.password.value = "pa:ss";
  w.http_config.follow_redirects = false;
  w.http_config.tls_config.insecure_skip_verify = true;
  w.http_config.tls_config.cert_file = "/c.pem";
  w.http_config.tls_config.key_file = "/k.pem";
  auto n = WebhookNotification(w, 0, FiringData(), &box, "key");
  ASSERT_TRUE(n.ok());
  auto secret = OpenDeliverySecret(&box, n->sealed_secret);
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(secret->authorization, "Basic aG9vazpwYTpzcw==");  // base64("hook:pa:ss")
  for (const auto& [name, value] : n->headers) {
    EXPECT_EQ(name.front(), ':') << name;  // only transport settings
    EXPECT_EQ(value.find("pa:ss"), std::string::npos);
  }
  auto t = HttpTransport::From(n->headers);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->follow_redirects);
  EXPECT_TRUE(t->insecure_skip_verify);
  EXPECT_EQ(t->cert_file, "/c.pem");
  EXPECT_EQ(t->key_file, "/k.pem");

  WebhookConfig bearer = Hook();
  bearer.http_config.has_authorization = true;
  bearer.http_config.authorization.type = "Token";
  bearer.http_config.authorization.credentials.value = "abc";
  auto b = WebhookNotification(bearer, 0, FiringData(), &box, "key");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(OpenDeliverySecret(&box, b->sealed_secret)->authorization, "Token abc");

  // Credentials are never stored in clear: without a key the row is refused.
  auto refused = WebhookNotification(w, 0, FiringData(), nullptr, "key");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("webhook_configs[0].http_config"), std::string::npos)
      << refused.status().message();
}

// ---- Email: building blocks
// ------------------------------------------------------------------------

TEST(EmailTest, ParsesAddressListsInTheUsualForms) {
  auto list = ParseAddressList(
      R"(ops@example.com, Ops Team <team@example.com>, "Doe, Jane" <jane@example.com>,)"
      R"( <bare@example.com>, "q\"uote" <"odd local"@[192.0.2.1]>)");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 5u);
  EXPECT_EQ((*list)[0].name, "");
  EXPECT_EQ((*list)[0].address, "ops@example.com");
  EXPECT_EQ((*list)[1].name, "Ops Team");
  EXPECT_EQ((*list)[1].address, "team@example.com");
  EXPECT_EQ((*list)[2].name, "Doe, Jane");
  EXPECT_EQ((*list)[2].address, "jane@example.com");
  EXPECT_EQ((*list)[3].name, "");
  EXPECT_EQ((*list)[3].address, "bare@example.com");
  EXPECT_EQ((*list)[4].name, "q\"uote");
  EXPECT_EQ((*list)[4].address, "\"odd local\"@[192.0.2.1]");

  EXPECT_EQ(FormatAddress((*list)[0]), "ops@example.com");
  EXPECT_EQ(FormatAddress((*list)[1]), "Ops Team <team@example.com>");
  EXPECT_EQ(FormatAddress((*list)[2]), "\"Doe, Jane\" <jane@example.com>");
  EXPECT_EQ(FormatAddress((*list)[4]), "\"q\\\"uote\" <\"odd local\"@[192.0.2.1]>");
  EXPECT_EQ(FormatAddress({"Jörg Müller", "joerg@example.com"}),
            "=?utf-8?q?J=C3=B6rg_M=C3=BCller?= <joerg@example.com>");
}

TEST(EmailTest, BadAddressesSayWhatIsWrong) {
  auto expect_error = [](std::string_view text, const std::string& message) {
    auto list = ParseAddressList(text);
    ASSERT_FALSE(list.ok()) << text;
    EXPECT_EQ(list.status().message(), message) << text;
  };
  expect_error("ops@example.com, not-an-address",
               "invalid address \"not-an-address\": missing '@' or angle-addr");
  expect_error("Ops <ops@example.com", "invalid address \"Ops <ops@example.com\": missing '>'");
  expect_error("", "no address");
  expect_error("a@example.com,", "invalid address \"\": no address after ','");
  expect_error("Ops <@example.com>",
               "invalid address \"Ops <@example.com>\": empty or invalid local part");
  expect_error("\"unterminated <a@b>",
               "invalid address \"\\\"unterminated <a@b>\": "
               "unterminated quoted string");
}

TEST(EmailTest, HeaderValuesAreEncodedOnlyWhenNeeded) {
  EXPECT_EQ(EncodeHeaderValue("[FIRING:2] InstanceDown"), "[FIRING:2] InstanceDown");
  EXPECT_EQ(EncodeHeaderValue("Störung: Datenbank — db-1 ist nicht erreichbar, bitte prüfen und "
                              "eskalieren"),
            "=?utf-8?q?St=C3=B6rung=3A_Datenbank_=E2=80=94_db-1_ist_nicht_erreichbar?=\r\n"
            " =?utf-8?q?=2C_bitte_pr=C3=BCfen_und_eskalieren?=");
  // A line break in a rendered value cannot start a new header.
  EXPECT_EQ(EncodeHeaderValue("a\r\nBcc: x@y"), "=?utf-8?q?a=0D=0ABcc=3A_x=40y?=");
}

// RFC 5322: lines of at most 78 characters where white space allows, never more than 998.
TEST(EmailTest, LongHeadersAreFoldedAtWhiteSpace) {
  EXPECT_EQ(FoldedHeader("Subject", "[FIRING:1] Short"), "Subject: [FIRING:1] Short");
  std::string instances;
  for (int i = 0; i < 40; ++i) instances += " api-" + std::to_string(i);
  const std::string value = "[FIRING:40] HighLatency (" + instances.substr(1) + ")";
  const std::string folded = FoldedHeader("Subject", value);
  size_t lines = 0;
  for (size_t from = 0; from < folded.size(); ++lines) {
    size_t end = folded.find("\r\n", from);
    if (end == std::string::npos) end = folded.size();
    EXPECT_LE(end - from, 78u) << folded;
    if (from > 0) {
      EXPECT_EQ(folded[from], ' ');  // each continuation starts with the white space
    }
    from = end + 2;
  }
  EXPECT_GE(lines, 4u);  // about 300 characters
  // Unfolding (removing the CRLFs) gives the value back.
  std::string unfolded = folded;
  for (size_t at; (at = unfolded.find("\r\n")) != std::string::npos;) unfolded.erase(at, 2);
  EXPECT_EQ(unfolded, "Subject: " + value);

  // A run without white space longer than a line stays whole up to 998 characters...
  const std::string url(200, 'x');
  EXPECT_EQ(FoldedHeader("X-Link", url), "X-Link: " + url);
  // ...and beyond that goes as encoded-words, which fold.
  const std::string huge(1200, 'y');
  const std::string encoded = FoldedHeader("X-Blob", huge);
  EXPECT_EQ(encoded.rfind("X-Blob: =?utf-8?q?yyy", 0), 0u) << encoded.substr(0, 40);
  for (size_t from = 0; from < encoded.size();) {
    size_t end = encoded.find("\r\n", from);
    if (end == std::string::npos) end = encoded.size();
    EXPECT_LE(end - from, 998u);
    from = end + 2;
  }
  // Encoded-words come folded already and are left so.
  const std::string words = EncodeHeaderValue(
      "Störung: Datenbank — db-1 ist nicht erreichbar, bitte prüfen und eskalieren");
  EXPECT_EQ(FoldedHeader("Subject", words), "Subject: " + words);
}

TEST(EmailTest, QuotedPrintableKeepsLinesShortAndEndsThemWithCrlf) {
  EXPECT_EQ(QuotedPrintable("plain\nline two \nx=1\r\n.dot\n"),
            "plain\r\nline two=20\r\nx=3D1\r\n=2Edot\r\n");
  EXPECT_EQ(QuotedPrintable("tab\t\rend"), "tab=09\r\nend");
  EXPECT_EQ(QuotedPrintable("<p>Disk full on <b>db-1</b> — see http://platops:9470/#/alerts?"
                            "receiver=team-x-hook&amp;silenced=false for the 2 alerts.</p>\n"),
            "<p>Disk full on <b>db-1</b> =E2=80=94 see http://platops:9470/#/alerts?rece=\r\n"
            "iver=3Dteam-x-hook&amp;silenced=3Dfalse for the 2 alerts.</p>\r\n");
}

// ---- Email: the whole message -------------------------------------------------------------------

std::string DecodeQuotedPrintable(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out += s[i];
    } else if (s.compare(i, 3, "=\r\n") == 0) {
      i += 2;
    } else {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    }
  }
  return out;
}

// RFC 2047 Q words (utf-8) back to text; folding between words dropped.
std::string DecodeHeader(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 10, "=?utf-8?q?") == 0) {
      const size_t end = s.find("?=", i + 10);
      std::string word(s.substr(i + 10, end - i - 10));
      for (char& c : word) {
        if (c == '_') c = ' ';
      }
      out += DecodeQuotedPrintable(word);
      i = end + 2;
      while (s.compare(i, 3, "\r\n ") == 0) i += 3;
    } else {
      out += s[i++];
    }
  }
  return out;
}

struct ParsedMessage {
  std::vector<std::pair<std::string, std::string>> headers;  // unfolded, in order
  std::string body;
  std::string Header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "<missing>";
  }
};

ParsedMessage ParseMessage(const std::string& data) {
  ParsedMessage m;
  const size_t split = data.find("\r\n\r\n");
  EXPECT_NE(split, std::string::npos);
  std::string head = data.substr(0, split + 2);
  m.body = data.substr(split + 4);
  size_t pos = 0;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    std::string line = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (!line.empty() && line[0] == ' ') {
      m.headers.back().second += "\r\n" + line;  // folded
      continue;
    }
    const size_t colon = line.find(": ");
    m.headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
  }
  return m;
}

EmailConfig FiringEmailConfig() {
  EmailConfig c;
  c.to = R"(Ops Team <ops@example.com>, "Doe, Jane" <jane@example.com>)";
  c.from = "platops <alerts@example.com>";
  c.smarthost = "mail.example.com:587";
  c.hello = "platops.example.com";
  c.auth_username = "alerts";
  c.auth_password.value = "pa55-w0rd";
  c.headers = {{"Subject", "{{ subject }}"}, {"X-Priority", "1"}};
  c.text = "{{ text }}";
  return c;
}

FakeRender EmailRender() {
  return FakeRender({
      {"{{ subject }}", "[FIRING:2] InstanceDown"},
      {"{{ text }}", "2 alerts firing:\n- a down\n- b down\n"},
      {kDefaultEmailHtml,
       "<p>Disk full on <b>db-1</b> — see http://platops:9470/#/alerts?receiver=team-x-hook&amp;"
       "silenced=false for the 2 alerts.</p>\n"},
      {kDefaultEmailSubject, "[FIRING:2] InstanceDown (default subject)"},
  });
}

TEST(EmailTest, FiringNotificationBuildsTheWholeMessage) {
  FakeRender render = EmailRender();
  const EmailConfig c = FiringEmailConfig();
  auto msg = BuildEmail(c, Data(), render.Fn(), T("2026-01-01T00:10:00Z"), "platops.example.com");
  ASSERT_TRUE(msg.ok()) << msg.status().ToString();
  EXPECT_EQ(msg->envelope_from, "alerts@example.com");
  EXPECT_EQ(msg->recipients, (std::vector<std::string>{"ops@example.com", "jane@example.com"}));
  // The html template was rendered as HTML, the rest as text.
  EXPECT_EQ(render.calls().back(), std::make_pair(std::string(kDefaultEmailHtml), true));
  EXPECT_NE(std::find(render.calls().begin(), render.calls().end(),
                      std::make_pair(std::string("{{ text }}"), false)),
            render.calls().end());

  ParsedMessage m = ParseMessage(msg->data);
  const std::string content_type = m.Header("Content-Type");
  const std::string prefix = "multipart/alternative; boundary=\"";
  ASSERT_EQ(content_type.rfind(prefix, 0), 0u) << content_type;
  const std::string boundary =
      content_type.substr(prefix.size(), content_type.size() - prefix.size() - 1);
  EXPECT_EQ(boundary.size(), 30u);
  EXPECT_EQ(boundary.rfind("=_", 0), 0u);
  const std::string message_id = m.Header("Message-Id");
  EXPECT_EQ(message_id, msg->message_id);
  EXPECT_EQ(message_id.size(), 1 + 32 + 1 + std::string("platops.example.com").size() + 1);
  EXPECT_EQ(message_id.substr(33), "@platops.example.com>");

  const std::string expected =
      "From: platops <alerts@example.com>\r\n"
      "To: Ops Team <ops@example.com>, \"Doe, Jane\" <jane@example.com>\r\n"
      "Subject: [FIRING:2] InstanceDown\r\n"
      "Date: Thu, 01 Jan 2026 00:10:00 +0000\r\n"
      "Message-Id: " +
      message_id +
      "\r\n"
      "MIME-Version: 1.0\r\n"
      "X-Priority: 1\r\n"
      "Content-Type: multipart/alternative; boundary=\"" +
      boundary +
      "\"\r\n"
      "\r\n"
      "--" +
      boundary +
      "\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n"
      "Content-Type: text/plain; charset=UTF-8\r\n"
      "\r\n"
      "2 alerts firing:\r\n"
      "- a down\r\n"
      "- b down\r\n"
      "\r\n"
      "--" +
      boundary +
      "\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n"
      "Content-Type: text/html; charset=UTF-8\r\n"
      "\r\n"
      "<p>Disk full on <b>db-1</b> =E2=80=94 see http://platops:9470/#/alerts?rece=\r\n"
      "iver=3Dteam-x-hook&amp;silenced=3Dfalse for the 2 alerts.</p>\r\n"
      "\r\n"
      "--" +
      boundary + "--\r\n";
  EXPECT_EQ(msg->data, expected);

  // Parsed back as a mail reader would: every line CRLF-terminated and at most 78 characters,
  // two parts, each decoding to what its template rendered.
  for (size_t pos = 0; pos < msg->data.size();) {
    size_t eol = msg->data.find("\r\n", pos);
    ASSERT_NE(eol, std::string::npos);
    EXPECT_LE(eol - pos, 78u);
    EXPECT_EQ(msg->data.substr(pos, eol - pos).find('\n'), std::string::npos);
    pos = eol + 2;
  }
  std::vector<std::string> parts;
  const std::string delimiter = "--" + boundary;
  size_t at = m.body.find(delimiter + "\r\n");
  while (at != std::string::npos) {
    const size_t start = at + delimiter.size() + 2;
    const size_t next = m.body.find("\r\n" + delimiter, start);
    ASSERT_NE(next, std::string::npos);
    parts.push_back(m.body.substr(start, next - start));
    at = m.body.compare(next + 2 + delimiter.size(), 2, "--") == 0 ? std::string::npos : next + 2;
  }
  ASSERT_EQ(parts.size(), 2u);
  ParsedMessage text_part = ParseMessage(parts[0]);
  ParsedMessage html_part = ParseMessage(parts[1]);
  EXPECT_EQ(text_part.Header("Content-Type"), "text/plain; charset=UTF-8");
  EXPECT_EQ(html_part.Header("Content-Type"), "text/html; charset=UTF-8");
  EXPECT_EQ(DecodeQuotedPrintable(text_part.body), "2 alerts firing:\r\n- a down\r\n- b down\r\n");
  EXPECT_EQ(DecodeQuotedPrintable(html_part.body),
            "<p>Disk full on <b>db-1</b> — see http://platops:9470/#/alerts?receiver=team-x-hook"
            "&amp;silenced=false for the 2 alerts.</p>\r\n");

  // Deterministic: the same notification at the same time is the same message; later, another.
  FakeRender again = EmailRender();
  EXPECT_EQ(
      BuildEmail(c, Data(), again.Fn(), T("2026-01-01T00:10:00Z"), "platops.example.com")->data,
      msg->data);
  auto later = BuildEmail(c, Data(), again.Fn(), T("2026-01-01T00:15:00Z"), "platops.example.com");
  EXPECT_NE(later->message_id, msg->message_id);
}

TEST(EmailTest, DefaultSubjectNonAsciiHeadersAndOverrides) {
  FakeRender render({{kDefaultEmailSubject,
                      "Störung: Datenbank — db-1 ist nicht erreichbar, "
                      "bitte prüfen und eskalieren"},
                     {kDefaultEmailHtml, "<p>x</p>"}});
  EmailConfig c;
  c.to = "Jörg Müller <joerg@example.com>";
  c.from = "alerts@example.com";
  c.smarthost = "mail.example.com:25";
  c.headers = {{"Reply-To", "Oncall <oncall@example.com>"},
               {"Date", "Fri, 02 Jan 2026 00:00:00 +0000"}};
  auto msg = BuildEmail(c, Data(), render.Fn(), T("2026-01-01T00:10:00Z"), "");
  ASSERT_TRUE(msg.ok()) << msg.status().ToString();
  ParsedMessage m = ParseMessage(msg->data);
  EXPECT_EQ(m.Header("Subject"),
            "=?utf-8?q?St=C3=B6rung=3A_Datenbank_=E2=80=94_db-1_ist_nicht_erreichbar?=\r\n"
            " =?utf-8?q?=2C_bitte_pr=C3=BCfen_und_eskalieren?=");
  EXPECT_EQ(DecodeHeader(m.Header("Subject")),
            "Störung: Datenbank — db-1 ist nicht erreichbar, bitte prüfen und eskalieren");
  EXPECT_EQ(m.Header("To"), "=?utf-8?q?J=C3=B6rg_M=C3=BCller?= <joerg@example.com>");
  EXPECT_EQ(m.Header("From"), "alerts@example.com");
  EXPECT_EQ(m.Header("Reply-To"), "Oncall <oncall@example.com>");
  EXPECT_EQ(m.Header("Date"), "Fri, 02 Jan 2026 00:00:00 +0000");  // the user's
  // The Message-Id domain defaults to the sender's; no text part when `text` is unset.
  EXPECT_EQ(msg->message_id.substr(msg->message_id.find('@')), "@example.com>");
  EXPECT_EQ(msg->data.find("text/plain"), std::string::npos);
  EXPECT_NE(msg->data.find("text/html"), std::string::npos);
  int dates = 0;
  for (const auto& [name, value] : m.headers) dates += name == "Date";
  EXPECT_EQ(dates, 1);
}

TEST(EmailTest, ErrorsNameTheField) {
  FakeRender render = EmailRender();
  EmailConfig c = FiringEmailConfig();
  c.to = "ops@example.com, not-an-address";
  auto n = EmailNotification(c, 1, Data(), render.Fn(), Box(), "k", T("2026-01-01T00:10:00Z"));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().ToString(),
            "validation_failed: email_configs[1].to: invalid address \"not-an-address\": missing "
            "'@' or angle-addr");

  c = FiringEmailConfig();
  c.from = "a@example.com, b@example.com";
  EXPECT_EQ(ValidateEmailConfig(c).ToString(),
            "validation_failed: from: must be exactly one address, got 2");

  c = FiringEmailConfig();
  c.headers["Content-Type"] = "text/plain";
  EXPECT_EQ(ValidateEmailConfig(c).field(), "headers.Content-Type");

  c = FiringEmailConfig();
  c.smarthost = "mail.example.com";
  EXPECT_EQ(ValidateEmailConfig(c).ToString(),
            "validation_failed: smarthost: must be host:port, got \"mail.example.com\"");

  c = FiringEmailConfig();
  c.text = "";
  c.html = "";
  EXPECT_EQ(ValidateEmailConfig(c).field(), "html");

  // A templated `to` is checked once rendered.
  c = FiringEmailConfig();
  c.to = "{{ to }}";
  EXPECT_TRUE(ValidateEmailConfig(c).ok());
  FakeRender bad_to({{"{{ to }}", "nobody"},
                     {"{{ subject }}", "s"},
                     {"{{ text }}", "t"},
                     {kDefaultEmailHtml, "h"}});
  auto built = BuildEmail(c, Data(), bad_to.Fn(), T("2026-01-01T00:10:00Z"), "");
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.status().field(), "to");

  c = FiringEmailConfig();
  c.headers["Subject"] = "{{ fail }}";
  n = EmailNotification(c, 0, Data(), render.Fn(), Box(), "k", T("2026-01-01T00:10:00Z"));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().field(), "email_configs[0].headers.Subject");
}

TEST(EmailTest, NotificationCarriesTheSessionAndSealsThePassword) {
  FakeRender render = EmailRender();
  SecretBox box = Box();
  EmailConfig c = FiringEmailConfig();
  c.auth_identity = "ops";
  c.require_tls = false;
  c.tls_config.ca_file = "/etc/platops/ca.pem";
  auto n = EmailNotification(c, 0, Data(), render.Fn(), box, "key-e", T("2026-01-01T00:10:00Z"),
                             "platops.example.com");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->receiver, "team-x");
  EXPECT_EQ(n->integration, "email[0]");
  EXPECT_EQ(n->kind, "email");
  EXPECT_EQ(n->target, "smtp://mail.example.com:587");
  EXPECT_EQ(
      n->request,
      BuildEmail(c, Data(), render.Fn(), T("2026-01-01T00:10:00Z"), "platops.example.com")->data);
  EXPECT_EQ(n->headers, (std::map<std::string, std::string>{
                            {"Mail-From", "alerts@example.com"},
                            {"Rcpt-To", "ops@example.com, jane@example.com"},
                            {"Smtp-Hello", "platops.example.com"},
                            {"Smtp-Auth-Username", "alerts"},
                            {"Smtp-Auth-Identity", "ops"},
                            {"Smtp-Require-Tls", "false"},
                            {"Smtp-Tls-Ca-File", "/etc/platops/ca.pem"},
                        }));
  auto secret = OpenDeliverySecret(&box, n->sealed_secret);
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(secret->password, "pa55-w0rd");
  EXPECT_EQ(secret->url, "");
  for (const std::string* s : {&n->target, &n->request, &n->sealed_secret}) {
    EXPECT_EQ(s->find("pa55"), std::string::npos);
  }
  for (const auto& [name, value] : n->headers) EXPECT_EQ(value.find("pa55"), std::string::npos);
  auto session = SmtpSession::FromHeaders(n->headers);
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(session->rcpt_to, (std::vector<std::string>{"ops@example.com", "jane@example.com"}));

  // Port 465 is SMTPS; no password, nothing sealed.
  c.smarthost = "mail.example.com:465";
  c.auth_password.value = "";
  n = EmailNotification(c, 0, Data(), render.Fn(), box, "key-e", T("2026-01-01T00:10:00Z"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->target, "smtps://mail.example.com:465");
  EXPECT_EQ(n->sealed_secret, "");
}

// ---- SMTP against a scripted loopback server
// -----------------------------------------------------

struct SmtpScript {
  bool advertise_starttls = false;
  bool advertise_auth = false;
  std::string auth_reply = "235 2.7.0 Authentication successful";
  std::string mail_reply = "250 2.1.0 Ok";
  std::string rcpt_reply = "250 2.1.5 Ok";
  std::string data_reply = "250 2.0.0 Ok: queued as 4711";
};

struct SmtpLog {
  std::string ehlo;
  std::string auth;  // "PLAIN <base64>"
  std::string mail_from;
  std::vector<std::string> rcpt_to;
  std::string data;  // dot-unstuffed, CRLF line ends
  std::vector<std::string> verbs;
};

// A one-connection-at-a-time SMTP server on 127.0.0.1 that answers from a script and records
// each session before it replies, so a finished Deliver sees everything the server saw.
class FakeSmtpServer {
 public:
  explicit FakeSmtpServer(SmtpScript script) : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 4), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    EXPECT_EQ(::pipe(stop_), 0);
    thread_ = std::thread([this] { Run(); });
  }
  ~FakeSmtpServer() {
    EXPECT_EQ(::write(stop_[1], "x", 1), 1);
    thread_.join();
    ::close(listen_fd_);
    ::close(stop_[0]);
    ::close(stop_[1]);
  }

  int port() const { return port_; }
  std::vector<SmtpLog> Sessions() {
    std::lock_guard lock(mu_);
    return sessions_;
  }

 private:
  // Waits for `fd` to be readable; false when stopping.
  bool Wait(int fd) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_[0], POLLIN, 0}};
    while (::poll(fds, 2, -1) < 0) {
    }
    return (fds[1].revents & POLLIN) == 0;
  }

  void Run() {
    while (Wait(listen_fd_)) {
      int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      {
        std::lock_guard lock(mu_);
        sessions_.emplace_back();
      }
      Serve(conn);
      ::close(conn);
    }
  }

  void Send(int conn, const std::string& text) {
    std::string data = text + "\r\n";
    ::send(conn, data.data(), data.size(), MSG_NOSIGNAL);
  }

  // One line without its CRLF; nullopt at end of stream or stop.
  std::optional<std::string> ReadLine(int conn) {
    while (true) {
      size_t eol = buffer_.find("\r\n");
      if (eol != std::string::npos) {
        std::string line = buffer_.substr(0, eol);
        buffer_.erase(0, eol + 2);
        return line;
      }
      if (!Wait(conn)) return std::nullopt;
      char chunk[4096];
      ssize_t n = ::recv(conn, chunk, sizeof chunk, 0);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  template <typename F>
  void Record(F&& f) {
    std::lock_guard lock(mu_);
    f(sessions_.back());
  }

  static std::string Angle(const std::string& line) {
    const size_t open = line.find('<');
    const size_t close = line.find('>', open);
    return open == std::string::npos ? "" : line.substr(open + 1, close - open - 1);
  }

  void Serve(int conn) {
    buffer_.clear();
    Send(conn, "220 fake.smtp ESMTP");
    while (auto line = ReadLine(conn)) {
      std::string verb = line->substr(0, line->find(' '));
      for (char& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      Record([&](SmtpLog& s) { s.verbs.push_back(verb); });
      if (verb == "EHLO") {
        Record([&](SmtpLog& s) { s.ehlo = line->substr(5); });
        std::vector<std::string> ext = {"fake.smtp", "SIZE 10240000"};
        if (script_.advertise_starttls) ext.push_back("STARTTLS");
        if (script_.advertise_auth) ext.push_back("AUTH PLAIN LOGIN");
        for (size_t i = 0; i < ext.size(); ++i) {
          Send(conn, (i + 1 < ext.size() ? "250-" : "250 ") + ext[i]);
        }
      } else if (verb == "STARTTLS") {
        Send(conn, "454 4.7.0 TLS not available due to local problem");
      } else if (verb == "AUTH") {
        std::string auth = line->substr(5);
        if (auth == "PLAIN") {
          Send(conn, "334 ");
          auto response = ReadLine(conn);
          if (!response) return;
          auth += " " + *response;
        }
        Record([&](SmtpLog& s) { s.auth = auth; });
        Send(conn, script_.auth_reply);
      } else if (verb == "MAIL") {
        Record([&](SmtpLog& s) { s.mail_from = Angle(*line); });
        Send(conn, script_.mail_reply);
      } else if (verb == "RCPT") {
        Record([&](SmtpLog& s) { s.rcpt_to.push_back(Angle(*line)); });
        Send(conn, script_.rcpt_reply);
      } else if (verb == "DATA") {
        Send(conn, "354 End data with <CR><LF>.<CR><LF>");
        std::string data;
        while (auto body = ReadLine(conn)) {
          if (*body == ".") break;
          data += (body->rfind("..", 0) == 0 ? body->substr(1) : *body) + "\r\n";
        }
        Record([&](SmtpLog& s) { s.data = data; });
        Send(conn, script_.data_reply);
      } else if (verb == "QUIT") {
        Send(conn, "221 2.0.0 Bye");
        return;
      } else if (verb == "RSET" || verb == "NOOP") {
        Send(conn, "250 2.0.0 Ok");
      } else {
        Send(conn, "502 5.5.2 Error: command not recognized");
      }
    }
  }

  const SmtpScript script_;
  int listen_fd_ = -1;
  int stop_[2] = {-1, -1};
  int port_ = 0;
  std::string buffer_;  // server thread only
  std::thread thread_;
  std::mutex mu_;
  std::vector<SmtpLog> sessions_;  // GUARDED_BY(mu_)
};

class SmtpTest : public ::testing::Test {
 protected:
  // An email row for a server on `port`, built as the dispatcher builds it.
  OutboxRow Row(int port, bool require_tls = false, const std::string& password = "") {
    EmailConfig c = FiringEmailConfig();
    c.smarthost = "127.0.0.1:" + std::to_string(port);
    c.require_tls = require_tls;
    c.auth_password.value = password;
    if (password.empty()) c.auth_username = "";
    FakeRender render = EmailRender();
    auto n = EmailNotification(c, 0, Data(), render.Fn(), box_, "key-smtp",
                               T("2026-01-01T00:10:00Z"), "platops.example.com");
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    OutboxRow row;
    row.id = 1;
    row.idempotency_key = n->idempotency_key;
    row.receiver = n->receiver;
    row.integration = n->integration;
    row.kind = n->kind;
    row.target = n->target;
    row.request = n->request;
    row.headers = n->headers;
    row.sealed_secret = n->sealed_secret;
    return row;
  }
  SmtpDeliverer Deliverer() {
    SmtpDelivererOptions options;
    options.timeout = milliseconds(20000);
    options.secret_box = &box_;
    return SmtpDeliverer(options);
  }

  SecretBox box_ = Box();
};

TEST_F(SmtpTest, DeliversTheStoredMessageWithTheEnvelopeAndAuthPlain) {
  SmtpScript script;
  script.advertise_auth = true;
  FakeSmtpServer server(script);
  OutboxRow row = Row(server.port(), false, "s3cret");
  row.headers["Smtp-Auth-Username"] = "alice";
  auto result = Deliverer().Deliver(row);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->outcome, AttemptOutcome::kOk) << result->error;
  EXPECT_EQ(result->status_code, 250);
  EXPECT_EQ(result->error, "");

  auto sessions = server.Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  const SmtpLog& s = sessions[0];
  EXPECT_EQ(s.ehlo, "platops.example.com");
  EXPECT_EQ(s.auth, "PLAIN AGFsaWNlAHMzY3JldA==");  // base64("\0alice\0s3cret")
  EXPECT_EQ(s.mail_from, "alerts@example.com");
  EXPECT_EQ(s.rcpt_to, (std::vector<std::string>{"ops@example.com", "jane@example.com"}));
  EXPECT_EQ(s.data, row.request);
  EXPECT_EQ(s.verbs.back(), "QUIT");
}

TEST_F(SmtpTest, NoAuthWithoutCredentialsAndOpportunisticTlsFallsBackToClear) {
  SmtpScript script;
  script.advertise_auth = true;
  FakeSmtpServer server(script);
  auto result = Deliverer().Deliver(Row(server.port()));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome, AttemptOutcome::kOk) << result->error;
  auto sessions = server.Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].auth, "");
  EXPECT_EQ(std::count(sessions[0].verbs.begin(), sessions[0].verbs.end(), "STARTTLS"), 0);
}

TEST_F(SmtpTest, PermanentRejectionFailsWithTheServersReply) {
  SmtpScript script;
  script.rcpt_reply = "550 5.1.1 <ops@example.com>: Recipient address rejected";
  FakeSmtpServer server(script);
  auto result = Deliverer().Deliver(Row(server.port()));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome, AttemptOutcome::kFailed);
  EXPECT_EQ(result->status_code, 550);
  EXPECT_EQ(result->error, "RCPT TO: 550 5.1.1 <ops@example.com>: Recipient address rejected");
}

TEST_F(SmtpTest, TemporaryRejectionIsRetried) {
  SmtpScript script;
  script.data_reply = "451 4.3.0 Mail server temporarily rejected message";
  FakeSmtpServer server(script);
  auto result = Deliverer().Deliver(Row(server.port()));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome, AttemptOutcome::kRetry);
  EXPECT_EQ(result->status_code, 451);
  EXPECT_EQ(result->error, "end of data: 451 4.3.0 Mail server temporarily rejected message");
  // The whole message reached the server before it refused it.
  ASSERT_EQ(server.Sessions().size(), 1u);
  EXPECT_EQ(server.Sessions()[0].data.size(), Row(server.port()).request.size());
}

TEST_F(SmtpTest, ConnectionRefusedIsRetried) {
  // A bound socket that does not listen: connecting to it is refused.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  auto result = Deliverer().Deliver(Row(port));
  ::close(fd);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome, AttemptOutcome::kRetry);
  EXPECT_EQ(result->status_code, 0);
  EXPECT_EQ(result->error.rfind("127.0.0.1:" + std::to_string(port) + " connect: ", 0), 0u)
      << result->error;
  EXPECT_NE(result->error.find("(Connection refused)"), std::string::npos) << result->error;
}

TEST_F(SmtpTest, RequireTlsAgainstAServerWithoutStarttlsFailsClearly) {
  FakeSmtpServer server(SmtpScript{});
  auto result = Deliverer().Deliver(Row(server.port(), /*require_tls=*/true));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome, AttemptOutcome::kRetry);
  EXPECT_EQ(result->error, "127.0.0.1:" + std::to_string(server.port()) +
                               " does not offer STARTTLS, and TLS is required (require_tls is "
                               "true, Alertmanager's default)");
  // Nothing was sent in clear.
  auto sessions = server.Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].mail_from, "");
  EXPECT_EQ(sessions[0].data, "");
}

TEST_F(SmtpTest, RefusedStarttlsIsRetriedWithTheReply) {
  SmtpScript script;
  script.advertise_starttls = true;
  FakeSmtpServer server(script);
  auto result = Deliverer().Deliver(Row(server.port(), /*require_tls=*/true));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome, AttemptOutcome::kRetry);
  EXPECT_EQ(result->status_code, 454);
  EXPECT_EQ(result->error, "STARTTLS: 454 4.7.0 TLS not available due to local problem");
  EXPECT_EQ(server.Sessions()[0].mail_from, "");
}

TEST_F(SmtpTest, RowsThatCannotBeSentFailForGood) {
  SmtpDeliverer no_box;  // no secret box
  OutboxRow row = Row(25, false, "s3cret");
  auto result = no_box.Deliver(row);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome, AttemptOutcome::kFailed);
  EXPECT_EQ(result->error, "no secret box configured to open the sealed secret");

  SmtpDelivererOptions other_key;
  SecretBox other = Box('z');
  other_key.secret_box = &other;
  result = SmtpDeliverer(other_key).Deliver(row);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome, AttemptOutcome::kFailed);
  EXPECT_NE(result->error.find("does not open with this key"), std::string::npos);

  row = Row(25);
  row.kind = "webhook";
  EXPECT_EQ(Deliverer().Deliver(row)->error, "no SMTP delivery for kind \"webhook\"");
  row = Row(25);
  row.target = "http://mail.example.com:25";
  EXPECT_EQ(Deliverer().Deliver(row)->outcome, AttemptOutcome::kFailed);
  row = Row(25);
  row.headers.erase("Mail-From");
  EXPECT_EQ(Deliverer().Deliver(row)->error,
            "validation_failed: headers.Mail-From: must not be empty");
}

// ---- Routing and the outbox end to end
// -----------------------------------------------------------

class RecordingDeliverer final : public Deliverer {
 public:
  explicit RecordingDeliverer(std::string name) : name_(std::move(name)) {}
  Result<DeliveryResult> Deliver(const OutboxRow& row) override {
    kinds.push_back(row.kind);
    return DeliveryResult{AttemptOutcome::kOk, 200, milliseconds(1), name_};
  }
  std::vector<std::string> kinds;

 private:
  std::string name_;
};

TEST(RoutingDelivererTest, DispatchesByKind) {
  RecordingDeliverer http("http"), smtp("smtp");
  RoutingDeliverer routing(http, smtp);
  OutboxRow row;
  for (const char* kind : {"webhook", "slack", "email"}) {
    row.kind = kind;
    auto r = routing.Deliver(row);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->error, std::string(kind) == "email" ? "smtp" : "http") << kind;
  }
  EXPECT_EQ(http.kinds, (std::vector<std::string>{"webhook", "slack"}));
  EXPECT_EQ(smtp.kinds, (std::vector<std::string>{"email"}));
  row.kind = "pagerduty";
  auto r = routing.Deliver(row);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, AttemptOutcome::kFailed);
  EXPECT_EQ(r->error, "no deliverer for kind \"pagerduty\"");
}

TEST(NotifyOutboxTest, EmailIsStoredWithoutThePasswordAndDeliveredThroughTheOutbox) {
  testing::TempStore db(Outbox::Migrations());
  Outbox outbox(db.store());
  SecretBox box = Box();
  SmtpScript script;
  script.advertise_auth = true;
  FakeSmtpServer server(script);

  EmailConfig c = FiringEmailConfig();
  c.smarthost = "127.0.0.1:" + std::to_string(server.port());
  c.require_tls = false;
  c.auth_username = "alice";
  c.auth_password.value = "s3cret";
  FakeRender render = EmailRender();
  auto n = EmailNotification(c, 0, Data(), render.Fn(), box, "key-outbox",
                             T("2026-01-01T00:10:00Z"), "platops.example.com");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  const Timestamp now = T("2026-01-01T00:10:00Z");
  auto id = outbox.Enqueue(*n, now);
  ASSERT_TRUE(id.ok()) << id.status().ToString();

  // No column of the stored row holds the password in clear.
  ASSERT_TRUE(db.store()
                  .Read([&](store::Tx& tx) -> Status {
                    auto rows = tx.Query("SELECT * FROM notification_outbox");
                    EXPECT_TRUE(rows.ok());
                    for (const auto& r : *rows) {
                      for (size_t i = 0; i < r.size(); ++i) {
                        EXPECT_EQ(r.Text(i).find("s3cret"), std::string::npos) << i;
                      }
                    }
                    return Status::Ok();
                  })
                  .ok());

  HttpDeliverer http;
  SmtpDelivererOptions smtp_options;
  smtp_options.secret_box = &box;
  SmtpDeliverer smtp(smtp_options);
  RoutingDeliverer routing(http, smtp);
  FakeClock clock;
  OutboxSender sender(outbox, routing, clock);
  auto counts = sender.RunOnce(now);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->delivered, 1);
  auto row = outbox.Get(*id);
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->state, NotificationState::kDelivered) << (*row)->last_error;
  auto sessions = server.Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].auth, "PLAIN AGFsaWNlAHMzY3JldA==");
  EXPECT_EQ(sessions[0].data, n->request);
}

}  // namespace
}  // namespace platops::alerting
