#pragma once
// Alertmanager's notification templates: Go templates executed against the data of one
// notification (Alertmanager's template.Data), with Alertmanager's functions and default
// definitions (slack.default.*, email.default.*, __subject, ...), and user definition files
// (the `templates:` globs of an Alertmanager configuration). Thread-safety: immutable after Load;
// Render may run concurrently.

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
  std::shared_ptr<const Impl> impl_;
};

}  // namespace platops::alerting
