#include "alerting/service.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <boost/json.hpp>
#include <map>

#include "alerting/outbox.h"
#include "alerting/time_interval.h"
#include "alerting/webhook.h"
#include "alerting/email.h"
#include "alerting/slack.h"
#include "alerting/webhook_notify.h"
#include "base/strings.h"
#include "base/time_util.h"

namespace platops::alerting {
namespace {

namespace json = boost::json;

uint64_t RandomBits() {
  uint64_t v = 0;
  randombytes_buf(&v, sizeof(v));
  return v;
}

std::unique_ptr<Route> DefaultRoute() {
  auto r = ParseRouteTree(json::parse(R"({"receiver":"default"})"), {"default"}, {});
  return r.ok() ? std::move(r).value() : nullptr;
}

// The stored form of a silence: its fields, and the recurrence as it was posted.
std::string EncodeSilence(const Silence& s, const std::string& recurrence_json) {
  json::object o;
  o["id"] = s.id;
  json::array matchers;
  for (const Matcher& m : s.matchers) {
    matchers.push_back(json::object{{"type", MatchTypeString(m.type())},
                                    {"name", m.name()},
                                    {"value", m.value()}});
  }
  o["matchers"] = std::move(matchers);
  o["starts_at"] = FormatRfc3339(s.starts_at);
  o["ends_at"] = FormatRfc3339(s.ends_at);
  o["updated_at"] = FormatRfc3339(s.updated_at);
  o["created_by"] = s.created_by;
  o["comment"] = s.comment;
  if (!recurrence_json.empty()) o["recurrence"] = json::parse(recurrence_json);
  return json::serialize(o);
}

Result<std::pair<Silence, std::string>> DecodeSilence(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Internal("stored silence is not JSON");
  const json::object& o = v.as_object();
  auto str = [&](const char* k) -> std::string {
    const json::value* f = o.if_contains(k);
    return f != nullptr && f->is_string() ? std::string(f->as_string()) : std::string();
  };
  Silence s;
  s.id = str("id");
  s.created_by = str("created_by");
  s.comment = str("comment");
  s.starts_at = ParseStoredTimestamp(str("starts_at"));
  s.ends_at = ParseStoredTimestamp(str("ends_at"));
  s.updated_at = ParseStoredTimestamp(str("updated_at"));
  if (const json::value* ms = o.if_contains("matchers"); ms != nullptr && ms->is_array()) {
    for (const auto& m : ms->as_array()) {
      if (!m.is_object()) continue;
      const auto& mo = m.as_object();
      const std::string type = mo.contains("type") ? std::string(mo.at("type").as_string()) : "=";
      const MatchType t = type == "!="   ? MatchType::kNotEqual
                          : type == "=~" ? MatchType::kRegex
                          : type == "!~" ? MatchType::kNotRegex
                                         : MatchType::kEqual;
      PLATOPS_ASSIGN_OR_RETURN(Matcher matcher,
                               Matcher::Create(t, std::string(mo.at("name").as_string()),
                                               std::string(mo.at("value").as_string())));
      s.matchers.push_back(std::move(matcher));
    }
  }
  std::string recurrence_json;
  if (const json::value* r = o.if_contains("recurrence"); r != nullptr && r->is_object()) {
    RecurringSchedule schedule;
    if (const json::value* ti = r->as_object().if_contains("timeIntervals");
        ti != nullptr && ti->is_array()) {
      for (const auto& i : ti->as_array()) {
        PLATOPS_ASSIGN_OR_RETURN(TimeInterval interval, ParseTimeInterval(i));
        schedule.intervals.push_back(std::move(interval));
      }
    }
    if (const json::value* e = r->as_object().if_contains("expiresAt");
        e != nullptr && e->is_string()) {
      PLATOPS_ASSIGN_OR_RETURN(Timestamp t, ParseRfc3339(e->as_string()));
      schedule.expires_at = t;
    }
    s.recurrence = std::move(schedule);
    recurrence_json = json::serialize(*r);
  }
  return std::make_pair(std::move(s), std::move(recurrence_json));
}

InhibitorAlert ForInhibitor(const Alert& a) {
  return {a.labels, a.fingerprint, *a.starts_at, a.ends_at};
}

}  // namespace

std::vector<store::Migration> AlertingService::Migrations() {
  return {{"alerting", 1,
           "CREATE TABLE silences ("
           " id TEXT PRIMARY KEY, data TEXT NOT NULL, ends_at_ms INTEGER NOT NULL,"
           " updated_at TEXT NOT NULL)"},
          {"alerting", 2,
           "CREATE TABLE notification_log ("
           " group_key TEXT NOT NULL, receiver TEXT NOT NULL, firing TEXT NOT NULL,"
           " resolved TEXT NOT NULL, at_ms INTEGER NOT NULL, PRIMARY KEY (group_key, receiver))"}};
}

namespace {

// Fingerprints as a space-separated list of 16-digit hex numbers.
std::string EncodeFingerprints(const std::vector<uint64_t>& fps) {
  std::string out;
  for (uint64_t fp : fps) {
    if (!out.empty()) out += ' ';
    out += FingerprintString(fp);
  }
  return out;
}

std::vector<uint64_t> DecodeFingerprints(std::string_view text) {
  std::vector<uint64_t> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view item = text.substr(pos, end - pos);
    uint64_t v = 0;
    auto r = std::from_chars(item.data(), item.data() + item.size(), v, 16);
    if (r.ec == std::errc() && r.ptr == item.data() + item.size()) out.push_back(v);
    pos = end + 1;
  }
  return out;
}

}  // namespace

AlertingService::AlertingService(store::Store& store, const Clock& clock, AlertingOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      silences_(RandomBits),
      route_(DefaultRoute()),
      receivers_({"default"}),
      config_text_("route:\n  receiver: default\nreceivers:\n  - name: default\n") {
  auto templates = NotificationTemplates::Load();
  if (templates.ok()) {
    templates_ = std::make_shared<const NotificationTemplates>(std::move(*templates));
  } else {
    spdlog::error("alerting: the built-in notification templates: {}",
                  templates.status().message());
  }
}

void AlertingService::SetResolveTimeout(std::chrono::milliseconds timeout) {
  std::lock_guard lock(mu_);
  options_.resolve_timeout = timeout;
}

void AlertingService::SetConfigText(std::string text) {
  std::lock_guard lock(mu_);
  config_text_ = std::move(text);
}

std::string AlertingService::ConfigText() const {
  std::lock_guard lock(mu_);
  return config_text_;
}

AlertingService::~AlertingService() { Stop(); }

Status AlertingService::Load() {
  std::vector<std::string> rows;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto result, tx.Query("SELECT data FROM silences ORDER BY id"));
    for (const auto& row : result) rows.push_back(row.Text(0));
    return Status::Ok();
  }));
  std::vector<std::pair<std::pair<std::string, std::string>, NotificationLogEntry>> logs;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(
        auto result,
        tx.Query("SELECT group_key, receiver, firing, resolved, at_ms FROM notification_log"));
    for (const auto& row : result) {
      NotificationLogEntry e;
      e.firing_alerts = DecodeFingerprints(row.Text(2));
      e.resolved_alerts = DecodeFingerprints(row.Text(3));
      e.timestamp = Timestamp(std::chrono::milliseconds(row.Int(4)));
      logs.push_back({{row.Text(0), row.Text(1)}, std::move(e)});
    }
    return Status::Ok();
  }));
  std::lock_guard lock(mu_);
  for (auto& [key, entry] : logs) logs_[key] = std::move(entry);
  for (const auto& text : rows) {
    auto decoded = DecodeSilence(text);
    if (!decoded.ok()) return decoded.status();
    const std::string id = decoded->first.id;
    PLATOPS_RETURN_IF_ERROR(silences_.Restore(std::move(decoded->first)));
    if (!decoded->second.empty()) recurrence_json_[id] = decoded->second;
  }
  return Status::Ok();
}

void AlertingService::SetRouting(std::unique_ptr<Route> root, std::vector<std::string> receivers,
                                 std::vector<InhibitRule> inhibit_rules) {
  std::lock_guard lock(mu_);
  // Groups point into the old tree's options: Alertmanager rebuilds them on a reload too.
  groups_.clear();
  route_ = std::move(root);
  receivers_ = std::move(receivers);
  inhibitor_.SetRules(std::move(inhibit_rules));
  alerts_.ForEach([&](const Alert& a) { inhibitor_.Update(ForInhibitor(a)); });
}

std::vector<std::string> AlertingService::Receivers() const {
  std::lock_guard lock(mu_);
  return receivers_;
}

Status AlertingService::PostAlerts(std::vector<Alert> alerts, std::string_view source) {
  const Timestamp now = clock_.Now();
  std::chrono::milliseconds resolve_timeout;
  {
    std::lock_guard lock(mu_);
    resolve_timeout = options_.resolve_timeout;
  }
  std::vector<std::string> errors;
  std::vector<Alert> valid;
  valid.reserve(alerts.size());
  for (Alert& a : alerts) {
    Normalize(a, now, resolve_timeout);
    Status st = Validate(a);
    if (st.ok() && a.labels.size() > options_.max_labels_per_alert) {
      st = InvalidArgument("too many labels: " + std::to_string(a.labels.size()) +
                           " (the limit is " + std::to_string(options_.max_labels_per_alert) +
                           ")");
    }
    if (!st.ok()) {
      if (invalid_ != nullptr) invalid_->Add({std::string(source)});
      errors.push_back(st.message());
      continue;
    }
    if (received_ != nullptr) {
      received_->Add({std::string(source), a.Resolved(now) ? "resolved" : "firing"});
    }
    valid.push_back(std::move(a));
  }
  size_t fresh = 0;
  for (const Alert& a : valid) fresh += alerts_.Contains(a.fingerprint) ? 0 : 1;
  if (fresh > 0 && alerts_.size() + fresh > options_.max_alerts) {
    return Status(StatusCode::kResourceExhausted,
                  "too many alerts: the limit of " + std::to_string(options_.max_alerts) +
                      " active alerts is reached");
  }
  auto stored = alerts_.Put(std::move(valid), now);
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    for (const Alert& a : stored) inhibitor_.Update(ForInhibitor(a));
    const size_t recorded = pending_history_.size();
    if (history_ != nullptr) stored = Observe(std::move(stored), source, now);
    wake = pending_history_.size() > recorded;
    if (outbox_ != nullptr && !stored.empty()) {
      Group(stored, now);
      wake = true;
    }
  }
  if (wake) loop_.Wake();
  if (!errors.empty()) {
    std::string joined;
    for (const auto& e : errors) {
      if (!joined.empty()) joined += "; ";
      joined += e;
    }
    return InvalidArgument(joined);
  }
  return Status::Ok();
}

AlertView AlertingService::View(std::shared_ptr<const Alert> alert, Timestamp now,
                                std::vector<const Route*>* matched) const {
  AlertView v;
  v.held = std::move(alert);
  const LabelSet& labels = v.held->labels;
  v.silenced_by = silences_.Mutes(labels, now);
  if (auto by = inhibitor_.InhibitedBy(labels, now)) {
    v.inhibited_by.push_back(FingerprintString(*by));
  }
  if (route_) {
    std::vector<const Route*> routes = route_->Match(labels);
    for (const Route* r : routes) v.receivers.push_back(r->receiver());
    if (matched != nullptr) *matched = std::move(routes);
  }
  return v;
}

namespace {

bool Passes(const AlertView& v, const AlertFilter& f) {
  if (!MatchesAll(f.matchers, v.alert().labels)) return false;
  if (f.receiver) {
    bool any = false;
    for (const auto& r : v.receivers) any = any || f.receiver->Matches(r);
    if (!any) return false;
  }
  if (!f.silenced && !v.silenced_by.empty()) return false;
  if (!f.inhibited && !v.inhibited_by.empty()) return false;
  if (!f.active && !v.suppressed()) return false;
  return true;
}

}  // namespace

std::vector<AlertView> AlertingService::ListAlerts(const AlertFilter& filter) const {
  const Timestamp now = clock_.Now();
  std::vector<AlertView> out;
  auto all = alerts_.Snapshot();  // By fingerprint: as Alertmanager lists them (16 hex digits
                                  // sort as the numbers do).
  out.reserve(all.size());
  std::lock_guard lock(mu_);
  for (auto& a : all) {
    if (a->Resolved(now)) continue;
    AlertView v = View(std::move(a), now);
    if (Passes(v, filter)) out.push_back(std::move(v));
  }
  return out;
}

std::vector<AlertGroupView> AlertingService::ListAlertGroups(const AlertFilter& filter) const {
  const Timestamp now = clock_.Now();
  auto all = alerts_.Snapshot();
  std::map<std::pair<std::string, std::string>, AlertGroupView> groups;
  std::lock_guard lock(mu_);
  if (!route_) return {};
  std::vector<const Route*> routes;
  for (auto& a : all) {
    if (a->Resolved(now)) continue;
    AlertView v = View(std::move(a), now, &routes);
    if (!Passes(v, filter)) continue;
    for (const Route* r : routes) {
      if (filter.receiver && !filter.receiver->Matches(r->receiver())) continue;
      LabelSet labels = GroupLabels(*r, v.alert().labels);
      auto& g = groups[{GroupKey(*r, labels), r->receiver()}];
      g.labels = std::move(labels);
      g.receiver = r->receiver();
      g.alerts.push_back(v);
    }
  }
  std::vector<AlertGroupView> out;
  out.reserve(groups.size());
  for (auto& [key, g] : groups) out.push_back(std::move(g));
  return out;
}

Status AlertingService::Persist(const SilenceSet& next, const std::vector<std::string>& ids) {
  return store_.Write([&](store::Tx& tx) -> Status {
    for (const auto& id : ids) {
      auto s = next.Get(id);
      if (!s.ok()) continue;
      auto rec = recurrence_json_.find(id);
      const std::string data =
          EncodeSilence(*s, rec == recurrence_json_.end() ? std::string() : rec->second);
      PLATOPS_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO silences (id, data, ends_at_ms, updated_at) VALUES ($1, $2, $3, $4)"
                  " ON CONFLICT (id) DO UPDATE SET data = excluded.data,"
                  " ends_at_ms = excluded.ends_at_ms, updated_at = excluded.updated_at",
                  {id, data, static_cast<int64_t>(s->ends_at.time_since_epoch().count()),
                   FormatRfc3339(s->updated_at)})
              .status());
    }
    return Status::Ok();
  });
}

Result<std::string> AlertingService::SetSilence(Silence silence, std::string recurrence_json) {
  const Timestamp now = clock_.Now();
  std::lock_guard lock(mu_);
  const std::string old_id = silence.id;
  SilenceSet next = silences_;
  PLATOPS_ASSIGN_OR_RETURN(std::string id, next.Set(std::move(silence), now));
  auto previous_json = recurrence_json_;
  if (recurrence_json.empty()) {
    recurrence_json_.erase(id);
  } else {
    recurrence_json_[id] = std::move(recurrence_json);
  }
  std::vector<std::string> changed = {id};
  if (!old_id.empty() && old_id != id) changed.push_back(old_id);
  Status st = Persist(next, changed);
  if (!st.ok()) {
    recurrence_json_ = std::move(previous_json);
    return st;
  }
  silences_ = std::move(next);
  return id;
}

Status AlertingService::ExpireSilence(const std::string& id) {
  const Timestamp now = clock_.Now();
  std::lock_guard lock(mu_);
  SilenceSet next = silences_;
  PLATOPS_RETURN_IF_ERROR(next.Expire(id, now));
  PLATOPS_RETURN_IF_ERROR(Persist(next, {id}));
  silences_ = std::move(next);
  return Status::Ok();
}

Result<SilenceView> AlertingService::GetSilence(const std::string& id) const {
  auto all = alerts_.List();
  const Timestamp now = clock_.Now();
  std::lock_guard lock(mu_);
  PLATOPS_ASSIGN_OR_RETURN(Silence s, silences_.Get(id));
  std::vector<LabelSet> current;
  for (const Alert& a : all) {
    if (!a.Resolved(now)) current.push_back(a.labels);
  }
  SilenceView v;
  v.matched_alerts = silences_.CountMatching(id, current);
  auto rec = recurrence_json_.find(id);
  if (rec != recurrence_json_.end()) v.recurrence_json = rec->second;
  v.silence = std::move(s);
  return v;
}

std::vector<SilenceView> AlertingService::ListSilences(const std::vector<Matcher>& filter) const {
  auto all = alerts_.List();
  const Timestamp now = clock_.Now();
  std::vector<LabelSet> current;
  for (const Alert& a : all) {
    if (!a.Resolved(now)) current.push_back(a.labels);
  }
  std::lock_guard lock(mu_);
  std::vector<SilenceView> out;
  for (Silence& s : silences_.List(now, filter)) {
    SilenceView v;
    v.matched_alerts = silences_.CountMatching(s.id, current);
    auto rec = recurrence_json_.find(s.id);
    if (rec != recurrence_json_.end()) v.recurrence_json = rec->second;
    v.silence = std::move(s);
    out.push_back(std::move(v));
  }
  return out;
}

// ---- History and flap damping ----

Status AlertingService::AttachHistory(AlertHistory* history, FlapOptions flap,
                                      std::chrono::milliseconds retention) {
  PLATOPS_ASSIGN_OR_RETURN(auto firing, history->LastFiring());
  std::lock_guard lock(mu_);
  tracker_.Restore(std::move(firing), clock_.Now(), options_.resolve_timeout);
  flap_ = FlapDetector(flap);
  history_ = history;
  history_retention_ = retention;
  return Status::Ok();
}

std::vector<Alert> AlertingService::Observe(std::vector<Alert> alerts, std::string_view source,
                                            Timestamp now) {
  const auto hold_for =
      flap_.options().settle.count() > 0 ? flap_.options().settle : flap_.options().window;
  for (Alert& a : alerts) {
    auto t = tracker_.Observe(a, source, now);
    if (!t) {
      // A resolved alert sent again (rules re-send resolved alerts for 15 minutes) while it
      // flaps: its group keeps the held firing copy.
      if (a.Resolved(now) && flap_.Flapping(a.fingerprint)) {
        a.ends_at = std::max(now, *a.ends_at) + hold_for;
      }
      continue;
    }
    const FlapVerdict v = flap_.Observe(t->fingerprint, t->state == TransitionState::kFiring, now);
    t->flapping = v.flapping;
    pending_history_.push_back(std::move(*t));
    if (v.hold_firing) {
      // Held firing in its group until the flapping would settle; a change before then moves
      // the end again.
      a.ends_at = now + hold_for;
    }
  }
  return alerts;
}

void AlertingService::SweepHistory(Timestamp now) {
  auto timed_out = tracker_.Sweep(now, [this](uint64_t fp) { return alerts_.Get(fp); });
  std::vector<Alert> held;
  for (auto& t : timed_out) {
    const FlapVerdict v = flap_.Observe(t.fingerprint, false, t.at);
    t.flapping = v.flapping;
    if (v.hold_firing) {
      if (auto a = alerts_.Get(t.fingerprint)) {
        a->ends_at = now + (flap_.options().settle.count() > 0 ? flap_.options().settle
                                                               : flap_.options().window);
        held.push_back(std::move(*a));
      }
    }
    pending_history_.push_back(std::move(t));
  }
  // Held copies end by themselves; Expire clears the flapping marks and frees what settled. It
  // walks every alert that changed within the window, so not on every pass.
  if (now - last_flap_expire_ >= std::chrono::seconds(10)) {
    (void)flap_.Expire(now);
    last_flap_expire_ = now;
  }
  if (!held.empty() && outbox_ != nullptr) Group(held, now);
}

Status AlertingService::FlushHistory() {
  if (history_ == nullptr) return Status::Ok();
  std::lock_guard write(history_write_mu_);
  std::vector<AlertTransition> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(pending_history_);
  }
  if (batch.empty()) return Status::Ok();
  Status st = history_->Record(batch);
  if (!st.ok()) {
    // Kept, in order, for the next pass.
    std::lock_guard lock(mu_);
    batch.insert(batch.end(), std::make_move_iterator(pending_history_.begin()),
                 std::make_move_iterator(pending_history_.end()));
    pending_history_ = std::move(batch);
  }
  return st;
}

bool AlertingService::Flapping(uint64_t fingerprint) const {
  std::lock_guard lock(mu_);
  return flap_.Flapping(fingerprint);
}

void AlertingService::GC() {
  const Timestamp now = clock_.Now();
  {
    // Time-outs first, so that the alerts GC drops have their resolve recorded.
    std::lock_guard lock(mu_);
    if (history_ != nullptr) SweepHistory(now);
  }
  auto removed = alerts_.GC(now);
  // Alertmanager forgets a notification after its log retention (120 h by default).
  const Timestamp log_cutoff = now - options_.silence_retention;
  bool silences_dropped = false;
  {
    std::lock_guard lock(mu_);
    for (const Alert& a : removed) {
      inhibitor_.Remove(a.fingerprint);
      if (history_ != nullptr) {
        if (auto t = tracker_.Forget(a)) pending_history_.push_back(std::move(*t));
      }
    }
    std::erase_if(logs_, [&](const auto& kv) { return kv.second.timestamp < log_cutoff; });
    silences_dropped = silences_.GC(now, options_.silence_retention) > 0;
  }
  // Outside the lock: a failed delete leaves rows that the next GC (or the next start) drops.
  const int64_t silence_cutoff = (now - options_.silence_retention).time_since_epoch().count();
  (void)store_.Write([&](store::Tx& tx) -> Status {
    if (silences_dropped) {
      PLATOPS_RETURN_IF_ERROR(
          tx.Exec("DELETE FROM silences WHERE ends_at_ms <= $1", {silence_cutoff}).status());
    }
    return tx
        .Exec("DELETE FROM notification_log WHERE at_ms < $1",
              {static_cast<int64_t>(log_cutoff.time_since_epoch().count())})
        .status();
  });
  if (history_ != nullptr) (void)history_->Prune(now, history_retention_);
}

// ---- Notifications ----

void AlertingService::SetIntegrations(std::vector<Receiver> receivers,
                                      std::vector<NamedTimeInterval> intervals,
                                      std::string external_url) {
  std::lock_guard lock(mu_);
  integrations_.clear();
  for (auto& r : receivers) integrations_[r.name] = std::move(r);
  intervals_.clear();
  for (auto& i : intervals) intervals_[i.name] = std::move(i.intervals);
  external_url_ = std::move(external_url);
}

void AlertingService::AttachOutbox(Outbox* outbox) {
  std::lock_guard lock(mu_);
  outbox_ = outbox;
}

size_t AlertingService::group_count() const {
  std::lock_guard lock(mu_);
  return groups_.size();
}

void AlertingService::Group(const std::vector<Alert>& alerts, Timestamp now) {
  if (!route_) return;
  for (const Alert& a : alerts) {
    for (const Route* r : route_->Match(a.labels)) {
      LabelSet labels = GroupLabels(*r, a.labels);
      const std::string key = GroupKey(*r, labels);
      auto& g = groups_[{key, r->receiver()}];
      if (!g.group) {
        AggregationGroupOptions o;
        o.group_wait = r->group_wait();
        o.group_interval = r->group_interval();
        o.repeat_interval = r->repeat_interval();
        auto it = integrations_.find(r->receiver());
        bool send_resolved = false;
        if (it != integrations_.end()) {
          for (const auto& w : it->second.webhook_configs) send_resolved |= w.send_resolved;
          for (const auto& c : it->second.slack_configs) send_resolved |= c.send_resolved;
          for (const auto& c : it->second.email_configs) send_resolved |= c.send_resolved;
        }
        o.send_resolved = send_resolved;
        g.group = std::make_unique<AggregationGroup>(key, std::move(labels), o);
        if (auto log = logs_.find({key, r->receiver()}); log != logs_.end()) {
          g.group->RestoreNotificationLog(log->second);
        }
        g.receiver = r->receiver();
        g.mute_intervals = r->mute_time_intervals();
        g.active_intervals = r->active_time_intervals();
      }
      g.group->Insert({a.labels, a.fingerprint, *a.starts_at, a.ends_at, a.updated_at}, now);
    }
  }
}

bool AlertingService::Muted(const GroupAlert& a, const std::vector<std::string>& mute,
                            const std::vector<std::string>& active, Timestamp now) const {
  for (const auto& name : mute) {
    auto it = intervals_.find(name);
    if (it != intervals_.end() && ContainsAny(it->second, now)) return true;
  }
  if (!active.empty()) {
    bool inside = false;
    for (const auto& name : active) {
      auto it = intervals_.find(name);
      inside = inside || (it != intervals_.end() && ContainsAny(it->second, now));
    }
    if (!inside) return true;
  }
  if (maintenance_ && a.labels.Has("service") &&
      !maintenance_(std::string(a.labels.Get("service")), a.labels, now).empty()) {
    return true;
  }
  return !silences_.Mutes(a.labels, now).empty() || inhibitor_.InhibitedBy(a.labels, now);
}

void AlertingService::SetNotificationTemplates(
    std::shared_ptr<const NotificationTemplates> templates) {
  std::lock_guard lock(mu_);
  templates_ = std::move(templates);
}

void AlertingService::SetSecretBox(const SecretBox* box) {
  std::lock_guard lock(mu_);
  secret_box_ = box;
}

void AlertingService::SetMaintenanceLookup(MaintenanceLookup lookup) {
  std::lock_guard lock(mu_);
  maintenance_ = std::move(lookup);
}

std::string NotificationKeySeed(const Notification& n,
                                const std::optional<NotificationLogEntry>& last) {
  // FNV-1a over the fingerprints' bytes: stable across processes and releases.
  std::string bytes;
  auto add = [&bytes](uint64_t v) {
    for (int i = 0; i < 8; ++i) bytes += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  for (const auto& a : n.firing) add(a.fingerprint);
  add(0);  // firing and resolved apart
  for (const auto& a : n.resolved) add(a.fingerprint);
  const int64_t since = last ? static_cast<int64_t>(last->timestamp.time_since_epoch().count()) : 0;
  return fmt::format("{}-{:016x}", since, Fnv1a64(bytes));
}

void AlertingService::BuildNotifications(const Receiver& receiver, const Notification& n,
                                          const std::string& receiver_name, Timestamp now,
                                          std::string_view key_seed, const NotifyContext& ctx,
                                          std::vector<OutgoingNotification>& out) const {
  auto data_for = [&](bool send_resolved) {
    NotificationData data;
    data.receiver = receiver_name;
    data.group_key = n.group_key;
    data.group_labels = n.group_labels;
    data.external_url = ctx.external_url;
    data.now = now;
    auto add = [&](const GroupAlert& ga) {
      Alert a;
      if (auto stored = alerts_.Get(ga.fingerprint)) a = *stored;
      a.labels = ga.labels;
      a.fingerprint = ga.fingerprint;
      a.starts_at = ga.starts_at;
      a.ends_at = ga.ends_at;
      if (ctx.flapping.count(ga.fingerprint)) a.annotations.Set("flapping", "true");
      data.alerts.push_back(std::move(a));
    };
    for (const auto& ga : n.firing) add(ga);
    if (send_resolved) {
      for (const auto& ga : n.resolved) add(ga);
    }
    return data;
  };
  auto key = [&](const std::string& integration) {
    return n.group_key + "/" + receiver_name + "/" + integration + "/" + std::string(key_seed);
  };
  // A notification that cannot be built is stored failed, so the API and metrics show it.
  auto failed = [&](const char* kind, const std::string& integration, std::string target,
                    const Status& why) {
    const std::string reason =
        (why.field().empty() ? "" : why.field() + ": ") + std::string(why.message());
    spdlog::error("alerting: receiver {}: {}: {}", receiver_name, integration, reason);
    OutgoingNotification o;
    o.idempotency_key = key(integration);
    o.receiver = receiver_name;
    o.integration = integration;
    o.kind = kind;
    o.target = target.empty() ? "-" : std::move(target);
    o.error = "could not be built: " + reason;
    out.push_back(std::move(o));
  };
  for (size_t i = 0; i < receiver.webhook_configs.size(); ++i) {
    const WebhookConfig& w = receiver.webhook_configs[i];
    NotificationData data = data_for(w.send_resolved);
    if (data.alerts.empty()) continue;
    const std::string integration = "webhook[" + std::to_string(i) + "]";
    auto o = WebhookNotification(w, i, data, ctx.secret_box, key(integration));
    if (!o.ok()) {
      failed("webhook", integration, ctx.secret_box ? RedactSecretUrl(w.url.value) : "<secret>",
             o.status());
      continue;
    }
    out.push_back(std::move(*o));
  }
  if (receiver.slack_configs.empty() && receiver.email_configs.empty()) return;
  if (ctx.secret_box == nullptr) {
    spdlog::error("alerting: receiver {}: Slack and email need the secret key; nothing sent",
                  receiver_name);
    return;
  }
  for (size_t i = 0; i < receiver.slack_configs.size(); ++i) {
    const SlackConfig& c = receiver.slack_configs[i];
    NotificationData data = data_for(c.send_resolved);
    if (data.alerts.empty()) continue;
    RenderFn render = [&](std::string_view text, bool html) -> Result<std::string> {
      if (!ctx.templates) return Internal("the notification templates did not load");
      return ctx.templates->Render(text, data, html);
    };
    const std::string integration = "slack[" + std::to_string(i) + "]";
    auto o = SlackNotification(c, i, data, render, *ctx.secret_box, key(integration));
    if (!o.ok()) {
      failed("slack", integration, RedactSecretUrl(c.api_url.value), o.status());
      continue;
    }
    out.push_back(std::move(*o));
  }
  for (size_t i = 0; i < receiver.email_configs.size(); ++i) {
    const EmailConfig& c = receiver.email_configs[i];
    NotificationData data = data_for(c.send_resolved);
    if (data.alerts.empty()) continue;
    RenderFn render = [&](std::string_view text, bool html) -> Result<std::string> {
      if (!ctx.templates) return Internal("the notification templates did not load");
      return ctx.templates->Render(text, data, html);
    };
    const std::string integration = "email[" + std::to_string(i) + "]";
    auto o = EmailNotification(c, i, data, render, *ctx.secret_box, key(integration), now);
    if (!o.ok()) {
      failed("email", integration, "smtp://" + c.smarthost, o.status());
      continue;
    }
    out.push_back(std::move(*o));
  }
}

Timestamp AlertingService::Dispatch(Timestamp now) {
  struct Pending {
    std::pair<std::string, std::string> group;
    uint64_t flush_id;
    std::string key_seed;  // NotificationKeySeed
    Notification notification;
    std::optional<Receiver> receiver;  // its integrations, as configured at the flush
    std::vector<OutgoingNotification> out;
  };
  std::vector<Pending> pending;
  Outbox* outbox = nullptr;
  NotifyContext ctx;
  Timestamp next = now + std::chrono::minutes(1);
  {
    std::lock_guard lock(mu_);
    outbox = outbox_;
    if (outbox == nullptr) return next;
    ctx.external_url = external_url_;
    ctx.templates = templates_;
    ctx.secret_box = secret_box_;
    for (auto it = groups_.begin(); it != groups_.end();) {
      GroupState& g = it->second;
      auto due = g.group->NextFlush();
      if (due && *due <= now) {
        auto n = g.group->Flush(now, [&](const GroupAlert& a) {
          return Muted(a, g.mute_intervals, g.active_intervals, now);
        });
        if (n) {
          for (const auto* list : {&n->firing, &n->resolved}) {
            for (const auto& ga : *list) {
              if (flap_.Flapping(ga.fingerprint)) ctx.flapping.insert(ga.fingerprint);
            }
          }
          Pending p{it->first, n->flush_id, NotificationKeySeed(*n, g.group->notification_log()),
                    std::move(*n), std::nullopt, {}};
          auto rec = integrations_.find(g.receiver);
          if (rec != integrations_.end()) p.receiver = rec->second;
          pending.push_back(std::move(p));
        }
      }
      if (g.group->Empty()) {
        it = groups_.erase(it);
        continue;
      }
      if (auto nf = g.group->NextFlush()) next = std::min(next, *nf);
      ++it;
    }
  }
  // Rendered (templates, sealing) and written to the outbox outside the lock; a group counts as
  // notified once every integration's notification is stored.
  for (auto& p : pending) {
    if (p.receiver) {
      BuildNotifications(*p.receiver, p.notification, p.group.second, now, p.key_seed, ctx,
                         p.out);
    }
  }
  std::vector<std::pair<std::pair<std::string, std::string>, uint64_t>> delivered;
  for (auto& p : pending) {
    bool ok = true;
    for (const auto& o : p.out) {
      auto id = outbox->Enqueue(o, now);
      if (!id.ok()) ok = false;
    }
    if (ok) delivered.emplace_back(p.group, p.flush_id);
  }
  std::vector<std::pair<std::pair<std::string, std::string>, NotificationLogEntry>> entries;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, flush_id] : delivered) {
      auto it = groups_.find(key);
      if (it == groups_.end() || !it->second.group->Delivered(flush_id, now).ok()) continue;
      if (const auto& log = it->second.group->notification_log()) {
        logs_[key] = *log;
        entries.emplace_back(key, *log);
      }
    }
  }
  if (!entries.empty()) {
    // A lost write only means the group may notify once more after a restart.
    if (Status st = PersistLogs(entries); !st.ok()) {
      spdlog::warn("alerting: storing the notification log: {}", st.ToString());
    }
  }
  return next;
}

void AlertingService::RegisterMetrics(MetricsRegistry& registry) {
  received_ = &registry.Counter("platops_alerts_received_total",
                                "Alerts received, by source (api, rule) and status.",
                                {"source", "status"});
  invalid_ = &registry.Counter("platops_alerts_invalid_total",
                               "Alerts refused as invalid, by source.", {"source"});
  registry.Gauge("platops_alerts", "Alerts held and not resolved, by state.", {"state"}, [this] {
    const Timestamp now = clock_.Now();
    auto all = alerts_.List();
    double active = 0;
    double suppressed = 0;
    std::lock_guard lock(mu_);
    for (const Alert& a : all) {
      if (a.Resolved(now)) continue;
      const bool muted = !silences_.Mutes(a.labels, now).empty() ||
                         inhibitor_.InhibitedBy(a.labels, now).has_value();
      (muted ? suppressed : active) += 1;
    }
    return std::vector<std::pair<LabelValues, double>>{{{"active"}, active},
                                                       {{"suppressed"}, suppressed}};
  });
  registry.Gauge("platops_alert_groups", "Aggregation groups held.", {}, [this] {
    return std::vector<std::pair<LabelValues, double>>{
        {{}, static_cast<double>(group_count())}};
  });
  registry.Gauge("platops_silences", "Silences held, by state.", {"state"}, [this] {
    const Timestamp now = clock_.Now();
    double counts[3] = {0, 0, 0};
    std::lock_guard lock(mu_);
    for (const Silence& s : silences_.List(now)) counts[static_cast<int>(StateAt(s, now))] += 1;
    return std::vector<std::pair<LabelValues, double>>{
        {{"pending"}, counts[0]}, {{"active"}, counts[1]}, {{"expired"}, counts[2]}};
  });
}

Status AlertingService::PersistLogs(
    const std::vector<std::pair<std::pair<std::string, std::string>, NotificationLogEntry>>&
        entries) {
  return store_.Write([&](store::Tx& tx) -> Status {
    for (const auto& [key, e] : entries) {
      PLATOPS_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO notification_log (group_key, receiver, firing, resolved, at_ms)"
                  " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (group_key, receiver) DO UPDATE SET"
                  " firing = excluded.firing, resolved = excluded.resolved,"
                  " at_ms = excluded.at_ms",
                  {key.first, key.second, EncodeFingerprints(e.firing_alerts),
                   EncodeFingerprints(e.resolved_alerts),
                   static_cast<int64_t>(e.timestamp.time_since_epoch().count())})
              .status());
    }
    return Status::Ok();
  });
}

void AlertingService::Start() {
  last_gc_ = clock_.Now();
  loop_.Start();
}

void AlertingService::Stop() {
  loop_.Stop();
  // What the last pass left queued (a clean shutdown loses no transition).
  (void)FlushHistory();
}

Timestamp AlertingService::Tick(Timestamp now) {
  std::optional<Timestamp> timeout;
  if (history_ != nullptr) {
    // Before the flush: a flapping alert that timed out is held firing in its group first.
    std::lock_guard lock(mu_);
    SweepHistory(now);
    timeout = tracker_.NextTimeout();
  }
  Timestamp next = Dispatch(now);
  if (timeout) next = std::min(next, std::max(*timeout, now));
  // Alertmanager collects resolved alerts every 30 minutes.
  if (now - last_gc_ >= std::chrono::minutes(30)) {
    GC();
    last_gc_ = now;
  }
  if (history_ != nullptr) {
    // A failed write is kept and tried again in a second.
    if (!FlushHistory().ok()) next = std::min(next, now + std::chrono::seconds(1));
  }
  return next;
}

}  // namespace platops::alerting
