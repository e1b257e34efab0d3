#include "scrape/scheduler.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "base/strings.h"

namespace platops::scrape {

namespace {

using std::chrono::milliseconds;

int64_t Ms(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp FromMs(int64_t ms) { return Timestamp(milliseconds(ms)); }


IngestConfig MakeIngestConfig(const ingest::ScrapeConfig& c, const ingest::ScrapeTargetSpec& spec) {
  IngestConfig ic;
  ic.target_labels = spec.labels;
  ic.honor_labels = c.honor_labels;
  ic.honor_timestamps = c.honor_timestamps;
  ic.metric_relabel_configs = c.metric_relabel_configs;
  ic.sample_limit = c.limits.sample_limit;
  ic.label_limit = c.limits.label_limit;
  ic.label_name_length_limit = c.limits.label_name_length_limit;
  ic.label_value_length_limit = c.limits.label_value_length_limit;
  return ic;
}

// Everything of a job's configuration that goes into IngestConfig besides the target labels
// (which are part of the target's identity): when it changes, the target's cache is rebuilt.
uint64_t Fingerprint(const ingest::ScrapeConfig& c) {
  std::string s = fmt::format("{}|{}|{}|{}|{}|{}", c.honor_labels, c.honor_timestamps,
                              c.limits.sample_limit, c.limits.label_limit,
                              c.limits.label_name_length_limit, c.limits.label_value_length_limit);
  for (const auto& r : c.metric_relabel_configs) {
    s += '\n';
    for (const auto& l : r.source_labels) s += l + ",";
    s += fmt::format("|{}|{}|{}|{}|{}|{}", r.separator, r.regex, r.modulus, r.target_label,
                     r.replacement, ingest::RelabelActionName(r.action));
  }
  return Fnv1a64(s);
}

// Prometheus identifies a target by its labels (before the "__" ones are dropped) and its URL.
std::string TargetKey(const ingest::ScrapeTargetSpec& spec) {
  return spec.url + " " + metrics::ToString(spec.target_labels);
}

// A *_file secret, read at every scrape, surrounding white space removed (as prometheus/common).
Result<std::string> ReadSecretFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  if (in) ss << in.rdbuf();
  if (!in || in.bad()) return Unavailable(fmt::format("unable to read {} file {}", what, path));
  std::string s = ss.str();
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return std::string();
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// Go's strconv.FormatFloat(seconds, 'f', -1, 64): "10", "0.5", "2.25".
std::string TimeoutSeconds(milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000);
  return fmt::format("{}", static_cast<double>(d.count()) / 1000.0);
}

Result<FetchRequest> BuildRequest(const ingest::ScrapeConfig& c, const std::string& url,
                                  milliseconds timeout) {
  FetchRequest r;
  r.url = url;
  r.timeout = timeout;
  r.headers.push_back("Accept: " + std::string(kAcceptHeader));
  r.headers.push_back("X-Prometheus-Scrape-Timeout-Seconds: " + TimeoutSeconds(timeout));
  r.gzip = c.enable_compression;
  r.follow_redirects = c.http.follow_redirects;
  r.body_limit = c.limits.body_size_limit;
  if (const auto& b = c.http.basic_auth) {
    r.basic = true;
    r.username = b->username;
    if (!b->username_file.empty()) {
      PLATOPS_ASSIGN_OR_RETURN(r.username, ReadSecretFile(b->username_file, "username"));
    }
    r.password = b->password;
    if (!b->password_file.empty()) {
      PLATOPS_ASSIGN_OR_RETURN(r.password, ReadSecretFile(b->password_file, "password"));
    }
  }
  if (const auto& a = c.http.authorization) {
    std::string credentials = a->credentials;
    if (!a->credentials_file.empty()) {
      PLATOPS_ASSIGN_OR_RETURN(credentials,
                               ReadSecretFile(a->credentials_file, "authorization credentials"));
    }
    r.headers.push_back("Authorization: " + a->type + " " + credentials);
  }
  const ingest::TlsConfig& tls = c.http.tls;
  r.verify_tls = !tls.insecure_skip_verify;
  r.ca_file = tls.ca_file;
  r.ca_pem = tls.ca;
  r.cert_file = tls.cert_file;
  r.cert_pem = tls.cert;
  r.key_file = tls.key_file;
  r.key_pem = tls.key;
  r.min_version = tls.min_version;
  r.max_version = tls.max_version;
  return r;
}

}  // namespace

std::string_view JobSourceName(JobSource source) {
  switch (source) {
    case JobSource::kScrapeTarget:
      return "scrape_target";
    case JobSource::kPrometheusConfig:
      return "prometheus_config";
    case JobSource::kSelf:
      return "self";
  }
  return "";
}

std::string_view HealthName(Health health) {
  switch (health) {
    case Health::kUnknown:
      return "unknown";
    case Health::kUp:
      return "up";
    case Health::kDown:
      return "down";
  }
  return "";
}

struct ScrapeScheduler::Loop {
  uint64_t id = 0;
  std::string job;
  std::string key;
  // GUARDED_BY(mu_)
  JobSource source = JobSource::kScrapeTarget;
  ingest::ScrapeTargetSpec spec;
  std::shared_ptr<const ingest::ScrapeConfig> config;
  uint64_t fingerprint = 0;
  std::optional<Timestamp> next_due;
  Timestamp last_due{};
  uint64_t plan_gen = 0;
  bool running = false;   // A scrape was started and has not completed.
  bool fetching = false;  // Its fetch is in the Fetcher (scheduler thread only).
  bool removed = false;
  bool reset_pending = false;  // Start the next scrape with a new Ingester.
  std::string forced_error;    // target_limit
  Health health = Health::kUnknown;
  std::string last_error;
  std::optional<Timestamp> last_scrape;
  double last_duration = 0;
  int64_t last_samples = 0;
  // Owned by the scrape in progress while `running`, otherwise by the scheduler under mu_.
  std::unique_ptr<Ingester> ingester;
  std::string body;  // Reused: keeps the capacity of the last body.
  int64_t scrape_t = 0;
  SteadyTime started;
  FetchResult fetch;
};

struct ScrapeScheduler::Job {
  std::string name;
  JobSpec spec;  // Written under mu_ by the scheduler thread.
  // Scheduler thread only.
  std::vector<std::unique_ptr<ingest::FileSd>> file_sds;
  std::vector<std::vector<ingest::TargetGroup>> sd_groups;  // Per FileSd.
  std::vector<std::string> sd_errors;
  std::vector<std::string> build_errors;
  Timestamp next_sd_check{};
  bool dirty = true;  // Its targets must be built again.
  // GUARDED_BY(mu_)
  std::map<std::string, std::shared_ptr<Loop>> loops;  // By TargetKey.
  std::vector<metrics::Labels> dropped;
  std::vector<std::string> errors;
};

struct ScrapeScheduler::Retired {
  std::string job;
  std::unique_ptr<Ingester> ingester;
  int64_t stale_t = 0;
  Timestamp deadline{};
  bool report = true;
};

ScrapeScheduler::ScrapeScheduler(const Clock& clock, SchedulerOptions options,
                                 MetricsRegistry* metrics)
    : clock_(clock), options_(options) {
  if (metrics) RegisterMetrics(*metrics);
}

ScrapeScheduler::~ScrapeScheduler() { Stop(); }

void ScrapeScheduler::AttachStorage(metrics::Storage& storage) {
  storage_ = &storage;
  fetcher_.Wakeup();
}

void ScrapeScheduler::SetJob(const std::string& name, JobSpec spec) {
  {
    std::lock_guard lock(mu_);
    pending_[name] = std::move(spec);
  }
  fetcher_.Wakeup();
}

void ScrapeScheduler::RemoveJob(const std::string& name) {
  {
    std::lock_guard lock(mu_);
    pending_[name] = std::nullopt;
  }
  fetcher_.Wakeup();
}

// ---- jobs and targets --------------------------------------------------------------------------

void ScrapeScheduler::ApplyChanges(Timestamp now) {
  std::map<std::string, std::optional<JobSpec>> changes;
  {
    std::lock_guard lock(mu_);
    changes.swap(pending_);
  }
  for (auto& [name, spec] : changes) {
    if (!spec) {
      std::lock_guard lock(mu_);
      auto it = jobs_.find(name);
      if (it == jobs_.end()) continue;
      for (auto& [key, loop] : it->second->loops) Retire(*loop, now);
      jobs_.erase(it);
      continue;
    }
    Job* job;
    {
      std::lock_guard lock(mu_);
      std::unique_ptr<Job>& slot = jobs_[name];
      if (!slot) {
        slot = std::make_unique<Job>();
        slot->name = name;
      }
      job = slot.get();
      job->spec = std::move(*spec);
    }
    job->file_sds.clear();
    job->sd_groups.clear();
    job->sd_errors.clear();
    for (const auto& sd : job->spec.config->file_sd_configs)
      job->file_sds.push_back(std::make_unique<ingest::FileSd>(sd.files, sd.refresh_interval));
    job->sd_groups.resize(job->file_sds.size());
    job->next_sd_check = now;
    job->dirty = true;
  }
}

void ScrapeScheduler::PollFileSd(Job& job, Timestamp now) {
  job.sd_errors.clear();
  for (size_t i = 0; i < job.file_sds.size(); ++i) {
    ingest::FileSdUpdate update = job.file_sds[i]->Poll(now);
    if (update.groups) {
      job.sd_groups[i] = std::move(*update.groups);
      job.dirty = true;
    }
    for (const auto& e : update.errors) job.sd_errors.push_back("file_sd: " + e.message());
  }
  job.next_sd_check = now + options_.file_sd_check;
  if (!job.dirty) {
    std::lock_guard lock(mu_);
    job.errors = job.build_errors;
    job.errors.insert(job.errors.end(), job.sd_errors.begin(), job.sd_errors.end());
  }
}

void ScrapeScheduler::Rebuild(Job& job, Timestamp now) {
  const std::shared_ptr<const ingest::ScrapeConfig> config = job.spec.config;
  std::vector<ingest::TargetGroup> groups = config->static_configs;
  for (const auto& sd : job.sd_groups) {
    for (ingest::TargetGroup g : sd) {
      for (const auto& l : job.spec.group_labels)
        if (metrics::Get(g.labels, l.name).empty()) g.labels.push_back(l);
      g.labels = metrics::Normalize(std::move(g.labels));
      groups.push_back(std::move(g));
    }
  }
  ingest::BuiltTargets built = ingest::BuildTargets(*config, groups);
  job.build_errors.clear();
  for (const auto& e : built.errors) job.build_errors.push_back(e.message());
  const uint64_t fingerprint = Fingerprint(*config);
  std::lock_guard lock(mu_);
  std::map<std::string, std::shared_ptr<Loop>> next;
  for (auto& spec : built.active) {
    std::string key = TargetKey(spec);
    if (next.count(key)) continue;  // The same target twice: scraped once, as in Prometheus.
    std::shared_ptr<Loop> loop;
    if (auto it = job.loops.find(key); it != job.loops.end()) {
      loop = it->second;
      const bool replan = loop->spec.interval != spec.interval;
      loop->spec = std::move(spec);
      loop->config = config;
      loop->source = job.spec.source;
      if (loop->fingerprint != fingerprint) {
        loop->fingerprint = fingerprint;
        loop->reset_pending = true;
      }
      if (replan) PlanNext(*loop, now);
    } else {
      loop = std::make_shared<Loop>();
      loop->id = next_loop_id_++;
      loop->job = job.name;
      loop->key = key;
      loop->spec = std::move(spec);
      loop->config = config;
      loop->source = job.spec.source;
      loop->fingerprint = fingerprint;
      loop->ingester = std::make_unique<Ingester>(MakeIngestConfig(*config, loop->spec));
      loops_by_id_[loop->id] = loop;
      PlanNext(*loop, now);
    }
    next[std::move(key)] = std::move(loop);
  }
  for (auto& [key, loop] : job.loops)
    if (!next.count(key)) Retire(*loop, now);
  job.loops = std::move(next);
  std::string forced;
  const uint64_t limit = config->limits.target_limit;
  if (limit > 0 && job.loops.size() > limit)
    forced = fmt::format("target_limit exceeded (number of targets: {}, limit: {})",
                         job.loops.size(), limit);
  for (auto& [key, loop] : job.loops) loop->forced_error = forced;
  job.dropped = std::move(built.dropped);
  job.errors = job.build_errors;
  job.errors.insert(job.errors.end(), job.sd_errors.begin(), job.sd_errors.end());
  job.dirty = false;
}

void ScrapeScheduler::PlanNext(Loop& loop, Timestamp now) {
  const int64_t interval = std::max<int64_t>(loop.spec.interval.count(), 1);
  // The grid of this target: offset + k * interval, whatever time the last scrape took.
  const auto offset = static_cast<int64_t>(Fnv1a64(loop.job + "\n" + loop.key) %
                                           static_cast<uint64_t>(interval));
  const int64_t base = std::max(Ms(loop.last_due), Ms(now));
  int64_t k = base - offset < 0 ? 0 : (base - offset) / interval + 1;
  int64_t next = offset + k * interval;
  while (next <= base) next += interval;
  loop.next_due = FromMs(next);
  ++loop.plan_gen;
  due_.emplace(FromMs(next), loop.id, loop.plan_gen);
}

void ScrapeScheduler::Retire(Loop& loop, Timestamp now) {
  loop.removed = true;
  ++loop.plan_gen;
  loops_by_id_.erase(loop.id);
  if (loop.fetching) {
    // Scheduler thread: the transfer is dropped and its callback never runs.
    fetcher_.Cancel(loop.id);
    loop.fetching = false;
    loop.running = false;
    --busy_;
  }
  if (!loop.running) RetireIngester(loop, loop.next_due.value_or(now), true);
}

void ScrapeScheduler::RetireIngester(Loop& loop, Timestamp stale_time, bool report) {
  std::unique_ptr<Ingester> ingester = std::move(loop.ingester);
  // A target that was never scraped has nothing to mark.
  if (ingester == nullptr || !loop.last_scrape) return;
  const milliseconds interval = std::max(loop.spec.interval, milliseconds(1));
  Retired r;
  r.job = loop.job;
  r.ingester = std::move(ingester);
  r.stale_t = Ms(stale_time);
  // Prometheus waits for two more ticks and 10%: a target that came back has scraped by then, and
  // its newer samples make the markers out of order.
  r.deadline = stale_time + interval + interval / 10;
  r.report = report;
  retired_.push_back(std::move(r));
}

// ---- scrapes ----------------------------------------------------------------------------------

Timestamp ScrapeScheduler::Tick(Timestamp now) {
  ApplyChanges(now);
  for (auto& [name, job] : jobs_) {
    if (!job->file_sds.empty() && (job->dirty || now >= job->next_sd_check)) PollFileSd(*job, now);
    if (job->dirty) Rebuild(*job, now);
  }
  // Without a store (the metrics store failed to open) targets are listed but never scraped.
  if (storage_ == nullptr) return now + std::chrono::seconds(1);
  std::vector<std::shared_ptr<Loop>> starts;
  std::vector<std::string> skipped;
  std::vector<std::shared_ptr<Retired>> stale;
  Timestamp next = now + std::chrono::seconds(10);
  {
    std::lock_guard lock(mu_);
    for (auto it = retired_.begin(); it != retired_.end();) {
      if (it->deadline <= now) {
        stale.push_back(std::make_shared<Retired>(std::move(*it)));
        it = retired_.erase(it);
      } else {
        next = std::min(next, it->deadline);
        ++it;
      }
    }
    while (!due_.empty()) {
      const auto [due, id, gen] = due_.top();
      if (due > now) break;
      due_.pop();
      auto it = loops_by_id_.find(id);
      if (it == loops_by_id_.end()) continue;
      Loop& loop = *it->second;
      if (loop.removed || gen != loop.plan_gen) continue;
      loop.last_due = due;
      PlanNext(loop, now);
      if (loop.running) {
        // The previous scrape is still going: this one is skipped, as Prometheus's ticker does.
        skipped.push_back(loop.job);
        continue;
      }
      const int64_t due_ms = Ms(due);
      const int64_t now_ms = Ms(now);
      // Prometheus aligns the timestamp to the grid when the scrape starts within 1% of the
      // interval (at most 2 ms): better compression, same data.
      const int64_t tolerance = std::min<int64_t>(2, loop.spec.interval.count() / 100);
      loop.scrape_t = now_ms - due_ms <= tolerance ? due_ms : now_ms;
      if (loop.reset_pending || loop.ingester == nullptr) {
        RetireIngester(loop, FromMs(loop.scrape_t), false);
        loop.ingester = std::make_unique<Ingester>(MakeIngestConfig(*loop.config, loop.spec));
        loop.reset_pending = false;
      }
      loop.running = true;
      loop.started = std::chrono::steady_clock::now();
      ++busy_;
      starts.push_back(it->second);
    }
    if (!due_.empty()) next = std::min(next, std::get<0>(due_.top()));
    for (auto& [name, job] : jobs_)
      if (!job->file_sds.empty()) next = std::min(next, job->next_sd_check);
  }
  for (const auto& job : skipped)
    if (skipped_) skipped_->Add({job});
  for (auto& r : stale) {
    ++busy_;
    Submit([this, r] {
      const int64_t n = r->ingester->WriteEndOfRunStale(*storage_.load(), r->stale_t, r->report);
      if (stale_markers_) stale_markers_->Add({r->job}, static_cast<double>(n));
      --busy_;
      fetcher_.Wakeup();
    });
  }
  for (auto& loop : starts) StartScrape(loop);
  return std::max(next, now);
}

void ScrapeScheduler::StartScrape(const std::shared_ptr<Loop>& loop) {
  std::string forced;
  JobSource source;
  std::shared_ptr<const ingest::ScrapeConfig> config;
  std::string url;
  milliseconds timeout;
  {
    std::lock_guard lock(mu_);
    forced = loop->forced_error;
    source = loop->source;
    config = loop->config;
    url = loop->spec.url;
    timeout = loop->spec.timeout;
  }
  if (!forced.empty()) {
    Submit([this, loop, forced] {
      Complete(loop, loop->ingester->Fail(*storage_.load(), FailureReason::kTargetLimit, forced,
                                          loop->scrape_t, loop->started));
    });
    return;
  }
  if (source == JobSource::kSelf) {
    Submit([this, loop] {
      if (options_.self_registry == nullptr) {
        Complete(loop, loop->ingester->Fail(*storage_.load(), FailureReason::kFetch,
                                            "no metrics registry to scrape", loop->scrape_t,
                                            loop->started));
        return;
      }
      loop->body = options_.self_registry->Render();
      Complete(loop,
               loop->ingester->Ingest(*storage_.load(), loop->body, "text/plain; version=0.0.4",
                                      loop->scrape_t, loop->started));
    });
    return;
  }
  Result<FetchRequest> request = BuildRequest(*config, url, timeout);
  if (!request.ok()) {
    std::string error = "Get \"" + url + "\": " + request.status().message();
    Submit([this, loop, error] {
      Complete(loop, loop->ingester->Fail(*storage_.load(), FailureReason::kFetch, error,
                                          loop->scrape_t, loop->started));
    });
    return;
  }
  {
    std::lock_guard lock(mu_);
    loop->fetching = true;
  }
  fetcher_.Start(loop->id, *request, &loop->body, [this, loop](FetchResult r) {
    {
      std::lock_guard lock(mu_);
      loop->fetching = false;
    }
    loop->fetch = std::move(r);
    Submit([this, loop] { Process(loop); });
  });
}

void ScrapeScheduler::Process(const std::shared_ptr<Loop>& loop) {
  const FetchResult& f = loop->fetch;
  if (f.failure != FailureReason::kNone) {
    Complete(loop, loop->ingester->Fail(*storage_.load(), f.failure, f.error, loop->scrape_t,
                                        loop->started));
  } else {
    Complete(loop, loop->ingester->Ingest(*storage_.load(), loop->body, f.content_type,
                                          loop->scrape_t, loop->started));
  }
}

void ScrapeScheduler::Complete(const std::shared_ptr<Loop>& loop, const ScrapeResult& r) {
  {
    std::lock_guard lock(mu_);
    loop->running = false;
    loop->health = r.up() ? Health::kUp : Health::kDown;
    loop->last_error = r.error;
    loop->last_scrape = FromMs(loop->scrape_t);
    loop->last_duration = r.duration_seconds;
    loop->last_samples = r.scraped;
    if (loop->removed) RetireIngester(*loop, loop->next_due.value_or(clock_.Now()), true);
  }
  if (scrapes_) {
    const LabelValues job{loop->job};
    scrapes_->Add(job);
    if (!r.up()) failures_->Add({loop->job, std::string(FailureReasonName(r.failure))});
    samples_->Add(job, static_cast<double>(r.appended));
    const std::pair<const char*, int64_t> rejected[] = {{"out_of_order", r.out_of_order},
                                                        {"duplicate", r.duplicate},
                                                        {"out_of_bounds", r.out_of_bounds},
                                                        {"limit", r.store_limit}};
    for (const auto& [reason, n] : rejected)
      if (n > 0) rejected_->Add({loop->job, reason}, static_cast<double>(n));
    if (r.stale_markers > 0) stale_markers_->Add(job, static_cast<double>(r.stale_markers));
    cache_hits_->Add({}, static_cast<double>(r.cache_hits));
    cache_misses_->Add({}, static_cast<double>(r.cache_misses));
    duration_->Observe(job, r.duration_seconds);
  }
  if (!r.commit.ok()) {
    if (store_errors_) store_errors_->Add({});
    spdlog::warn("scrape {}: the metrics store refused the samples: {}", loop->job,
                 r.commit.ToString());
  }
  --busy_;
  fetcher_.Wakeup();
}

// ---- threads ----------------------------------------------------------------------------------

void ScrapeScheduler::Submit(std::function<void()> task) {
  {
    std::lock_guard lock(task_mu_);
    if (workers_running_) {
      tasks_.push_back(std::move(task));
      task_cv_.notify_one();
      return;
    }
  }
  task();
}

void ScrapeScheduler::WorkerLoop() {
  std::unique_lock lock(task_mu_);
  for (;;) {
    task_cv_.wait(lock, [this] { return !tasks_.empty() || !workers_running_; });
    if (tasks_.empty()) return;  // Stopping, and everything handed over is done.
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

bool ScrapeScheduler::RunUntilIdle(milliseconds max) {
  const auto deadline = std::chrono::steady_clock::now() + max;
  for (;;) {
    fetcher_.Perform();
    if (busy_.load() == 0) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    fetcher_.Wait(milliseconds(10));
  }
}

void ScrapeScheduler::SchedulerLoop() {
  while (!stopping_.load()) {
    const Timestamp next = Tick(clock_.Now());
    fetcher_.Perform();
    const auto wait = std::chrono::duration_cast<milliseconds>(next - clock_.Now());
    if (stopping_.load()) break;
    fetcher_.Wait(std::clamp(wait, milliseconds(0), milliseconds(1000)));
    fetcher_.Perform();
  }
  // Fetches in flight are abandoned: a scrape cut short stores nothing.
  std::lock_guard lock(mu_);
  for (auto& [id, loop] : loops_by_id_) {
    if (!loop->fetching) continue;
    fetcher_.Cancel(id);
    loop->fetching = false;
    loop->running = false;
    --busy_;
  }
}

void ScrapeScheduler::Start() {
  if (scheduler_.joinable()) return;
  stopping_ = false;
  {
    std::lock_guard lock(task_mu_);
    workers_running_ = options_.workers > 0;
  }
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  scheduler_ = std::thread([this] { SchedulerLoop(); });
}

void ScrapeScheduler::Stop() {
  if (!scheduler_.joinable() && workers_.empty()) return;
  stopping_ = true;
  fetcher_.Wakeup();
  if (scheduler_.joinable()) scheduler_.join();
  {
    std::lock_guard lock(task_mu_);
    workers_running_ = false;
  }
  task_cv_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
}

// ---- views ------------------------------------------------------------------------------------

TargetsSnapshot ScrapeScheduler::Targets() const {
  TargetsSnapshot out;
  std::lock_guard lock(mu_);
  for (const auto& [name, job] : jobs_) {
    for (const auto& [key, loop] : job->loops) {
      TargetStatus t;
      t.job = name;
      t.url = loop->spec.url;
      t.labels = loop->spec.labels;
      t.discovered_labels = loop->spec.discovered_labels;
      t.interval = loop->spec.interval;
      t.timeout = loop->spec.timeout;
      t.health = loop->health;
      t.last_error = loop->last_error;
      t.last_scrape = loop->last_scrape;
      t.last_duration_seconds = loop->last_duration;
      t.last_samples = loop->last_samples;
      t.next_scrape = loop->next_due;
      out.active.push_back(std::move(t));
    }
    const uint64_t keep = job->spec.config->limits.keep_dropped_targets;
    out.dropped_counts[name] = job->dropped.size();
    for (size_t i = 0; i < job->dropped.size() && (keep == 0 || i < keep); ++i)
      out.dropped.push_back({name, job->dropped[i]});
  }
  std::stable_sort(out.active.begin(), out.active.end(),
                   [](const TargetStatus& a, const TargetStatus& b) {
                     return std::tie(a.job, a.url) < std::tie(b.job, b.url);
                   });
  return out;
}

std::optional<JobStatus> ScrapeScheduler::StatusOf(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(name);
  if (it == jobs_.end()) return std::nullopt;
  const Job& job = *it->second;
  JobStatus s;
  s.source = job.spec.source;
  s.targets = job.loops.size();
  for (const auto& [key, loop] : job.loops) {
    s.up += loop->health == Health::kUp;
    s.down += loop->health == Health::kDown;
    s.unknown += loop->health == Health::kUnknown;
  }
  s.dropped = job.dropped.size();
  s.errors = job.errors;
  return s;
}

void ScrapeScheduler::RegisterMetrics(MetricsRegistry& registry) {
  scrapes_ =
      &registry.Counter("platops_scrape_scrapes_total", "Scrapes completed, by job.", {"job"});
  failures_ = &registry.Counter(
      "platops_scrape_failures_total",
      "Scrapes that failed (up=0), by job and reason (fetch, timeout, http_status, "
      "body_size_limit, parse, sample_limit, label_limit, invalid_series, target_limit).",
      {"job", "reason"});
  samples_ = &registry.Counter("platops_scrape_samples_total",
                               "Scraped samples the metrics store accepted, by job.", {"job"});
  rejected_ = &registry.Counter(
      "platops_scrape_samples_rejected_total",
      "Scraped samples the metrics store refused, by job and reason (out_of_order, duplicate, "
      "out_of_bounds, limit).",
      {"job", "reason"});
  stale_markers_ = &registry.Counter("platops_scrape_stale_markers_total",
                                     "Stale markers written for series that disappeared.", {"job"});
  cache_hits_ = &registry.Counter(
      "platops_scrape_cache_hits_total",
      "Scraped samples whose series text was in the target's cache (no parsing, relabeling or "
      "index lookup).");
  cache_misses_ = &registry.Counter("platops_scrape_cache_misses_total",
                                    "Scraped samples whose series had to be parsed and looked up.");
  skipped_ = &registry.Counter(
      "platops_scrape_skipped_total",
      "Scrapes not started because the target's previous scrape was still running.", {"job"});
  store_errors_ = &registry.Counter("platops_scrape_store_errors_total",
                                    "Scrapes whose samples the metrics store failed to commit.");
  duration_ = &registry.Histogram("platops_scrape_duration_seconds",
                                  "Time from the start of a scrape to its report, by job.", {"job"},
                                  MetricsRegistry::DefaultLatencyBuckets());
  registry.Gauge("platops_scrape_targets", "Active scrape targets by job and health.",
                 {"job", "health"}, [this] {
                   std::map<LabelValues, double> counts;
                   std::lock_guard lock(mu_);
                   for (const auto& [name, job] : jobs_)
                     for (const auto& [key, loop] : job->loops)
                       counts[{name, std::string(HealthName(loop->health))}] += 1;
                   return std::vector<std::pair<LabelValues, double>>(counts.begin(), counts.end());
                 });
  registry.Gauge(
      "platops_scrape_in_flight", "Scrapes and stale-marker writes in progress.", {}, [this] {
        return std::vector<std::pair<LabelValues, double>>{{{}, static_cast<double>(busy_.load())}};
      });
}

}  // namespace platops::scrape
