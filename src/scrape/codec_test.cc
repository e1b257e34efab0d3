// Tests of the ScrapeTarget document: validation with field names, the normalised form, and the
// conversion to the Prometheus scrape configuration.

#include "scrape/codec.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "base/json_reader.h"

namespace platops::scrape {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

Result<ScrapeTargetDef> Decode(const std::string& text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << text;
  return ScrapeTargetFromJson(*v);
}

TEST(ScrapeTargetCodecTest, DefaultsAreFilledInAndTheDocumentIsNormalised) {
  auto def = Decode(R"({"job":"node","targets":["h1:9100","h2:9100"]})");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  EXPECT_EQ(def->interval, 15s);
  EXPECT_EQ(def->timeout, 10s);
  EXPECT_EQ(def->path, "/metrics");
  EXPECT_EQ(def->scheme, "http");
  EXPECT_TRUE(def->honor_timestamps);
  EXPECT_FALSE(def->honor_labels);
  EXPECT_EQ(def->doc,
            R"({"job":"node","targets":["h1:9100","h2:9100"],"interval":"15s","timeout":"10s",)"
            R"("path":"/metrics","scheme":"http","params":{},"labels":{},"honor_labels":false,)"
            R"("honor_timestamps":true,"sample_limit":0,"label_limit":0,)"
            R"("label_name_length_limit":0,"label_value_length_limit":0,"relabel_configs":[],)"
            R"("metric_relabel_configs":[]})");
  // The normalised document reads back to itself.
  auto again = ScrapeTargetFromJson(ScrapeTargetDocJson(*def));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->doc, def->doc);
}

TEST(ScrapeTargetCodecTest, ShortIntervalShortensTheDefaultTimeout) {
  auto def = Decode(R"({"job":"fast","targets":["h:1"],"interval":"5s"})");
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->timeout, 5s);
}

TEST(ScrapeTargetCodecTest, EveryFieldReadsBack) {
  const std::string doc = R"({"job":"api","service":"payments","targets":["10.0.0.1:8080"],)"
                          R"("interval":"30s","timeout":"5s","path":"/probe","scheme":"https",)"
                          R"("params":{"module":["http_2xx"]},"labels":{"env":"prod"},)"
                          R"("honor_labels":true,"honor_timestamps":false,"sample_limit":1000,)"
                          R"("label_limit":30,"label_name_length_limit":100,)"
                          R"("label_value_length_limit":200,)"
                          R"("file_sd":{"files":["/etc/sd/*.json"],"refresh_interval":"1m"},)"
                          R"("bearer_token_file":"/run/token",)"
                          R"("tls":{"ca_file":"/etc/ca.pem","insecure_skip_verify":false},)"
                          R"("relabel_configs":[{"source_labels":["__address__"],)"
                          R"("target_label":"host"}],"metric_relabel_configs":[{"action":)"
                          R"("labeldrop","regex":"tmp_.*"}]})";
  auto def = Decode(doc);
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  EXPECT_EQ(def->doc, doc);
  EXPECT_EQ(def->service, "payments");
  EXPECT_EQ(def->params.at("module"), std::vector<std::string>{"http_2xx"});
  ASSERT_EQ(def->relabel_configs.size(), 1u);
  ASSERT_EQ(def->metric_relabel_configs.size(), 1u);
  EXPECT_EQ(def->metric_relabel_configs[0].action, ingest::RelabelAction::kLabelDrop);
  ASSERT_TRUE(def->file_sd);
  EXPECT_EQ(def->file_sd->refresh_interval, 1min);

  ingest::ScrapeConfig c = ToScrapeConfig(*def);
  EXPECT_EQ(c.job_name, "api");
  EXPECT_EQ(c.scheme, "https");
  EXPECT_FALSE(c.honor_timestamps);
  EXPECT_EQ(c.limits.sample_limit, 1000u);
  ASSERT_TRUE(c.http.authorization);
  EXPECT_EQ(c.http.authorization->credentials_file, "/run/token");
  EXPECT_EQ(c.http.tls.ca_file, "/etc/ca.pem");
  auto built = ingest::BuildTargets(c, c.static_configs);
  ASSERT_EQ(built.active.size(), 1u);
  EXPECT_EQ(built.active[0].url, "https://10.0.0.1:8080/probe?module=http_2xx");
  EXPECT_EQ(metrics::ToString(built.active[0].labels),
            R"({env="prod",host="10.0.0.1:8080",instance="10.0.0.1:8080",job="api"})");
}

TEST(ScrapeTargetCodecTest, AParamMayBeASingleString) {
  auto def = Decode(R"({"job":"j","targets":["h:1"],"params":{"target":"a.example"}})");
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->params.at("target"), std::vector<std::string>{"a.example"});
}

TEST(ScrapeTargetCodecTest, ErrorsNameTheirField) {
  struct Case {
    const char* doc;
    const char* field;
    const char* message;
  };
  const Case cases[] = {
      {R"({"targets":["h:1"]})", "job", "is required"},
      {R"({"job":"a b","targets":["h:1"]})", "job", "must be 1..128 characters"},
      {R"({"job":"j","targets":["http://h:1"]})", "targets[0]", "must be host:port"},
      {R"({"job":"j","targets":["h:1","h:99999"]})", "targets[1]", "must be host:port"},
      {R"({"job":"j","targets":["h:1","h:1"]})", "targets[1]", "is listed twice"},
      {R"({"job":"j"})", "targets", "a job needs targets, file_sd or both"},
      {R"({"job":"j","targets":["h:1"],"interval":"500ms"})", "interval", "at least 1s"},
      {R"({"job":"j","targets":["h:1"],"interval":"10s","timeout":"11s"})", "timeout",
       "must not be longer than the interval (10s)"},
      {R"({"job":"j","targets":["h:1"],"path":"metrics"})", "path", "must start with '/'"},
      {R"({"job":"j","targets":["h:1"],"scheme":"ftp"})", "scheme", "http or https"},
      {R"({"job":"j","targets":["h:1"],"labels":{"a-b":"x"}})", "labels.a-b", "label names"},
      {R"({"job":"j","targets":["h:1"],"sample_limit":-1})", "sample_limit", "0 (no limit)"},
      {R"({"job":"j","targets":["h:1"],"service":"Bad"})", "service", "must match"},
      {R"({"job":"j","file_sd":{"files":["/etc/*/x.json"]}})", "file_sd.files[0]", "'*' only"},
      {R"({"job":"j","targets":["h:1"],"bearer_token":"a","basic_auth":{"username":"u"}})",
       "basic_auth", "at most one"},
      {R"({"job":"j","targets":["h:1"],"tls":{"cert_file":"c.pem"}})", "tls.key_file",
       "go together"},
      {R"({"job":"j","targets":["h:1"],"metric_relabel_configs":[{"action":"nope"}]})",
       "metric_relabel_configs[0].action", "unknown action"},
      {R"({"job":"j","targets":["h:1"],"scrape_interval":"1m"})", "scrape_interval", "unknown"},
  };
  for (const auto& c : cases) {
    auto def = Decode(c.doc);
    ASSERT_FALSE(def.ok()) << c.doc;
    EXPECT_EQ(def.status().field(), c.field) << c.doc << ": " << def.status().ToString();
    EXPECT_NE(def.status().message().find(c.message), std::string::npos)
        << c.doc << ": " << def.status().ToString();
  }
}

TEST(ScrapeTargetCodecTest, ReadOnlyFieldsOfAGetAreAccepted) {
  auto def = Decode(R"({"job":"j","targets":["h:1"],"version":3,"created_at":"x",)"
                    R"("updated_at":"y","status":{"up":1}})");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  EXPECT_EQ(def->version, 3);
  def->version = 4;
  JobStatus status;
  status.targets = 1;
  status.up = 1;
  json::object o = ScrapeTargetToJson(*def, &status);
  EXPECT_EQ(o.at("version").as_int64(), 4);
  EXPECT_EQ(o.at("status").at("up").as_uint64(), 1u);
  EXPECT_EQ(o.at("status").at("source").as_string(), "scrape_target");
}

TEST(ScrapeTargetCodecTest, JobNames) {
  for (const char* ok : {"node", "kube-state-metrics", "node_exporter", "a.b", "_x", "A1"})
    EXPECT_TRUE(IsValidJobName(ok)) << ok;
  for (const char* bad : {"", "-x", ".x", "a b", "a/b", "a:b"})
    EXPECT_FALSE(IsValidJobName(bad)) << bad;
  EXPECT_FALSE(IsValidJobName(std::string(129, 'a')));
}

}  // namespace
}  // namespace platops::scrape
