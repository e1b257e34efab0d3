#include "alerting/rule_manager.h"

#include <algorithm>
#include <map>

namespace platops::alerting {
namespace {

// FNV-1a over the file, a separator and the name: stable across restarts and builds.
uint64_t GroupHash(const RuleGroupSpec& spec) {
  uint64_t h = 14695981039346656037ULL;
  auto add = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
  };
  add(spec.file);
  add(std::string_view("\xff", 1));
  add(spec.name);
  return h;
}

}  // namespace

RuleManager::RuleManager(RuleGroupOptions options, promql::Engine& engine,
                         metrics::Storage& storage, const Clock& clock, AlertSink sink)
    : options_(std::move(options)),
      engine_(engine),
      storage_(storage),
      clock_(clock),
      sink_(std::move(sink)) {}

RuleManager::~RuleManager() { Stop(); }

Timestamp RuleManager::FirstEvaluation(const RuleGroupSpec& spec,
                                       std::chrono::milliseconds interval, Timestamp now) {
  const int64_t iv = std::max<int64_t>(1, interval.count());
  const int64_t offset = static_cast<int64_t>(GroupHash(spec) % static_cast<uint64_t>(iv));
  const int64_t adjusted = now.time_since_epoch().count() - offset;
  int64_t base = adjusted - ((adjusted % iv) + iv) % iv;
  Timestamp t{std::chrono::milliseconds(base + offset)};
  if (t < now) t += std::chrono::milliseconds(iv);
  return t;
}

void RuleManager::Update(std::vector<RuleGroupSpec> groups) {
  const Timestamp now = clock_.Now();
  std::vector<std::shared_ptr<Entry>> fresh;
  fresh.reserve(groups.size());
  std::lock_guard lock(mu_);
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Entry>> old;
  for (const auto& e : entries_) {
    std::lock_guard group_lock(e->mu);
    old[{e->group->spec().file, e->group->spec().name}] = e;
  }
  for (auto& spec : groups) {
    auto entry = std::make_shared<Entry>();
    const auto key = std::make_pair(spec.file, spec.name);
    entry->group = std::make_unique<RuleGroup>(std::move(spec), options_, engine_, storage_);
    auto it = old.find(key);
    if (it != old.end()) {
      std::lock_guard group_lock(it->second->mu);
      entry->group->CopyStateFrom(*it->second->group);
      entry->next = it->second->group->interval() == entry->group->interval()
                        ? it->second->next
                        : FirstEvaluation(entry->group->spec(), entry->group->interval(), now);
    } else {
      entry->next = FirstEvaluation(entry->group->spec(), entry->group->interval(), now);
    }
    fresh.push_back(std::move(entry));
  }
  entries_ = std::move(fresh);
  loop_.Wake();
}

void RuleManager::UpdateLater(std::vector<RuleGroupSpec> groups) {
  {
    std::lock_guard lock(pending_mu_);
    pending_ = std::move(groups);
  }
  loop_.Wake();
}

Timestamp RuleManager::Tick(Timestamp now) {
  std::optional<std::vector<RuleGroupSpec>> pending;
  {
    std::lock_guard lock(pending_mu_);
    pending.swap(pending_);
  }
  if (pending) Update(std::move(*pending));
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mu_);
    entries = entries_;
  }
  Timestamp next_due = now + std::chrono::hours(1);
  for (const auto& e : entries) {
    std::vector<OutgoingAlert> alerts;
    {
      std::lock_guard lock(e->mu);
      if (e->next <= now) {
        const auto interval = e->group->interval();
        // Slots that passed while an earlier evaluation ran are skipped, not caught up.
        const int64_t missed = (now - e->next) / interval;
        // Prometheus's rule_group label: file and name.
        const std::string group_label = e->group->spec().file + ";" + e->group->spec().name;
        if (missed > 0) {
          missed_ += static_cast<uint64_t>(missed);
          e->next += missed * interval;
          if (missed_total_ != nullptr) {
            missed_total_->Add({group_label}, static_cast<double>(missed));
          }
        }
        alerts = e->group->Evaluate(e->next);
        ++evaluations_;
        if (evaluations_total_ != nullptr) {
          evaluations_total_->Add({group_label});
          duration_->Observe({}, static_cast<double>(e->group->evaluation_time().count()) / 1e6);
          for (size_t i = 0; i < e->group->size(); ++i) {
            if (e->group->health(i).health == "err") failures_total_->Add({group_label});
          }
        }
        e->next += interval;
      }
      next_due = std::min(next_due, e->next);
    }
    if (!alerts.empty() && sink_) sink_(std::move(alerts));
  }
  return next_due;
}

void RuleManager::ForEachGroup(const std::function<void(const RuleGroup&)>& f) const {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mu_);
    entries = entries_;
  }
  for (const auto& e : entries) {
    std::lock_guard lock(e->mu);
    f(*e->group);
  }
}

void RuleManager::RegisterMetrics(MetricsRegistry& registry) {
  evaluations_total_ = &registry.Counter("platops_rule_group_evaluations_total",
                                         "Rule group evaluations, by group (file;name).",
                                         {"rule_group"});
  failures_total_ = &registry.Counter("platops_rule_evaluation_failures_total",
                                      "Rule evaluations that failed, by group (file;name).",
                                      {"rule_group"});
  missed_total_ = &registry.Counter("platops_rule_group_iterations_missed_total",
                                    "Group evaluations skipped because the previous one ran "
                                    "late, by group (file;name).",
                                    {"rule_group"});
  duration_ = &registry.Histogram("platops_rule_group_duration_seconds",
                                  "How long one evaluation of a rule group took.", {},
                                  {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15});
}

void RuleManager::Start() { loop_.Start(); }

void RuleManager::Stop() { loop_.Stop(); }

}  // namespace platops::alerting
