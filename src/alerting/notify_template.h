#pragma once
// Alertmanager's notification templates: Go templates executed against the data of one
// notification (Alertmanager's template.Data), with Alertmanager's functions and default
// definitions (slack.default.*, email.default.*, __subject, ...), and user definition files
// (the `templates:` globs of an Alertmanager configuration), so that Slack and email
// notifications read as Alertmanager 0.25 writes them.
//
// The data, as in Alertmanager: .Receiver (regexp.QuoteMeta'd, an Alertmanager quirk), .Status,
// .Alerts (.Firing, .Resolved; each .Status, .Labels, .Annotations, .StartsAt, .EndsAt (the zero
// time while firing), .GeneratorURL, .Fingerprint), .GroupLabels, .CommonLabels,
// .CommonAnnotations, .ExternalURL; label sets are template.KV (.SortedPairs with alertname
// first, .Names, .Values, .Remove) and print as map[k:v]. Times print as time.Time does, in UTC.
//
// Differences: __alertmanager is "platops"; email.default.html is platops's own compact body; HTML
// escaping is html/template's for HTML text everywhere (no contextual escaping of attributes,
// URLs, scripts or styles); and the limits of template.h (ASCII case mapping, time methods).
// Thread-safety: immutable after Load; Render may run concurrently (parsed texts are cached under a
// mutex).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "alerting/webhook.h"
#include "base/status.h"

namespace platops::alerting {

class NotificationTemplates {
 public:
  // The built-in definitions plus `files` (each a file's text, named for errors); a later
  // definition of a name replaces an earlier one, as Alertmanager's ParseGlob does.
  struct File {
    std::string name;
    std::string text;
  };
  static Result<NotificationTemplates> Load(const std::vector<File>& files = {});

  // Executes `text` (may call {{ template "name" . }}) against `data`. `html`: every action's
  // output is HTML-escaped unless it is safeHtml (email bodies).
  Result<std::string> Render(std::string_view text, const NotificationData& data,
                             bool html = false) const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;  // null when default-constructed: the built-in definitions
};

}  // namespace platops::alerting
