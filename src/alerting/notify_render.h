#pragma once
// RenderFn: how Slack and email notifications execute their Go template fields against the data
// of one notification, without depending on the template engine (the dispatcher binds
// NotificationTemplates::Render to the notification's data).

#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace platops::alerting {

// Executes `template_text`; `html`: HTML-escape every action's output (email bodies). An error
// says what failed; the caller adds which field it was rendering.
using RenderFn = std::function<Result<std::string>(std::string_view template_text, bool html)>;

}  // namespace platops::alerting
