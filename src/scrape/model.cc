#include "scrape/model.h"

#include "metrics/labels.h"

namespace platops::scrape {

bool IsValidJobName(std::string_view job) {
  if (job.empty() || job.size() > 128 || job[0] == '.' || job[0] == '-') return false;
  for (char c : job) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

ingest::ScrapeConfig ToScrapeConfig(const ScrapeTargetDef& def) {
  ingest::ScrapeConfig c;
  c.job_name = def.job;
  c.scrape_interval = def.interval;
  c.scrape_timeout = def.timeout;
  c.metrics_path = def.path;
  c.scheme = def.scheme;
  c.params = def.params;
  c.honor_labels = def.honor_labels;
  c.honor_timestamps = def.honor_timestamps;
  if (!def.targets.empty()) {
    ingest::TargetGroup group;
    group.targets = def.targets;
    for (const auto& [name, value] : def.labels) group.labels.push_back({name, value});
    group.labels = metrics::Normalize(std::move(group.labels));
    group.source = "ScrapeTarget/" + def.job;
    c.static_configs.push_back(std::move(group));
  }
  if (def.file_sd) {
    ingest::FileSdConfig sd;
    sd.files = def.file_sd->files;
    sd.refresh_interval = def.file_sd->refresh_interval;
    c.file_sd_configs.push_back(std::move(sd));
  }
  c.relabel_configs = def.relabel_configs;
  c.metric_relabel_configs = def.metric_relabel_configs;
  c.limits.sample_limit = def.sample_limit;
  c.limits.label_limit = def.label_limit;
  c.limits.label_name_length_limit = def.label_name_length_limit;
  c.limits.label_value_length_limit = def.label_value_length_limit;
  if (def.basic_auth) {
    ingest::BasicAuth a;
    a.username = def.basic_auth->username;
    a.password = def.basic_auth->password;
    a.password_file = def.basic_auth->password_file;
    c.http.basic_auth = std::move(a);
  } else if (!def.bearer_token.empty() || !def.bearer_token_file.empty()) {
    c.http.authorization = ingest::Authorization{"Bearer", def.bearer_token, def.bearer_token_file};
  }
  if (def.tls) {
    c.http.tls.ca_file = def.tls->ca_file;
    c.http.tls.cert_file = def.tls->cert_file;
    c.http.tls.key_file = def.tls->key_file;
    c.http.tls.insecure_skip_verify = def.tls->insecure_skip_verify;
  }
  return c;
}

}  // namespace platops::scrape
