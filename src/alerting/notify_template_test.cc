#include "alerting/notify_template.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace platops::alerting {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;

constexpr int64_t kNowMs = 1767261900000;  // 2026-01-01T10:05:00Z

Timestamp At(int64_t ms) { return Timestamp(milliseconds(ms)); }

class NotificationTemplatesTest : public ::testing::Test {
 protected:
  // A group of two HighLatency alerts of job api, both firing; their common labels are account,
  // alertname, job and severity, and their common annotation summary.
  static NotificationData Group() {
    NotificationData d;
    d.receiver = "team-sre";
    d.group_key = "{}:{alertname=\"HighLatency\", job=\"api\"}";
    d.group_labels = {{"alertname", "HighLatency"}, {"job", "api"}};
    d.external_url = "http://platops.example:8080";
    d.now = At(kNowMs);
    Alert a;
    a.labels = {{"account", "acme"},
                {"alertname", "HighLatency"},
                {"instance", "api-1:8080"},
                {"job", "api"},
                {"severity", "critical"}};
    a.annotations = {{"runbook", "https://runbooks.example/latency"},
                     {"summary", "p99 latency above 2s"}};
    a.starts_at = At(kNowMs - 299750);  // 10:00:00.25
    a.ends_at = At(kNowMs + 3600000);
    a.generator_url = "http://prometheus:9090/graph?g0.expr=latency_p99+%3E+2&g0.tab=1";
    a.fingerprint = 0x5c1f0a2b3d4e6f70;
    d.alerts.push_back(a);
    a.labels.Set("instance", "api-2:8080");
    a.annotations = {{"summary", "p99 latency above 2s"}};
    a.starts_at = At(kNowMs - 240000);  // 10:01:00
    a.fingerprint = 0x00000000000000ab;
    d.alerts.push_back(a);
    return d;
  }
  static NotificationData Resolve(NotificationData d, size_t i) {
    d.alerts[i].ends_at = d.now - minutes(1);
    return d;
  }

  // The output of `text`, or "ERROR: " + the error.
  static std::string Render(const NotificationTemplates& t, std::string_view text,
                            const NotificationData& d, bool html = false) {
    auto r = t.Render(text, d, html);
    return r.ok() ? *r : "ERROR: " + r.status().message();
  }
  std::string Render(std::string_view text, const NotificationData& d, bool html = false) {
    return Render(defaults_, text, d, html);
  }
  std::string Render(std::string_view text) { return Render(text, Group()); }

  static NotificationTemplates Load(const std::vector<NotificationTemplates::File>& files) {
    auto t = NotificationTemplates::Load(files);
    EXPECT_TRUE(t.ok()) << t.status().message();
    return t.ok() ? *t : NotificationTemplates();
  }

  NotificationTemplates defaults_ = Load({});
};

TEST_F(NotificationTemplatesTest, SubjectOfAFiringGroup) {
  const std::string subject = "[FIRING:2] HighLatency api (acme critical)";
  EXPECT_EQ(Render("{{ template \"__subject\" . }}"), subject);
  EXPECT_EQ(Render("{{ template \"email.default.subject\" . }}"), subject);
  EXPECT_EQ(Render("{{ template \"slack.default.title\" . }}"), subject);
}

TEST_F(NotificationTemplatesTest, SubjectOfAResolvedGroup) {
  EXPECT_EQ(Render("{{ template \"__subject\" . }}", Resolve(Resolve(Group(), 0), 1)),
            "[RESOLVED] HighLatency api (acme critical)");
}

TEST_F(NotificationTemplatesTest, SubjectCountsTheFiringAlertsOnly) {
  EXPECT_EQ(Render("{{ template \"__subject\" . }}", Resolve(Group(), 1)),
            "[FIRING:1] HighLatency api (acme critical)");
}

TEST_F(NotificationTemplatesTest, SubjectWithoutOtherCommonLabelsKeepsAlertmanagersTrailingSpace) {
  NotificationData d = Group();
  d.group_labels = {
      {"account", "acme"}, {"alertname", "HighLatency"}, {"job", "api"}, {"severity", "critical"}};
  EXPECT_EQ(Render("{{ template \"__subject\" . }}", d),
            "[FIRING:2] HighLatency acme api critical ");
}

TEST_F(NotificationTemplatesTest, SlackDefaults) {
  EXPECT_EQ(Render("{{ template \"slack.default.username\" . }}"), "platops");
  EXPECT_EQ(Render("{{ template \"__alertmanager\" . }}"), "platops");
  EXPECT_EQ(Render("{{ template \"slack.default.titlelink\" . }}"),
            "http://platops.example:8080/#/alerts?receiver=team-sre");
  EXPECT_EQ(Render("{{ template \"slack.default.fallback\" . }}"),
            "[FIRING:2] HighLatency api (acme critical) | "
            "http://platops.example:8080/#/alerts?receiver=team-sre");
  // Empty in Alertmanager too: Slack messages carry the title and fallback only by default.
  for (const char* empty : {"slack.default.text", "slack.default.pretext",
                            "slack.default.callbackid", "slack.default.iconemoji",
                            "slack.default.iconurl", "slack.default.footer", "__description"}) {
    EXPECT_EQ(Render("[{{ template \"" + std::string(empty) + "\" . }}]"), "[]") << empty;
  }
}

TEST_F(NotificationTemplatesTest, ReceiverIsRegexpQuotedAsAlertmanagerDoes) {
  NotificationData d = Group();
  d.receiver = "team.sre (eu)";
  EXPECT_EQ(Render("{{ .Receiver }}", d), "team\\.sre \\(eu\\)");
  EXPECT_EQ(Render("{{ template \"__alertmanagerURL\" . }}", d),
            "http://platops.example:8080/#/alerts?receiver=team%5C.sre+%5C%28eu%5C%29");
}

TEST_F(NotificationTemplatesTest, TextAlertList) {
  EXPECT_EQ(Render("{{ template \"__text_alert_list\" .Alerts.Firing }}", Resolve(Group(), 1)),
            "Labels:\n"
            " - alertname = HighLatency\n"
            " - account = acme\n"
            " - instance = api-1:8080\n"
            " - job = api\n"
            " - severity = critical\n"
            "Annotations:\n"
            " - runbook = https://runbooks.example/latency\n"
            " - summary = p99 latency above 2s\n"
            "Source: http://prometheus:9090/graph?g0.expr=latency_p99+%3E+2&g0.tab=1\n");
}

TEST_F(NotificationTemplatesTest, DataFields) {
  EXPECT_EQ(Render("{{ .Receiver }}|{{ .Status }}|{{ .ExternalURL }}|{{ .GroupLabels }}|"
                   "{{ .CommonAnnotations }}"),
            "team-sre|firing|http://platops.example:8080|map[alertname:HighLatency job:api]|"
            "map[summary:p99 latency above 2s]");
  EXPECT_EQ(Render("{{ range .Alerts }}{{ .Status }} {{ .Fingerprint }} {{ .Labels.instance }} "
                   "{{ .Annotations.runbook }}|{{ end }}",
                   Resolve(Group(), 1)),
            "firing 5c1f0a2b3d4e6f70 api-1:8080 https://runbooks.example/latency|"
            "resolved 00000000000000ab api-2:8080 |");
  EXPECT_EQ(Render("{{ with index .Alerts 0 }}{{ .GeneratorURL }}{{ end }}"),
            "http://prometheus:9090/graph?g0.expr=latency_p99+%3E+2&g0.tab=1");
  EXPECT_EQ(Render("{{ printf \"%T %T %T %T %T\" . .Alerts .Alerts.Firing .CommonLabels "
                   ".CommonLabels.SortedPairs }}"),
            "*template.Data template.Alerts []template.Alert template.KV template.Pairs");
}

TEST_F(NotificationTemplatesTest, FiringAndResolvedAlerts) {
  const NotificationData d = Resolve(Group(), 0);
  EXPECT_EQ(Render("{{ .Alerts.Firing | len }} {{ len .Alerts.Resolved }} {{ len .Alerts }}", d),
            "1 1 2");
  EXPECT_EQ(Render("{{ range .Alerts.Resolved }}{{ .Labels.instance }}{{ end }}", d), "api-1:8080");
  EXPECT_EQ(Render("{{ if .Alerts.Resolved }}some resolved{{ end }}"
                   "{{ if not .Alerts.Resolved }}none resolved{{ end }}"),
            "none resolved");
  EXPECT_EQ(Render("{{ .Alerts.Firing.Firing }}"),
            "ERROR: template: :1:10: executing \"\" at <.Alerts.Firing.Firin...>: can't "
            "evaluate field Firing in type []template.Alert");
}

TEST_F(NotificationTemplatesTest, LabelMaps) {
  // Ranging a map goes in key order; SortedPairs, Names and Values put alertname first.
  EXPECT_EQ(Render("{{ range $k, $v := .CommonLabels }}{{ $k }}={{ $v }};{{ end }}"),
            "account=acme;alertname=HighLatency;job=api;severity=critical;");
  EXPECT_EQ(Render("{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}"),
            "alertname=HighLatency;account=acme;job=api;severity=critical;");
  EXPECT_EQ(
      Render("{{ join \", \" .CommonLabels.Names }} / {{ .CommonLabels.Values | join \" \" }}"),
      "alertname, account, job, severity / HighLatency acme api critical");
  EXPECT_EQ(Render("{{ .CommonLabels.SortedPairs.Names }} {{ .GroupLabels.SortedPairs }}"),
            "[alertname account job severity] [{alertname HighLatency} {job api}]");
  EXPECT_EQ(Render("{{ .CommonLabels.Remove (stringSlice \"account\" \"job\") }} "
                   "{{ .CommonLabels.Remove .GroupLabels.Names | len }}"),
            "map[alertname:HighLatency severity:critical] 2");
  EXPECT_EQ(Render("{{ .CommonLabels.severity }} {{ index .CommonLabels \"job\" }} "
                   "[{{ .CommonLabels.missing }}] [{{ index .CommonLabels \"missing\" }}] "
                   "{{ len .CommonLabels }}"),
            "critical api [] [] 4");
  EXPECT_EQ(Render("{{ .CommonLabels.SortedPairs | join \", \" }}"),
            "ERROR: template: :1:36: executing \"\" at <\", \">: wrong type for value; expected "
            "[]string; got template.Pairs");
  EXPECT_EQ(Render("{{ .CommonLabels.Remove }}"),
            "ERROR: template: :1:16: executing \"\" at <.CommonLabels.Remove>: wrong number of "
            "args for Remove: want 1 got 0");
}

TEST_F(NotificationTemplatesTest, TimesPrintAsGoTimes) {
  const NotificationData d = Resolve(Group(), 1);
  EXPECT_EQ(Render("{{ range .Alerts }}{{ .StartsAt }} / {{ .EndsAt }}\n{{ end }}", d),
            "2026-01-01 10:00:00.25 +0000 UTC / 0001-01-01 00:00:00 +0000 UTC\n"
            "2026-01-01 10:01:00 +0000 UTC / 2026-01-01 10:04:00 +0000 UTC\n");
  EXPECT_EQ(Render("{{ with index .Alerts 0 }}{{ .StartsAt.Format \"2006-01-02 15:04:05 MST\" }} "
                   "{{ .StartsAt.Unix }} {{ .StartsAt.UnixMilli }} {{ .EndsAt.IsZero }}{{ end }}",
                   d),
            "2026-01-01 10:00:00 UTC 1767261600 1767261600250 true");
  // Go reports the last node evaluated: the index's argument.
  EXPECT_EQ(Render("{{ (index .Alerts 0).StartsAt.Local }}"),
            "ERROR: template: :1:18: executing \"\" at <0>: can't evaluate field Local in type "
            "time.Time");
}

TEST_F(NotificationTemplatesTest, AlertmanagersFunctions) {
  EXPECT_EQ(Render("{{ .Status | toUpper }} {{ toLower \"ABC\" }} {{ title \"hELLO wORLD it's "
                   "3rd a.b\" }} [{{ trimSpace \"  x y \\n\" }}]"),
            "FIRING abc Hello World It's 3Rd A.b [x y]");
  EXPECT_EQ(
      Render("{{ if match \"^api-[0-9]+\" (index .Alerts 1).Labels.instance }}yes{{ end }} "
             "{{ reReplaceAll \"(.*):(.*)\" \"$2 on $1\" (index .Alerts 1).Labels.instance }}"),
      "yes 8080 on api-2");
  EXPECT_EQ(Render("{{ stringSlice \"a\" \"b\" | join \"+\" }} {{ printf \"%q\" .Status }} "
                   "{{ \"a b&c\" | urlquery }} {{ \"<b>\" | safeHtml }} {{ \"<b>\" | html }}"),
            "a+b \"firing\" a+b%26c <b> &lt;b&gt;");
  // Prometheus's functions are not Alertmanager's.
  EXPECT_EQ(Render("{{ humanize 1 }}"), "ERROR: template: :1: function \"humanize\" not defined");
}

TEST_F(NotificationTemplatesTest, HtmlEscapesEveryActionButSafeHtml) {
  NotificationData d = Group();
  for (Alert& a : d.alerts) a.annotations.Set("summary", "p99 <b>above</b> 2s & \"x\" + 'y'");
  EXPECT_EQ(Render("<p>{{ .CommonAnnotations.summary }}</p>", d, true),
            "<p>p99 &lt;b&gt;above&lt;/b&gt; 2s &amp; &#34;x&#34; &#43; &#39;y&#39;</p>");
  EXPECT_EQ(Render("<p>{{ .CommonAnnotations.summary | safeHtml }}</p>", d, true),
            "<p>p99 <b>above</b> 2s & \"x\" + 'y'</p>");
  // Values are formatted first; a template's output is not escaped twice; nil prints nothing.
  EXPECT_EQ(Render("{{ (index .Alerts 0).StartsAt }}|{{ define \"t\" }}<i>{{ . }}</i>{{ end }}"
                   "{{ template \"t\" \"a&b\" }}|{{ template \"t\" }}",
                   d, true),
            "2026-01-01 10:00:00.25 &#43;0000 UTC|<i>a&amp;b</i>|<i></i>");
  EXPECT_EQ(Render("{{ template \"t\" }}{{ define \"t\" }}{{ . }}{{ end }}", d, false),
            "<no value>");
}

TEST_F(NotificationTemplatesTest, HtmlUrlAttributesOnlyTakeHttpHttpsAndMailto) {
  NotificationData d = Group();
  for (Alert& a : d.alerts) a.generator_url = "javascript:alert(document.cookie)";
  const std::string link = "<a href=\"{{ (index .Alerts 0).GeneratorURL }}\">source</a>";
  // html/template's answer to a script URL where a link starts.
  EXPECT_EQ(Render(link, d, true), "<a href=\"#ZgotmplZ\">source</a>");
  EXPECT_EQ(Render("<img SRC='{{ (index .Alerts 0).GeneratorURL }}'>", d, true),
            "<img SRC='#ZgotmplZ'>");
  EXPECT_EQ(Render(link, d, false),  // text mode: as is
            "<a href=\"javascript:alert(document.cookie)\">source</a>");
  for (Alert& a : d.alerts) a.generator_url = "https://prom.example/graph?g0.expr=up";
  EXPECT_EQ(Render(link, d, true),
            "<a href=\"https://prom.example/graph?g0.expr=up\">source</a>");
  for (Alert& a : d.alerts) a.generator_url = "/graph?x=a:b";  // relative: no scheme
  EXPECT_EQ(Render(link, d, true), "<a href=\"/graph?x=a:b\">source</a>");
  // Only where the value starts, and only in an attribute.
  for (Alert& a : d.alerts) a.generator_url = "javascript:x";
  EXPECT_EQ(Render("<a href=\"/go?to={{ (index .Alerts 0).GeneratorURL }}\">", d, true),
            "<a href=\"/go?to=javascript:x\">");
  EXPECT_EQ(Render("<p>link=\"{{ (index .Alerts 0).GeneratorURL }}</p>", d, true),
            "<p>link=\"javascript:x</p>");
}

TEST_F(NotificationTemplatesTest, EmailBody) {
  NotificationData d = Group();
  d.alerts.pop_back();
  d.alerts[0].annotations.Set("summary", "p99 > 2s");
  EXPECT_EQ(Render("{{ template \"email.default.html\" . }}", d, true),
            R"(<!DOCTYPE html>
<html>
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width">
<title>[FIRING:1] HighLatency api (acme api-1:8080 critical)</title>
</head>
<body style="margin:0;padding:16px;background:#f3f4f6;font-family:Helvetica,Arial,sans-serif;font-size:14px;line-height:1.5;color:#111827;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:640px;margin:0 auto;background:#ffffff;border:1px solid #e5e7eb;border-collapse:separate;border-radius:6px;">
<tr><td style="padding:16px 20px;border-radius:6px 6px 0 0;color:#ffffff;font-size:16px;font-weight:bold;background:#b91c1c;">[FIRING:1] HighLatency api (acme api-1:8080 critical)</td></tr>
<tr><td style="padding:12px 20px;">1 alert for alertname=HighLatency job=api &middot; <a href="http://platops.example:8080/#/alerts?receiver=team-sre" style="color:#1d4ed8;">View in platops</a></td></tr>
<tr><td style="padding:12px 20px 4px;font-weight:bold;color:#b91c1c;">[1] Firing</td></tr>
<tr><td style="padding:8px 20px 12px;border-top:1px solid #e5e7eb;">
<div style="font-weight:bold;">HighLatency</div>
<div style="margin:6px 0;"><b>runbook</b>: https://runbooks.example/latency<br><b>summary</b>: p99 &gt; 2s<br></div>
<div style="margin:6px 0;font-family:Menlo,Consolas,monospace;font-size:12px;color:#374151;">alertname=HighLatency<br>account=acme<br>instance=api-1:8080<br>job=api<br>severity=critical<br></div>
<div style="font-size:12px;color:#6b7280;">Started 2026-01-01 10:00:00.25 &#43;0000 UTC &middot; <a href="http://prometheus:9090/graph?g0.expr=latency_p99&#43;%3E&#43;2&amp;g0.tab=1" style="color:#1d4ed8;">Source</a></div>
</td></tr>
<tr><td style="padding:12px 20px;border-top:1px solid #e5e7eb;font-size:12px;color:#6b7280;">Sent by <a href="http://platops.example:8080" style="color:#6b7280;">platops</a></td></tr>
</table>
</body>
</html>
)");
}

TEST_F(NotificationTemplatesTest, EmailBodyListsResolvedAlertsAfterFiringOnes) {
  const std::string body =
      Render("{{ template \"email.default.html\" . }}", Resolve(Group(), 0), true);
  const size_t firing = body.find("[1] Firing");
  const size_t resolved = body.find("[1] Resolved");
  ASSERT_NE(firing, std::string::npos) << body;
  ASSERT_NE(resolved, std::string::npos) << body;
  EXPECT_LT(firing, body.find("api-2:8080"));
  EXPECT_LT(resolved, body.find("api-1:8080"));
  EXPECT_LT(firing, resolved);
  EXPECT_NE(body.find("Started 2026-01-01 10:00:00.25 &#43;0000 UTC, resolved 2026-01-01 "
                      "10:04:00 &#43;0000 UTC"),
            std::string::npos)
      << body;
}

TEST_F(NotificationTemplatesTest, UserFilesOverrideDefaultsInOrder) {
  const NotificationTemplates t = Load({
      {"first.tmpl",
       "{{ define \"slack.default.title\" }}first{{ end }}"
       "{{ define \"team.title\" }}:rotating_light: {{ template \"__subject\" . }}{{ end }}"},
      {"second.tmpl",
       "{{ define \"slack.default.title\" }}{{ .Status | title }}: "
       "{{ .CommonAnnotations.summary }}{{ end }}"
       // An empty definition does not replace a non-empty one (text/template's rule).
       "{{ define \"team.title\" }}  {{ end }}"},
  });
  const NotificationData d = Group();
  EXPECT_EQ(Render(t, "{{ template \"slack.default.title\" . }}", d),
            "Firing: p99 latency above 2s");
  EXPECT_EQ(Render(t, "{{ template \"team.title\" . }}", d),
            ":rotating_light: [FIRING:2] HighLatency api (acme critical)");
  // The defaults that call the overridden one see the override.
  EXPECT_EQ(
      Render(t, "{{ template \"slack.default.fallback\" . }}", d),
      "Firing: p99 latency above 2s | http://platops.example:8080/#/alerts?receiver=team-sre");
  // A rendered text may define templates for itself; that changes nothing for others.
  EXPECT_EQ(Render(t,
                   "{{ define \"__alertmanager\" }}Ops{{ end }}{{ template "
                   "\"slack.default.username\" . }}",
                   d),
            "Ops");
  EXPECT_EQ(Render(t, "{{ template \"slack.default.username\" . }}", d), "platops");
}

TEST_F(NotificationTemplatesTest, UndefinedTemplate) {
  EXPECT_EQ(Render("{{ template \"x\" . }}"),
            "ERROR: template: :1:12: executing \"\" at <{{template \"x\" .}}>: template \"x\" "
            "not defined");
  EXPECT_EQ(Render("line 1\n  {{ template \"slack.custom.title\" . }}"),
            "ERROR: template: :2:14: executing \"\" at <{{template \"slack.cu...>: template "
            "\"slack.custom.title\" not defined");
}

TEST_F(NotificationTemplatesTest, ErrorsInUserFilesNameTheFile) {
  auto bad =
      NotificationTemplates::Load({{"ok.tmpl", "{{ define \"a\" }}a{{ end }}"},
                                   {"bad.tmpl", "{{ define \"b\" }}\n{{ humanize 1 }}{{ end }}"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "template: bad.tmpl:2: function \"humanize\" not defined");
  auto twice = NotificationTemplates::Load(
      {{"twice.tmpl", "{{ define \"a\" }}1{{ end }}{{ define \"a\" }}2{{ end }}"}});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().message(),
            "template: twice.tmpl:1: template: multiple definition of template \"a\"");

  const NotificationTemplates t =
      Load({{"team.tmpl", "{{ define \"team.text\" }}{{ .Alerts.Nope }}{{ end }}"}});
  EXPECT_EQ(Render(t, "{{ template \"team.text\" . }}", Group()),
            "ERROR: template: team.tmpl:1:34: executing \"team.text\" at <.Alerts.Nope>: can't "
            "evaluate field Nope in type template.Alerts");
}

TEST_F(NotificationTemplatesTest, ParseAndExecutionErrorsOfTheText) {
  EXPECT_EQ(Render("{{ .Status "), "ERROR: template: :1: unclosed action");
  EXPECT_EQ(Render("{{ template \"x\" . }"), "ERROR: template: :1: unexpected \"}\" in operand");
  EXPECT_EQ(Render("{{ template x }}"), "ERROR: template: :1: unexpected \"x\" in template clause");
  EXPECT_EQ(Render("{{ .Nope }}"),
            "ERROR: template: :1:3: executing \"\" at <.Nope>: can't evaluate field Nope in type "
            "*template.Data");
  EXPECT_EQ(Render("{{ define \"loop\" }}{{ template \"loop\" . }}{{ end }}"
                   "{{ template \"loop\" . }}"),
            "ERROR: template: :1:31: executing \"loop\" at <{{template \"loop\" .}...>: exceeded "
            "maximum template depth (100)");
}

TEST_F(NotificationTemplatesTest, EmptyTextRendersNothing) {
  EXPECT_EQ(Render(""), "");
  EXPECT_EQ(Render("{{ define \"only\" }}x{{ end }}"), "");
}

TEST_F(NotificationTemplatesTest, DefaultConstructedHasTheBuiltInDefinitions) {
  const NotificationTemplates t;
  EXPECT_EQ(Render(t, "{{ template \"slack.default.title\" . }}", Group()),
            "[FIRING:2] HighLatency api (acme critical)");
}

TEST_F(NotificationTemplatesTest, RendersConcurrently) {
  const NotificationData d = Group();
  std::vector<std::thread> threads;
  std::vector<std::string> out(8);
  for (size_t i = 0; i < out.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 20; ++k) {
        out[i] = Render("{{ template \"slack.default.fallback\" . }} " + std::to_string(k % 3), d);
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const std::string& s : out) {
    EXPECT_EQ(s,
              "[FIRING:2] HighLatency api (acme critical) | "
              "http://platops.example:8080/#/alerts?receiver=team-sre 1");
  }
}

}  // namespace
}  // namespace platops::alerting
