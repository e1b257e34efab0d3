// Tests of the Prometheus-compatible API over a real HTTP server on a loopback port, a real
// metrics store and a FakeClock. Samples go in through remote write; answers are compared as the
// exact JSON Prometheus would send.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api/api.h"
#include "api/api_test_fixture.h"
#include "base/strings.h"
#include "base/time_util.h"
#include "http/client.h"
#include "ingest/remote_write.h"

namespace platops::api {
namespace {

namespace json = boost::json;
using http::Method;
using metrics::Labels;
using metrics::Sample;
using Headers = std::vector<std::pair<std::string, std::string>>;
using SeriesData = std::vector<std::pair<Labels, std::vector<Sample>>>;

constexpr const char* kAdminToken = "prometheus-api-admin-token-0123456789";
constexpr int64_t kT0 = 1767225600000;  // The FakeClock's start, 2026-01-01T00:00:00Z.

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(kAlphabet[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(kAlphabet[((val << 8) >> (bits + 8)) & 0x3F]);
  while (out.size() % 4 != 0) out.push_back('=');
  return out;
}

// The data most tests query: two `up` series and one counter, 30 s apart, ending at kT0.
SeriesData Fixture() {
  return {
      {{{"__name__", "up"}, {"instance", "a:1"}, {"job", "api"}},
       {{kT0 - 60000, 1}, {kT0 - 30000, 1}, {kT0, 1}}},
      {{{"__name__", "up"}, {"instance", "b:1"}, {"job", "db"}},
       {{kT0 - 60000, 0}, {kT0 - 30000, 1}, {kT0, 0}}},
      {{{"__name__", "http_requests_total"}, {"code", "200"}, {"job", "api"}},
       {{kT0 - 60000, 10}, {kT0 - 30000, 20}, {kT0, 40}}},
  };
}

const Headers kWriteHeaders = {{"Content-Type", "application/x-protobuf"},
                               {"Content-Encoding", "snappy"},
                               {"X-Prometheus-Remote-Write-Version", "0.1.0"},
                               {"User-Agent", "Prometheus/3.1.0"}};

class PrometheusApiTest : public ApiServerTest<FakeClock> {
 protected:
  PrometheusApiTest() : ApiServerTest(kAdminToken) {}
  void SetUp() override { StartServer(1, 2); }

  // `token` nullopt: the admin token as Bearer; "": no Authorization header.
  http::ClientResponse Send(Method m, const std::string& path, const std::string& body = "",
                            Headers headers = {}, std::optional<std::string> token = std::nullopt) {
    http::ClientRequest req;
    req.method = m;
    req.url = base_ + "/prometheus/api/v1" + path;
    req.body = body;
    req.headers = std::move(headers);
    const std::string t = token.value_or(kAdminToken);
    if (!t.empty()) req.headers.emplace_back("Authorization", "Bearer " + t);
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : http::ClientResponse{};
  }
  http::ClientResponse Get(const std::string& path) { return Send(Method::kGet, path); }
  http::ClientResponse PostForm(const std::string& path, const std::string& form) {
    return Send(Method::kPost, path, form, {{"Content-Type", "application/x-www-form-urlencoded"}});
  }
  http::ClientResponse Write(const SeriesData& series, std::optional<std::string> token = {}) {
    return Send(Method::kPost, "/write", ingest::EncodeWriteRequest(series), kWriteHeaders,
                std::move(token));
  }
  void WriteFixture() {
    auto r = Write(Fixture());
    ASSERT_EQ(r.status, 204) << r.body;
  }
  // A line of /metrics, e.g. `platops_remote_write_samples_received_total 9`.
  bool HasMetricLine(const std::string& line) {
    return ("\n" + metrics_.Render()).find("\n" + line + "\n") != std::string::npos;
  }
};

// A 200 answer's exact body.
#define EXPECT_SUCCESS(response, want_body)      \
  do {                                           \
    const http::ClientResponse& r_ = (response); \
    EXPECT_EQ(r_.status, 200) << r_.body;        \
    EXPECT_EQ(r_.body, want_body);               \
  } while (false)

constexpr const char* kUpVector =
    R"({"status":"success","data":{"resultType":"vector","result":[)"
    R"({"metric":{"__name__":"up","instance":"a:1","job":"api"},"value":[1767225600,"1"]},)"
    R"({"metric":{"__name__":"up","instance":"b:1","job":"db"},"value":[1767225600,"0"]}]}})";

TEST_F(PrometheusApiTest, RemoteWriteThenInstantQueryAnswersPrometheusJson) {
  WriteFixture();
  auto r = Get("/query?query=up&time=1767225600");
  EXPECT_SUCCESS(r, kUpVector);
  EXPECT_EQ(r.headers.Get("Content-Type").value_or(""), "application/json");
  // Without `time` the query runs at the server's now (the fake clock's kT0).
  EXPECT_SUCCESS(Get("/query?query=up"), kUpVector);
  // POST with a form body, the way Grafana sends it; form values come before URL values.
  EXPECT_SUCCESS(PostForm("/query?query=nothing", "query=up&time=2026-01-01T00%3A00%3A00Z"),
                 kUpVector);
}

TEST_F(PrometheusApiTest, TimestampsKeepTheirMilliseconds) {
  WriteFixture();
  EXPECT_SUCCESS(Get("/query?query=http_requests_total&time=2026-01-01T00:00:00.5Z"),
                 R"({"status":"success","data":{"resultType":"vector","result":[{"metric":)"
                 R"({"__name__":"http_requests_total","code":"200","job":"api"},)"
                 R"("value":[1767225600.500,"40"]}]}})");
  // Float seconds are rounded to the millisecond, as Prometheus does.
  EXPECT_SUCCESS(Get("/query?query=2&time=1767225600.0456"),
                 R"({"status":"success","data":{"resultType":"scalar",)"
                 R"("result":[1767225600.046,"2"]}})");
}

TEST_F(PrometheusApiTest, SampleValuesAreFormattedLikeGo) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  SeriesData edge;
  for (const auto& [name, v] :
       std::vector<std::pair<std::string, double>>{{"big", 1e21},
                                                   {"frac", 0.1},
                                                   {"inf", inf},
                                                   {"large", 123456789012345678e3},
                                                   {"mixed", 1234.5678},
                                                   {"nan", nan},
                                                   {"neg", -2.5},
                                                   {"negzero", -0.0},
                                                   {"small", 1e-7},
                                                   {"tiny", 0.000123},
                                                   {"zero", 0}}) {
    edge.push_back({{{"__name__", "edge"}, {"case", name}}, {{kT0, v}}});
  }
  ASSERT_EQ(Write(edge).status, 204);
  auto row = [](const std::string& name, const std::string& value) {
    return R"({"metric":{"__name__":"edge","case":")" + name + R"("},"value":[1767225600,")" +
           value + R"("]})";
  };
  EXPECT_SUCCESS(Get("/query?query=edge&time=1767225600"),
                 R"({"status":"success","data":{"resultType":"vector","result":[)" +
                     row("big", "1e+21") + "," + row("frac", "0.1") + "," + row("inf", "+Inf") +
                     "," + row("large", "123456789012345680000") + "," + row("mixed", "1234.5678") +
                     "," + row("nan", "NaN") + "," + row("neg", "-2.5") + "," +
                     row("negzero", "-0") + "," + row("small", "1e-07") + "," +
                     row("tiny", "0.000123") + "," + row("zero", "0") + "]}}");
}

TEST_F(PrometheusApiTest, ScalarStringAndRangeVectorResults) {
  WriteFixture();
  EXPECT_SUCCESS(Get("/query?query=1.5&time=1767225600"),
                 R"({"status":"success","data":{"resultType":"scalar",)"
                 R"("result":[1767225600,"1.5"]}})");
  EXPECT_SUCCESS(Get("/query?query=%22hi%20%5C%22there%5C%22%22&time=1767225600"),
                 R"({"status":"success","data":{"resultType":"string",)"
                 R"("result":[1767225600,"hi \"there\""]}})");
  EXPECT_SUCCESS(Get("/query?query=http_requests_total%5B1m%5D&time=1767225600"),
                 R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":)"
                 R"({"__name__":"http_requests_total","code":"200","job":"api"},)"
                 R"("values":[[1767225570,"20"],[1767225600,"40"]]}]}})");
}

TEST_F(PrometheusApiTest, RangeQueryAnswersAMatrix) {
  WriteFixture();
  const std::string want = R"({"status":"success","data":{"resultType":"matrix","result":[)"
                           R"({"metric":{"__name__":"up","instance":"a:1","job":"api"},)"
                           R"("values":[[1767225540,"1"],[1767225570,"1"],[1767225600,"1"]]},)"
                           R"({"metric":{"__name__":"up","instance":"b:1","job":"db"},)"
                           R"("values":[[1767225540,"0"],[1767225570,"1"],[1767225600,"0"]]}]}})";
  EXPECT_SUCCESS(Get("/query_range?query=up&start=1767225540&end=1767225600&step=30"), want);
  EXPECT_SUCCESS(PostForm("/query_range",
                          "query=up&start=2026-01-01T00%3A59%3A00%2B01%3A00"
                          "&end=1767225600&step=30s"),
                 want);
  // Exactly 11,000 steps are allowed.
  EXPECT_EQ(Get("/query_range?query=up&start=0&end=11000&step=1").status, 200);
}

TEST_F(PrometheusApiTest, LimitTruncatesWithAWarning) {
  WriteFixture();
  EXPECT_SUCCESS(
      Get("/query?query=up&time=1767225600&limit=1"),
      R"({"status":"success","data":{"resultType":"vector","result":[)"
      R"({"metric":{"__name__":"up","instance":"a:1","job":"api"},"value":[1767225600,"1"]}]},)"
      R"("warnings":["results truncated due to limit"]})");
  EXPECT_SUCCESS(Get("/series?match%5B%5D=up&limit=1"),
                 R"({"status":"success","data":[{"__name__":"up","instance":"a:1","job":"api"}],)"
                 R"("warnings":["results truncated due to limit"]})");
  EXPECT_SUCCESS(Get("/labels?limit=2"), R"({"status":"success","data":["__name__","code"],)"
                                         R"("warnings":["results truncated due to limit"]})");
  // A limit the answer fits in adds no warning; 0 means no limit.
  EXPECT_SUCCESS(Get("/label/job/values?limit=2"), R"({"status":"success","data":["api","db"]})");
  EXPECT_SUCCESS(Get("/label/job/values?limit=0"), R"({"status":"success","data":["api","db"]})");
}

TEST_F(PrometheusApiTest, SeriesLabelsAndValues) {
  WriteFixture();
  EXPECT_SUCCESS(Get("/series?match%5B%5D=up"),
                 R"({"status":"success","data":[)"
                 R"({"__name__":"up","instance":"a:1","job":"api"},)"
                 R"({"__name__":"up","instance":"b:1","job":"db"}]})");
  // Several selectors: the union, each series once, sorted.
  EXPECT_SUCCESS(PostForm("/series", "match[]=up&match%5B%5D=%7Bjob%3D%22api%22%7D"),
                 R"({"status":"success","data":[)"
                 R"({"__name__":"http_requests_total","code":"200","job":"api"},)"
                 R"({"__name__":"up","instance":"a:1","job":"api"},)"
                 R"({"__name__":"up","instance":"b:1","job":"db"}]})");
  // A range after the last sample selects nothing.
  EXPECT_SUCCESS(Get("/series?match%5B%5D=up&start=1767225601"),
                 R"({"status":"success","data":[]})");

  EXPECT_SUCCESS(Get("/labels"),
                 R"({"status":"success","data":["__name__","code","instance","job"]})");
  EXPECT_SUCCESS(Get("/labels?match%5B%5D=up"),
                 R"({"status":"success","data":["__name__","instance","job"]})");
  EXPECT_SUCCESS(Get("/label/__name__/values"),
                 R"({"status":"success","data":["http_requests_total","up"]})");
  EXPECT_SUCCESS(Get("/label/job/values?match%5B%5D=http_requests_total"),
                 R"({"status":"success","data":["api"]})");
  EXPECT_SUCCESS(Get("/label/nope/values"), R"({"status":"success","data":[]})");
  // "U__" names are unescaped as in Prometheus 3: _6f_ is "o".
  EXPECT_SUCCESS(Get("/label/U__j_6f_b/values"), R"({"status":"success","data":["api","db"]})");
}

TEST_F(PrometheusApiTest, FormatQueryExemplarsAndMetadata) {
  EXPECT_SUCCESS(Get("/format_query?query=sum(rate(x%5B5m%5D))by(job)"),
                 R"j({"status":"success","data":"sum by (job) (rate(x[5m]))"})j");
  EXPECT_SUCCESS(PostForm("/query_exemplars", "query=up&start=1767225000&end=1767225600"),
                 R"({"status":"success","data":[]})");
  // A query without selectors has no exemplars to look for: 204, as in Prometheus.
  auto none = Get("/query_exemplars?query=1%2B1");
  EXPECT_EQ(none.status, 204);
  EXPECT_EQ(none.body, "");
  EXPECT_SUCCESS(Get("/metadata"), R"({"status":"success","data":{}})");
  EXPECT_SUCCESS(Get("/metadata?limit=5&metric=up"), R"({"status":"success","data":{}})");
}

TEST_F(PrometheusApiTest, StatusPages) {
  WriteFixture();
  EXPECT_SUCCESS(Get("/status/buildinfo"),
                 R"({"status":"success","data":{"version":"test","revision":"","branch":"",)"
                 R"("buildUser":"","buildDate":"","goVersion":""}})");

  auto runtime = Get("/status/runtimeinfo");
  ASSERT_EQ(runtime.status, 200) << runtime.body;
  const json::value info = Json(runtime).at("data");
  EXPECT_EQ(Str(info.at("startTime")), "2026-01-01T00:00:00Z");
  EXPECT_EQ(Str(info.at("lastConfigTime")), "2026-01-01T00:00:00Z");
  EXPECT_EQ(info.at("reloadConfigSuccess"), json::value(true));
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  EXPECT_EQ(Str(info.at("CWD")), cwd);
  EXPECT_EQ(info.at("corruptionCount").as_int64(), 0);
  EXPECT_GT(info.at("goroutineCount").as_int64(), 1);

  auto tsdb = Get("/status/tsdb");
  ASSERT_EQ(tsdb.status, 200) << tsdb.body;
  const json::value data = Json(tsdb).at("data");
  const json::value& head = data.at("headStats");
  EXPECT_EQ(head.at("numSeries").as_int64(), 3);
  EXPECT_EQ(head.at("numLabelPairs").as_int64(), 7);
  // kT0 is on a 2 h chunk-range boundary: each series has a chunk before it and one from it.
  EXPECT_EQ(head.at("chunkCount").as_int64(), 6);
  EXPECT_EQ(head.at("minTime").as_int64(), kT0 - 60000);
  EXPECT_EQ(head.at("maxTime").as_int64(), kT0);
  EXPECT_EQ(json::serialize(data.at("seriesCountByMetricName")),
            R"([{"name":"up","value":2},{"name":"http_requests_total","value":1}])");
  EXPECT_EQ(json::serialize(data.at("labelValueCountByLabelName")),
            R"([{"name":"__name__","value":2},{"name":"instance","value":2},)"
            R"({"name":"job","value":2},{"name":"code","value":1}])");
  EXPECT_EQ(json::serialize(data.at("memoryInBytesByLabelName")),
            R"([{"name":"__name__","value":21},{"name":"instance","value":6},)"
            R"({"name":"job","value":5},{"name":"code","value":3}])");
  EXPECT_EQ(json::serialize(data.at("seriesCountByLabelValuePair")),
            R"([{"name":"__name__=up","value":2},{"name":"job=api","value":2},)"
            R"({"name":"__name__=http_requests_total","value":1},{"name":"code=200","value":1},)"
            R"({"name":"instance=a:1","value":1},{"name":"instance=b:1","value":1},)"
            R"({"name":"job=db","value":1}])");
  auto top1 = Get("/status/tsdb?limit=1");
  ASSERT_EQ(top1.status, 200) << top1.body;
  EXPECT_EQ(json::serialize(Json(top1).at("data").at("seriesCountByMetricName")),
            R"([{"name":"up","value":2}])");
}

struct BadRequest {
  std::string path;  // GET unless `form` is set
  std::string form;  // POSTed as application/x-www-form-urlencoded
  int status;
  std::string error_type;
  std::string error;
};

TEST_F(PrometheusApiTest, ErrorsHavePrometheusStatusTypeAndMessage) {
  WriteFixture();
  const std::string kResolution =
      "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
      "resolution (?step=XX)";
  const std::vector<BadRequest> cases = {
      {"/query?query=up&time=x", "", 400, "bad_data",
       R"(invalid parameter "time": Invalid time value for 'time': cannot parse "x" to a valid timestamp)"},
      {"/query?query=up&timeout=x", "", 400, "bad_data",
       R"(invalid parameter "timeout": cannot parse "x" to a valid duration)"},
      {"/query?query=up&limit=-1", "", 400, "bad_data",
       R"(invalid parameter "limit": limit must be non-negative)"},
      {"/query?query=up&limit=x", "", 400, "bad_data",
       R"(invalid parameter "limit": strconv.Atoi: parsing "x": invalid syntax)"},
      {"/query_range?query=up&start=x&end=1&step=1", "", 400, "bad_data",
       R"(invalid parameter "start": cannot parse "x" to a valid timestamp)"},
      {"/query_range?query=up&start=1&step=1", "", 400, "bad_data",
       R"(invalid parameter "end": cannot parse "" to a valid timestamp)"},
      {"/query_range?query=up&start=2&end=1&step=1", "", 400, "bad_data",
       R"(invalid parameter "end": end timestamp must not be before start time)"},
      {"/query_range?query=up&start=1&end=2&step=0", "", 400, "bad_data",
       R"(invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer)"},
      {"/query_range?query=up&start=1&end=2&step=-1", "", 400, "bad_data",
       R"(invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer)"},
      {"/query_range?query=up&start=1&end=2&step=1.5m", "", 400, "bad_data",
       R"(invalid parameter "step": cannot parse "1.5m" to a valid duration)"},
      {"/query_range?query=up&start=1&end=2&step=1e300", "", 400, "bad_data",
       R"(invalid parameter "step": cannot parse "1e300" to a valid duration. It overflows int64)"},
      {"/query_range?query=up&start=0&end=11001&step=1", "", 400, "bad_data", kResolution},
      {"/query_range", "query=up&start=0&end=1100.1&step=0.1", 400, "bad_data", kResolution},
      {"/query_range?query=up%5B5m%5D&start=1&end=2&step=1", "", 400, "bad_data",
       R"(invalid expression type "range vector" for range query, must be Scalar or instant Vector)"},
      {"/query", "query=%zz", 400, "bad_data",
       R"(error parsing form values: invalid URL escape "%zz")"},
      {"/query?query=up&timeout=0", "", 503, "timeout", "query timed out in query queue"},
      {"/series", "", 400, "bad_data", "no match[] parameter provided"},
      {"/series?match%5B%5D=%7Bjob%3D~%22.*%22%7D", "", 400, "bad_data",
       R"(invalid parameter "match[]": match[] must contain at least one non-empty matcher)"},
      {"/series?match%5B%5D=up&start=x", "", 400, "bad_data",
       R"(invalid parameter "start": Invalid time value for 'start': cannot parse "x" to a valid timestamp)"},
      {"/labels?limit=99999999999999999999", "", 400, "bad_data",
       R"(invalid parameter "limit": strconv.Atoi: parsing "99999999999999999999": value out of range)"},
      {"/series?match%5B%5D=up&limit=1.5", "", 400, "bad_data",
       R"(invalid parameter "limit": strconv.Atoi: parsing "1.5": invalid syntax)"},
      {"/labels?match%5B%5D=%7Bjob%3D~%22.*%22%7D", "", 400, "bad_data",
       "match[] must contain at least one non-empty matcher"},
      {"/label/job/values?end=yesterday", "", 400, "bad_data",
       R"(invalid parameter "end": Invalid time value for 'end': cannot parse "yesterday" to a valid timestamp)"},
      {"/label/%FF/values", "", 400, "bad_data", R"(invalid label name: "\xff")"},
      {"/status/tsdb?limit=0", "", 400, "bad_data", "limit must be a positive number"},
      {"/metadata?limit=x", "", 400, "bad_data", "limit must be a number"},
      {"/query_exemplars?query=up&start=2&end=1", "", 400, "bad_data",
       "end timestamp must not be before start timestamp"},
  };
  for (const BadRequest& c : cases) {
    SCOPED_TRACE(c.path + " " + c.form);
    auto r = c.form.empty() ? Get(c.path) : PostForm(c.path, c.form);
    EXPECT_EQ(r.status, c.status) << r.body;
    std::string want = R"({"status":"error","errorType":")" + c.error_type + R"(","error":)";
    want += json::serialize(json::value(c.error)) + "}";
    EXPECT_EQ(r.body, want);
  }
}

TEST_F(PrometheusApiTest, QueryErrorsFromTheEngine) {
  WriteFixture();
  // Instant queries name the parameter; range queries do not (as in Prometheus).
  auto instant = Json(Get("/query?query=sum("));
  EXPECT_EQ(Str(instant.at("errorType")), "bad_data");
  EXPECT_TRUE(StartsWith(Str(instant.at("error")), "invalid parameter \"query\": 1:5: parse error"))
      << Str(instant.at("error"));
  auto range = Get("/query_range?query=sum(&start=1&end=2&step=1");
  EXPECT_EQ(range.status, 400);
  EXPECT_TRUE(StartsWith(Str(Json(range).at("error")), "1:5: parse error")) << range.body;
  auto format = Json(Get("/format_query?query=sum("));
  EXPECT_TRUE(StartsWith(Str(format.at("error")), "invalid parameter \"query\": 1:5: parse error"));
  // Both `up` series have the same (empty) match signature: many-to-many, an execution error.
  auto exec = Get("/query?query=up%20*%20on()%20up&time=1767225600");
  EXPECT_EQ(exec.status, 422) << exec.body;
  EXPECT_EQ(Str(Json(exec).at("errorType")), "execution");
}

// Sends `request` to 127.0.0.1:`port` on a new connection and hangs up without reading.
bool SendAndHangUp(uint16_t port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  std::string_view data = request;
  while (ok && !data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    ok = n > 0;
    if (ok) data.remove_prefix(static_cast<size_t>(n));
  }
  ::close(fd);
  return ok;
}

TEST_F(PrometheusApiTest, QueryStopsWhenItsClientHangsUp) {
  // 2,000 series over 3 h at a 1 s step: each query below takes far longer than the moment the
  // server needs to see its client go.
  constexpr int64_t kStart = kT0 - 3 * 3600 * 1000;
  SeriesData many;
  for (int i = 0; i < 2000; ++i) {
    many.push_back({{{"__name__", "slow"}, {"i", std::to_string(i)}}, {{kStart, 1}}});
  }
  ASSERT_EQ(Write(many).status, 204);
  EXPECT_TRUE(HasMetricLine(R"(platops_prometheus_queries_canceled_total{endpoint="query"} 0)"));

  const std::vector<std::pair<std::string, std::string>> queries = {
      {"query", "/query?query=count(count_over_time(slow%5B3h%3A1s%5D))&time=1767225600"},
      {"query_range", "/query_range?query=count(slow)&start=1767214800&end=1767225600&step=1"},
  };
  for (const auto& [endpoint, path] : queries) {
    SCOPED_TRACE(endpoint);
    ASSERT_TRUE(SendAndHangUp(server_->port(), "GET /prometheus/api/v1" + path +
                                                   " HTTP/1.1\r\nHost: x\r\nAuthorization: "
                                                   "Bearer " +
                                                   std::string(kAdminToken) + "\r\n\r\n"));
    // The engine stops the query and the API counts it; its 499 answer is written to nobody.
    const std::string canceled =
        R"(platops_prometheus_queries_canceled_total{endpoint=")" + endpoint + R"("} 1)";
    const std::string answered = R"(platops_http_requests_total{route="/prometheus/api/v1/)" +
                                 endpoint + R"(",method="GET",code="499"} 1)";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!(HasMetricLine(canceled) && HasMetricLine(answered)) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_TRUE(HasMetricLine(canceled)) << metrics_.Render();
    EXPECT_TRUE(HasMetricLine(answered)) << metrics_.Render();
    // Had it not been canceled, end the query by its timeout rather than let it run on.
    if (!HasMetricLine(canceled)) clock_.Advance(std::chrono::hours(24));
  }

  // A client that waits gets its answer, and nothing more is counted as canceled.
  EXPECT_SUCCESS(Get("/query?query=count(slow)&time=1767214800"),
                 R"({"status":"success","data":{"resultType":"vector","result":[)"
                 R"({"metric":{},"value":[1767214800,"2000"]}]}})");
  EXPECT_TRUE(HasMetricLine(R"(platops_prometheus_queries_canceled_total{endpoint="query"} 1)"));
}

TEST_F(PrometheusApiTest, RemoteWriteStatusesAndCounters) {
  WriteFixture();
  EXPECT_TRUE(HasMetricLine("platops_remote_write_samples_received_total 9"));
  EXPECT_TRUE(HasMetricLine(R"(platops_remote_write_requests_total{code="204"} 1)"));

  // An older sample than the newest of its series: the rest is stored, the sender gets 400.
  auto ooo = Write({{{{"__name__", "up"}, {"instance", "a:1"}, {"job", "api"}}, {{kT0 - 90000, 1}}},
                    {{{"__name__", "fresh"}}, {{kT0, 7}}}});
  EXPECT_EQ(ooo.status, 400);
  EXPECT_TRUE(StartsWith(ooo.body, "1 of 2 samples rejected (out_of_order: 1)")) << ooo.body;
  EXPECT_TRUE(
      HasMetricLine(R"(platops_remote_write_samples_rejected_total{reason="out_of_order"} 1)"));
  EXPECT_SUCCESS(Get("/query?query=fresh&time=1767225600"),
                 R"({"status":"success","data":{"resultType":"vector","result":[)"
                 R"({"metric":{"__name__":"fresh"},"value":[1767225600,"7"]}]}})");

  auto corrupt = Send(Method::kPost, "/write", "not snappy at all", kWriteHeaders);
  EXPECT_EQ(corrupt.status, 400);
  EXPECT_EQ(corrupt.body, "snappy: corrupt input\n");

  const std::string body = ingest::EncodeWriteRequest(Fixture());
  auto json_type = Send(Method::kPost, "/write", body, {{"Content-Type", "application/json"}});
  EXPECT_EQ(json_type.status, 415);
  EXPECT_EQ(json_type.body,
            "expected application/x-protobuf as the first (media) part, got application/json "
            "content-type\n");
  auto v2 = Send(Method::kPost, "/write", body,
                 {{"Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request"}});
  EXPECT_EQ(v2.status, 415);
  EXPECT_EQ(v2.body,
            "io.prometheus.write.v2.Request protobuf message is not accepted by this server; "
            "accepted [prometheus.WriteRequest]\n");
  auto gzip = Send(Method::kPost, "/write", body,
                   {{"Content-Type", "application/x-protobuf"}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(gzip.status, 415);
  EXPECT_EQ(gzip.body,
            "gzip encoding (compression) is not accepted by this server; only snappy is "
            "acceptable\n");
  // No Content-Type and no Content-Encoding: remote write 1.0 and snappy, as Prometheus assumes.
  // (An empty value makes curl leave out its default form Content-Type.)
  const std::string fresh = ingest::EncodeWriteRequest({{{{"__name__", "plain"}}, {{kT0, 1}}}});
  EXPECT_EQ(Send(Method::kPost, "/write", fresh, {{"Content-Type", ""}}).status, 204);
  EXPECT_TRUE(HasMetricLine(R"(platops_remote_write_requests_total{code="415"} 3)"));
}

TEST_F(PrometheusApiTest, ReadsNeedATokenAndWritesNeedOperator) {
  WriteFixture();
  for (const char* path : {"/query?query=up", "/labels", "/series?match%5B%5D=up",
                           "/status/buildinfo", "/label/job/values"}) {
    SCOPED_TRACE(path);
    auto r = Send(Method::kGet, path, "", {}, "");
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(ErrorCode(r), "unauthenticated");
  }
  EXPECT_EQ(Write(Fixture(), "").status, 401);
  EXPECT_EQ(Write(Fixture(), "wrong-token").status, 401);

  // Basic auth with the token as password, as Grafana and Prometheus senders use it.
  http::ClientRequest basic;
  basic.url = base_ + "/prometheus/api/v1/query?query=up&time=1767225600";
  basic.headers = {{"Authorization", "Basic " + Base64(std::string("grafana:") + kAdminToken)}};
  auto r = client_->Send(basic);
  ASSERT_TRUE(r.ok());
  EXPECT_SUCCESS(*r, kUpVector);

  const std::string viewer = MakeToken("viewer");
  EXPECT_EQ(Send(Method::kGet, "/query?query=up", "", {}, viewer).status, 200);
  auto denied = Write(Fixture(), viewer);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(ErrorCode(denied), "forbidden");
  const std::string responder = MakeToken("responder");
  EXPECT_EQ(Write(Fixture(), responder).status, 403);
  const std::string operator_token = MakeToken("operator");
  EXPECT_EQ(Write({{{{"__name__", "by_operator"}}, {{kT0, 1}}}}, operator_token).status, 204);
}

class PrometheusAnonymousTest : public PrometheusApiTest {
 protected:
  void SetUp() override {
    anonymous_query_ = true;
    StartServer(1, 2);
  }
};

TEST_F(PrometheusAnonymousTest, ReadsWorkWithoutATokenButWritesDoNot) {
  WriteFixture();
  EXPECT_SUCCESS(Send(Method::kGet, "/query?query=up&time=1767225600", "", {}, ""), kUpVector);
  EXPECT_EQ(Send(Method::kGet, "/labels", "", {}, "").status, 200);
  EXPECT_EQ(Send(Method::kGet, "/status/tsdb", "", {}, "").status, 200);
  EXPECT_EQ(Write(Fixture(), "").status, 401);
  // The rest of the API is not opened by the switch.
  EXPECT_EQ(ErrorCode(Call(Method::kGet, "/api/v1/services", "", "")), "unauthenticated");
}

// The requests Grafana 10's Prometheus data source sends (pkg/promlib/client/client.go for
// queries, the language provider for metadata, both through Grafana's backend): POST with form
// bodies whose keys Go's url.Values.Encode sorted, times as float seconds, Basic auth.
TEST_F(PrometheusApiTest, GrafanaReplay) {
  WriteFixture();
  const Headers grafana = {
      {"User-Agent", "Grafana/10.4.1"},
      {"Accept-Encoding", "gzip"},
      {"Authorization", "Basic " + Base64(std::string("grafana:") + kAdminToken)}};
  // Each answer: 200, JSON, status success; returns the response.
  auto call = [&](Method m, const std::string& path, const std::string& form = "") {
    Headers h = grafana;
    if (m == Method::kPost) h.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    auto r = Send(m, path, form, std::move(h), "");
    EXPECT_EQ(r.status, 200) << path << " " << r.body;
    EXPECT_EQ(r.headers.Get("Content-Type").value_or(""), "application/json");
    EXPECT_EQ(Str(Json(r).at("status")), "success") << r.body;
    return r;
  };
  // Data source settings: feature detection, then "Save & test" (an instant query of 1+1).
  EXPECT_EQ(Str(Json(call(Method::kGet, "/status/buildinfo")).at("data").at("version")), "test");
  EXPECT_EQ(call(Method::kPost, "/query", "query=1%2B1&time=1767225600.123").body,
            R"({"status":"success","data":{"resultType":"scalar",)"
            R"("result":[1767225600.123,"2"]}})");
  // Query editor: metric browser and label pickers.
  EXPECT_EQ(call(Method::kGet, "/labels?start=1767222000&end=1767225600").body,
            R"({"status":"success","data":["__name__","code","instance","job"]})");
  EXPECT_EQ(call(Method::kGet, "/label/__name__/values?start=1767222000&end=1767225600").body,
            R"({"status":"success","data":["http_requests_total","up"]})");
  EXPECT_EQ(
      call(Method::kGet, "/label/job/values?match%5B%5D=up&start=1767222000&end=1767225600").body,
      R"({"status":"success","data":["api","db"]})");
  EXPECT_EQ(Json(call(Method::kGet, "/series?match%5B%5D=up&start=1767222000&end=1767225600"))
                .at("data")
                .as_array()
                .size(),
            2u);
  EXPECT_EQ(call(Method::kGet, "/metadata").body, R"({"status":"success","data":{}})");
  // A panel: the range query, then exemplars when they are switched on.
  EXPECT_EQ(
      call(Method::kPost, "/query_range",
           "end=1767225600&query=sum+by+%28job%29+%28rate%28http_requests_total%5B1m%5D%29%29"
           "&start=1767225540&step=30")
          .body,
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"job":"api"},)"
      R"("values":[[1767225570,"0.3333333333333333"],[1767225600,"0.6666666666666666"]]}]}})");
  EXPECT_EQ(call(Method::kPost, "/query_exemplars",
                 "end=1767225600&query=http_requests_total&start=1767225540")
                .body,
            R"({"status":"success","data":[]})");
}

}  // namespace
}  // namespace platops::api
