#include "checks/codec.h"

#include "base/json_reader.h"
#include "base/time_util.h"
#include "config/yaml_json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>
#include <vector>

namespace platops::checks {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// One YAML document as JSON, the way apply hands it to a kind (without `kind`).
json::value Yaml(std::string_view text) {
  auto docs = config::YamlToJson(text);
  EXPECT_TRUE(docs.ok()) << docs.status().ToString();
  if (!docs.ok() || docs->size() != 1) return nullptr;
  return docs.value()[0];
}

Timestamp At(std::string_view rfc3339) { return ParseRfc3339(rfc3339).value(); }

const std::string kHttp = R"yaml(
service: payments-api
name: health
type: http
interval: 30s
timeout: 5s
max_attempts: 4
retry_interval: 10s
recovery_attempts: 2
severity: warning
labels: {team: payments, tier: edge}
enabled: false
flapping: {enabled: false, low: 10, high: 40.5}
http:
  url: https://payments.example.com/health
  method: POST
  headers: {X-Probe: platops, Accept: application/json}
  body: '{"ping": true}'
  expected_status: [200, "201-204", "301"]
  body_contains: ok
  body_regex: "status: (up|degraded)"
  json: {path: data.state, op: "==", value: up}
  max_response_time: 1500ms
  follow_redirects: false
  max_redirects: 3
  verify_tls: false
  basic_auth: {username: probe, password: secret}
  max_body_bytes: 4096
)yaml";

const std::string kTcp = R"yaml(
service: payments-db
name: redis
type: tcp
tcp: {host: db.internal, port: 6379, send: "PING\r\n", expect: "^\\+PONG"}
)yaml";

const std::string kDns = R"yaml(
service: payments-api
name: dns
type: dns
dns: {name: example.com, record: aaaa, server: "127.0.0.1:53", expected: ["2001:db8::1"]}
)yaml";

const std::string kTls = R"yaml(
service: payments-api
name: cert
type: tls
interval: 1h
tls: {host: example.com, port: 8443, server_name: api.example.com, verify: false,
      warning_days: 30, critical_days: 10}
)yaml";

const std::string kExec = R"yaml(
service: payments-api
name: load
type: exec
interval: 5s
exec: {command: /bin/sh, args: ["-c", "echo 'OK | load=0.5;1;2'"], env: {LANG: C},
       working_dir: /tmp, max_output_bytes: 2048}
)yaml";

const std::string kHeartbeatPeriod = R"yaml(
service: payments-api
name: nightly-backup
type: heartbeat
heartbeat: {period: 1h, grace: 10m, token: abcdefghijklmnop_-42}
)yaml";

const std::string kHeartbeatCron = R"yaml(
service: payments-api
name: report
type: heartbeat
max_attempts: 2
heartbeat: {cron: "0 3 * * *", time_zone: Europe/Berlin, grace: 30m}
)yaml";

class CodecTest : public ::testing::Test {
 protected:
  static CheckDef Decode(std::string_view yaml) {
    auto def = CheckFromJson(Yaml(yaml));
    EXPECT_TRUE(def.ok()) << def.status().ToString();
    return def.ok() ? def.value() : CheckDef{};
  }
  // The error of decoding `yaml`, as "field: message".
  static std::string Error(std::string_view yaml, const std::string& path = {}) {
    auto def = CheckFromJson(Yaml(yaml), path);
    if (def.ok()) return "ok";
    EXPECT_EQ(def.status().code(), StatusCode::kInvalidArgument);
    return def.status().field() + ": " + def.status().message();
  }
  static std::string WindowError(std::string_view yaml) {
    auto w = WindowFromJson(Yaml(yaml));
    if (w.ok()) return "ok";
    return w.status().field() + ": " + w.status().message();
  }
  // kHttp's common fields with the given type lines appended.
  static std::string Minimal(const std::string& type_lines) {
    return "service: payments-api\nname: health\n" + type_lines;
  }
};

TEST_F(CodecTest, DecodesHttpCheck) {
  CheckDef def = Decode(kHttp);
  EXPECT_EQ(def.service, "payments-api");
  EXPECT_EQ(def.name, "health");
  EXPECT_EQ(def.id(), "payments-api.health");
  EXPECT_EQ(def.type, CheckType::kHttp);
  EXPECT_EQ(def.interval, seconds(30));
  EXPECT_EQ(def.timeout, seconds(5));
  EXPECT_EQ(def.max_attempts, 4);
  EXPECT_EQ(def.effective_retry(), seconds(10));
  EXPECT_EQ(def.recovery_attempts, 2);
  EXPECT_EQ(def.severity, Severity::kWarning);
  EXPECT_EQ(def.labels,
            (std::map<std::string, std::string>{{"team", "payments"}, {"tier", "edge"}}));
  EXPECT_FALSE(def.enabled);
  EXPECT_FALSE(def.flap_detection);
  EXPECT_EQ(def.flap_low, 10);
  EXPECT_EQ(def.flap_high, 40.5);

  ASSERT_TRUE(def.probe);
  const auto& s = std::get<probe::HttpSpec>(*def.probe);
  EXPECT_EQ(s.url, "https://payments.example.com/health");
  EXPECT_EQ(s.method, "POST");
  // Headers keep the document's order.
  ASSERT_EQ(s.headers.size(), 2u);
  EXPECT_EQ(s.headers[0], (std::pair<std::string, std::string>{"X-Probe", "platops"}));
  EXPECT_EQ(s.headers[1], (std::pair<std::string, std::string>{"Accept", "application/json"}));
  EXPECT_EQ(s.body, R"({"ping": true})");
  ASSERT_EQ(s.expected_status.size(), 3u);
  EXPECT_EQ(s.expected_status[0].low, 200);
  EXPECT_EQ(s.expected_status[0].high, 200);
  EXPECT_EQ(s.expected_status[1].low, 201);
  EXPECT_EQ(s.expected_status[1].high, 204);
  EXPECT_EQ(s.expected_status[2].low, 301);
  EXPECT_EQ(s.expected_status[2].high, 301);
  EXPECT_EQ(s.body_contains, "ok");
  EXPECT_EQ(s.body_regex, "status: (up|degraded)");
  EXPECT_TRUE(s.body_re) << "Prepare compiles the regex";
  EXPECT_EQ(s.json_path, "data.state");
  EXPECT_EQ(s.json_op, probe::JsonOp::kEq);
  EXPECT_EQ(s.json_value, "up");
  EXPECT_EQ(s.max_response_time, milliseconds(1500));
  EXPECT_FALSE(s.follow_redirects);
  EXPECT_EQ(s.max_redirects, 3);
  EXPECT_FALSE(s.verify_tls);
  EXPECT_EQ(s.basic_user, "probe");
  EXPECT_EQ(s.basic_password, "secret");
  EXPECT_EQ(s.max_body_bytes, 4096);
}

TEST_F(CodecTest, DecodesJsonOperatorsAndValues) {
  struct Case {
    std::string json;
    probe::JsonOp op;
    std::string value;
  };
  std::vector<Case> cases = {
      {"{path: a, op: '!=', value: down}", probe::JsonOp::kNe, "down"},
      {"{path: a, op: '<', value: 5}", probe::JsonOp::kLt, "5"},
      {"{path: a, op: '<=', value: 2.5}", probe::JsonOp::kLe, "2.5"},
      {"{path: a, op: '>', value: -1}", probe::JsonOp::kGt, "-1"},
      {"{path: a, op: '>=', value: 0}", probe::JsonOp::kGe, "0"},
      {"{path: a, op: contains, value: ok}", probe::JsonOp::kContains, "ok"},
      {"{path: a, op: exists}", probe::JsonOp::kExists, ""},
      {"{path: a, value: true}", probe::JsonOp::kEq, "true"},
  };
  for (const auto& c : cases) {
    CheckDef def = Decode(Minimal("type: http\nhttp: {url: 'http://h/', json: " + c.json + "}"));
    ASSERT_TRUE(def.probe) << c.json;
    const auto& s = std::get<probe::HttpSpec>(*def.probe);
    EXPECT_EQ(s.json_op, c.op) << c.json;
    EXPECT_EQ(s.json_value, c.value) << c.json;
  }
}

TEST_F(CodecTest, DecodesTcpDnsTlsExec) {
  CheckDef tcp = Decode(kTcp);
  const auto& t = std::get<probe::TcpSpec>(*tcp.probe);
  EXPECT_EQ(t.host, "db.internal");
  EXPECT_EQ(t.port, 6379);
  EXPECT_EQ(t.send, "PING\r\n");
  EXPECT_EQ(t.expect_regex, "^\\+PONG");
  EXPECT_TRUE(t.expect_re);

  CheckDef dns = Decode(kDns);
  const auto& d = std::get<probe::DnsSpec>(*dns.probe);
  EXPECT_EQ(d.name, "example.com");
  EXPECT_EQ(d.record, probe::DnsRecord::kAAAA) << "record names are case-insensitive";
  EXPECT_EQ(d.server, "127.0.0.1:53");
  EXPECT_EQ(d.expected, std::vector<std::string>{"2001:db8::1"});

  CheckDef tls = Decode(kTls);
  const auto& l = std::get<probe::TlsSpec>(*tls.probe);
  EXPECT_EQ(l.host, "example.com");
  EXPECT_EQ(l.port, 8443);
  EXPECT_EQ(l.server_name, "api.example.com");
  EXPECT_FALSE(l.verify);
  EXPECT_EQ(l.warning_days, 30);
  EXPECT_EQ(l.critical_days, 10);
  EXPECT_EQ(tls.interval, std::chrono::hours(1));
  EXPECT_EQ(tls.timeout, seconds(10));

  CheckDef exec = Decode(kExec);
  const auto& e = std::get<probe::ExecSpec>(*exec.probe);
  EXPECT_EQ(e.command, "/bin/sh");
  EXPECT_EQ(e.args, (std::vector<std::string>{"-c", "echo 'OK | load=0.5;1;2'"}));
  EXPECT_EQ(e.env, (std::map<std::string, std::string>{{"LANG", "C"}}));
  EXPECT_EQ(e.working_dir, "/tmp");
  EXPECT_EQ(e.max_output_bytes, 2048);
}

TEST_F(CodecTest, DecodesHeartbeats) {
  CheckDef period = Decode(kHeartbeatPeriod);
  EXPECT_EQ(period.type, CheckType::kHeartbeat);
  EXPECT_FALSE(period.probe);
  EXPECT_EQ(period.heartbeat.period, std::chrono::hours(1));
  EXPECT_TRUE(period.heartbeat.cron.empty());
  EXPECT_EQ(period.heartbeat.grace, minutes(10));
  EXPECT_EQ(period.heartbeat.token, "abcdefghijklmnop_-42");
  EXPECT_EQ(period.max_attempts, 1) << "heartbeats default to one attempt";

  CheckDef cron = Decode(kHeartbeatCron);
  EXPECT_EQ(cron.heartbeat.cron, "0 3 * * *");
  EXPECT_EQ(cron.heartbeat.time_zone, "Europe/Berlin");
  EXPECT_EQ(cron.heartbeat.grace, minutes(30));
  EXPECT_EQ(cron.heartbeat.period, milliseconds(0));
  EXPECT_TRUE(cron.heartbeat.token.empty());
  EXPECT_EQ(cron.max_attempts, 2);

  CheckDef defaults = Decode(Minimal("type: heartbeat\nheartbeat: {period: 10s}"));
  EXPECT_EQ(defaults.heartbeat.grace, minutes(5));
  EXPECT_EQ(defaults.heartbeat.time_zone, "UTC");
}

TEST_F(CodecTest, DefaultsAndNormalisedDocument) {
  CheckDef def = Decode(Minimal("type: http\nhttp: {url: 'https://example.com/health'}"));
  EXPECT_EQ(def.interval, seconds(60));
  EXPECT_EQ(def.timeout, seconds(10));
  EXPECT_EQ(def.max_attempts, 3);
  EXPECT_EQ(def.effective_retry(), seconds(60));
  EXPECT_EQ(def.recovery_attempts, 1);
  EXPECT_EQ(def.severity, Severity::kCritical);
  EXPECT_TRUE(def.labels.empty());
  EXPECT_TRUE(def.enabled);
  EXPECT_TRUE(def.flap_detection);
  EXPECT_EQ(def.flap_low, 20);
  EXPECT_EQ(def.flap_high, 30);
  EXPECT_EQ(def.doc,
            R"({"service":"payments-api","name":"health","type":"http","interval":"1m",)"
            R"("timeout":"10s","max_attempts":3,"retry_interval":"1m","recovery_attempts":1,)"
            R"("severity":"critical","labels":{},"enabled":true,)"
            R"("flapping":{"enabled":true,"low":20,"high":30},)"
            R"("http":{"url":"https://example.com/health"}})");

  // The timeout defaults to 10s but stays below a short interval.
  EXPECT_EQ(Decode(Minimal("type: tcp\ninterval: 5s\ntcp: {host: h, port: 1}")).timeout,
            seconds(4));
  EXPECT_EQ(Decode(Minimal("type: tcp\ninterval: 1s\ntcp: {host: h, port: 1}")).timeout,
            milliseconds(800));
  EXPECT_EQ(Decode(Minimal("type: tcp\ninterval: 15s\ntcp: {host: h, port: 1}")).timeout,
            seconds(10));

  // Heartbeats have no interval, timeout or retry interval.
  CheckDef hb = Decode(kHeartbeatCron);
  EXPECT_EQ(hb.doc,
            R"({"service":"payments-api","name":"report","type":"heartbeat","max_attempts":2,)"
            R"("recovery_attempts":1,"severity":"critical","labels":{},"enabled":true,)"
            R"("flapping":{"enabled":true,"low":20,"high":30},)"
            R"("heartbeat":{"cron":"0 3 * * *","time_zone":"Europe/Berlin","grace":"30m"}})");
}

TEST_F(CodecTest, TypeObjectIsKeptAsWritten) {
  CheckDef def = Decode(kHttp);
  auto doc = ParseJson(def.doc).value().as_object();
  // Durations inside the type object stay as written, so export writes what the user wrote.
  EXPECT_EQ(doc.at("http").at("max_response_time"), "1500ms");
  EXPECT_EQ(doc.at("http").at("headers"), Yaml("{X-Probe: platops, Accept: application/json}"));
  EXPECT_EQ(doc.at("interval"), "30s");
  EXPECT_EQ(doc.at("retry_interval"), "10s");
  EXPECT_EQ(doc.at("flapping"), Yaml("{enabled: false, low: 10, high: 40.5}"));
  EXPECT_EQ(doc.at("labels"), Yaml("{team: payments, tier: edge}"));
}

TEST_F(CodecTest, NormalisationIsIdempotentForEveryType) {
  for (const std::string* yaml :
       {&kHttp, &kTcp, &kDns, &kTls, &kExec, &kHeartbeatPeriod, &kHeartbeatCron}) {
    CheckDef first = Decode(*yaml);
    ASSERT_FALSE(first.doc.empty());
    // The document through JSON, as the API and the store keep it.
    auto again = CheckFromJson(ParseJson(first.doc).value());
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(again->doc, first.doc);
    EXPECT_EQ(JsonToString(CheckDocJson(*again)), first.doc);
    // And through YAML, as export writes it and apply reads it back.
    std::string exported = config::JsonToYaml({json::value(CheckDocJson(first))});
    auto reapplied = CheckFromJson(Yaml(exported));
    ASSERT_TRUE(reapplied.ok()) << exported << reapplied.status().ToString();
    EXPECT_EQ(reapplied->doc, first.doc) << exported;
  }
}

TEST_F(CodecTest, ReadOnlyFieldsAreAcceptedAndIgnored) {
  CheckDef def = Decode(kHeartbeatPeriod);
  def.version = 7;
  def.created_at = At("2026-11-01T10:00:00Z");
  def.updated_at = At("2026-11-02T10:00:00Z");
  CheckStatus status;
  status.next_run = At("2026-11-02T10:01:00Z");
  json::object got = CheckToJson(def, &status);
  EXPECT_EQ(got.at("id"), "payments-api.nightly-backup");
  EXPECT_EQ(got.at("version"), 7);
  EXPECT_EQ(got.at("created_at"), "2026-11-01T10:00:00Z");
  EXPECT_EQ(got.at("updated_at"), "2026-11-02T10:00:00Z");
  EXPECT_EQ(got.at("ping_url"), "/ping/abcdefghijklmnop_-42");
  EXPECT_TRUE(got.at("status").is_object());

  // A GET body sent back decodes to the same check, with its version.
  auto back = CheckFromJson(json::value(got));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->doc, def.doc);
  EXPECT_EQ(back->version, 7);

  auto bad_version = CheckFromJson(Yaml(kTcp + "version: two\n"));
  EXPECT_EQ(bad_version.status().field(), "version");
}

TEST_F(CodecTest, GeneratedTokenStaysOutOfTheDocument) {
  // The server generates a token for a heartbeat whose document has none and keeps it on the def.
  CheckDef def = Decode(Minimal("type: heartbeat\nheartbeat: {period: 1h}"));
  const std::string doc = def.doc;
  def.heartbeat.token = "generated-token-0123456789";
  EXPECT_EQ(JsonToString(CheckDocJson(def)), doc);
  EXPECT_EQ(doc.find("generated"), std::string::npos);
  EXPECT_EQ(CheckToJson(def, nullptr).at("ping_url"), "/ping/generated-token-0123456789");
  EXPECT_FALSE(CheckToJson(def, nullptr).contains("status"));
}

TEST_F(CodecTest, CommonFieldsComeFromTheDefinition) {
  CheckDef def = Decode(kTcp);
  def.enabled = false;
  def.interval = seconds(90);
  json::object doc = CheckDocJson(def);
  EXPECT_EQ(doc.at("enabled"), false);
  EXPECT_EQ(doc.at("interval"), "1m30s");
  EXPECT_EQ(doc.at("tcp").at("port"), 6379);
}

TEST_F(CodecTest, DefinitionWithoutDocumentEncodesItsSpec) {
  for (const std::string* yaml : {&kHttp, &kTcp, &kDns, &kTls, &kExec, &kHeartbeatCron}) {
    CheckDef def = Decode(*yaml);
    def.doc.clear();
    json::object doc = CheckDocJson(def);
    auto back = CheckFromJson(json::value(doc));
    ASSERT_TRUE(back.ok()) << JsonToString(doc) << " " << back.status().ToString();
    // Same definition: its document from the spec encodes the same way again.
    back->doc.clear();
    EXPECT_EQ(JsonToString(CheckDocJson(*back)), JsonToString(doc));
  }
  CheckDef http = Decode(kHttp);
  http.doc.clear();
  auto back = CheckFromJson(json::value(CheckDocJson(http))).value();
  const auto& a = std::get<probe::HttpSpec>(*http.probe);
  const auto& b = std::get<probe::HttpSpec>(*back.probe);
  EXPECT_EQ(b.url, a.url);
  EXPECT_EQ(b.headers, a.headers);
  EXPECT_EQ(b.expected_status.size(), 3u);
  EXPECT_EQ(b.expected_status[1].high, 204);
  EXPECT_EQ(b.json_value, "up");
  EXPECT_EQ(b.max_response_time, a.max_response_time);
  EXPECT_EQ(b.basic_password, "secret");
  EXPECT_EQ(b.max_body_bytes, 4096);
  EXPECT_FALSE(b.follow_redirects);
}

TEST_F(CodecTest, ValidationErrorsNameTheField) {
  const std::string http = "type: http\n";
  struct Case {
    std::string yaml;
    std::string error;
  };
  std::vector<Case> cases = {
      {Minimal(http + "http: {url: 'http://h/'}\ncolour: red"), "colour: unknown field"},
      {Minimal(http + "http: {url: 'http://h/', verb: GET}"), "http.verb: unknown field"},
      {Minimal(http + "http: {url: 'http://h/', json: {path: a, value: 1, deep: 2}}"),
       "http.json.deep: unknown field"},
      {"name: health\ntype: http\nhttp: {url: 'http://h/'}", "service: is required"},
      {"service: Payments\nname: health\ntype: http\nhttp: {url: 'http://h/'}",
       "service: must match ^[a-z0-9][a-z0-9-]{0,62}$, got \"Payments\""},
      {Minimal("http: {url: 'http://h/'}"), "type: is required"},
      {Minimal("type: ping\n"),
       "type: must be one of http, tcp, dns, tls, exec, heartbeat; got \"ping\""},
      {Minimal(http + "interval: 30s\ntimeout: 30s\nhttp: {url: 'http://h/'}"),
       "timeout: must be less than the interval (30s)"},
      {Minimal(http + "timeout: 2m\nhttp: {url: 'http://h/'}"),
       "timeout: must be less than the interval (1m)"},
      {Minimal(http + "interval: 500ms\nhttp: {url: 'http://h/'}"),
       "interval: must be at least 1s, got 500ms"},
      {Minimal(http + "interval: soon\nhttp: {url: 'http://h/'}"),
       "interval: must be a duration like 30s, 5m or 1h30m (expected a number), got \"soon\""},
      {Minimal(http + "retry_interval: 0s\nhttp: {url: 'http://h/'}"),
       "retry_interval: must be at least 1s, got 0s"},
      {Minimal(http + "max_attempts: 11\nhttp: {url: 'http://h/'}"),
       "max_attempts: must be 1..10, got 11"},
      {Minimal(http + "recovery_attempts: 0\nhttp: {url: 'http://h/'}"),
       "recovery_attempts: must be 1..10, got 0"},
      {Minimal(http + "severity: page\nhttp: {url: 'http://h/'}"),
       "severity: must be critical, warning or info; got \"page\""},
      {Minimal(http + "labels: {bad-name: x}\nhttp: {url: 'http://h/'}"),
       "labels.bad-name: label names must match ^[a-zA-Z_][a-zA-Z0-9_]*$"},
      {Minimal(http + "labels: {team: " + std::string(257, 'x') + "}\nhttp: {url: 'http://h/'}"),
       "labels.team: must be at most 256 bytes, got 257"},
      {Minimal(http + "flapping: {low: 30, high: 20}\nhttp: {url: 'http://h/'}"),
       "flapping.low: must be less than high (20), got 30"},
      {Minimal(http + "flapping: {high: 101}\nhttp: {url: 'http://h/'}"),
       "flapping.high: must be 0..100, got 101"},
      // The type object must match the type.
      {Minimal(http), "http: is required for type http"},
      {Minimal(http + "http: {url: 'http://h/'}\ntcp: {host: h, port: 1}"),
       "tcp: is not allowed for type http"},
      {Minimal("type: tcp\nhttp: {url: 'http://h/'}"), "http: is not allowed for type tcp"},
      {Minimal(http + "http: https://h/"), "http: must be an object"},
      // HTTP.
      {Minimal(http + "http: {method: GET}"), "http.url: is required"},
      {Minimal(http + "http: {url: 'ftp://h/'}"),
       "http.url: must start with http:// or https://, got \"ftp://h/\""},
      {Minimal(http + "http: {url: 'http://h/', body_regex: '(unclosed'}"),
       "http.body_regex: invalid regular expression: missing ): (unclosed"},
      {Minimal(http + "http: {url: 'http://h/', expected_status: [200, abc]}"),
       "http.expected_status[1]: must be a status code (200) or a range (\"200-299\"), got "
       "\"abc\""},
      {Minimal(http + "http: {url: 'http://h/', expected_status: [700]}"),
       "http.expected_status[0]: status codes must be 100..599, got 700"},
      {Minimal(http + "http: {url: 'http://h/', expected_status: ['300-200']}"),
       "http.expected_status[0]: the range is reversed, got \"300-200\""},
      {Minimal(http + "http: {url: 'http://h/', expected_status: 200}"),
       "http.expected_status: must be a list, each item a status code (200) or a range "
       "(\"200-299\")"},
      {Minimal(http + "http: {url: 'http://h/', json: {path: a, op: '~=', value: 1}}"),
       "http.json.op: must be one of ==, !=, <, <=, >, >=, contains, exists; got \"~=\""},
      {Minimal(http + "http: {url: 'http://h/', json: {path: a}}"),
       "http.json.value: is required (unless op is exists)"},
      {Minimal(http + "http: {url: 'http://h/', json: {path: a, op: exists, value: 1}}"),
       "http.json.value: is not used with op exists"},
      {Minimal(http + "http: {url: 'http://h/', json: {path: 'a..b', value: 1}}"),
       "http.json.path: empty segment in \"a..b\" (use dotted keys and indexes: "
       "\"data.items.0.state\")"},
      {Minimal(http + "http: {url: 'http://h/', headers: {'Bad Header': x}}"),
       "http.headers.Bad Header: invalid header name \"Bad Header\""},
      {Minimal(http + "http: {url: 'http://h/', basic_auth: {username: 'a:b'}}"),
       "http.basic_auth.username: must not contain ':'"},
      {Minimal(http + "http: {url: 'http://h/', basic_auth: {password: p}}"),
       "http.basic_auth.username: is required"},
      {Minimal(http + "http: {url: 'http://h/', max_redirects: 11}"),
       "http.max_redirects: must be 0..10, got 11"},
      {Minimal(http + "http: {url: 'http://h/', method: FETCH}"),
       "http.method: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS; got \"FETCH\""},
      // TCP, DNS, TLS, exec.
      {Minimal("type: tcp\ntcp: {host: h}"), "tcp.port: is required"},
      {Minimal("type: tcp\ntcp: {host: h, port: 70000}"), "tcp.port: must be 1..65535, got 70000"},
      {Minimal("type: tcp\ntcp: {host: h, port: 1, expect: '[a-'}"),
       "tcp.expect: invalid regular expression: missing ]: [a-"},
      {Minimal("type: dns\ndns: {name: example.com, record: SRV}"),
       "dns.record: must be one of A, AAAA, CNAME, MX, TXT, NS; got \"SRV\""},
      {Minimal("type: dns\ndns: {name: example.com, server: 'dns.google'}"),
       "dns.server: must be an IP address with an optional port (\"10.0.0.53\", "
       "\"10.0.0.53:5353\", \"[2001:db8::53]:53\"), got \"dns.google\""},
      {Minimal("type: tls\ntls: {host: h, warning_days: 5, critical_days: 7}"),
       "tls.warning_days: must be >= tls.critical_days (7), got 5"},
      {Minimal("type: exec\nexec: {command: /nonexistent/check_load}"),
       "exec.command: \"/nonexistent/check_load\" is not an executable file"},
      {Minimal("type: exec\nexec: {command: /bin/sh, args: [1]}"),
       "exec.args[0]: must be a string"},
      // Heartbeats.
      {Minimal("type: heartbeat\ninterval: 1m\nheartbeat: {period: 1h}"),
       "interval: is not used by heartbeats (they are judged by heartbeat.period or "
       "heartbeat.cron)"},
      {Minimal("type: heartbeat\ntimeout: 1s\nheartbeat: {period: 1h}"),
       "timeout: is not used by heartbeats (they are judged by heartbeat.period or "
       "heartbeat.cron)"},
      {Minimal("type: heartbeat\nheartbeat: {grace: 1m}"),
       "heartbeat.period: is required (or set cron)"},
      {Minimal("type: heartbeat\nheartbeat: {period: 1h, cron: '0 * * * *'}"),
       "heartbeat.cron: cannot be combined with period; set one of them"},
      {Minimal("type: heartbeat\nheartbeat: {period: 5s}"),
       "heartbeat.period: must be at least 10s, got 5s"},
      {Minimal("type: heartbeat\nheartbeat: {period: 1h, time_zone: Europe/Berlin}"),
       "heartbeat.time_zone: is only used with cron"},
      {Minimal("type: heartbeat\nheartbeat: {cron: '61 * * * *'}"),
       "heartbeat.cron: minute: 61 is out of range 0-59"},
      {Minimal("type: heartbeat\nheartbeat: {cron: '0 3 * *'}"),
       "heartbeat.cron: expected 5 fields, got 4"},
      {Minimal("type: heartbeat\nheartbeat: {cron: '0 3 * * *', time_zone: Mars/Olympus}"),
       "heartbeat.time_zone: unknown time zone \"Mars/Olympus\""},
      {Minimal("type: heartbeat\nheartbeat: {period: 1h, grace: 8d}"),
       "heartbeat.grace: must be at most 1w, got 1w1d"},
      {Minimal("type: heartbeat\nheartbeat: {period: 1h, token: short}"),
       "heartbeat.token: must be 16..128 characters of A-Z a-z 0-9 _ -"},
      {Minimal("type: heartbeat\nheartbeat: {period: 1h, token: 'has spaces in the token'}"),
       "heartbeat.token: must be 16..128 characters of A-Z a-z 0-9 _ -"},
  };
  for (const auto& c : cases) EXPECT_EQ(Error(c.yaml), c.error) << c.yaml;
}

TEST_F(CodecTest, ErrorsCarryThePathPrefix) {
  EXPECT_EQ(Error(Minimal("type: http\nhttp: {url: 'ftp://h/'}"), "checks[2]"),
            "checks[2].http.url: must start with http:// or https://, got \"ftp://h/\"");
  EXPECT_EQ(Error(Minimal("type: http\nhttp: {url: 'http://h/', x: 1}"), "checks[2]"),
            "checks[2].http.x: unknown field");
  EXPECT_EQ(Error(Minimal("type: http\nmax_attempts: 0\nhttp: {url: 'http://h/'}"), "checks[2]"),
            "checks[2].max_attempts: must be 1..10, got 0");
  auto not_object = CheckFromJson(json::value(3), "checks[2]");
  EXPECT_EQ(not_object.status().field(), "checks[2]");
}

TEST_F(CodecTest, StatusJson) {
  CheckStatus pending;
  json::object p = StatusToJson(pending);
  EXPECT_EQ(p.at("state"), "PENDING");
  EXPECT_EQ(p.at("hard_state"), "PENDING");
  EXPECT_EQ(p.at("state_type"), "hard");
  EXPECT_TRUE(p.at("since").is_null());
  EXPECT_TRUE(p.at("last_result").is_null());
  EXPECT_TRUE(p.at("suppressed_by").is_null());
  EXPECT_TRUE(p.at("next_run").is_null());
  EXPECT_FALSE(p.contains("max_attempts"));
  EXPECT_FALSE(p.contains("last_ping"));

  CheckStatus s;
  s.state.pending = false;
  s.state.state = probe::Outcome::kCritical;
  s.state.hard = false;
  s.state.attempt = 2;
  s.state.hard_state = probe::Outcome::kOk;
  s.state.since = At("2026-11-27T04:00:00Z");
  s.state.hard_since = At("2026-11-26T04:00:00Z");
  s.state.flapping = true;
  s.state.flap_percent = 31.578947;
  s.in_maintenance = true;
  s.suppressed_by = "payments-db.health";
  s.next_run = At("2026-11-27T04:00:10Z");
  s.skipped_in_flight = 4;
  probe::Result r;
  r.outcome = probe::Outcome::kCritical;
  r.message = "connect: connection refused";
  r.started = At("2026-11-27T04:00:00Z");
  r.duration = std::chrono::microseconds(2500);
  s.last = r;
  s.last_in_maintenance = true;
  s.last_ping = At("2026-11-27T03:00:00Z");
  s.last_start = At("2026-11-27T02:59:00Z");
  s.last_job_duration = seconds(60);
  s.ping_deadline = At("2026-11-27T04:05:00Z");
  json::object o = StatusToJson(s);
  EXPECT_EQ(o.at("state"), "CRITICAL");
  EXPECT_EQ(o.at("state_type"), "soft");
  EXPECT_EQ(o.at("attempt"), 2);
  EXPECT_EQ(o.at("since"), "2026-11-27T04:00:00Z");
  EXPECT_EQ(o.at("hard_state"), "OK");
  EXPECT_EQ(o.at("hard_since"), "2026-11-26T04:00:00Z");
  EXPECT_EQ(o.at("flapping"), true);
  EXPECT_DOUBLE_EQ(o.at("flap_percent").as_double(), 31.58);
  EXPECT_EQ(o.at("in_maintenance"), true);
  EXPECT_EQ(o.at("suppressed_by"), "payments-db.health");
  EXPECT_EQ(o.at("next_run"), "2026-11-27T04:00:10Z");
  EXPECT_EQ(o.at("skipped_in_flight"), 4);
  EXPECT_EQ(o.at("last_result").at("outcome"), "CRITICAL");
  EXPECT_EQ(o.at("last_result").at("message"), "connect: connection refused");
  EXPECT_EQ(o.at("last_result").at("in_maintenance"), true);
  EXPECT_EQ(o.at("last_ping"), "2026-11-27T03:00:00Z");
  EXPECT_EQ(o.at("last_start"), "2026-11-27T02:59:00Z");
  EXPECT_EQ(o.at("last_job_duration"), "1m");
  EXPECT_EQ(o.at("ping_deadline"), "2026-11-27T04:05:00Z");
}

TEST_F(CodecTest, ProbeResultJsonHasOnlyTheFieldsThatApply) {
  probe::Result http;
  http.outcome = probe::Outcome::kWarning;
  http.message = "HTTP 200 in 812 ms (slower than 500ms)";
  http.started = At("2026-11-27T04:32:25.120Z");
  http.duration = std::chrono::microseconds(812000);
  http.http_status = 200;
  http.response_bytes = 512;
  http.redirects = 1;
  http.http_phases =
      probe::HttpPhases{std::chrono::microseconds(1000), std::chrono::microseconds(2000),
                        std::chrono::microseconds(3000), std::chrono::microseconds(800000),
                        std::chrono::microseconds(6000)};
  http.cert_expiry = At("2027-01-01T00:00:00Z");
  json::object h = ProbeResultToJson(http);
  EXPECT_EQ(h.at("outcome"), "WARNING");
  EXPECT_EQ(h.at("started"), "2026-11-27T04:32:25.120Z");
  EXPECT_DOUBLE_EQ(h.at("duration_seconds").as_double(), 0.812);
  EXPECT_EQ(h.at("http_status"), 200);
  EXPECT_EQ(h.at("response_bytes"), 512);
  EXPECT_EQ(h.at("redirects"), 1);
  EXPECT_DOUBLE_EQ(h.at("phases").at("processing").as_double(), 0.8);
  EXPECT_DOUBLE_EQ(h.at("phases").at("resolve").as_double(), 0.001);
  EXPECT_EQ(h.at("cert_expiry"), "2027-01-01T00:00:00Z");
  EXPECT_FALSE(h.contains("exit_code"));
  EXPECT_FALSE(h.contains("dns_answers"));
  EXPECT_FALSE(h.contains("perfdata"));

  probe::Result dns;
  dns.outcome = probe::Outcome::kOk;
  dns.dns_lookup = std::chrono::microseconds(1500);
  dns.dns_answers = {"93.184.216.34"};
  json::object d = ProbeResultToJson(dns);
  EXPECT_DOUBLE_EQ(d.at("dns_lookup_seconds").as_double(), 0.0015);
  EXPECT_EQ(d.at("dns_answers"), Yaml("['93.184.216.34']"));
  EXPECT_FALSE(d.contains("http_status"));
  EXPECT_FALSE(d.contains("phases"));
  EXPECT_FALSE(d.contains("cert_expiry"));

  probe::Result exec;
  exec.outcome = probe::Outcome::kOk;
  exec.exit_code = 0;
  exec.perfdata = {{"load1", 0.5, "", 1.0, 2.0, 0.0, std::nullopt},
                   {"time", 12, "ms", {}, {}, {}, {}}};
  json::object e = ProbeResultToJson(exec);
  EXPECT_EQ(e.at("exit_code"), 0);
  const auto& perf = e.at("perfdata").as_array();
  ASSERT_EQ(perf.size(), 2u);
  EXPECT_EQ(perf[0].at("label"), "load1");
  EXPECT_DOUBLE_EQ(perf[0].at("value").as_double(), 0.5);
  EXPECT_FALSE(perf[0].as_object().contains("unit"));
  EXPECT_DOUBLE_EQ(perf[0].at("warn").as_double(), 1.0);
  EXPECT_DOUBLE_EQ(perf[0].at("crit").as_double(), 2.0);
  EXPECT_DOUBLE_EQ(perf[0].at("min").as_double(), 0.0);
  EXPECT_FALSE(perf[0].as_object().contains("max"));
  EXPECT_EQ(perf[1].at("unit"), "ms");
  EXPECT_FALSE(perf[1].as_object().contains("warn"));
}

TEST_F(CodecTest, StoredResultAndAvailabilityJson) {
  StoredResult r;
  r.at = At("2026-11-27T04:00:00Z");
  r.outcome = probe::Outcome::kOk;
  r.duration = std::chrono::microseconds(12000);
  r.message = "HTTP 200 in 12 ms";
  r.details = R"({"http_status":200})";
  json::object o = StoredResultToJson(r);
  EXPECT_EQ(o.at("at"), "2026-11-27T04:00:00Z");
  EXPECT_EQ(o.at("outcome"), "OK");
  EXPECT_DOUBLE_EQ(o.at("duration_seconds").as_double(), 0.012);
  EXPECT_EQ(o.at("in_maintenance"), false);
  EXPECT_EQ(o.at("details").at("http_status"), 200);

  AvailabilitySummary a;
  a.report.from = At("2026-11-01T00:00:00Z");
  a.report.to = At("2026-11-02T00:00:00Z");
  a.report.monitored = std::chrono::hours(24);
  a.report.down = minutes(30);
  a.report.uptime_percent = 97.916;
  a.report.outages.push_back({At("2026-11-01T10:00:00Z"), At("2026-11-01T10:30:00Z"),
                              "payments-api.health: HTTP 503", false});
  a.response.count = 10;
  a.response.p95_ms = 120;
  json::object av = AvailabilityToJson("payments-api", a);
  EXPECT_EQ(av.at("subject"), "payments-api");
  EXPECT_EQ(av.at("from"), "2026-11-01T00:00:00Z");
  EXPECT_DOUBLE_EQ(av.at("monitored_seconds").as_double(), 86400);
  EXPECT_DOUBLE_EQ(av.at("down_seconds").as_double(), 1800);
  EXPECT_DOUBLE_EQ(av.at("uptime_percent").as_double(), 97.916);
  ASSERT_EQ(av.at("outages").as_array().size(), 1u);
  EXPECT_DOUBLE_EQ(av.at("outages").at(0).at("duration_seconds").as_double(), 1800);
  EXPECT_EQ(av.at("outages").at(0).at("cause"), "payments-api.health: HTTP 503");
  EXPECT_EQ(av.at("response_times").at("count"), 10);
  EXPECT_TRUE(av.at("response_times").at("mean_ms").is_null());
  EXPECT_DOUBLE_EQ(av.at("response_times").at("p95_ms").as_double(), 120);

  a.report.uptime_percent.reset();
  EXPECT_TRUE(AvailabilityToJson("x", a).at("uptime_percent").is_null());
}

TEST_F(CodecTest, DecodesMaintenanceWindows) {
  auto once = WindowFromJson(Yaml(R"yaml(
name: db-upgrade
services: [payments-db, payments-api]
check_labels: {tier: edge}
start: 2026-12-01T22:00:00Z
end: 2026-12-02T02:00:00+01:00
reason: Quarterly DB upgrade
)yaml"));
  ASSERT_TRUE(once.ok()) << once.status().ToString();
  EXPECT_EQ(once->name, "db-upgrade");
  EXPECT_EQ(once->services, (std::vector<std::string>{"payments-db", "payments-api"}));
  EXPECT_EQ(once->check_labels.at("tier"), "edge");
  EXPECT_EQ(once->timing.start, At("2026-12-01T22:00:00Z"));
  EXPECT_EQ(once->timing.end, At("2026-12-02T01:00:00Z"));
  EXPECT_EQ(once->timing.time_zone, "UTC");
  EXPECT_EQ(once->reason, "Quarterly DB upgrade");
  EXPECT_EQ(once->doc,
            R"({"name":"db-upgrade","services":["payments-db","payments-api"],)"
            R"("check_labels":{"tier":"edge"},"start":"2026-12-01T22:00:00Z",)"
            R"("end":"2026-12-02T01:00:00Z","time_zone":"UTC","reason":"Quarterly DB upgrade"})");

  auto cron = WindowFromJson(Yaml(R"yaml(
name: sunday-backup
services: [payments-db]
cron: "0 2 * * 0"
duration: 2h
time_zone: Europe/Berlin
start: 2026-12-01T00:00:00Z
)yaml"));
  ASSERT_TRUE(cron.ok()) << cron.status().ToString();
  EXPECT_EQ(cron->timing.cron, "0 2 * * 0");
  EXPECT_EQ(cron->timing.duration, minutes(120));
  EXPECT_EQ(cron->timing.time_zone, "Europe/Berlin");
  EXPECT_EQ(cron->timing.start, At("2026-12-01T00:00:00Z")) << "a bound of the recurrence";
  EXPECT_FALSE(cron->timing.end);

  auto weekly = WindowFromJson(Yaml(R"yaml(
name: nightly
services: [payments-api]
weekly:
  - {day: Sun, start: "02:00", end: "04:00"}
  - {day: sat, start: "22:00", end: "02:00"}
  - {day: mon, start: "9:30", end_day: fri, end: "17:00"}
  - {day: tue, start: "00:00", end: "24:00"}
)yaml"));
  ASSERT_TRUE(weekly.ok()) << weekly.status().ToString();
  ASSERT_EQ(weekly->timing.weekly.size(), 4u);
  const auto& w = weekly->timing.weekly;
  EXPECT_EQ(w[0].day, 0);
  EXPECT_EQ(w[0].start_minute, 120);
  EXPECT_EQ(w[0].end_day, 0) << "end_day defaults to the same day";
  EXPECT_EQ(w[0].end_minute, 240);
  EXPECT_EQ(w[1].day, 6);
  EXPECT_EQ(w[1].end_day, 0) << "an end before the start is on the next day";
  EXPECT_EQ(w[1].end_minute, 120);
  EXPECT_EQ(w[2].start_minute, 570);
  EXPECT_EQ(w[2].end_day, 5);
  EXPECT_EQ(w[3].end_day, 2);
  EXPECT_EQ(w[3].end_minute, 1440);
  EXPECT_EQ(weekly->doc,
            R"({"name":"nightly","services":["payments-api"],"check_labels":{},"weekly":[)"
            R"({"day":"sun","start":"02:00","end_day":"sun","end":"04:00"},)"
            R"({"day":"sat","start":"22:00","end_day":"sun","end":"02:00"},)"
            R"({"day":"mon","start":"09:30","end_day":"fri","end":"17:00"},)"
            R"({"day":"tue","start":"00:00","end_day":"tue","end":"24:00"}],)"
            R"("time_zone":"UTC","reason":""})");

  // Normalisation is idempotent, through JSON and through YAML.
  for (const auto* win : {&once.value(), &cron.value(), &weekly.value()}) {
    auto again = WindowFromJson(ParseJson(win->doc).value());
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(again->doc, win->doc);
    auto yaml = WindowFromJson(Yaml(config::JsonToYaml({json::value(WindowDocJson(*win))})));
    ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
    EXPECT_EQ(yaml->doc, win->doc);
  }
}

TEST_F(CodecTest, WindowReadOnlyFields) {
  auto w =
      WindowFromJson(Yaml("name: w\nservices: [a]\nweekly: [{day: sun, start: '01:00', "
                          "end: '02:00'}]"));
  ASSERT_TRUE(w.ok());
  w->created_by = "alice";
  w->version = 3;
  w->created_at = At("2026-11-01T00:00:00Z");
  json::object got = WindowToJson(*w);
  EXPECT_EQ(got.at("created_by"), "alice");
  EXPECT_EQ(got.at("version"), 3);
  EXPECT_EQ(got.at("created_at"), "2026-11-01T00:00:00Z");
  // Sent back, created_by is ignored: the server sets it.
  got["created_by"] = "mallory";
  auto back = WindowFromJson(json::value(got));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->created_by, "");
  EXPECT_EQ(back->version, 3);
  EXPECT_EQ(back->doc, w->doc);
}

TEST_F(CodecTest, WindowValidationErrors) {
  const std::string head = "name: w\nservices: [payments-api]\n";
  const std::string once = "start: 2026-12-01T22:00:00Z\nend: 2026-12-02T02:00:00Z\n";
  struct Case {
    std::string yaml;
    std::string error;
  };
  std::vector<Case> cases = {
      {head + once + "colour: red", "colour: unknown field"},
      {"services: [a]\n" + once, "name: is required"},
      {"name: W\nservices: [a]\n" + once, "name: must match ^[a-z0-9][a-z0-9-]{0,62}$, got \"W\""},
      {"name: w\n" + once, "services: is required"},
      {"name: w\nservices: []\n" + once, "services: must name at least one service"},
      {"name: w\nservices: [a, B]\n" + once, "services[1]: must be a service slug, got \"B\""},
      {"name: w\nservices: [a, a]\n" + once, "services[1]: \"a\" is listed twice"},
      {head + once + "check_labels: {'x y': z}",
       "check_labels.x y: label names must match ^[a-zA-Z_][a-zA-Z0-9_]*$"},
      {head + "start: tomorrow\nend: 2026-12-02T02:00:00Z",
       "start: must be an RFC 3339 timestamp like 2026-01-02T15:04:05Z, got \"tomorrow\""},
      {head + "start: 2026-12-02T02:00:00Z\nend: 2026-12-01T02:00:00Z", "end: must be after start"},
      {head + "end: 2026-12-01T02:00:00Z",
       "start: is required for a one-off window (or set cron or weekly)"},
      {head + "cron: '0 2 * * 0'\nduration: 90s", "duration: must be whole minutes, got 1m30s"},
      {head + "cron: '0 2 * * 0'\nduration: 40d", "duration: must be 1m to 31d, got 5w5d"},
      {head + "cron: '0 25 * * 0'\nduration: 1h", "cron: hour: 25 is out of range 0-23"},
      {head + "cron: '0 2 * * 0'\nduration: 1h\ntime_zone: Nowhere/City",
       "time_zone: unknown time zone \"Nowhere/City\""},
      {head + "weekly: []", "weekly: must have at least one range"},
      {head + "weekly: [{day: sunday, start: '01:00', end: '02:00'}]",
       "weekly[0].day: must be one of sun, mon, tue, wed, thu, fri, sat; got \"sunday\""},
      {head + "weekly: [{day: sun, start: '25:00', end: '02:00'}]",
       "weekly[0].start: must be a time HH:MM from 00:00 to 24:00, got \"25:00\""},
      {head + "weekly: [{day: sun, start: '01:00'}]", "weekly[0].end: is required"},
      {head + "weekly: [{day: sun, start: '01:00', end: '01:00', end_day: sun}]",
       "weekly[0].end: must differ from the start"},
      {head + "weekly: [{day: sun, start: '01:00', end: '02:00', at: 1}]",
       "weekly[0].at: unknown field"},
      {head + "cron: '0 2 * * 0'\nduration: 1h\nweekly: [{day: sun, start: '01:00', end: "
              "'02:00'}]",
       "weekly: cannot be combined with cron; set one of them"},
      {head + once + "reason: " + std::string(4001, 'r'),
       "reason: must be at most 4000 bytes, got 4001"},
  };
  for (const auto& c : cases) EXPECT_EQ(WindowError(c.yaml), c.error) << c.yaml;

  auto prefixed = WindowFromJson(Yaml(head + "end: 2026-12-01T02:00:00Z"), "windows[1]");
  EXPECT_EQ(prefixed.status().field(), "windows[1].start");
}

TEST_F(CodecTest, ModelHelpers) {
  for (CheckType t : {CheckType::kHttp, CheckType::kTcp, CheckType::kDns, CheckType::kTls,
                      CheckType::kExec, CheckType::kHeartbeat})
    EXPECT_EQ(ParseCheckType(CheckTypeName(t)), t);
  EXPECT_EQ(CheckTypeName(CheckType::kHeartbeat), "heartbeat");
  EXPECT_FALSE(ParseCheckType("HTTP"));
  for (Severity s : {Severity::kCritical, Severity::kWarning, Severity::kInfo})
    EXPECT_EQ(ParseSeverity(SeverityName(s)), s);
  EXPECT_FALSE(ParseSeverity("page"));

  auto id = SplitCheckId("payments-api.health");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->first, "payments-api");
  EXPECT_EQ(id->second, "health");
  EXPECT_FALSE(SplitCheckId("payments-api"));
  EXPECT_FALSE(SplitCheckId(".health"));
  EXPECT_FALSE(SplitCheckId("payments-api."));
  EXPECT_FALSE(SplitCheckId("payments-api.health.extra"));
  EXPECT_FALSE(SplitCheckId("Payments.health"));

  MaintenanceWindow w;
  w.services = {"payments-db", "payments-api"};
  CheckDef c;
  c.service = "payments-api";
  c.labels = {{"tier", "edge"}, {"team", "payments"}};
  EXPECT_TRUE(Covers(w, c));
  w.check_labels = {{"tier", "edge"}};
  EXPECT_TRUE(Covers(w, c));
  w.check_labels = {{"tier", "edge"}, {"team", "core"}};
  EXPECT_FALSE(Covers(w, c)) << "every label must match";
  w.check_labels = {{"zone", "eu"}};
  EXPECT_FALSE(Covers(w, c)) << "a missing label does not match";
  w.check_labels.clear();
  c.service = "search";
  EXPECT_FALSE(Covers(w, c));
}

}  // namespace
}  // namespace platops::checks
