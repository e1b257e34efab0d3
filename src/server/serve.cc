#include <pthread.h>
#include <signal.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <iostream>

#include "api/api.h"
#include "hostmetrics/host_metrics.h"
#include "http/server.h"
#include "server/core.h"
#include "server/process_metrics.h"

#ifndef PLATOPS_VERSION
#define PLATOPS_VERSION "0.0.0-dev"
#endif

namespace platops::server {

namespace {

// Blocks SIGTERM and SIGINT in this thread (and every thread started after), so that only
// WaitForSignal sees them.
sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

}  // namespace

const char* Version() { return PLATOPS_VERSION; }

int Serve(const ServerConfig& config) {
  const sigset_t signals = BlockShutdownSignals();
  SystemClock clock;
  MetricsRegistry metrics;
  RegisterProcessMetrics(metrics, PLATOPS_VERSION);

  scrape::ScrapeOptions scrape_options;
  scrape_options.self_interval = config.metrics.self_scrape_interval;
  scrape_options.prometheus_config = config.metrics.prometheus_config;
  scrape_options.self_instance = config.listen;
  auto core_or =
      Core::Open(config.data_dir, config.store, &metrics, clock, config.checks, scrape_options);
  if (!core_or.ok()) {
    spdlog::critical("cannot open data dir {}: {}", config.data_dir, core_or.status().ToString());
    return 1;
  }
  std::unique_ptr<Core> core = std::move(*core_or);

  metrics.Gauge("platops_event_log_events", "Events in the event log (its last seq).", {}, [&core] {
    int64_t seq = 0;
    Status st = core->store().Read([&](store::Tx& tx) -> Status {
      PLATOPS_ASSIGN_OR_RETURN(seq, core->log().LastSeq(tx));
      return Status::Ok();
    });
    (void)st;
    return std::vector<std::pair<LabelValues, double>>{{{}, static_cast<double>(seq)}};
  });

  auto secret = core->identity().Bootstrap(
      config.bootstrap_token.empty() ? std::nullopt : std::optional(config.bootstrap_token));
  if (!secret.ok()) {
    spdlog::critical("cannot create the first admin: {}", secret.status().ToString());
    return 1;
  }
  if (secret->has_value()) {
    if (config.bootstrap_token.empty()) {
      std::cerr << "\nplatops: created user admin with an admin token (shown once, keep it):\n\n"
                << "    " << **secret << "\n\n";
    } else {
      spdlog::info("created user admin with the token from PLATOPS_BOOTSTRAP_TOKEN");
    }
  }

  bool seed_demo = false;
  if (config.demo) {
    // Seed once, on an empty catalog: a restart must not undo what the user changed since.
    auto existing = core->catalog().ListServices("", 1);
    seed_demo = existing.ok() && existing->items.empty();
    if (!seed_demo)
      spdlog::info("demo: the catalog is not empty; not applying {}", config.demo_dir);
  }
  if (seed_demo) {
    auto applied = core->ApplyDirectory(config.demo_dir, "demo");
    if (!applied.ok()) {
      spdlog::critical("cannot load the demo from {}: {}", config.demo_dir,
                       applied.status().ToString());
      return 1;
    }
    if (!applied->errors.empty()) {
      for (const auto& e : applied->errors)
        spdlog::critical("demo {}#{}: {}", e.file, e.index, e.status.ToString());
      return 1;
    }
    int changed = 0;
    for (const auto& item : applied->plan) changed += item.action != config::PlanAction::kUnchanged;
    spdlog::info("demo loaded from {}: {} objects, {} changed", config.demo_dir,
                 applied->plan.size(), changed);
  }

  // This machine's node_* metrics, on /metrics beside platops's own.
  std::unique_ptr<hostmetrics::HostMetrics> host;
  if (config.host_metrics.enabled) {
    hostmetrics::HostMetricsOptions ho;
    ho.interval = config.host_metrics.interval;
    host = std::make_unique<hostmetrics::HostMetrics>(ho, clock);
    Status hs = host->Start();
    if (hs.ok()) {
      host->Register(metrics);
    } else {
      spdlog::error("host metrics disabled: {}", hs.ToString());
      host.reset();
    }
  }

  // The metrics store: WAL replay happens here, before the API listens.
  if (Status ms = core->OpenMetrics(config.metrics); !ms.ok()) {
    spdlog::critical("cannot open the metrics store: {}", ms.ToString());
    return 1;
  }
  {
    const auto& report = core->tsdb()->open_report();
    spdlog::info("metrics store opened in {} ms: {} samples replayed, {} blocks",
                 report.duration.count(), report.replayed_samples, core->tsdb()->Blocks().size());
    for (const auto& d : report.dropped_blocks) spdlog::warn("metrics store: dropped block {}", d);
  }

  std::atomic<bool> ready{false};
  http::Router router;
  if (Status as = core->OpenAlerting(config); !as.ok()) {
    spdlog::critical("cannot load the alerting configuration: {}", as.message());
    return 1;
  }
  api::ApiDeps deps{core->store(),
                    core->log(),
                    core->identity(),
                    core->catalog(),
                    core->kinds(),
                    metrics,
                    clock,
                    [&ready, &core] { return ready.load() && core->store().ready(); },
                    PLATOPS_VERSION,
                    &core->checks()};
  deps.tsdb = core->tsdb();
  deps.promql = core->promql();
  deps.anonymous_query = config.metrics.anonymous_read;
  deps.scrape = &core->scrape();
  deps.alerting = &core->alerting();
  deps.rules = core->rules();
  deps.outbox = core->outbox();
  deps.integration_keys = &core->integration_keys();
  deps.alert_history = &core->alert_history();
  deps.pagerduty = &core->pagerduty();
  for (const auto& w : core->scrape().PromConfigWarnings()) spdlog::warn("prometheus.yml: {}", w);
  api::RegisterApi(router, deps);

  auto listen = ParseListen(config.listen);
  if (!listen.ok()) {
    spdlog::critical("{}", listen.status().ToString());
    return 2;
  }
  http::ServerOptions so;
  so.host = listen->first;
  so.port = listen->second;
  so.io_threads = config.http.io_threads;
  so.worker_threads = config.http.worker_threads;
  so.max_body_bytes = config.http.max_body_bytes;
  so.max_header_bytes = config.http.max_header_bytes;
  so.read_timeout = config.http.read_timeout;
  so.idle_timeout = config.http.idle_timeout;
  so.max_connections = config.http.max_connections;
  so.tls_cert_file = config.tls.cert_file;
  so.tls_key_file = config.tls.key_file;
  so.shutdown_grace = config.http.shutdown_grace;
  so.access_log = config.log.access_log;
  http::Server server(so, router, &metrics);
  Status st = server.Start();
  if (!st.ok()) {
    spdlog::critical("cannot listen on {}: {}", config.listen, st.ToString());
    return 1;
  }
  core->bus().Start();
  core->StartChecks();
  core->scrape().Start();
  ready = true;
  const std::string scheme = config.tls.cert_file.empty() ? "http" : "https";
  const std::string url = scheme + "://" +
                          (so.host.find(':') != std::string::npos ? "[" + so.host + "]" : so.host) +
                          ":" + std::to_string(server.port());
  spdlog::info("platops {} listening on {} (data dir {})", PLATOPS_VERSION, url, config.data_dir);
  if (config.demo) {
    std::cerr << "\nplatops demo is up: " << url << "\n";
    if (!config.bootstrap_token.empty())
      std::cerr << "admin token (PLATOPS_BOOTSTRAP_TOKEN; for the demo only): "
                << config.bootstrap_token << "\n"
                << "try: curl -H 'Authorization: Bearer " << config.bootstrap_token << "' " << url
                << "/api/v1/services\n\n";
    else if (secret->has_value())
      std::cerr << "admin token: printed above\n\n";
    else
      std::cerr << "admin token: printed when this data dir was created; make another with\n"
                << "  platops token create --data-dir " << config.data_dir
                << " --user admin --role admin\n\n";
  }

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  ready = false;
  server.Stop();  // stop accepting, finish in-flight requests within shutdown_grace
  core->scrape().Stop();
  core->StopChecks();
  if (host) host->Stop();
  core->bus().Stop();
  core.reset();  // closes the store
  spdlog::info("stopped cleanly");
  spdlog::default_logger()->flush();
  return 0;
}

}  // namespace platops::server
