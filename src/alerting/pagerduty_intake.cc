#include "alerting/pagerduty_intake.h"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <set>

#include "alerting/pagerduty.h"
#include "alerting/service.h"
#include "base/crypto.h"
#include "base/time_util.h"

namespace platops::alerting {

namespace {

namespace json = boost::json;

// How far ahead the end of an open PagerDuty alert is set: it is open until resolved.
constexpr auto kOpenFor = std::chrono::hours(24 * 365 * 10);

int64_t Ms(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp FromMs(int64_t ms) { return Timestamp(std::chrono::milliseconds(ms)); }

std::string LabelsJson(const LabelSet& ls) {
  json::object o;
  for (const auto& l : ls) o[l.name] = l.value;
  return json::serialize(o);
}

LabelSet LabelsFromJson(const std::string& text) {
  LabelSet ls;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return ls;
  for (const auto& [k, val] : v.as_object()) {
    if (val.is_string()) ls.Set(std::string(k), std::string(val.as_string()));
  }
  return ls;
}

Alert TriggerAlert(const PdEvent& e, const IntegrationKey& key, Timestamp now) {
  Alert a;
  a.labels.Set("alertname", "PagerDutyEvent");
  a.labels.Set("service", key.service);
  a.labels.Set("integration", key.name);
  a.labels.Set("dedup_key", e.dedup_key);
  a.labels.Set("severity", e.severity);
  if (!e.source.empty()) a.labels.Set("source", e.source);
  if (!e.component.empty()) a.labels.Set("component", e.component);
  if (!e.group.empty()) a.labels.Set("group", e.group);
  if (!e.event_class.empty()) a.labels.Set("class", e.event_class);
  a.annotations.Set("summary", e.summary);
  if (!e.custom_details.empty()) a.annotations.Set("custom_details", e.custom_details);
  if (!e.links.empty()) {
    json::array links;
    for (const auto& l : e.links) links.push_back(json::object{{"href", l.href}, {"text", l.text}});
    a.annotations.Set("links", json::serialize(links));
  }
  if (!e.images.empty()) {
    json::array images;
    for (const auto& i : e.images) {
      images.push_back(json::object{{"src", i.src}, {"href", i.href}, {"alt", i.alt}});
    }
    a.annotations.Set("images", json::serialize(images));
  }
  if (!e.client.empty()) a.annotations.Set("client", e.client);
  if (!e.client_url.empty()) a.annotations.Set("client_url", e.client_url);
  a.generator_url = e.client_url;
  a.starts_at = e.timestamp && *e.timestamp <= now ? *e.timestamp : now;
  a.ends_at = now + kOpenFor;
  return a;
}

}  // namespace

std::vector<store::Migration> PagerDutyIntake::Migrations() {
  return {{"alerting_pagerduty", 1,
           "CREATE TABLE pagerduty_open ("
           " integration_id TEXT NOT NULL, dedup_key TEXT NOT NULL, labels TEXT NOT NULL,"
           " annotations TEXT NOT NULL, generator_url TEXT NOT NULL,"
           " starts_at INTEGER NOT NULL, PRIMARY KEY (integration_id, dedup_key))"}};
}

PagerDutyIntake::PagerDutyIntake(store::Store& store, IntegrationKeys& keys,
                                 AlertingService& alerting, const Clock& clock)
    : store_(store), keys_(keys), alerting_(alerting), clock_(clock) {}

PagerDutyIntake::~PagerDutyIntake() { Stop(); }

void PagerDutyIntake::Start() { revoke_loop_.Start(); }
void PagerDutyIntake::Stop() { revoke_loop_.Stop(); }

Status PagerDutyIntake::Load() {
  std::map<std::pair<std::string, std::string>, Alert> open;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT integration_id, dedup_key, labels, annotations, generator_url,"
                            " starts_at FROM pagerduty_open"));
    for (const auto& r : rows) {
      Alert a;
      a.labels = LabelsFromJson(r.Text(2));
      a.annotations = LabelsFromJson(r.Text(3));
      a.generator_url = r.Text(4);
      a.starts_at = FromMs(r.Int(5));
      open.emplace(std::make_pair(r.Text(0), r.Text(1)), std::move(a));
    }
    return Status::Ok();
  }));
  {
    std::lock_guard lock(mu_);
    open_ = std::move(open);
  }
  PLATOPS_RETURN_IF_ERROR(ResolveRevoked());
  std::lock_guard lock(mu_);
  const Timestamp now = clock_.Now();
  std::vector<Alert> alerts;
  for (auto& [k, a] : open_) {
    a.ends_at = now + kOpenFor;
    alerts.push_back(a);
  }
  if (alerts.empty()) return Status::Ok();
  // A refused alert (the store full, a changed limit) is logged, not a reason not to start.
  Status posted = alerting_.PostAlerts(std::move(alerts), "pagerduty");
  if (!posted.ok()) spdlog::warn("pagerduty: open alerts refused at start: {}", posted.message());
  return Status::Ok();
}

Status PagerDutyIntake::ResolveRevoked() {
  std::set<std::string> live;
  for (const auto& k : keys_.List("")) live.insert(k.id);
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, std::string>> revoked;
  for (const auto& [id, a] : open_) {
    if (!live.count(id.first)) revoked.push_back(id);
  }
  if (revoked.empty()) return Status::Ok();
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    for (const auto& id : revoked) {
      PLATOPS_RETURN_IF_ERROR(
          tx.Exec("DELETE FROM pagerduty_open WHERE integration_id = $1 AND dedup_key = $2",
                  {id.first, id.second})
              .status());
    }
    return Status::Ok();
  }));
  const Timestamp now = clock_.Now();
  std::vector<Alert> resolved;
  for (const auto& id : revoked) {
    Alert a = std::move(open_.at(id));
    open_.erase(id);
    a.ends_at = now;
    resolved.push_back(std::move(a));
  }
  Status posted = alerting_.PostAlerts(std::move(resolved), "pagerduty");
  if (!posted.ok()) spdlog::warn("pagerduty: resolving revoked alerts: {}", posted.message());
  return Status::Ok();
}

std::pair<int, std::string> PagerDutyIntake::Handle(std::string_view body) {
  PdParsed parsed = ParsePagerDutyEvent(body);
  if (!parsed.errors.empty()) return {400, PdInvalidJson(parsed.errors)};
  PdEvent& e = *parsed.event;
  auto key = keys_.Lookup(e.routing_key);
  if (!key) {
    return {400, PdInvalidJson({"'routing_key' is not an integration key of this platops"})};
  }
  const Timestamp now = clock_.Now();
  std::lock_guard lock(mu_);
  if (e.dedup_key.empty()) e.dedup_key = RandomHex(16);
  const auto id = std::make_pair(key->id, e.dedup_key);
  auto it = open_.find(id);
  std::optional<Alert> post;
  Status stored = Status::Ok();
  switch (e.action) {
    case PdAction::kTrigger: {
      if (it != open_.end()) {  // Deduplicated into the open alert.
        post = it->second;
        break;
      }
      Alert a = TriggerAlert(e, *key, now);
      stored = store_.Write([&](store::Tx& tx) -> Status {
        return tx.Exec("INSERT INTO pagerduty_open (integration_id, dedup_key, labels,"
                       " annotations, generator_url, starts_at) VALUES ($1, $2, $3, $4, $5, $6)",
                       {id.first, id.second, LabelsJson(a.labels), LabelsJson(a.annotations),
                        a.generator_url, Ms(*a.starts_at)})
            .status();
      });
      if (!stored.ok()) break;
      it = open_.emplace(id, a).first;
      post = std::move(a);
      break;
    }
    case PdAction::kAcknowledge: {
      if (it == open_.end() || it->second.annotations.Has("acknowledged")) break;
      Alert a = it->second;
      a.annotations.Set("acknowledged", FormatRfc3339(now));
      stored = store_.Write([&](store::Tx& tx) -> Status {
        return tx.Exec("UPDATE pagerduty_open SET annotations = $3"
                       " WHERE integration_id = $1 AND dedup_key = $2",
                       {id.first, id.second, LabelsJson(a.annotations)})
            .status();
      });
      if (!stored.ok()) break;
      it->second = a;
      post = std::move(a);
      break;
    }
    case PdAction::kResolve: {
      if (it == open_.end()) break;
      stored = store_.Write([&](store::Tx& tx) -> Status {
        return tx.Exec("DELETE FROM pagerduty_open WHERE integration_id = $1 AND dedup_key = $2",
                       {id.first, id.second})
            .status();
      });
      if (!stored.ok()) break;
      Alert a = std::move(it->second);
      open_.erase(it);
      a.ends_at = now;
      post = std::move(a);
      break;
    }
  }
  if (!stored.ok()) {
    return {500, json::serialize(json::object{{"status", "error"},
                                              {"message", "cannot store the event: " +
                                                              std::string(stored.message())}})};
  }
  if (post) {
    if (post->ends_at && *post->ends_at > now) post->ends_at = now + kOpenFor;
    Status s = alerting_.PostAlerts({*post}, "pagerduty");
    if (!s.ok()) {
      // Kept: the stored open alert is posted again at the next start. The sender is told.
      if (s.code() == StatusCode::kResourceExhausted) {
        return {429, json::serialize(json::object{{"status", "throttle event"},
                                                  {"message", std::string(s.message())}})};
      }
      return {400, PdInvalidJson({std::string(s.message())})};
    }
  }
  return {202, PdAcceptedJson(e.dedup_key)};
}

size_t PagerDutyIntake::open_count() const {
  std::lock_guard lock(mu_);
  return open_.size();
}

}  // namespace platops::alerting
