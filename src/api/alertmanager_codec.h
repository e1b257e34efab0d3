#pragma once
// The JSON shapes of Alertmanager's API v2 for alerts, exactly as Alertmanager 0.25 reads and
// writes them, so that Prometheus, amtool and every Alertmanager client work against platops.
// Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alerting/alert_store.h"
#include "alerting/silence.h"
#include "base/clock.h"
#include "base/status.h"

namespace platops::api {

// A failure to read a request body, as Alertmanager's generated server answers it: `http_status`
// 400 (unreadable JSON, code 400) or 422 (schema violation, code 602 for a missing field),
// with the body {"code":N,"message":"..."}.
struct AmBodyError {
  int http_status = 400;
  int code = 400;
  std::string message;
  std::string Json() const;
};

// Reads the body of POST /api/v2/alerts: a JSON array of {labels, annotations, startsAt,
// endsAt, generatorURL}. Times are RFC 3339 with or without fractions; Go's zero time
// (0001-01-01T00:00:00Z) and absent fields leave them unset. Label rules (names, UTF-8, empty
// values) are the store's to check (alerting::Normalize, alerting::Validate).
struct ParsedAlerts {
  std::vector<alerting::Alert> alerts;
  std::optional<AmBodyError> error;
};
ParsedAlerts ParsePostableAlerts(std::string_view body);

// Alertmanager's time format on output: RFC 3339 with milliseconds, in UTC
// ("2026-01-01T00:00:00.000Z").
std::string FormatAmTime(Timestamp t);

// What GET /api/v2/alerts shows of one alert besides the alert itself.
struct AlertStatusView {
  std::string state = "active";  // "unprocessed", "active" or "suppressed".
  std::vector<std::string> silenced_by;
  std::vector<std::string> inhibited_by;
  std::vector<std::string> receivers;  // In route order.
};

// Appends one gettableAlert object.
void AppendGettableAlert(std::string& out, const alerting::Alert& alert,
                         const AlertStatusView& status);

// Reads the body of POST /api/v2/silences: {id?, matchers: [{name, value, isRegex, isEqual}],
// startsAt, endsAt, createdBy, comment}, plus platops's optional `recurrence`
// ({timeIntervals: [<Alertmanager time interval>...], expiresAt?}). Matchers are built with
// Alertmanager's checks (MakeSilenceMatcher); the time and state rules are SilenceSet::Set's.
// `recurrence_json` keeps the recurrence as posted, so it can be stored and shown as given.
struct ParsedSilence {
  alerting::Silence silence;
  std::string recurrence_json;
  std::optional<AmBodyError> error;  // A body or schema error.
  Status invalid;                    // A matcher Alertmanager refuses (400 with the message).
};
ParsedSilence ParsePostableSilence(std::string_view body);

// Appends one gettableSilence, with platops's `recurrence` (as posted) and `matchedAlerts` (how
// many current alerts its matchers select, so a silence matching nothing shows).
void AppendGettableSilence(std::string& out, const alerting::Silence& silence, Timestamp now,
                           std::string_view recurrence_json, size_t matched_alerts);

}  // namespace platops::api
