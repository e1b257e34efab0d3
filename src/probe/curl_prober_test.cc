#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "probe/prober.h"
#include "probe/test_targets.h"

namespace platops::probe {
namespace {

using std::chrono::milliseconds;
using targets::Behaviour;
using targets::CertOptions;
using targets::TestCa;
using targets::TestCert;
using targets::TestServer;
using Steady = std::chrono::steady_clock;

constexpr auto kDay = std::chrono::hours(24);

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

class CurlProberTest : public ::testing::Test {
 protected:
  void SetUp() override { StartProber(EngineOptions{}); }
  void TearDown() override {
    if (prober_) prober_->Stop();
  }

  void StartProber(const EngineOptions& options, const Clock* clock = nullptr) {
    if (prober_) prober_->Stop();
    prober_ = NewCurlProber(options, clock != nullptr ? *clock : system_clock_);
    prober_->Start();
  }

  static std::shared_ptr<const Spec> Prepared(Spec spec) {
    Status st = Prepare(spec);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return std::make_shared<const Spec>(std::move(spec));
  }

  static HttpSpec Http(const std::string& url) {
    HttpSpec s;
    s.url = url;
    return s;
  }

  // Runs one probe and waits for its result.
  Result RunSync(Spec spec, milliseconds timeout = milliseconds(2000)) {
    return RunAsync(std::move(spec), timeout).get();
  }

  std::future<Result> RunAsync(Spec spec, milliseconds timeout) {
    auto promise = std::make_shared<std::promise<Result>>();
    std::future<Result> f = promise->get_future();
    prober_->Run(Prepared(std::move(spec)), timeout,
                 [promise](Result r) { promise->set_value(std::move(r)); });
    return f;
  }

  SystemClock system_clock_;
  FakeClock fake_clock_;
  std::unique_ptr<Prober> prober_;
};

TEST_F(CurlProberTest, HealthyTargetIsOk) {
  auto server = TestServer::Start(Behaviour::HttpOk("all good"));
  StartProber(EngineOptions{}, &fake_clock_);
  Result r = RunSync(Http(server->Url("/healthz")));
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
  EXPECT_TRUE(r.message.starts_with("HTTP 200 in ")) << r.message;
  EXPECT_TRUE(r.message.ends_with(" ms")) << r.message;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.response_bytes, 8);
  EXPECT_EQ(r.redirects, 0);
  EXPECT_EQ(r.started, fake_clock_.Now());
  EXPECT_GT(r.duration.count(), 0);
  ASSERT_TRUE(r.http_phases.has_value());
  EXPECT_GT(r.http_phases->connect.count(), 0);
  EXPECT_EQ(r.http_phases->tls.count(), 0);
  EXPECT_LE(r.http_phases->resolve + r.http_phases->connect + r.http_phases->processing +
                r.http_phases->transfer,
            r.duration);
  EXPECT_FALSE(r.cert_expiry.has_value());
  ASSERT_EQ(server->requests().size(), 1u);
  EXPECT_TRUE(server->requests()[0].starts_with("GET /healthz HTTP/1.1\r\n"));
}

TEST_F(CurlProberTest, StatusOutsideExpectedRangesIsCritical) {
  auto server = TestServer::Start(Behaviour::HttpOk("down", 503));
  Result r = RunSync(Http(server->Url()));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "HTTP 503 (expected 200-399)");
  EXPECT_EQ(r.http_status, 503);

  HttpSpec s = Http(server->Url());
  s.expected_status = {{200, 299}, {503, 503}};
  r = RunSync(s);
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;

  s.expected_status = {{200, 204}, {301, 302}};
  r = RunSync(s);
  EXPECT_EQ(r.message, "HTTP 503 (expected 200-204, 301-302)");
}

TEST_F(CurlProberTest, BodyContainsAndRegex) {
  auto server = TestServer::Start(Behaviour::HttpOk("{\"status\": \"up\", \"db\": \"ok\"}"));
  HttpSpec s = Http(server->Url());
  s.body_contains = "\"db\": \"ok\"";
  s.body_regex = "status\"\\s*:\\s*\"(up|degraded)\"";
  EXPECT_EQ(RunSync(s).outcome, Outcome::kOk);

  s.body_contains = "healthy";
  Result r = RunSync(s);
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "body does not contain \"healthy\"");

  s.body_contains = "";
  s.body_regex = "status\"\\s*:\\s*\"down\"";
  r = RunSync(s);
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "body does not match regex \"status\"\\s*:\\s*\"down\"\"");
}

TEST_F(CurlProberTest, JsonAssertionWithEveryOperator) {
  auto server = TestServer::Start(
      Behaviour::HttpOk(R"({"data":{"state":"up","count":7,"ratio":0.25,"tags":["eu","prod"],)"
                        R"("items":[{"state":"down"}],"nothing":null}})"));
  struct Case {
    std::string path;
    JsonOp op;
    std::string value;
    std::string failure;  // empty: passes
  };
  std::vector<Case> cases = {
      {"data.state", JsonOp::kEq, "up", ""},
      {"data.items.0.state", JsonOp::kEq, "up",
       "json data.items.0.state: got \"down\", expected == \"up\""},
      {"data.count", JsonOp::kEq, "7.0", ""},  // numbers compare as numbers
      {"data.state", JsonOp::kNe, "down", ""},
      {"data.state", JsonOp::kNe, "up", "json data.state: got \"up\", expected != \"up\""},
      {"data.count", JsonOp::kLt, "10", ""},
      {"data.count", JsonOp::kLt, "7", "json data.count: got 7, expected < 7"},
      {"data.count", JsonOp::kLe, "7", ""},
      {"data.ratio", JsonOp::kLe, "0.2", "json data.ratio: got 0.25, expected <= 0.2"},
      {"data.count", JsonOp::kGt, "6", ""},
      {"data.count", JsonOp::kGt, "100", "json data.count: got 7, expected > 100"},
      {"data.count", JsonOp::kGe, "7", ""},
      {"data.count", JsonOp::kGe, "8", "json data.count: got 7, expected >= 8"},
      {"data.tags", JsonOp::kContains, "prod", ""},
      {"data.tags", JsonOp::kContains, "us",
       "json data.tags: got [\"eu\",\"prod\"], expected contains \"us\""},
      {"data.state", JsonOp::kContains, "u", ""},
      {"data.nothing", JsonOp::kExists, "", ""},
      {"data.missing", JsonOp::kExists, "", "json data.missing: not found"},
      {"data.items.3.state", JsonOp::kEq, "up", "json data.items.3.state: not found"},
      {"data.state.deeper", JsonOp::kEq, "up", "json data.state.deeper: not found"},
  };
  for (const Case& c : cases) {
    HttpSpec s = Http(server->Url());
    s.json_path = c.path;
    s.json_op = c.op;
    s.json_value = c.value;
    Result r = RunSync(s);
    if (c.failure.empty()) {
      EXPECT_EQ(r.outcome, Outcome::kOk) << c.path << ": " << r.message;
    } else {
      EXPECT_EQ(r.outcome, Outcome::kCritical) << c.path;
      EXPECT_EQ(r.message, c.failure);
    }
  }
}

TEST_F(CurlProberTest, JsonAssertionOnABodyThatIsNotJson) {
  auto server = TestServer::Start(Behaviour::HttpOk("<html>ok</html>"));
  HttpSpec s = Http(server->Url());
  s.json_path = "status";
  s.json_op = JsonOp::kExists;
  Result r = RunSync(s);
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_TRUE(r.message.starts_with("body is not valid JSON: ")) << r.message;
}

TEST_F(CurlProberTest, SlowerThanMaxResponseTimeIsWarning) {
  Behaviour b = Behaviour::HttpOk("ok");
  b.delay = milliseconds(60);
  auto server = TestServer::Start(b);
  HttpSpec s = Http(server->Url());
  s.max_response_time = milliseconds(20);
  Result r = RunSync(s);
  EXPECT_EQ(r.outcome, Outcome::kWarning) << r.message;
  EXPECT_TRUE(r.message.starts_with("HTTP 200 in ")) << r.message;
  EXPECT_TRUE(r.message.ends_with(" ms (slower than 20 ms)")) << r.message;
  EXPECT_GE(r.duration, milliseconds(60));
  EXPECT_GE(r.http_phases->processing, milliseconds(50));

  s.max_response_time = milliseconds(1000);
  EXPECT_EQ(RunSync(s).outcome, Outcome::kOk);
}

TEST_F(CurlProberTest, SendsMethodHeadersBodyAndAuth) {
  auto server = TestServer::Start(Behaviour::Echo());
  HttpSpec s = Http(server->Url("/api"));
  s.method = "PUT";
  s.headers = {{"X-Probe", "platops"}, {"Content-Type", "application/json"}};
  s.body = R"({"ping":1})";
  s.basic_user = "alice";
  s.basic_password = "s3cret";
  Result r = RunSync(s);
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
  ASSERT_EQ(server->requests().size(), 1u);
  std::string req = server->requests()[0];
  EXPECT_TRUE(req.starts_with("PUT /api HTTP/1.1\r\n")) << req;
  EXPECT_TRUE(Contains(req, "\r\nX-Probe: platops\r\n")) << req;
  EXPECT_TRUE(Contains(req, "\r\nAuthorization: Basic YWxpY2U6czNjcmV0\r\n")) << req;
  EXPECT_TRUE(Contains(req, "\r\nContent-Length: 10\r\n")) << req;
  EXPECT_FALSE(Contains(req, "Expect:")) << req;
  EXPECT_TRUE(req.ends_with("\r\n\r\n{\"ping\":1}")) << req;

  HttpSpec b = Http(server->Url());
  b.method = "HEAD";
  b.bearer_token = "tok.123";
  r = RunSync(b);
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
  EXPECT_EQ(r.response_bytes, 0);
  ASSERT_EQ(server->requests().size(), 2u);
  req = server->requests()[1];
  EXPECT_TRUE(req.starts_with("HEAD / HTTP/1.1\r\n")) << req;
  EXPECT_TRUE(Contains(req, "\r\nAuthorization: Bearer tok.123\r\n")) << req;
}

TEST_F(CurlProberTest, RedirectsAreFollowedAndCounted) {
  auto final_target = TestServer::Start(Behaviour::HttpOk("landed"));
  auto hop2 = TestServer::Start(Behaviour::RedirectTo(final_target->Url("/end")));
  auto hop1 = TestServer::Start(Behaviour::RedirectTo(hop2->Url("/next")));
  HttpSpec s = Http(hop1->Url());
  s.body_contains = "landed";
  Result r = RunSync(s);
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
  EXPECT_EQ(r.redirects, 2);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.response_bytes, 6);
  EXPECT_EQ(final_target->connections(), 1);

  s.body_contains = "";
  s.follow_redirects = false;
  r = RunSync(s);
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;  // 302 is within the default 200-399
  EXPECT_EQ(r.http_status, 302);
  EXPECT_EQ(r.redirects, 0);

  s.follow_redirects = true;
  s.max_redirects = 1;
  r = RunSync(s);
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "too many redirects (limit 1)");
}

TEST_F(CurlProberTest, RedirectLoopIsCritical) {
  auto server = TestServer::Start(Behaviour::RedirectLoop());
  Result r = RunSync(Http(server->Url("/loop")));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "too many redirects (limit 10)");
  EXPECT_EQ(server->connections(), 11);  // a new connection per hop
}

TEST_F(CurlProberTest, TargetThatNeverAnswersTimesOutWaitingForTheResponse) {
  auto server = TestServer::Start(Behaviour::AcceptNeverAnswer());
  auto begin = Steady::now();
  Result r = RunSync(Http(server->Url()), milliseconds(300));
  auto elapsed = Steady::now() - begin;
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message,
            "timeout after 300 ms while waiting for the response (connected, no first byte)");
  EXPECT_GE(elapsed, milliseconds(290));
  EXPECT_LT(elapsed, milliseconds(800));
}

TEST_F(CurlProberTest, ConnectThatNeverCompletesTimesOutDuringConnect) {
  auto server = TestServer::Start(Behaviour::NeverAccept());
  auto begin = Steady::now();
  Result r = RunSync(Http(server->Url()), milliseconds(300));
  EXPECT_LT(Steady::now() - begin, milliseconds(800));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "timeout after 300 ms during connect");
}

TEST_F(CurlProberTest, StalledTlsHandshakeTimesOutDuringTheHandshake) {
  auto server = TestServer::Start(Behaviour::AcceptNeverAnswer());
  std::string url = "https://127.0.0.1:" + std::to_string(server->port()) + "/";
  auto begin = Steady::now();
  Result r = RunSync(Http(url), milliseconds(300));
  EXPECT_LT(Steady::now() - begin, milliseconds(800));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "timeout after 300 ms during the TLS handshake");
}

TEST_F(CurlProberTest, OneBytePerSecondTimesOutReadingTheBody) {
  auto server = TestServer::Start(Behaviour::SlowBytes());
  auto begin = Steady::now();
  Result r = RunSync(Http(server->Url()), milliseconds(500));
  EXPECT_LT(Steady::now() - begin, milliseconds(1000));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "timeout after 500 ms while reading the body (1 B read)");
  EXPECT_EQ(r.response_bytes, 1);
  EXPECT_EQ(r.http_status, 200);
}

TEST_F(CurlProberTest, HugeBodyIsCriticalOnceTheLimitIsReached) {
  auto server = TestServer::Start(Behaviour::HugeBody());
  HttpSpec s = Http(server->Url());
  s.body_contains = "xxx";
  auto begin = Steady::now();
  Result r = RunSync(s, milliseconds(5000));
  EXPECT_LT(Steady::now() - begin, milliseconds(1000));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "body exceeds 1048576 bytes");
  EXPECT_EQ(r.response_bytes, 1048576);
  EXPECT_EQ(r.http_status, 200);

  s.body_contains = "";
  s.max_body_bytes = 4096;
  r = RunSync(s, milliseconds(5000));
  EXPECT_EQ(r.message, "body exceeds 4096 bytes");
}

TEST_F(CurlProberTest, RefusedConnectionIsCritical) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);  // bound, never listened: nothing there
  std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
  Result r = RunSync(Http(url));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "connect: connection refused");
  EXPECT_EQ(r.http_status, 0);
}

TEST_F(CurlProberTest, UnresolvableNameIsCritical) {
  auto begin = Steady::now();
  Result r = RunSync(Http("http://no-such-host.platops.invalid/"), milliseconds(1000));
  EXPECT_LT(Steady::now() - begin, milliseconds(1500));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  // Without a reachable resolver the lookup may run out of time instead of failing.
  EXPECT_TRUE(r.message == "resolve: Could not resolve host: no-such-host.platops.invalid" ||
              r.message == "timeout after 1000 ms while resolving the host name")
      << r.message;
}

class CurlProberTlsTest : public CurlProberTest {
 protected:
  static CertOptions Valid() { return CertOptions{}; }
  TestCa ca_;
};

TEST_F(CurlProberTlsTest, TrustedCertificateIsOkAndReportsItsExpiry) {
  TestCert cert = ca_.Issue(Valid());
  auto server = TestServer::Start(Behaviour::HttpOk("secure"), cert);
  HttpSpec s = Http(server->Url());
  s.ca_file = ca_.ca_file();
  Result r = RunSync(s);
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
  ASSERT_TRUE(r.cert_expiry.has_value());
  EXPECT_EQ(*r.cert_expiry, cert.not_after);
  ASSERT_TRUE(r.http_phases.has_value());
  EXPECT_GT(r.http_phases->tls, r.http_phases->connect);  // blackbox: tls includes connect
}

TEST_F(CurlProberTlsTest, UntrustedCertificateFailsOnlyWhenVerifying) {
  TestCert cert = targets::SelfSigned(Valid());
  auto server = TestServer::Start(Behaviour::HttpOk("secure"), cert);
  HttpSpec s = Http(server->Url());
  Result r = RunSync(s);
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_TRUE(r.message.starts_with("tls: ")) << r.message;
  EXPECT_TRUE(Contains(r.message, "self-signed certificate")) << r.message;
  ASSERT_TRUE(r.cert_expiry.has_value());
  EXPECT_EQ(*r.cert_expiry, cert.not_after);

  s.verify_tls = false;
  r = RunSync(s);
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
  ASSERT_TRUE(r.cert_expiry.has_value());
  EXPECT_EQ(*r.cert_expiry, cert.not_after);
}

TEST_F(CurlProberTlsTest, ExpiredCertificateIsCritical) {
  CertOptions o = Valid();
  o.not_before = -std::chrono::duration_cast<std::chrono::seconds>(30 * kDay);
  o.not_after = -std::chrono::duration_cast<std::chrono::seconds>(kDay);
  TestCert cert = ca_.Issue(o);
  auto server = TestServer::Start(Behaviour::HttpOk("old"), cert);
  HttpSpec s = Http(server->Url());
  s.ca_file = ca_.ca_file();
  Result r = RunSync(s);
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_TRUE(Contains(r.message, "certificate has expired")) << r.message;
  EXPECT_EQ(*r.cert_expiry, cert.not_after);
}

TEST_F(CurlProberTlsTest, TlsProbeReportsDaysLeftAgainstThresholds) {
  struct Case {
    std::chrono::seconds valid_for;
    Outcome outcome;
    std::string message_start;
  };
  std::vector<Case> cases = {
      {std::chrono::duration_cast<std::chrono::seconds>(90 * kDay + std::chrono::hours(1)),
       Outcome::kOk, "certificate expires in 90 days ("},
      {std::chrono::duration_cast<std::chrono::seconds>(10 * kDay + std::chrono::hours(1)),
       Outcome::kWarning, "certificate expires in 10 days ("},
      {std::chrono::duration_cast<std::chrono::seconds>(3 * kDay + std::chrono::hours(1)),
       Outcome::kCritical, "certificate expires in 3 days ("},
  };
  for (const Case& c : cases) {
    CertOptions o = Valid();
    o.not_after = c.valid_for;
    TestCert cert = ca_.Issue(o);
    auto server = TestServer::Start(Behaviour::HttpOk(), cert);
    TlsSpec s;
    s.host = "127.0.0.1";
    s.port = server->port();
    s.ca_file = ca_.ca_file();
    Result r = RunSync(s);
    EXPECT_EQ(r.outcome, c.outcome) << r.message;
    EXPECT_TRUE(r.message.starts_with(c.message_start)) << r.message;
    ASSERT_TRUE(r.cert_expiry.has_value());
    EXPECT_EQ(*r.cert_expiry, cert.not_after);
    EXPECT_EQ(server->requests().size(), 0u);  // a handshake, no request
  }
}

TEST_F(CurlProberTlsTest, TlsProbeDaysFollowTheInjectedClock) {
  TestCert cert = ca_.Issue(Valid());
  auto server = TestServer::Start(Behaviour::HttpOk(), cert);
  TlsSpec s;
  s.host = "127.0.0.1";
  s.port = server->port();
  s.ca_file = ca_.ca_file();
  s.warning_days = 21;
  s.critical_days = 7;
  StartProber(EngineOptions{}, &fake_clock_);
  struct Case {
    std::chrono::seconds before_expiry;
    Outcome outcome;
    std::string message;
  };
  std::string date = [&] {
    time_t t = std::chrono::system_clock::to_time_t(cert.not_after);
    struct tm tm {};
    gmtime_r(&t, &tm);
    char buf[16];
    strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return std::string(buf);
  }();
  std::vector<Case> cases = {
      {std::chrono::duration_cast<std::chrono::seconds>(21 * kDay), Outcome::kOk,
       "certificate expires in 21 days (" + date + ")"},
      {std::chrono::duration_cast<std::chrono::seconds>(21 * kDay) - std::chrono::seconds(1),
       Outcome::kWarning, "certificate expires in 20 days (" + date + ")"},
      {std::chrono::duration_cast<std::chrono::seconds>(7 * kDay), Outcome::kWarning,
       "certificate expires in 7 days (" + date + ")"},
      {std::chrono::duration_cast<std::chrono::seconds>(kDay), Outcome::kCritical,
       "certificate expires in 1 day (" + date + ")"},
      {std::chrono::seconds(0), Outcome::kCritical, "certificate expired on " + date},
  };
  for (const Case& c : cases) {
    fake_clock_.Set(cert.not_after - c.before_expiry);
    Result r = RunSync(s);
    EXPECT_EQ(r.outcome, c.outcome) << r.message;
    EXPECT_EQ(r.message, c.message);
  }
}

TEST_F(CurlProberTlsTest, TlsProbeNamesTheVerificationFailure) {
  struct Case {
    TestCert cert;
    std::string server_name;
    std::string message;
  };
  CertOptions other = Valid();
  other.dns_names = {"other.example"};
  other.ips = {};
  CertOptions expired = Valid();
  expired.not_before = -std::chrono::duration_cast<std::chrono::seconds>(30 * kDay);
  expired.not_after = -std::chrono::duration_cast<std::chrono::seconds>(kDay);
  CertOptions future = Valid();
  future.not_before = std::chrono::duration_cast<std::chrono::seconds>(kDay);
  std::vector<Case> cases = {
      {targets::SelfSigned(Valid()), "", "verification failed: self-signed certificate"},
      {ca_.Issue(expired), "", "verification failed: certificate has expired"},
      {ca_.Issue(future), "", "verification failed: certificate is not yet valid"},
      {ca_.Issue(other), "localhost", "verification failed: hostname mismatch"},
      {ca_.Issue(other), "", "verification failed: IP address mismatch"},
  };
  for (const Case& c : cases) {
    auto server = TestServer::Start(Behaviour::HttpOk(), c.cert);
    TlsSpec s;
    s.host = "127.0.0.1";
    s.server_name = c.server_name;
    s.port = server->port();
    s.ca_file = ca_.ca_file();
    Result r = RunSync(s);
    EXPECT_EQ(r.outcome, Outcome::kCritical) << r.message;
    EXPECT_EQ(r.message, c.message);
    ASSERT_TRUE(r.cert_expiry.has_value());
    EXPECT_EQ(*r.cert_expiry, c.cert.not_after);

    s.verify = false;  // the same certificate, judged by its dates alone
    r = RunSync(s);
    EXPECT_FALSE(Contains(r.message, "verification failed")) << r.message;
    EXPECT_EQ(*r.cert_expiry, c.cert.not_after);
  }
}

TEST_F(CurlProberTlsTest, TlsProbeSendsServerNameAndVerifiesIt) {
  CertOptions o = Valid();
  o.dns_names = {"svc.platops.test"};
  o.ips = {};
  o.not_after = std::chrono::duration_cast<std::chrono::seconds>(90 * kDay + std::chrono::hours(1));
  TestCert cert = ca_.Issue(o);
  auto server = TestServer::Start(Behaviour::HttpOk(), cert);
  TlsSpec s;
  s.host = "127.0.0.1";
  s.server_name = "svc.platops.test";
  s.port = server->port();
  s.ca_file = ca_.ca_file();
  Result r = RunSync(s);
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
  EXPECT_TRUE(r.message.starts_with("certificate expires in 90 days")) << r.message;
}

TEST_F(CurlProberTest, SlowTargetDoesNotDelayAFastProbe) {
  auto slow = TestServer::Start(Behaviour::AcceptNeverAnswer());
  auto fast = TestServer::Start(Behaviour::HttpOk());
  std::future<Result> slow_result = RunAsync(Http(slow->Url()), milliseconds(5000));
  // Let the slow probe get connected and stuck before the fast one starts.
  while (slow->connections() == 0) std::this_thread::sleep_for(milliseconds(1));
  auto begin = Steady::now();
  Result r = RunSync(Http(fast->Url()));
  EXPECT_LT(Steady::now() - begin, milliseconds(100));
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
  EXPECT_EQ(slow_result.wait_for(milliseconds(0)), std::future_status::timeout);
  prober_->Stop();
  EXPECT_EQ(slow_result.get().outcome, Outcome::kUnknown);  // it was still in flight
}

TEST_F(CurlProberTest, ProbesBeyondTheInFlightCapWaitAndExpireInTheQueue) {
  EngineOptions options;
  options.max_curl_in_flight = 1;
  StartProber(options);
  auto slow = TestServer::Start(Behaviour::AcceptNeverAnswer());
  auto fast = TestServer::Start(Behaviour::HttpOk());
  std::future<Result> first = RunAsync(Http(slow->Url()), milliseconds(600));
  auto begin = Steady::now();
  std::future<Result> starved = RunAsync(Http(fast->Url()), milliseconds(200));
  std::future<Result> patient = RunAsync(Http(fast->Url()), milliseconds(3000));
  Result r = starved.get();
  EXPECT_LT(Steady::now() - begin, milliseconds(500));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "not started within timeout: probe queue full");
  EXPECT_EQ(first.get().outcome, Outcome::kCritical);
  Result later = patient.get();
  EXPECT_EQ(later.outcome, Outcome::kOk) << later.message;  // started once the slot freed
  EXPECT_EQ(fast->connections(), 1);
}

TEST_F(CurlProberTest, StopFailsEveryProbeInFlightAndQueued) {
  EngineOptions options;
  options.curl_threads = 2;
  options.max_curl_in_flight = 2;
  StartProber(options);
  auto server = TestServer::Start(Behaviour::AcceptNeverAnswer());
  std::vector<std::future<Result>> results;
  for (int i = 0; i < 6; ++i) results.push_back(RunAsync(Http(server->Url()), milliseconds(10000)));
  while (server->connections() < 4) std::this_thread::sleep_for(milliseconds(1));
  auto begin = Steady::now();
  prober_->Stop();
  EXPECT_LT(Steady::now() - begin, milliseconds(500));
  for (auto& f : results) {
    ASSERT_EQ(f.wait_for(milliseconds(0)), std::future_status::ready);
    Result r = f.get();
    EXPECT_EQ(r.outcome, Outcome::kUnknown);
    EXPECT_EQ(r.message, "platops is shutting down");
  }
  // After Stop, a probe fails at once.
  Result r = RunSync(Http(server->Url()));
  EXPECT_EQ(r.outcome, Outcome::kUnknown);
  EXPECT_EQ(r.message, "platops is shutting down");
}

TEST_F(CurlProberTest, DestroyingWithoutStopIsSafe) {
  auto server = TestServer::Start(Behaviour::AcceptNeverAnswer());
  std::future<Result> f = RunAsync(Http(server->Url()), milliseconds(10000));
  while (server->connections() == 0) std::this_thread::sleep_for(milliseconds(1));
  prober_.reset();
  ASSERT_EQ(f.wait_for(milliseconds(0)), std::future_status::ready);
  EXPECT_EQ(f.get().outcome, Outcome::kUnknown);

  // Never started: queued probes are failed by the destructor too.
  prober_ = NewCurlProber(EngineOptions{}, system_clock_);
  std::future<Result> queued = RunAsync(Http(server->Url()), milliseconds(1000));
  prober_.reset();
  ASSERT_EQ(queued.wait_for(milliseconds(0)), std::future_status::ready);
  EXPECT_EQ(queued.get().message, "platops is shutting down");
}

TEST_F(CurlProberTest, ManyConcurrentProbesAllComplete) {
  EngineOptions options;
  options.curl_threads = 2;
  StartProber(options);
  auto server = TestServer::Start(Behaviour::HttpOk("ok"));
  std::vector<std::future<Result>> results;
  for (int i = 0; i < 40; ++i) results.push_back(RunAsync(Http(server->Url()), milliseconds(5000)));
  for (auto& f : results) EXPECT_EQ(f.get().outcome, Outcome::kOk);
  EXPECT_EQ(server->connections(), 40);
}

}  // namespace
}  // namespace platops::probe
