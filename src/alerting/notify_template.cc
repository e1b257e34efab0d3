#include "alerting/notify_template.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <variant>

#include "alerting/template.h"

namespace platops::alerting {
namespace {

// The built-in definitions, parsed as Alertmanager parses its default.tmpl: the names and output
// of Alertmanager 0.25's (platops names itself where Alertmanager does), and an HTML email body
// of platops's own.
constexpr std::string_view kDefaultsName = "default.tmpl";
constexpr std::string_view kDefaults = R"tmpl(
{{ define "__alertmanager" }}platops{{ end }}
{{ define "__alertmanagerURL" -}}
  {{ .ExternalURL }}/#/alerts?receiver={{ .Receiver | urlquery }}
{{- end }}

{{/* "[FIRING:2] <group label values> (<other common label values>)". As in Alertmanager, the
     space before the parenthesis stays when there are no other common labels. */}}
{{ define "__subject" -}}
  [{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}]
  {{- " " }}{{ .GroupLabels.SortedPairs.Values | join " " }}
  {{- " " }}{{ if gt (len .CommonLabels) (len .GroupLabels) -}}
    ({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }})
  {{- end }}
{{- end }}
{{ define "__description" }}{{ end }}

{{/* A list of alerts as plain text: their labels, annotations and source. */}}
{{ define "__text_alert_list" -}}
  {{ range . -}}
    Labels:{{ "\n" }}
    {{- range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}{{ "\n" }}{{ end -}}
    Annotations:{{ "\n" }}
    {{- range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}{{ "\n" }}{{ end -}}
    Source: {{ .GeneratorURL }}{{ "\n" }}
  {{- end }}
{{- end }}

{{ define "slack.default.title" }}{{ template "__subject" . }}{{ end }}
{{ define "slack.default.username" }}{{ template "__alertmanager" . }}{{ end }}
{{ define "slack.default.fallback" -}}
  {{ template "slack.default.title" . }} | {{ template "slack.default.titlelink" . }}
{{- end }}
{{ define "slack.default.callbackid" }}{{ end }}
{{ define "slack.default.pretext" }}{{ end }}
{{ define "slack.default.titlelink" }}{{ template "__alertmanagerURL" . }}{{ end }}
{{ define "slack.default.iconemoji" }}{{ end }}
{{ define "slack.default.iconurl" }}{{ end }}
{{ define "slack.default.text" }}{{ end }}
{{ define "slack.default.footer" }}{{ end }}

{{ define "email.default.subject" }}{{ template "__subject" . }}{{ end }}

{{/* One alert of the email body: a table row. */}}
{{ define "__platops_email_alert" -}}
<tr><td style="padding:8px 20px 12px;border-top:1px solid #e5e7eb;">
<div style="font-weight:bold;">{{ .Labels.alertname }}</div>
{{- if .Annotations }}
<div style="margin:6px 0;">{{ range .Annotations.SortedPairs }}<b>{{ .Name }}</b>: {{ .Value }}<br>{{ end }}</div>
{{- end }}
<div style="margin:6px 0;font-family:Menlo,Consolas,monospace;font-size:12px;color:#374151;">
{{- range .Labels.SortedPairs }}{{ .Name }}={{ .Value }}<br>{{ end }}</div>
<div style="font-size:12px;color:#6b7280;">Started {{ .StartsAt }}
{{- if eq .Status "resolved" }}, resolved {{ .EndsAt }}{{ end }}
{{- if .GeneratorURL }} &middot; <a href="{{ .GeneratorURL }}" style="color:#1d4ed8;">Source</a>{{ end }}</div>
</td></tr>
{{- end }}

{{/* The email body: the subject as header, a link to platops, then the firing and the resolved
     alerts. */}}
{{ define "email.default.html" -}}
<!DOCTYPE html>
<html>
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width">
<title>{{ template "__subject" . }}</title>
</head>
<body style="margin:0;padding:16px;background:#f3f4f6;font-family:Helvetica,Arial,sans-serif;font-size:14px;line-height:1.5;color:#111827;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:640px;margin:0 auto;background:#ffffff;border:1px solid #e5e7eb;border-collapse:separate;border-radius:6px;">
<tr><td style="padding:16px 20px;border-radius:6px 6px 0 0;color:#ffffff;font-size:16px;font-weight:bold;background:{{ if eq .Status "firing" }}#b91c1c{{ else }}#15803d{{ end }};">{{ template "__subject" . }}</td></tr>
<tr><td style="padding:12px 20px;">{{ .Alerts | len }} alert{{ if gt (len .Alerts) 1 }}s{{ end }} for {{ range .GroupLabels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}&middot; <a href="{{ template "__alertmanagerURL" . }}" style="color:#1d4ed8;">View in {{ template "__alertmanager" . }}</a></td></tr>
{{- if .Alerts.Firing }}
<tr><td style="padding:12px 20px 4px;font-weight:bold;color:#b91c1c;">[{{ .Alerts.Firing | len }}] Firing</td></tr>
{{- range .Alerts.Firing }}
{{ template "__platops_email_alert" . }}
{{- end }}
{{- end }}
{{- if .Alerts.Resolved }}
<tr><td style="padding:12px 20px 4px;font-weight:bold;color:#15803d;">[{{ .Alerts.Resolved | len }}] Resolved</td></tr>
{{- range .Alerts.Resolved }}
{{ template "__platops_email_alert" . }}
{{- end }}
{{- end }}
<tr><td style="padding:12px 20px;border-top:1px solid #e5e7eb;font-size:12px;color:#6b7280;">Sent by <a href="{{ .ExternalURL }}" style="color:#6b7280;">{{ template "__alertmanager" . }}</a></td></tr>
</table>
</body>
</html>
{{ end }}
)tmpl";

// ------------------------------------------------------------------------------------------------
// Alertmanager's template.Data, as objects the template engine reads.

TemplateTime ToTemplateTime(const std::optional<Timestamp>& t) {
  if (!t) return kGoZeroTime;
  const int64_t ms = t->time_since_epoch().count();
  const int64_t sec = ms / 1000 - (ms % 1000 < 0 ? 1 : 0);
  return TemplateTime{sec, static_cast<int32_t>((ms - sec * 1000) * 1000000)};
}

std::vector<std::string> StringsOf(const TemplateValue& v) {
  std::vector<std::string> out;
  const auto* object = std::get_if<std::shared_ptr<const TemplateObject>>(&v);
  if (object == nullptr || *object == nullptr) return out;
  for (size_t i = 0; i < (*object)->size(); ++i) {
    TemplateValue e = (*object)->Element(i);
    if (auto* s = std::get_if<std::string>(&e)) out.push_back(std::move(*s));
  }
  return out;
}

// template.Pair: struct { Name, Value string }.
class PairObject final : public TemplateObject {
 public:
  explicit PairObject(Label pair) : pair_(std::move(pair)) {}
  Shape shape() const override { return Shape::kStruct; }
  std::string TypeName() const override { return "template.Pair"; }
  size_t size() const override { return 2; }
  TemplateValue Element(size_t i) const override { return i == 0 ? pair_.name : pair_.value; }
  std::string_view Key(size_t i) const override { return i == 0 ? "Name" : "Value"; }

 private:
  Label pair_;
};

// template.Pairs ([]Pair) with its methods Names and Values.
class PairsObject final : public TemplateObject {
 public:
  explicit PairsObject(std::vector<Label> pairs) : pairs_(std::move(pairs)) {}
  Shape shape() const override { return Shape::kSlice; }
  std::string TypeName() const override { return "template.Pairs"; }
  size_t size() const override { return pairs_.size(); }
  TemplateValue Element(size_t i) const override {
    return std::make_shared<const PairObject>(pairs_[i]);
  }
  std::optional<TemplateMethod> Method(std::string_view name) const override {
    if (name == "Names") return Project(&Label::name);
    if (name == "Values") return Project(&Label::value);
    return std::nullopt;
  }

 private:
  TemplateMethod Project(std::string Label::*field) const {
    return TemplateMethod{{}, [this, field](const std::vector<TemplateValue>&) {
                            std::vector<std::string> out;
                            out.reserve(pairs_.size());
                            for (const Label& p : pairs_) out.push_back(p.*field);
                            return Result<TemplateValue>(MakeStringSlice(std::move(out)));
                          }};
  }

  std::vector<Label> pairs_;
};

// template.KV (map[string]string) with its methods SortedPairs, Names, Values and Remove.
class KvObject final : public TemplateObject {
 public:
  explicit KvObject(std::vector<Label> sorted) : labels_(std::move(sorted)) {}
  Shape shape() const override { return Shape::kMap; }
  std::string TypeName() const override { return "template.KV"; }
  size_t size() const override { return labels_.size(); }
  TemplateValue Element(size_t i) const override { return labels_[i].value; }
  std::string_view Key(size_t i) const override { return labels_[i].name; }
  TemplateValue Zero() const override { return std::string(); }

  std::optional<TemplateMethod> Method(std::string_view name) const override {
    if (name == "SortedPairs") {
      return TemplateMethod{
          {}, [this](const std::vector<TemplateValue>&) {
            return Result<TemplateValue>(std::make_shared<const PairsObject>(SortedPairs()));
          }};
    }
    if (name == "Names" || name == "Values") {
      const bool names = name == "Names";
      return TemplateMethod{{}, [this, names](const std::vector<TemplateValue>&) {
                              std::vector<std::string> out;
                              for (Label& p : SortedPairs()) {
                                out.push_back(std::move(names ? p.name : p.value));
                              }
                              return Result<TemplateValue>(MakeStringSlice(std::move(out)));
                            }};
    }
    if (name == "Remove") {
      return TemplateMethod{
          {TemplateMethod::Param::kStringSlice}, [this](const std::vector<TemplateValue>& args) {
            const std::vector<std::string> drop = StringsOf(args[0]);
            std::vector<Label> kept;
            for (const Label& l : labels_) {
              if (std::find(drop.begin(), drop.end(), l.name) == drop.end()) kept.push_back(l);
            }
            return Result<TemplateValue>(std::make_shared<const KvObject>(std::move(kept)));
          }};
    }
    return std::nullopt;
  }

 private:
  // Sorted by name, but alertname first (Alertmanager's KV.SortedPairs).
  std::vector<Label> SortedPairs() const {
    std::vector<Label> pairs = labels_;
    std::stable_partition(pairs.begin(), pairs.end(),
                          [](const Label& l) { return l.name == "alertname"; });
    return pairs;
  }

  std::vector<Label> labels_;  // sorted by name
};

std::shared_ptr<const KvObject> Kv(const LabelSet& labels) {
  return std::make_shared<const KvObject>(labels.labels());
}

// template.Alert.
class AlertObject final : public TemplateObject {
 public:
  AlertObject(const Alert& a, Timestamp now)
      : firing_(!a.Resolved(now)),
        labels_(Kv(a.labels)),
        annotations_(Kv(a.annotations)),
        starts_at_(ToTemplateTime(a.starts_at)),
        // A firing alert's end is not shown (Alertmanager's types.Alerts).
        ends_at_(firing_ ? kGoZeroTime : ToTemplateTime(a.ends_at)),
        generator_url_(a.generator_url),
        fingerprint_(FingerprintString(a.fingerprint)) {}

  bool firing() const { return firing_; }
  Shape shape() const override { return Shape::kStruct; }
  std::string TypeName() const override { return "template.Alert"; }
  size_t size() const override { return kFields.size(); }
  std::string_view Key(size_t i) const override { return kFields[i]; }
  TemplateValue Element(size_t i) const override {
    switch (i) {
      case 0:
        return std::string(firing_ ? "firing" : "resolved");
      case 1:
        return labels_;
      case 2:
        return annotations_;
      case 3:
        return starts_at_;
      case 4:
        return ends_at_;
      case 5:
        return generator_url_;
      default:
        return fingerprint_;
    }
  }

 private:
  static constexpr std::array<std::string_view, 7> kFields = {
      "Status", "Labels", "Annotations", "StartsAt", "EndsAt", "GeneratorURL", "Fingerprint"};

  bool firing_;
  std::shared_ptr<const KvObject> labels_, annotations_;
  TemplateTime starts_at_, ends_at_;
  std::string generator_url_, fingerprint_;
};

using AlertList = std::vector<std::shared_ptr<const AlertObject>>;

// template.Alerts with its methods Firing and Resolved, or the []Alert they return.
class AlertsObject final : public TemplateObject {
 public:
  AlertsObject(AlertList alerts, bool with_methods)
      : alerts_(std::move(alerts)), with_methods_(with_methods) {}
  Shape shape() const override { return Shape::kSlice; }
  std::string TypeName() const override {
    return with_methods_ ? "template.Alerts" : "[]template.Alert";
  }
  size_t size() const override { return alerts_.size(); }
  TemplateValue Element(size_t i) const override { return alerts_[i]; }
  std::optional<TemplateMethod> Method(std::string_view name) const override {
    if (!with_methods_ || (name != "Firing" && name != "Resolved")) return std::nullopt;
    const bool firing = name == "Firing";
    return TemplateMethod{{}, [this, firing](const std::vector<TemplateValue>&) {
                            AlertList subset;
                            for (const auto& a : alerts_) {
                              if (a->firing() == firing) subset.push_back(a);
                            }
                            return Result<TemplateValue>(
                                std::make_shared<const AlertsObject>(std::move(subset), false));
                          }};
  }

 private:
  AlertList alerts_;
  bool with_methods_;
};

// regexp.QuoteMeta: Alertmanager puts the receiver's name into template.Data quoted so.
std::string QuoteMeta(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// *template.Data.
class DataObject final : public TemplateObject {
 public:
  explicit DataObject(const NotificationData& d)
      : receiver_(QuoteMeta(d.receiver)),
        status_(NotificationStatus(d)),
        group_labels_(Kv(d.group_labels)),
        common_labels_(Kv(CommonLabels(d.alerts))),
        common_annotations_(Kv(CommonAnnotations(d.alerts))),
        external_url_(d.external_url) {
    AlertList alerts;
    alerts.reserve(d.alerts.size());
    for (const Alert& a : d.alerts) alerts.push_back(std::make_shared<const AlertObject>(a, d.now));
    alerts_ = std::make_shared<const AlertsObject>(std::move(alerts), true);
  }

  Shape shape() const override { return Shape::kStruct; }
  std::string TypeName() const override { return "*template.Data"; }
  size_t size() const override { return kFields.size(); }
  std::string_view Key(size_t i) const override { return kFields[i]; }
  TemplateValue Element(size_t i) const override {
    switch (i) {
      case 0:
        return receiver_;
      case 1:
        return status_;
      case 2:
        return alerts_;
      case 3:
        return group_labels_;
      case 4:
        return common_labels_;
      case 5:
        return common_annotations_;
      default:
        return external_url_;
    }
  }

 private:
  static constexpr std::array<std::string_view, 7> kFields = {
      "Receiver",          "Status",     "Alerts", "GroupLabels", "CommonLabels",
      "CommonAnnotations", "ExternalURL"};

  std::string receiver_, status_;
  std::shared_ptr<const AlertsObject> alerts_;
  std::shared_ptr<const KvObject> group_labels_, common_labels_, common_annotations_;
  std::string external_url_;
};

// Parsed render texts kept: notifications repeat a handful of texts; the bound keeps a config
// that templates per alert from growing without end.
constexpr size_t kMaxCachedTexts = 512;

}  // namespace

struct NotificationTemplates::Impl {
  TemplateSet definitions;  // the built-in ones and the user files'

  mutable std::mutex mu;
  // Render text -> the definitions with the text parsed as template "", or its parse error.
  mutable std::unordered_map<std::string, Result<TemplateSet>> parsed;  // GUARDED_BY(mu)

  // Alertmanager's ExecuteTextString: the text is parsed as the unnamed template "" into a copy
  // of the definitions, so it may call and (re)define them.
  Result<TemplateSet> WithText(std::string_view text) const {
    {
      std::lock_guard lock(mu);
      if (auto it = parsed.find(std::string(text)); it != parsed.end()) return it->second;
    }
    TemplateSet set = definitions;
    Status status = set.Parse("", text);
    Result<TemplateSet> result =
        status.ok() ? Result<TemplateSet>(std::move(set)) : Result<TemplateSet>(std::move(status));
    std::lock_guard lock(mu);
    if (parsed.size() >= kMaxCachedTexts) parsed.clear();
    parsed.emplace(std::string(text), result);
    return result;
  }
};

namespace {

// The built-in definitions, parsed once per process.
const Result<TemplateSet>& BuiltInDefinitions() {
  static const Result<TemplateSet> kBuiltIn = []() -> Result<TemplateSet> {
    TemplateSet set;
    PLATOPS_RETURN_IF_ERROR(set.Parse(std::string(kDefaultsName), kDefaults));
    return set;
  }();
  return kBuiltIn;
}

Result<std::shared_ptr<const NotificationTemplates::Impl>> LoadImpl(
    const std::vector<NotificationTemplates::File>& files) {
  auto impl = std::make_shared<NotificationTemplates::Impl>();
  PLATOPS_ASSIGN_OR_RETURN(impl->definitions, BuiltInDefinitions());
  for (const auto& file : files) {
    PLATOPS_RETURN_IF_ERROR(impl->definitions.Parse(file.name, file.text));
  }
  return std::shared_ptr<const NotificationTemplates::Impl>(std::move(impl));
}

}  // namespace

Result<NotificationTemplates> NotificationTemplates::Load(const std::vector<File>& files) {
  NotificationTemplates templates;
  PLATOPS_ASSIGN_OR_RETURN(templates.impl_, LoadImpl(files));
  return templates;
}

Result<std::string> NotificationTemplates::Render(std::string_view text,
                                                  const NotificationData& data, bool html) const {
  if (text.empty()) return std::string();
  static const std::shared_ptr<const Impl> kBuiltIn = *LoadImpl({});
  const Impl& impl = impl_ ? *impl_ : *kBuiltIn;
  PLATOPS_ASSIGN_OR_RETURN(TemplateSet set, impl.WithText(text));
  return set.Execute("", std::make_shared<const DataObject>(data), html);
}

}  // namespace platops::alerting
