// Fuzzes the Prometheus configuration readers: arbitrary text goes to the prometheus.yml loader,
// to the relabel_config list parser and to the file_sd parsers. Whatever parses is exercised:
// every job's relabel rules run over a fixed label set and its static targets are built. The
// results must keep their contracts (sorted, unique, non-empty labels; no "__" label on series).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <boost/json.hpp>

#include "ingest/file_sd.h"
#include "ingest/prom_config.h"
#include "ingest/relabel.h"

namespace {

using platops::metrics::Labels;

bool WellFormed(const Labels& labels) {
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i].name.empty() || labels[i].value.empty()) return false;
    if (i > 0 && !(labels[i - 1].name < labels[i].name)) return false;
  }
  return true;
}

Labels Sample() {
  return platops::metrics::Normalize({{"__name__", "http_requests_total"},
                                      {"__address__", "10.0.0.1:9100"},
                                      {"__meta_filepath", "/etc/prometheus/targets/a.json"},
                                      {"code", "200"},
                                      {"instance", "web-1"},
                                      {"job", "web"},
                                      {"path", "/api/v1/Query\nNext"},
                                      {"zone", "eu-1ä"}});
}

void RunRules(const std::vector<platops::ingest::RelabelConfig>& rules) {
  Labels labels = Sample();
  if (platops::ingest::Relabel(rules, labels) && !WellFormed(labels)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto cfg = platops::ingest::ParsePromConfig(text, "/etc/prometheus");
  if (cfg.ok()) {
    for (const auto& job : cfg->scrape_configs) {
      if (job.job_name.empty() || job.scrape_timeout > job.scrape_interval) std::abort();
      RunRules(job.relabel_configs);
      RunRules(job.metric_relabel_configs);
      auto built = platops::ingest::BuildTargets(job, job.static_configs);
      for (const auto& t : built.active) {
        if (!WellFormed(t.labels) || !WellFormed(t.target_labels)) std::abort();
        for (const auto& l : t.labels)
          if (l.name.starts_with("__")) std::abort();
        if (platops::metrics::Get(t.target_labels, "instance").empty()) std::abort();
        if (t.timeout > t.interval || t.interval.count() <= 0) std::abort();
      }
    }
  }

  // The same text as a bare list of relabel rules, and as file_sd content.
  auto doc = platops::ingest::PromYamlToJson(text);
  if (doc.ok()) {
    auto rules = platops::ingest::ParseRelabelConfigs(*doc, "rules");
    if (rules.ok()) RunRules(*rules);
  }
  for (const char* file : {"/sd/targets.json", "/sd/targets.yml"}) {
    auto groups = platops::ingest::ParseFileSdContent(text, file);
    if (!groups.ok()) continue;
    for (const auto& g : *groups)
      if (!WellFormed(g.labels) || platops::metrics::Get(g.labels, "__meta_filepath") != file)
        std::abort();
  }
  return 0;
}
