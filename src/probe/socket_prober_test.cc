#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "probe/probe_test_util.h"
#include "probe/prober.h"

namespace platops::probe {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// Waits until `stop_fd` is signalled or `limit` passes; true when stopping.
bool WaitStop(int stop_fd, int limit_ms) {
  pollfd p{stop_fd, POLLIN, 0};
  return poll(&p, 1, limit_ms) > 0;
}

// A TCP listener on loopback at an ephemeral port; each accepted connection runs `handler` on
// its own thread until the server is destroyed.
class TcpServer {
 public:
  using Handler = std::function<void(int fd, int stop_fd)>;

  TcpServer(int family, Handler handler, bool accept = true, int backlog = 16)
      : handler_(std::move(handler)) {
    stop_fd_ = eventfd(0, EFD_CLOEXEC);
    listen_fd_ = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_storage addr{};
    socklen_t len;
    if (family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_loopback;
      len = sizeof *a;
    }
    ok_ = bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
          listen(listen_fd_, backlog) == 0 &&
          getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&addr)->sin_port
                                    : reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    if (ok_ && accept) acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~TcpServer() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(stop_fd_, &one, sizeof one);
    if (acceptor_.joinable()) acceptor_.join();
    for (auto& t : connections_) t.join();
    close(listen_fd_);
    close(stop_fd_);
  }

  bool ok() const { return ok_; }
  int port() const { return port_; }

 private:
  void AcceptLoop() {
    while (true) {
      pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (poll(p, 2, -1) < 0 || (p[1].revents & POLLIN) != 0) return;
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      connections_.emplace_back([this, fd] {
        handler_(fd, stop_fd_);
        close(fd);
      });
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  bool ok_ = false;
  int port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> connections_;  // acceptor thread only, then the destructor
};

void WriteAll(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    s.remove_prefix(static_cast<size_t>(n));
  }
}

// --- a DNS server for the tests, answering from a fixed zone ---

struct DnsAnswer {
  uint16_t type;
  std::string rdata;  // wire format
};

std::string EncodeName(std::string_view name) {
  std::string out;
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    out += static_cast<char>(dot - start);
    out += name.substr(start, dot - start);
    start = dot + 1;
  }
  out += '\0';
  return out;
}

std::string U16(uint16_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }

std::string Address(int family, const char* text) {
  unsigned char buf[16];
  EXPECT_EQ(inet_pton(family, text, buf), 1);
  return std::string(reinterpret_cast<char*>(buf), family == AF_INET ? 4 : 16);
}

std::string TxtStrings(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) {
    out += static_cast<char>(p.size());
    out += p;
  }
  return out;
}

// UDP on 127.0.0.1 at an ephemeral port. "slow.test" never gets an answer, "servfail.test" gets
// SERVFAIL, "empty.test" no records, unknown names NXDOMAIN.
class DnsServer {
 public:
  DnsServer() {
    zone_[{"a.test", 1}] = {{1, Address(AF_INET, "10.0.0.1")}, {1, Address(AF_INET, "10.0.0.2")}};
    zone_[{"a.test", 28}] = {{28, Address(AF_INET6, "2001:db8::1")}};
    zone_[{"a.test", 15}] = {{15, U16(10) + EncodeName("mx1.a.test")},
                             {15, U16(20) + EncodeName("mx2.a.test")}};
    zone_[{"a.test", 16}] = {{16, TxtStrings({"v=spf1 ", "-all"})}, {16, TxtStrings({"hello"})}};
    zone_[{"a.test", 2}] = {{2, EncodeName("ns1.a.test")}, {2, EncodeName("ns2.a.test")}};
    zone_[{"alias.test", 5}] = {{5, EncodeName("a.test")}};
    stop_fd_ = eventfd(0, EFD_CLOEXEC);
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }

  ~DnsServer() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(stop_fd_, &one, sizeof one);
    thread_.join();
    close(fd_);
    close(stop_fd_);
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int queries() const { return queries_.load(); }

 private:
  void Serve() {
    unsigned char buf[1500];
    while (true) {
      pollfd p[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (poll(p, 2, -1) < 0 || (p[1].revents & POLLIN) != 0) return;
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 12) continue;
      ++queries_;
      std::string reply = Answer(buf, static_cast<size_t>(n));
      if (reply.empty()) continue;
      sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
    }
  }

  // The reply to one query; empty for no reply.
  std::string Answer(const unsigned char* q, size_t len) {
    size_t p = 12;
    std::string name;
    while (p < len && q[p] != 0) {
      size_t l = q[p];
      if (!name.empty()) name += '.';
      for (size_t i = 1; i <= l && p + i < len; ++i) {
        name += static_cast<char>(std::tolower(q[p + i]));
      }
      p += l + 1;
    }
    if (p + 5 > len) return {};
    uint16_t type = static_cast<uint16_t>((q[p + 1] << 8) | q[p + 2]);
    size_t question_end = p + 5;
    if (name == "slow.test") return {};
    int rcode = 0;
    std::vector<DnsAnswer> answers;
    if (name == "servfail.test") {
      rcode = 2;
    } else if (name == "refused.test") {
      rcode = 5;
    } else if (auto it = zone_.find({name, type}); it != zone_.end()) {
      answers = it->second;
    } else if (name != "empty.test" && name != "a.test" && name != "alias.test") {
      rcode = 3;
    }
    std::string out(reinterpret_cast<const char*>(q), 2);  // id
    out += static_cast<char>(0x80 | (q[2] & 0x79));        // QR, opcode, RD
    out += static_cast<char>(0x80 | rcode);                // RA, rcode
    out += U16(1) + U16(static_cast<uint16_t>(answers.size())) + U16(0) + U16(0);
    out.append(reinterpret_cast<const char*>(q) + 12, question_end - 12);
    for (const DnsAnswer& a : answers) {
      out += "\xc0\x0c";  // the question's name
      out += U16(a.type) + U16(1) + std::string("\0\0\0\x3c", 4) +
             U16(static_cast<uint16_t>(a.rdata.size())) + a.rdata;
    }
    return out;
  }

  std::map<std::pair<std::string, uint16_t>, std::vector<DnsAnswer>> zone_;
  int fd_ = -1;
  int stop_fd_ = -1;
  int port_ = 0;
  std::atomic<int> queries_{0};
  std::thread thread_;
};

class SocketProberTest : public ::testing::Test {
 protected:
  std::unique_ptr<Prober> Make(int max_in_flight = 2000) {
    EngineOptions options;
    options.max_socket_in_flight = max_in_flight;
    auto p = NewSocketProber(options, clock_);
    p->Start();
    return p;
  }

  static std::shared_ptr<const Spec> Tcp(std::string host, int port, std::string send = {},
                                         std::string expect = {}) {
    TcpSpec spec;
    spec.host = std::move(host);
    spec.port = port;
    spec.send = std::move(send);
    spec.expect_regex = std::move(expect);
    if (!spec.expect_regex.empty()) spec.expect_re = std::make_shared<re2::RE2>(spec.expect_regex);
    return std::make_shared<const Spec>(std::move(spec));
  }

  std::shared_ptr<const Spec> Dns(std::string name, DnsRecord record,
                                  std::vector<std::string> expected = {}) {
    DnsSpec spec;
    spec.name = std::move(name);
    spec.record = record;
    spec.server = dns_.address();
    spec.expected = std::move(expected);
    return std::make_shared<const Spec>(std::move(spec));
  }

  static Result RunOne(Prober& p, std::shared_ptr<const Spec> spec,
                       milliseconds timeout = milliseconds(3000)) {
    return RunOneProbe(p, std::move(spec), timeout);
  }

  // A port with nothing listening: bound, then closed.
  static int FreePort() {
    TcpServer s(AF_INET, nullptr, /*accept=*/false);
    return s.port();
  }

  SystemClock clock_;
  DnsServer dns_;
};

TcpServer::Handler Banner(std::string banner) {
  return [banner](int fd, int stop_fd) {
    WriteAll(fd, banner);
    WaitStop(stop_fd, 2000);
  };
}

TcpServer::Handler Silent() {
  return [](int, int stop_fd) { WaitStop(stop_fd, 10000); };
}

TEST_F(SocketProberTest, TcpConnectOnly) {
  TcpServer server(AF_INET, Silent());
  ASSERT_TRUE(server.ok());
  auto p = Make();
  auto before = clock_.Now();
  Result r = RunOne(*p, Tcp("127.0.0.1", server.port()));
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_TRUE(RE2::FullMatch(r.message, R"(connected in \d+\.\d ms)")) << r.message;
  EXPECT_GT(r.duration.count(), 0);
  EXPECT_GE(r.started, before);
}

TEST_F(SocketProberTest, TcpBannerMatches) {
  TcpServer server(AF_INET, Banner("SSH-2.0-test\r\n"));
  ASSERT_TRUE(server.ok());
  auto p = Make();
  Result r = RunOne(*p, Tcp("127.0.0.1", server.port(), "", "^SSH-2\\.0"));
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_TRUE(RE2::FullMatch(r.message, R"(reply matched in \d+\.\d ms)")) << r.message;
}

TEST_F(SocketProberTest, TcpSendThenExpectTheEcho) {
  TcpServer server(AF_INET, [](int fd, int) {
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) WriteAll(fd, "echo: " + std::string(buf, static_cast<size_t>(n)));
  });
  ASSERT_TRUE(server.ok());
  auto p = Make();
  Result r = RunOne(*p, Tcp("127.0.0.1", server.port(), "PING 42\r\n", "echo: PING 42"));
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
}

TEST_F(SocketProberTest, TcpOverIpv6) {
  TcpServer server(AF_INET6, Banner("220 ready\r\n"));
  if (!server.ok()) GTEST_SKIP() << "no IPv6 loopback here";
  auto p = Make();
  Result r = RunOne(*p, Tcp("::1", server.port(), "", "^220 "));
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
}

TEST_F(SocketProberTest, TcpHostNameIsResolved) {
  // "localhost" must come from /etc/hosts: the test never asks a DNS server off this machine.
  std::ifstream hosts("/etc/hosts");
  std::string line;
  bool listed = false;
  while (std::getline(hosts, line)) {
    listed = listed || RE2::PartialMatch(line, R"(^\s*127\.0\.0\.1\s.*\blocalhost\b)");
  }
  if (!listed) GTEST_SKIP() << "/etc/hosts has no 127.0.0.1 localhost";
  TcpServer server(AF_INET, Banner("hello\n"));
  ASSERT_TRUE(server.ok());
  auto p = Make();
  Result r = RunOne(*p, Tcp("localhost", server.port(), "", "hello"));
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
}

TEST_F(SocketProberTest, TcpRefused) {
  auto p = Make();
  Result r = RunOne(*p, Tcp("127.0.0.1", FreePort()));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "connect: connection refused");
}

TEST_F(SocketProberTest, TcpReplyThatDoesNotMatchIsQuotedEscaped) {
  TcpServer server(AF_INET, [](int fd, int) { WriteAll(fd, "HTTP/1.0 400 \"bad\"\r\n\x01"); });
  ASSERT_TRUE(server.ok());
  auto p = Make();
  Result r = RunOne(*p, Tcp("127.0.0.1", server.port(), "", "^SSH"));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, R"(reply did not match /^SSH/: got "HTTP/1.0 400 \"bad\"\r\n\x01")");
}

TEST_F(SocketProberTest, TcpLongNonMatchingReplyIsCutAt200Bytes) {
  TcpServer server(AF_INET, [](int fd, int) { WriteAll(fd, std::string(70000, 'x')); });
  ASSERT_TRUE(server.ok());
  auto p = Make();
  Result r = RunOne(*p, Tcp("127.0.0.1", server.port(), "", "y"));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "reply did not match /y/: got \"" + std::string(200, 'x') + "...\"");
}

TEST_F(SocketProberTest, TcpSilentPeerTimesOutWaitingForTheReply) {
  TcpServer server(AF_INET, Silent());
  ASSERT_TRUE(server.ok());
  auto p = Make();
  auto start = SteadyClock::now();
  Result r = RunOne(*p, Tcp("127.0.0.1", server.port(), "", "^SSH"), milliseconds(300));
  EXPECT_LT(SteadyClock::now() - start, milliseconds(600));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message,
            "timeout after 300 ms waiting for a reply matching /^SSH/ (received 0 bytes)");
  EXPECT_GE(r.duration, milliseconds(300));
}

TEST_F(SocketProberTest, TcpReplyArrivingOneBytePerSecondIsMatchedWhole) {
  TcpServer server(AF_INET, [](int fd, int stop_fd) {
    WriteAll(fd, "O");
    if (WaitStop(stop_fd, 1000)) return;
    WriteAll(fd, "K\n");
    WaitStop(stop_fd, 2000);
  });
  ASSERT_TRUE(server.ok());
  auto p = Make();
  Result r = RunOne(*p, Tcp("127.0.0.1", server.port(), "", "^OK\n"), milliseconds(2500));
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
  EXPECT_GE(r.duration, milliseconds(1000));
}

TEST_F(SocketProberTest, TcpPeerThatNeverAcceptsTimesOutDuringConnect) {
  // A backlog of 1 that nobody accepts from: once it is full, further SYNs are dropped.
  TcpServer server(AF_INET, nullptr, /*accept=*/false, /*backlog=*/1);
  ASSERT_TRUE(server.ok());
  std::vector<int> fillers;
  for (int i = 0; i < 3; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(server.port()));
    connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(fd);
  }
  auto p = Make();
  auto start = SteadyClock::now();
  Result r = RunOne(*p, Tcp("127.0.0.1", server.port()), milliseconds(300));
  EXPECT_LT(SteadyClock::now() - start, milliseconds(600));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "timeout after 300 ms during connect");
  for (int fd : fillers) close(fd);
}

TEST_F(SocketProberTest, SlowProbeDoesNotDelayAFastOne) {
  TcpServer silent(AF_INET, Silent());
  TcpServer banner(AF_INET, Banner("SSH-2.0-test\r\n"));
  ASSERT_TRUE(silent.ok() && banner.ok());
  auto p = Make();
  ProbeResults results;
  auto start = SteadyClock::now();
  p->Run(Tcp("127.0.0.1", silent.port(), "", "never"), milliseconds(500), results.For(0));
  p->Run(Dns("slow.test", DnsRecord::kA), milliseconds(500), results.For(1));
  p->Run(Tcp("127.0.0.1", banner.port(), "", "^SSH"), milliseconds(500), results.For(2));
  p->Run(Dns("a.test", DnsRecord::kA), milliseconds(500), results.For(3));
  ASSERT_TRUE(results.WaitFor(4));
  std::vector<int> order = results.Order();
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ((std::set<int>{order[0], order[1]}), (std::set<int>{2, 3}));
  EXPECT_EQ(results.Get(2).outcome, Outcome::kOk);
  EXPECT_EQ(results.Get(3).outcome, Outcome::kOk);
  EXPECT_LT(results.Get(2).duration, milliseconds(200));
  EXPECT_LT(results.Get(3).duration, milliseconds(200));
  EXPECT_EQ(results.Get(0).outcome, Outcome::kCritical);
  EXPECT_EQ(results.Get(1).outcome, Outcome::kCritical);
  EXPECT_LT(SteadyClock::now() - start, milliseconds(500 + 300));
}

TEST_F(SocketProberTest, QueuedProbeFailsWhenNotStartedWithinItsTimeout) {
  TcpServer silent(AF_INET, Silent());
  ASSERT_TRUE(silent.ok());
  auto p = Make(1);
  ProbeResults results;
  p->Run(Tcp("127.0.0.1", silent.port(), "", "never"), milliseconds(400), results.For(0));
  p->Run(Tcp("127.0.0.1", silent.port()), milliseconds(100), results.For(1));
  ASSERT_TRUE(results.WaitFor(2));
  EXPECT_EQ(results.Get(1).outcome, Outcome::kCritical);
  EXPECT_EQ(results.Get(1).message, "not started within timeout: probe queue full");
  EXPECT_EQ(results.Order()[0], 1);
}

TEST_F(SocketProberTest, StopReportsShutdownForEveryProbeInFlightOrQueued) {
  TcpServer silent(AF_INET, Silent());
  ASSERT_TRUE(silent.ok());
  auto p = Make(2);
  ProbeResults results;
  p->Run(Tcp("127.0.0.1", silent.port(), "", "never"), milliseconds(10000), results.For(0));
  p->Run(Dns("slow.test", DnsRecord::kA), milliseconds(10000), results.For(1));
  p->Run(Tcp("127.0.0.1", silent.port()), milliseconds(10000), results.For(2));  // queued
  // The DNS query reaching the server shows both probes are in flight.
  for (auto until = SteadyClock::now() + milliseconds(2000);
       dns_.queries() == 0 && SteadyClock::now() < until;) {
    std::this_thread::sleep_for(milliseconds(5));  // polling the server, not timing logic
  }
  auto start = SteadyClock::now();
  p->Stop();
  EXPECT_LT(SteadyClock::now() - start, milliseconds(500));
  ASSERT_TRUE(results.WaitFor(3, milliseconds(0)));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(results.Get(i).outcome, Outcome::kUnknown);
    EXPECT_EQ(results.Get(i).message, "platops is shutting down");
    EXPECT_EQ(results.Calls(i), 1);
  }
  p->Run(Tcp("127.0.0.1", silent.port()), milliseconds(1000), results.For(3));
  ASSERT_TRUE(results.WaitFor(4, milliseconds(0)));
  EXPECT_EQ(results.Get(3).message, "platops is shutting down");
}

TEST_F(SocketProberTest, DnsARecords) {
  auto p = Make();
  Result r = RunOne(*p, Dns("a.test", DnsRecord::kA));
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_TRUE(RE2::FullMatch(r.message, R"(2 A records in \d+\.\d ms)")) << r.message;
  EXPECT_EQ(r.dns_answers, (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
  ASSERT_TRUE(r.dns_lookup.has_value());
  EXPECT_GT(r.dns_lookup->count(), 0);
}

TEST_F(SocketProberTest, DnsExpectedValues) {
  auto p = Make();
  Result r = RunOne(*p, Dns("a.test", DnsRecord::kA, {"10.0.0.2"}));
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
  r = RunOne(*p, Dns("a.test", DnsRecord::kA, {"10.0.0.1", "10.0.0.9"}));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "expected 10.0.0.9 not in answers [10.0.0.1, 10.0.0.2]");
  EXPECT_EQ(r.dns_answers.size(), 2u);
}

TEST_F(SocketProberTest, DnsEveryRecordTypeIsNormalised) {
  auto p = Make();
  Result r = RunOne(*p, Dns("a.test", DnsRecord::kAAAA, {"2001:DB8:0::1"}));
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
  EXPECT_EQ(r.dns_answers, (std::vector<std::string>{"2001:db8::1"}));

  r = RunOne(*p, Dns("alias.test", DnsRecord::kCNAME, {"A.test."}));
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
  EXPECT_EQ(r.dns_answers, (std::vector<std::string>{"a.test"}));

  r = RunOne(*p, Dns("a.test", DnsRecord::kMX, {"20 mx2.a.test"}));
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
  EXPECT_EQ(r.dns_answers, (std::vector<std::string>{"10 mx1.a.test", "20 mx2.a.test"}));

  r = RunOne(*p, Dns("a.test", DnsRecord::kTXT, {"v=spf1 -all"}));
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
  EXPECT_EQ(r.dns_answers, (std::vector<std::string>{"v=spf1 -all", "hello"}));

  r = RunOne(*p, Dns("a.test", DnsRecord::kNS));
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
  EXPECT_EQ(r.dns_answers, (std::vector<std::string>{"ns1.a.test", "ns2.a.test"}));
  EXPECT_TRUE(RE2::FullMatch(r.message, R"(2 NS records in \d+\.\d ms)")) << r.message;
}

TEST_F(SocketProberTest, DnsFailures) {
  auto p = Make();
  Result r = RunOne(*p, Dns("nope.test", DnsRecord::kA));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "NXDOMAIN for nope.test A");
  EXPECT_TRUE(r.dns_lookup.has_value());

  r = RunOne(*p, Dns("empty.test", DnsRecord::kA));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "no A records");

  r = RunOne(*p, Dns("servfail.test", DnsRecord::kMX));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "SERVFAIL for servfail.test MX");

  r = RunOne(*p, Dns("refused.test", DnsRecord::kTXT));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "REFUSED for refused.test TXT");
}

TEST_F(SocketProberTest, DnsServerNotListening) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  DnsSpec spec;
  spec.name = "a.test";
  spec.server = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  auto p = Make();
  Result r = RunOne(*p, std::make_shared<const Spec>(spec), milliseconds(2000));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "query a.test A: Could not contact DNS servers");
}

TEST_F(SocketProberTest, DnsServerThatIsNotAnAddressIsUnknown) {
  DnsSpec spec;
  spec.name = "a.test";
  spec.server = "dns.example";
  auto p = Make();
  Result r = RunOne(*p, std::make_shared<const Spec>(spec));
  EXPECT_EQ(r.outcome, Outcome::kUnknown);
  EXPECT_TRUE(RE2::PartialMatch(r.message, "^dns.server: cannot use dns.example: ")) << r.message;
}

TEST_F(SocketProberTest, DnsServerThatNeverAnswersTimesOut) {
  auto p = Make();
  auto start = SteadyClock::now();
  Result r = RunOne(*p, Dns("slow.test", DnsRecord::kA), milliseconds(300));
  EXPECT_LT(SteadyClock::now() - start, milliseconds(600));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message,
            "timeout after 300 ms waiting for the A answer for slow.test from " + dns_.address());
  EXPECT_FALSE(r.dns_lookup.has_value());
  // The channel stays usable: the late query does not disturb the next one.
  r = RunOne(*p, Dns("a.test", DnsRecord::kA));
  EXPECT_EQ(r.outcome, Outcome::kOk) << r.message;
}

}  // namespace
}  // namespace platops::probe
