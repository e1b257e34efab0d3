#include "ingest/prom_config.h"

#include <stdlib.h>

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json_reader.h"
#include "ingest/file_sd.h"

namespace platops::ingest {
namespace {

namespace fs = std::filesystem;
using metrics::Labels;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Labels L(std::vector<std::pair<std::string, std::string>> pairs) {
  Labels out;
  for (auto& [n, v] : pairs) out.push_back({n, v});
  return metrics::Normalize(std::move(out));
}

// A scratch directory removed after each test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "platops_promcfg_XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

  // Writes `content` and sets the file's mtime to `mtime` seconds after an arbitrary epoch, so
  // change detection is decided by the test, not by the file system clock.
  std::string Write(const std::string& name, const std::string& content, int mtime) const {
    std::string p = File(name);
    fs::create_directories(fs::path(p).parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
    fs::last_write_time(p, fs::file_time_type(seconds(1'700'000'000 + mtime)));
    return p;
  }

 private:
  std::string path_;
};

const Timestamp kT0 = Timestamp(milliseconds(1'767'225'600'000));

// --- file_sd: format ---

class FileSdTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(FileSdTest, ParsesJsonFiles) {
  std::string path = dir_.File("targets.json");
  auto groups = ParseFileSdContent(R"([
    {"targets": ["10.0.0.1:9100", "10.0.0.2:9100"], "labels": {"env": "prod", "team": ""}},
    {"targets": ["10.0.0.3:9100"]}
  ])",
                                   path);
  ASSERT_TRUE(groups.ok()) << groups.status().ToString();
  ASSERT_EQ(groups->size(), 2u);
  EXPECT_THAT((*groups)[0].targets, ElementsAre("10.0.0.1:9100", "10.0.0.2:9100"));
  EXPECT_EQ((*groups)[0].labels, L({{"__meta_filepath", path}, {"env", "prod"}}));
  EXPECT_EQ((*groups)[0].source, path + ":0");
  EXPECT_EQ((*groups)[1].labels, L({{"__meta_filepath", path}}));
  EXPECT_EQ((*groups)[1].source, path + ":1");
}

TEST_F(FileSdTest, ParsesYamlFilesKeepingScalarText) {
  std::string path = dir_.File("nodes.YML");
  auto groups = ParseFileSdContent(R"(
- targets: [db1:9187]
  labels:
    version: 1.10
    enabled: true
    port: 0800
)",
                                   path);
  ASSERT_TRUE(groups.ok()) << groups.status().ToString();
  ASSERT_EQ(groups->size(), 1u);
  EXPECT_EQ(
      (*groups)[0].labels,
      L({{"__meta_filepath", path}, {"enabled", "true"}, {"port", "0800"}, {"version", "1.10"}}));
}

TEST_F(FileSdTest, EmptyYamlFileHasNoGroups) {
  auto groups = ParseFileSdContent("", dir_.File("empty.yaml"));
  ASSERT_TRUE(groups.ok());
  EXPECT_TRUE(groups->empty());
}

TEST_F(FileSdTest, RejectsMalformedContentWithPaths) {
  struct Case {
    std::string name;
    std::string content;
    std::string field;
    std::string message;
  };
  const Case cases[] = {
      {"a.json", R"([{"targets": ["x"], "lables": {}}])", "/a.json[0].lables",
       "unknown field \"lables\" in target group"},
      {"a.json", R"([{"targets": ["x"], "labels": {"a-b": "1"}}])", "/a.json[0].labels",
       "\"a-b\" is not a valid label name"},
      {"a.json", R"([{"targets": [1]}])", "/a.json[0].targets[0]", "must be a string"},
      {"a.json", R"([null])", "/a.json[0]", "nil target group item found"},
      {"a.json", R"({"targets": []})", "/a.json", "must be a JSON array of target groups"},
      {"a.yml", "- targets: x", "/a.yml[0].targets", "must be a list of addresses"},
  };
  for (const auto& c : cases) {
    auto groups = ParseFileSdContent(c.content, dir_.path() + "/" + c.name);
    ASSERT_FALSE(groups.ok()) << c.content;
    EXPECT_EQ(groups.status().field(), dir_.path() + c.field) << c.content;
    EXPECT_EQ(groups.status().message(), c.message) << c.content;
  }
  auto syntax = ParseFileSdContent("[{", dir_.File("bad.json"));
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.status().field(), dir_.File("bad.json"));
}

TEST_F(FileSdTest, PatternRulesMatchPrometheus) {
  EXPECT_TRUE(IsValidFileSdPattern("targets/*.json"));
  EXPECT_TRUE(IsValidFileSdPattern("targets/nodes-*.yaml"));
  EXPECT_TRUE(IsValidFileSdPattern("/etc/prom/file.YML"));
  EXPECT_FALSE(IsValidFileSdPattern("targets/*/nodes.json"));  // '*' not in the last element.
  EXPECT_FALSE(IsValidFileSdPattern("targets/*.txt"));
  EXPECT_FALSE(IsValidFileSdPattern("targets/**.json"));
}

TEST_F(FileSdTest, ExpandGlobsSortsDeduplicatesAndMatchesDotFiles) {
  dir_.Write("t/b.json", "[]", 0);
  dir_.Write("t/a.json", "[]", 0);
  dir_.Write("t/.hidden.json", "[]", 0);
  dir_.Write("t/c.yml", "[]", 0);
  auto files = ExpandGlobs({dir_.File("t/*.json"), dir_.File("t/a.json"), dir_.File("t/*.yml"),
                            dir_.File("missing/*.json")});
  EXPECT_THAT(files, ElementsAre(dir_.File("t/.hidden.json"), dir_.File("t/a.json"),
                                 dir_.File("t/b.json"), dir_.File("t/c.yml")));
}

// --- file_sd: watching ---

TEST_F(FileSdTest, PollReportsGroupsOnlyWhenTheyChange) {
  dir_.Write("t/a.json", R"([{"targets": ["a:1"]}])", 0);
  FileSd sd({dir_.File("t/*.json"), dir_.File("t/*.yml")});

  auto first = sd.Poll(kT0);
  ASSERT_TRUE(first.groups);
  ASSERT_EQ(first.groups->size(), 1u);
  EXPECT_THAT((*first.groups)[0].targets, ElementsAre("a:1"));
  EXPECT_TRUE(first.errors.empty());

  EXPECT_FALSE(sd.Poll(kT0 + seconds(10)).groups) << "nothing changed";

  dir_.Write("t/a.json", R"([{"targets": ["a:2", "a:3"]}])", 20);
  auto changed = sd.Poll(kT0 + seconds(20));
  ASSERT_TRUE(changed.groups);
  EXPECT_THAT((*changed.groups)[0].targets, ElementsAre("a:2", "a:3"));

  dir_.Write("t/b.yml", "- targets: ['b:1']\n", 30);
  auto added = sd.Poll(kT0 + seconds(30));
  ASSERT_TRUE(added.groups);
  ASSERT_EQ(added.groups->size(), 2u);
  EXPECT_EQ((*added.groups)[1].source, dir_.File("t/b.yml") + ":0");

  fs::remove(dir_.File("t/a.json"));
  auto removed = sd.Poll(kT0 + seconds(40));
  ASSERT_TRUE(removed.groups);
  ASSERT_EQ(removed.groups->size(), 1u);
  EXPECT_THAT((*removed.groups)[0].targets, ElementsAre("b:1"));
  EXPECT_EQ(sd.groups(), *removed.groups);
}

TEST_F(FileSdTest, BrokenFileKeepsItsLastGoodGroups) {
  dir_.Write("a.json", R"([{"targets": ["a:1"], "labels": {"env": "prod"}}])", 0);
  FileSd sd({dir_.File("*.json")});
  auto good = sd.Poll(kT0);
  ASSERT_TRUE(good.groups);

  dir_.Write("a.json", R"([{"targets": ["a:1"], "labels": {"env": )", 10);
  auto broken = sd.Poll(kT0 + seconds(10));
  EXPECT_FALSE(broken.groups) << "the previous good content stays";
  ASSERT_EQ(broken.errors.size(), 1u);
  EXPECT_EQ(broken.errors[0].field(), dir_.File("a.json"));
  EXPECT_EQ(sd.groups(), *good.groups);
  EXPECT_TRUE(sd.Poll(kT0 + seconds(15)).errors.empty()) << "not re-read until it changes";

  dir_.Write("a.json", R"([{"targets": ["a:9"]}])", 20);
  auto fixed = sd.Poll(kT0 + seconds(20));
  EXPECT_TRUE(fixed.errors.empty());
  ASSERT_TRUE(fixed.groups);
  EXPECT_THAT((*fixed.groups)[0].targets, ElementsAre("a:9"));
}

TEST_F(FileSdTest, BrokenNewFileContributesNothing) {
  dir_.Write("a.json", R"([{"targets": ["a:1"]}])", 0);
  dir_.Write("b.json", "not json", 0);
  FileSd sd({dir_.File("*.json")});
  auto update = sd.Poll(kT0);
  ASSERT_TRUE(update.groups);
  ASSERT_EQ(update.groups->size(), 1u);
  ASSERT_EQ(update.errors.size(), 1u);
  EXPECT_EQ(update.errors[0].field(), dir_.File("b.json"));
}

TEST_F(FileSdTest, RefreshIntervalRereadsFilesWhoseStatLooksUnchanged) {
  dir_.Write("a.json", R"([{"targets": ["a:1"]}])", 0);
  FileSd sd({dir_.File("a.json")}, minutes(2));
  ASSERT_TRUE(sd.Poll(kT0).groups);
  EXPECT_EQ(sd.next_full_refresh(), kT0 + minutes(2));

  // Same size, same mtime: only the periodic full read can see this edit.
  dir_.Write("a.json", R"([{"targets": ["b:1"]}])", 0);
  EXPECT_FALSE(sd.Poll(kT0 + minutes(1)).groups);
  auto refreshed = sd.Poll(kT0 + minutes(2));
  ASSERT_TRUE(refreshed.groups);
  EXPECT_THAT((*refreshed.groups)[0].targets, ElementsAre("b:1"));
  EXPECT_EQ(sd.next_full_refresh(), kT0 + minutes(4));
}

TEST_F(FileSdTest, FirstPollReportsEvenWhenNothingMatches) {
  FileSd sd({dir_.File("none/*.json")});
  auto update = sd.Poll(kT0);
  ASSERT_TRUE(update.groups);
  EXPECT_TRUE(update.groups->empty());
  EXPECT_FALSE(sd.Poll(kT0 + seconds(5)).groups);
}

// --- prometheus.yml ---

class PromConfigTest : public ::testing::Test {
 protected:
  static PromConfig Load(std::string_view yaml, std::string_view dir = "/etc/prometheus") {
    auto cfg = ParsePromConfig(yaml, dir);
    EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
    return cfg.ok() ? cfg.value() : PromConfig{};
  }
  static Status Error(std::string_view yaml) {
    auto cfg = ParsePromConfig(yaml, "/etc/prometheus");
    EXPECT_FALSE(cfg.ok()) << "expected an error for:\n" << yaml;
    return cfg.ok() ? Status::Ok() : cfg.status();
  }
  static const ScrapeConfig& Job(const PromConfig& cfg, std::string_view name) {
    for (const auto& j : cfg.scrape_configs)
      if (j.job_name == name) return j;
    ADD_FAILURE() << "no job " << name;
    static const ScrapeConfig kNone;
    return kNone;
  }
};

// Shaped like the example configuration of the Prometheus documentation.
constexpr std::string_view kPrometheusYml = R"(
# my global config
global:
  scrape_interval: 15s
  evaluation_interval: 30s
  external_labels:
    monitor: codelab
    foo: bar

rule_files:
  - "first.rules"
  - "my/*.rules"

remote_write:
  - url: http://remote1/push
    name: drop_expensive

scrape_configs:
  - job_name: prometheus
    honor_labels: true
    file_sd_configs:
      - files:
          - foo/*.slow.json
          - single/file.yml
        refresh_interval: 10m
      - files:
          - /srv/bar/*.yaml
    static_configs:
      - targets: ['localhost:9090', 'localhost:9191']
        labels:
          my: label
          your: label
    relabel_configs:
      - source_labels: [job, __meta_dns_name]
        regex: (.*)some-[regex]
        target_label: job
        replacement: foo-${1}
      - source_labels: [abc]
        target_label: cde
      - replacement: static
        target_label: abc
      - regex:
        replacement: static
        target_label: abc
    authorization:
      credentials_file: valid_token_file
    tls_config:
      min_version: TLS12

  - job_name: service-x
    basic_auth:
      username: admin_name
      password: "multiline\nmysecret\ntest"
    scrape_interval: 50s
    scrape_timeout: 5s
    body_size_limit: 10MB
    sample_limit: 1000
    metrics_path: /my_path
    scheme: https
    dns_sd_configs:
      - refresh_interval: 15s
        names:
          - first.dns.address.domain.com
    relabel_configs:
      - source_labels: [job]
        regex: (.*)some-[regex]
        action: drop
      - source_labels: [__address__]
        modulus: 8
        target_label: __tmp_hash
        action: hashmod
      - source_labels: [__tmp_hash]
        regex: 1
        action: keep
      - action: labeldrop
        regex: d
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: expensive_metric.*
        action: drop

  - job_name: k8s
    kubernetes_sd_configs:
      - role: pod

  - job_name: blackbox
    metrics_path: /probe
    params:
      module: [http_2xx]
    static_configs:
      - targets: [https://example.com/health]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: 127.0.0.1:9115

alerting:
  alertmanagers:
    - scheme: https
      static_configs:
        - targets: ["1.2.3.4:9093"]

storage:
  tsdb:
    out_of_order_time_window: 30m
)";

TEST_F(PromConfigTest, LoadsTheDocumentationShapedExample) {
  PromConfig cfg = Load(kPrometheusYml);
  EXPECT_EQ(cfg.global.scrape_interval, seconds(15));
  EXPECT_EQ(cfg.global.scrape_timeout, seconds(10));
  EXPECT_EQ(cfg.global.evaluation_interval, seconds(30));
  EXPECT_EQ(cfg.global.external_labels, L({{"foo", "bar"}, {"monitor", "codelab"}}));
  EXPECT_THAT(cfg.rule_files,
              ElementsAre("/etc/prometheus/first.rules", "/etc/prometheus/my/*.rules"));
  ASSERT_EQ(cfg.scrape_configs.size(), 4u);

  const ScrapeConfig& prom = Job(cfg, "prometheus");
  EXPECT_EQ(prom.scrape_interval, seconds(15));
  EXPECT_EQ(prom.scrape_timeout, seconds(10));
  EXPECT_EQ(prom.metrics_path, "/metrics");
  EXPECT_EQ(prom.scheme, "http");
  EXPECT_TRUE(prom.honor_labels);
  EXPECT_TRUE(prom.honor_timestamps);
  ASSERT_EQ(prom.file_sd_configs.size(), 2u);
  EXPECT_THAT(prom.file_sd_configs[0].files,
              ElementsAre("/etc/prometheus/foo/*.slow.json", "/etc/prometheus/single/file.yml"));
  EXPECT_EQ(prom.file_sd_configs[0].refresh_interval, minutes(10));
  EXPECT_THAT(prom.file_sd_configs[1].files, ElementsAre("/srv/bar/*.yaml"));
  EXPECT_EQ(prom.file_sd_configs[1].refresh_interval, minutes(5));
  ASSERT_EQ(prom.static_configs.size(), 1u);
  EXPECT_THAT(prom.static_configs[0].targets, ElementsAre("localhost:9090", "localhost:9191"));
  EXPECT_EQ(prom.static_configs[0].labels, L({{"my", "label"}, {"your", "label"}}));
  ASSERT_EQ(prom.relabel_configs.size(), 4u);
  EXPECT_EQ(prom.relabel_configs[0].replacement, "foo-${1}");
  EXPECT_EQ(prom.relabel_configs[3].regex, "");
  ASSERT_TRUE(prom.http.authorization);
  EXPECT_EQ(prom.http.authorization->type, "Bearer");
  EXPECT_EQ(prom.http.authorization->credentials_file, "/etc/prometheus/valid_token_file");
  EXPECT_EQ(prom.http.tls.min_version, "TLS12");
  EXPECT_TRUE(prom.http.follow_redirects);

  const ScrapeConfig& x = Job(cfg, "service-x");
  EXPECT_EQ(x.scrape_interval, seconds(50));
  EXPECT_EQ(x.scrape_timeout, seconds(5));
  EXPECT_EQ(x.limits.body_size_limit, 10u * 1024 * 1024);
  EXPECT_EQ(x.limits.sample_limit, 1000u);
  EXPECT_EQ(x.metrics_path, "/my_path");
  EXPECT_EQ(x.scheme, "https");
  ASSERT_TRUE(x.http.basic_auth);
  EXPECT_EQ(x.http.basic_auth->username, "admin_name");
  EXPECT_EQ(x.http.basic_auth->password, "multiline\nmysecret\ntest");
  ASSERT_EQ(x.relabel_configs.size(), 4u);
  EXPECT_EQ(x.relabel_configs[1].action, RelabelAction::kHashMod);
  EXPECT_EQ(x.relabel_configs[1].modulus, 8u);
  ASSERT_EQ(x.metric_relabel_configs.size(), 1u);
  EXPECT_EQ(x.metric_relabel_configs[0].action, RelabelAction::kDrop);

  const ScrapeConfig& blackbox = Job(cfg, "blackbox");
  EXPECT_THAT(blackbox.params.at("module"), ElementsAre("http_2xx"));

  auto alerting = ParseJson(cfg.alerting_json);
  ASSERT_TRUE(alerting.ok());
  EXPECT_EQ(alerting->at_pointer("/alertmanagers/0/static_configs/0/targets/0"), "1.2.3.4:9093");

  EXPECT_THAT(
      cfg.warnings,
      ElementsAre("scrape_configs[1] (job \"service-x\"): dns_sd_configs is not supported by "
                  "platops; this job has no targets",
                  "scrape_configs[2] (job \"k8s\"): kubernetes_sd_configs is not supported by "
                  "platops; this job has no targets",
                  "remote_write is not supported by platops; ignored",
                  "storage is not supported by platops; ignored"));
}

TEST_F(PromConfigTest, EmptyConfigHasPrometheusDefaults) {
  for (std::string_view yaml : {"", "global:\n", "global: {}\nscrape_configs: []\n"}) {
    PromConfig cfg = Load(yaml);
    EXPECT_EQ(cfg.global.scrape_interval, minutes(1)) << yaml;
    EXPECT_EQ(cfg.global.scrape_timeout, seconds(10)) << yaml;
    EXPECT_EQ(cfg.global.evaluation_interval, minutes(1)) << yaml;
    EXPECT_TRUE(cfg.scrape_configs.empty());
    EXPECT_TRUE(cfg.warnings.empty());
    EXPECT_EQ(cfg.alerting_json, "");
  }
}

TEST_F(PromConfigTest, IntervalsAndTimeoutsInherit) {
  PromConfig cfg = Load(R"(
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: inherits
  - job_name: slower
    scrape_interval: 2m
  - job_name: faster
    scrape_interval: 1s
  - job_name: explicit
    scrape_interval: 1m
    scrape_timeout: 1m
)");
  // Global: the timeout defaults to min(10s, 5s).
  EXPECT_EQ(cfg.global.scrape_timeout, seconds(5));
  EXPECT_EQ(Job(cfg, "inherits").scrape_interval, seconds(5));
  EXPECT_EQ(Job(cfg, "inherits").scrape_timeout, seconds(5));
  EXPECT_EQ(Job(cfg, "slower").scrape_interval, minutes(2));
  EXPECT_EQ(Job(cfg, "slower").scrape_timeout, seconds(5));
  EXPECT_EQ(Job(cfg, "faster").scrape_timeout, seconds(1));
  EXPECT_EQ(Job(cfg, "explicit").scrape_timeout, minutes(1));
}

TEST_F(PromConfigTest, LimitsInheritFromGlobal) {
  PromConfig cfg = Load(R"(
global:
  sample_limit: 5000
  label_limit: 30
  body_size_limit: 512KiB
scrape_configs:
  - job_name: a
  - job_name: b
    sample_limit: "100"
    label_value_length_limit: 200
)");
  const auto& a = Job(cfg, "a").limits;
  EXPECT_EQ(a.sample_limit, 5000u);
  EXPECT_EQ(a.label_limit, 30u);
  EXPECT_EQ(a.body_size_limit, 512u * 1024);
  EXPECT_EQ(a.label_value_length_limit, 0u);
  const auto& b = Job(cfg, "b").limits;
  EXPECT_EQ(b.sample_limit, 100u);
  EXPECT_EQ(b.label_limit, 30u);
  EXPECT_EQ(b.label_value_length_limit, 200u);
}

TEST_F(PromConfigTest, ScalarsAreTypedByTheirField) {
  PromConfig cfg = Load(R"(
scrape_configs:
  - job_name: 2024
    honor_labels: yes
    honor_timestamps: off
    follow_redirects: false
    static_configs:
      - targets: [db:9187]
        labels: {version: 1.10, zone: 007}
)");
  const auto& job = Job(cfg, "2024");
  EXPECT_TRUE(job.honor_labels);
  EXPECT_FALSE(job.honor_timestamps);
  EXPECT_FALSE(job.http.follow_redirects);
  EXPECT_EQ(job.static_configs[0].labels, L({{"version", "1.10"}, {"zone", "007"}}));
}

TEST_F(PromConfigTest, AnchorsAndMergeKeysWork) {
  PromConfig cfg = Load(R"(
x-defaults: &defaults
  scrape_interval: 30s
  metrics_path: /m
scrape_configs:
  - <<: *defaults
    job_name: a
  - <<: [*defaults, {scheme: https}]
    job_name: b
    metrics_path: /override
)");
  EXPECT_EQ(Job(cfg, "a").scrape_interval, seconds(30));
  EXPECT_EQ(Job(cfg, "a").metrics_path, "/m");
  EXPECT_EQ(Job(cfg, "b").metrics_path, "/override");
  EXPECT_EQ(Job(cfg, "b").scheme, "https");
  EXPECT_THAT(cfg.warnings, ElementsAre("unknown field \"x-defaults\"; ignored"));
}

TEST_F(PromConfigTest, BearerTokenBecomesAuthorization) {
  PromConfig cfg = Load(R"(
scrape_configs:
  - job_name: a
    bearer_token: s3cret
  - job_name: b
    bearer_token_file: /run/token
  - job_name: c
    authorization: {type: '  Token ', credentials: abc}
    tls_config: {ca_file: ca.pem, cert_file: c.pem, key_file: k.pem, server_name: x,
                 insecure_skip_verify: true}
)");
  ASSERT_TRUE(Job(cfg, "a").http.authorization);
  EXPECT_EQ(Job(cfg, "a").http.authorization->type, "Bearer");
  EXPECT_EQ(Job(cfg, "a").http.authorization->credentials, "s3cret");
  EXPECT_EQ(Job(cfg, "b").http.authorization->credentials_file, "/run/token");
  const auto& c = Job(cfg, "c").http;
  EXPECT_EQ(c.authorization->type, "Token");
  EXPECT_EQ(c.tls.ca_file, "/etc/prometheus/ca.pem");
  EXPECT_EQ(c.tls.cert_file, "/etc/prometheus/c.pem");
  EXPECT_EQ(c.tls.key_file, "/etc/prometheus/k.pem");
  EXPECT_EQ(c.tls.server_name, "x");
  EXPECT_TRUE(c.tls.insecure_skip_verify);
}

TEST_F(PromConfigTest, UnsupportedPartsAreReportedByName) {
  PromConfig cfg = Load(R"(
global:
  query_log_file: /var/log/q.log
  scrape_protocols: [PrometheusText0.0.4]
scrape_configs:
  - job_name: mixed
    enable_http2: true
    oauth2: {client_id: a, token_url: http://t}
    consul_sd_configs: [{server: 'localhost:8500'}]
    static_configs: [{targets: ['a:1']}]
    scrape_intervall: 10s
remote_read:
  - url: http://r/read
tracing:
  endpoint: localhost:4317
colour: blue
)");
  EXPECT_THAT(cfg.warnings,
              ElementsAre("global: query_log_file is not supported by platops; ignored",
                          "global: scrape_protocols is not supported by platops; ignored",
                          "scrape_configs[0] (job \"mixed\"): oauth2 is not supported by platops; "
                          "ignored",
                          "scrape_configs[0] (job \"mixed\"): enable_http2 is not supported by "
                          "platops; ignored",
                          "scrape_configs[0] (job \"mixed\"): consul_sd_configs is not supported "
                          "by platops; only static_configs and file_sd_configs targets of this job "
                          "are scraped",
                          "scrape_configs[0] (job \"mixed\"): unknown field \"scrape_intervall\"; "
                          "ignored",
                          "remote_read is not supported by platops; ignored",
                          "tracing is not supported by platops; ignored",
                          "unknown field \"colour\"; ignored"));
  EXPECT_EQ(Job(cfg, "mixed").static_configs.size(), 1u);
}

TEST_F(PromConfigTest, InvalidValuesAreErrorsNamingTheirPath) {
  struct Case {
    std::string yaml;
    std::string field;
    std::string message;  // Substring.
  };
  const Case cases[] = {
      {"scrape_configs:\n  - scrape_interval: 5s\n", "scrape_configs[0].job_name",
       "job_name is empty"},
      {"scrape_configs:\n  - job_name: a\n  - job_name: a\n", "scrape_configs[1].job_name",
       "found multiple scrape configs with job name \"a\" (first in scrape_configs[0])"},
      {"scrape_configs:\n  - {job_name: a, scrape_interval: 5x}\n",
       "scrape_configs[0].scrape_interval", "must be a duration"},
      {"scrape_configs:\n  - {job_name: a, scrape_interval: 10s, scrape_timeout: 20s}\n",
       "scrape_configs[0].scrape_timeout",
       "scrape timeout (20s) greater than scrape interval (10s) for scrape config with job name "
       "\"a\""},
      {"global: {scrape_interval: 10s, scrape_timeout: 11s}\n", "global.scrape_timeout",
       "global scrape timeout (11s) greater than scrape interval (10s)"},
      {"scrape_configs:\n  - {job_name: a, scheme: ftp}\n", "scrape_configs[0].scheme",
       "must be http or https, got \"ftp\""},
      {"scrape_configs:\n  - {job_name: a, static_configs: [{targets: ['http://x:1/m']}]}\n",
       "scrape_configs[0].static_configs[0].targets[0]",
       "\"http://x:1/m\" is not a valid hostname"},
      {"scrape_configs:\n  - {job_name: a, file_sd_configs: [{files: ['t/*/x.json']}]}\n",
       "scrape_configs[0].file_sd_configs[0].files[0]",
       "path name \"t/*/x.json\" is not valid for file discovery"},
      {"scrape_configs:\n  - {job_name: a, file_sd_configs: [{refresh_interval: 1m}]}\n",
       "scrape_configs[0].file_sd_configs[0].files",
       "file service discovery config must contain at least one path name"},
      {"scrape_configs:\n  - {job_name: a, bearer_token: x, bearer_token_file: y}\n",
       "scrape_configs[0].bearer_token_file",
       "at most one of bearer_token & bearer_token_file must be configured"},
      {"scrape_configs:\n  - {job_name: a, authorization: {type: Basic}}\n",
       "scrape_configs[0].authorization.type",
       "authorization type cannot be set to \"basic\", use \"basic_auth\" instead"},
      {"scrape_configs:\n  - {job_name: a, basic_auth: {username: u}, authorization: "
       "{credentials: c}}\n",
       "scrape_configs[0]", "at most one of basic_auth, oauth2 & authorization must be configured"},
      {"scrape_configs:\n  - {job_name: a, tls_config: {cert_file: c.pem}}\n",
       "scrape_configs[0].tls_config",
       "exactly one of key or key_file must be configured when a client certificate is "
       "configured"},
      {"scrape_configs:\n  - {job_name: a, tls_config: {min_version: TLS14}}\n",
       "scrape_configs[0].tls_config.min_version", "unknown TLS version: TLS14"},
      {"scrape_configs:\n  - {job_name: a, honor_labels: maybe}\n",
       "scrape_configs[0].honor_labels", "must be true or false"},
      {"scrape_configs:\n  - {job_name: a, sample_limit: -5}\n", "scrape_configs[0].sample_limit",
       "must be a non-negative integer"},
      {"scrape_configs:\n  - {job_name: a, body_size_limit: 10}\n",
       "scrape_configs[0].body_size_limit", "must be a size like 10MB"},
      {"scrape_configs:\n  - {job_name: a, params: {module: http_2xx}}\n",
       "scrape_configs[0].params.module", "must be a list of strings"},
      {"scrape_configs:\n  - job_name: a\n    metric_relabel_configs:\n      - {target_label: x}\n"
       "      - {action: foo}\n",
       "scrape_configs[0].metric_relabel_configs[1].action", "unknown action \"foo\""},
      {"global: {external_labels: {a-b: x}}\n", "global.external_labels",
       "\"a-b\" is not a valid label name"},
      {"rule_files: ['rules/*/x.rules']\n", "rule_files[0]",
       "invalid rule file path \"rules/*/x.rules\""},
      {"scrape_configs: {job_name: a}\n", "scrape_configs", "must be a list"},
      {"scrape_configs:\n  - null\n", "scrape_configs[0]", "empty or null scrape config section"},
      {"- just\n- a list\n", "", "must be a mapping"},
  };
  for (const auto& c : cases) {
    Status st = Error(c.yaml);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.yaml;
    EXPECT_EQ(st.field(), c.field) << c.yaml;
    EXPECT_THAT(st.message(), HasSubstr(c.message)) << c.yaml;
  }
}

TEST_F(PromConfigTest, YamlSyntaxErrorsNameTheLine) {
  Status st = Error("global:\n  scrape_interval: [1m\n");
  EXPECT_THAT(st.message(), HasSubstr("invalid YAML at line"));
  Status dup = Error("global: {}\nglobal: {}\n");
  EXPECT_THAT(dup.message(), HasSubstr("line 2: key \"global\" already set"));
}

TEST_F(PromConfigTest, ExternalLabelsExpandTheEnvironment) {
  setenv("PLATOPS_TEST_REGION", "eu-1", 1);
  unsetenv("PLATOPS_TEST_UNSET");
  PromConfig cfg = Load(R"(
global:
  external_labels:
    region: ${PLATOPS_TEST_REGION}
    cluster: $PLATOPS_TEST_REGION-a
    price: "cost$$"
    gone: ${PLATOPS_TEST_UNSET}
)");
  EXPECT_EQ(cfg.global.external_labels,
            L({{"cluster", "eu-1-a"}, {"price", "cost$"}, {"region", "eu-1"}}));
  EXPECT_THAT(cfg.warnings, ElementsAre("global.external_labels.gone: environment variable "
                                        "\"PLATOPS_TEST_UNSET\" is empty or unset"));
}

TEST_F(PromConfigTest, LoadFileResolvesPathsAgainstItsDirectory) {
  TempDir dir;
  dir.Write("rules/a.rules", "groups: []\n", 0);
  dir.Write("rules/b.rules", "groups: []\n", 0);
  dir.Write("rules/notes.txt", "", 0);
  std::string path = dir.Write("conf/../prometheus.yml", R"(
rule_files: ['rules/*.rules', 'missing.rules']
scrape_configs:
  - job_name: files
    file_sd_configs: [{files: ['targets/*.json']}]
)",
                               0);
  auto cfg = LoadPromConfigFile(dir.File("prometheus.yml"));
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_THAT(cfg->rule_files, ElementsAre(dir.File("rules/*.rules"), dir.File("missing.rules")));
  EXPECT_THAT(RuleFilePaths(*cfg),
              ElementsAre(dir.File("rules/a.rules"), dir.File("rules/b.rules")));
  EXPECT_THAT(cfg->scrape_configs[0].file_sd_configs[0].files,
              ElementsAre(dir.File("targets/*.json")));

  auto missing = LoadPromConfigFile(dir.File("nope.yml"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

// --- target labels ---

class BuildTargetTest : public PromConfigTest {
 protected:
  static ScrapeTargetSpec Build(const ScrapeConfig& job, const Labels& source) {
    auto built = BuildTarget(job, source);
    EXPECT_TRUE(built.ok()) << built.status().ToString();
    if (!built.ok() || !built->has_value()) {
      ADD_FAILURE() << "target was dropped";
      return {};
    }
    return **built;
  }
};

TEST_F(BuildTargetTest, StaticTargetGetsPrometheusLabels) {
  PromConfig cfg = Load(R"(
global: {scrape_interval: 15s}
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['10.0.0.1:9100']
        labels: {env: prod}
)");
  const ScrapeConfig& job = Job(cfg, "node");
  Labels source = TargetSourceLabels(job.static_configs[0], 0);
  EXPECT_EQ(source, L({{"__address__", "10.0.0.1:9100"}, {"env", "prod"}}));
  ScrapeTargetSpec t = Build(job, source);
  EXPECT_EQ(t.url, "http://10.0.0.1:9100/metrics");
  EXPECT_EQ(t.labels, L({{"env", "prod"}, {"instance", "10.0.0.1:9100"}, {"job", "node"}}));
  EXPECT_EQ(t.target_labels, L({{"__address__", "10.0.0.1:9100"},
                                {"__metrics_path__", "/metrics"},
                                {"__scheme__", "http"},
                                {"__scrape_interval__", "15s"},
                                {"__scrape_timeout__", "10s"},
                                {"env", "prod"},
                                {"instance", "10.0.0.1:9100"},
                                {"job", "node"}}));
  EXPECT_EQ(t.discovered_labels, L({{"__address__", "10.0.0.1:9100"},
                                    {"__metrics_path__", "/metrics"},
                                    {"__scheme__", "http"},
                                    {"__scrape_interval__", "15s"},
                                    {"__scrape_timeout__", "10s"},
                                    {"env", "prod"},
                                    {"job", "node"}}));
  EXPECT_EQ(t.interval, seconds(15));
  EXPECT_EQ(t.timeout, seconds(10));
}

TEST_F(BuildTargetTest, BlackboxPatternMovesTheAddressIntoAParameter) {
  PromConfig cfg = Load(kPrometheusYml);
  const ScrapeConfig& job = Job(cfg, "blackbox");
  ScrapeTargetSpec t = Build(job, TargetSourceLabels(job.static_configs[0], 0));
  EXPECT_EQ(
      t.url,
      "http://127.0.0.1:9115/probe?module=http_2xx&target=https%3A%2F%2Fexample.com%2Fhealth");
  EXPECT_EQ(t.labels, L({{"instance", "https://example.com/health"}, {"job", "blackbox"}}));
  EXPECT_EQ(metrics::Get(t.target_labels, "__param_module"), "http_2xx");
}

TEST_F(BuildTargetTest, RelabelingCanDropTargets) {
  PromConfig cfg = Load(R"(
scrape_configs:
  - job_name: sharded
    static_configs: [{targets: ['a:1', 'b:1', 'c:1', 'd:1']}]
    relabel_configs:
      - {source_labels: [__address__], regex: 'b:1|d:1', action: drop}
)");
  const ScrapeConfig& job = Job(cfg, "sharded");
  auto dropped = BuildTarget(job, TargetSourceLabels(job.static_configs[0], 1));
  ASSERT_TRUE(dropped.ok());
  EXPECT_FALSE(dropped->has_value());

  BuiltTargets all = BuildTargets(job, job.static_configs);
  ASSERT_EQ(all.active.size(), 2u);
  EXPECT_EQ(all.active[0].url, "http://a:1/metrics");
  EXPECT_EQ(all.active[1].url, "http://c:1/metrics");
  ASSERT_EQ(all.dropped.size(), 2u);
  EXPECT_EQ(metrics::Get(all.dropped[0], "__address__"), "b:1");
  EXPECT_EQ(metrics::Get(all.dropped[0], "job"), "sharded");
  EXPECT_TRUE(all.errors.empty());
}

TEST_F(BuildTargetTest, RelabelingControlsSchemePathIntervalAndParams) {
  PromConfig cfg = Load(R"(
global: {scrape_interval: 1m}
scrape_configs:
  - job_name: app
    params: {format: [prometheus, extra], 'name with space': ['a b']}
    relabel_configs:
      - {source_labels: [__meta_port], regex: '443', target_label: __scheme__, replacement: https}
      - {source_labels: [__meta_path], regex: '(.+)', target_label: __metrics_path__}
      - {target_label: __scrape_interval__, replacement: 30s}
      - {target_label: __scrape_timeout__, replacement: 3s}
      - {target_label: __param_format, replacement: json}
      - {target_label: __tmp_keep, replacement: x}
)");
  const ScrapeConfig& job = Job(cfg, "app");
  ScrapeTargetSpec t = Build(
      job,
      L({{"__address__", "[::1]:443"}, {"__meta_port", "443"}, {"__meta_path", "/custom path"}}));
  EXPECT_EQ(t.url, "https://[::1]:443/custom%20path?format=json&format=extra&name+with+space=a+b");
  EXPECT_EQ(t.interval, seconds(30));
  EXPECT_EQ(t.timeout, seconds(3));
  EXPECT_EQ(metrics::Get(t.target_labels, "__meta_port"), "") << "__meta_* removed";
  EXPECT_EQ(metrics::Get(t.target_labels, "__tmp_keep"), "x") << "other __ labels stay";
  EXPECT_EQ(t.labels, L({{"instance", "[::1]:443"}, {"job", "app"}}));
}

TEST_F(BuildTargetTest, DiscoveredLabelsWinOverConfigDefaults) {
  PromConfig cfg = Load("scrape_configs:\n  - job_name: default\n");
  const ScrapeConfig& job = Job(cfg, "default");
  ScrapeTargetSpec t = Build(job, L({{"__address__", "h:1"},
                                     {"job", "custom"},
                                     {"instance", "pretty-name"},
                                     {"__metrics_path__", "/other"}}));
  EXPECT_EQ(t.url, "http://h:1/other");
  EXPECT_EQ(t.labels, L({{"instance", "pretty-name"}, {"job", "custom"}}));
}

TEST_F(BuildTargetTest, UnscrapableTargetsAreErrors) {
  PromConfig cfg = Load(R"(
scrape_configs:
  - job_name: broken
    relabel_configs:
      - {source_labels: [__meta_mode], regex: noaddr, target_label: __address__, replacement: ''}
      - {source_labels: [__meta_mode], regex: url, target_label: __address__, replacement: 'h:1/x'}
      - {source_labels: [__meta_mode], regex: badint, target_label: __scrape_interval__,
         replacement: 'soon'}
      - {source_labels: [__meta_mode], regex: zero, target_label: __scrape_timeout__,
         replacement: '0s'}
      - {source_labels: [__meta_mode], regex: slow, target_label: __scrape_timeout__,
         replacement: '2m'}
)");
  const ScrapeConfig& job = Job(cfg, "broken");
  struct Case {
    std::string mode;
    std::string message;
  };
  const Case cases[] = {
      {"noaddr", "no address"},
      {"url", "\"h:1/x\" is not a valid hostname"},
      {"badint", "error parsing scrape interval: must be a duration"},
      {"zero", "scrape timeout cannot be 0"},
      {"slow", "scrape timeout cannot be greater than scrape interval (\"2m\" > \"1m\")"},
  };
  for (const auto& c : cases) {
    auto built = BuildTarget(job, L({{"__address__", "h:1"}, {"__meta_mode", c.mode}}));
    ASSERT_FALSE(built.ok()) << c.mode;
    EXPECT_THAT(built.status().message(), HasSubstr(c.message)) << c.mode;
  }
  TargetGroup group{{"h:1", ""}, {}, "static_configs[0]"};
  BuiltTargets all = BuildTargets(job, std::span(&group, 1));
  EXPECT_EQ(all.active.size(), 1u);
  ASSERT_EQ(all.errors.size(), 1u);
  EXPECT_EQ(all.errors[0].message(), "instance 1 in group static_configs[0]: no address");
}

TEST_F(BuildTargetTest, TargetAddressWinsOverGroupLabels) {
  TargetGroup group{{"a:1", ""}, L({{"__address__", "group:1"}, {"env", "prod"}}), "g"};
  EXPECT_EQ(TargetSourceLabels(group, 0), L({{"__address__", "a:1"}, {"env", "prod"}}));
  EXPECT_EQ(TargetSourceLabels(group, 1), L({{"env", "prod"}}));
}

TEST_F(BuildTargetTest, FileSdTargetsFlowThroughRelabeling) {
  TempDir dir;
  dir.Write("targets/db.json",
            R"([{"targets": ["db1:9187"], "labels": {"__meta_role": "primary"}}])", 0);
  PromConfig cfg = Load(R"(
scrape_configs:
  - job_name: postgres
    file_sd_configs: [{files: ['targets/*.json']}]
    relabel_configs:
      - {source_labels: [__meta_filepath], regex: '.*/(\w+)\.json', target_label: source_file}
      - {source_labels: [__meta_role], target_label: role}
)",
                        dir.path());
  const ScrapeConfig& job = Job(cfg, "postgres");
  FileSd sd(job.file_sd_configs[0].files, job.file_sd_configs[0].refresh_interval);
  auto update = sd.Poll(kT0);
  ASSERT_TRUE(update.groups);
  BuiltTargets built = BuildTargets(job, *update.groups);
  ASSERT_EQ(built.active.size(), 1u);
  EXPECT_EQ(built.active[0].labels, L({{"instance", "db1:9187"},
                                       {"job", "postgres"},
                                       {"role", "primary"},
                                       {"source_file", "db"}}));
}

TEST_F(PromConfigTest, DurationsArePrintedLikePrometheus) {
  EXPECT_EQ(FormatPromDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatPromDuration(seconds(90)), "1m30s");
  EXPECT_EQ(FormatPromDuration(milliseconds(1500)), "1s500ms");
  EXPECT_EQ(FormatPromDuration(std::chrono::hours(24 * 14)), "2w");
  EXPECT_EQ(FormatPromDuration(std::chrono::hours(24 * 8)), "8d");
  EXPECT_EQ(FormatPromDuration(std::chrono::hours(24 * 365)), "1y");
}

}  // namespace
}  // namespace platops::ingest
