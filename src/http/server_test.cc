#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "base/metrics_registry.h"
#include "http/client.h"

namespace platops::http {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A blocking TCP (optionally TLS) client for the cases curl cannot produce: pipelining, stalls,
// raw garbage, hanging up.
class RawSocket {
 public:
  explicit RawSocket(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    connect_errno_ = connected_ ? 0 : errno;
  }
  ~RawSocket() { Close(); }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return connected_; }
  int connect_errno() const { return connect_errno_; }

  // TLS handshake trusting nothing (the test server's certificate is self-signed).
  bool StartTls() {
    ctx_ = SSL_CTX_new(TLS_client_method());
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    return SSL_connect(ssl_) == 1;
  }

  // Hangs up: `reset` sends RST (SO_LINGER 0) instead of FIN. TLS is dropped without close_notify.
  void Close(bool reset = false) {
    if (fd_ < 0) return;
    if (reset) {
      linger l{1, 0};
      ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    ssl_ = nullptr;
    ctx_ = nullptr;
    ::close(fd_);
    fd_ = -1;
  }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ssl_ != nullptr ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                                  : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response (Content-Length framed); nullopt on EOF, reset or timeout.
  std::optional<RawResponse> ReadResponse(bool head = false,
                                          milliseconds timeout = milliseconds(5000)) {
    Clock::time_point deadline = Clock::now() + timeout;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(deadline)) return std::nullopt;
    }
    RawResponse r;
    std::string head_text = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    size_t line_end = head_text.find("\r\n");
    std::string status_line = head_text.substr(0, line_end);
    if (status_line.size() < 12) return std::nullopt;
    r.status = std::stoi(status_line.substr(9, 3));
    size_t pos = line_end == std::string::npos ? head_text.size() : line_end + 2;
    while (pos < head_text.size()) {
      size_t next = head_text.find("\r\n", pos);
      if (next == std::string::npos) next = head_text.size();
      std::string line = head_text.substr(pos, next - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        size_t v = line.find_first_not_of(' ', colon + 1);
        r.headers[Lower(line.substr(0, colon))] = v == std::string::npos ? "" : line.substr(v);
      }
      pos = next + 2;
    }
    if (r.status == 100) return r;
    size_t length = 0;
    if (!head && r.headers.count("content-length"))
      length = std::stoul(r.headers["content-length"]);
    while (buf_.size() < length) {
      if (!Fill(deadline)) return std::nullopt;
    }
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }

  // True when the peer closes (EOF or reset) within `timeout`; unread data is discarded.
  bool WaitClosed(milliseconds timeout) {
    Clock::time_point deadline = Clock::now() + timeout;
    for (;;) {
      int left = static_cast<int>(
          std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count());
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, left) <= 0) continue;
      char tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return true;
    }
  }

 private:
  bool Fill(Clock::time_point deadline) {
    int left =
        static_cast<int>(std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count());
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if ((ssl_ == nullptr || SSL_pending(ssl_) == 0) && ::poll(&p, 1, left) <= 0) return false;
    char tmp[16384];
    ssize_t n = ssl_ != nullptr ? SSL_read(ssl_, tmp, sizeof tmp) : ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool connected_ = false;
  int connect_errno_ = 0;
  std::string buf_;
};

// Blocks handlers until released; lets a test hold a request in flight.
class Gate {
 public:
  void Enter() {
    std::unique_lock lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
  }
  bool WaitEntered(int n, milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return entered_ >= n; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool open_ = false;
};

// A handler that runs until its request is canceled (the client went away) or the test releases
// it, at most 5 s, and records which happened.
class CancelProbe {
 public:
  Response Handle(Request& req) {
    std::unique_lock lock(mu_);
    ++entered_;
    cv_.notify_all();
    const Clock::time_point deadline = Clock::now() + milliseconds(5000);
    // The flag has no condition variable to wait on; poll it briefly between checks.
    while (!req.IsCanceled() && !released_ && Clock::now() < deadline) {
      cv_.wait_for(lock, milliseconds(1));
    }
    const bool canceled = req.IsCanceled();
    if (canceled) ++canceled_;
    ++finished_;
    cv_.notify_all();
    return Response::Text(200, canceled ? "canceled" : "answered");
  }
  bool WaitEntered(int n, milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return entered_ >= n; });
  }
  bool WaitFinished(int n, milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return finished_ >= n; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  int canceled() {
    std::lock_guard lock(mu_);
    return canceled_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  int finished_ = 0;
  int canceled_ = 0;
  bool released_ = false;
};

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() {
    spdlog::set_level(spdlog::level::warn);
    router_.Add(Method::kGet, "/hello", [](Request&) { return Response::Text(200, "hello"); });
    router_.Add(Method::kGet, "/api/v1/services/{slug}", [](Request& req) {
      return Response::Json(200, "{\"slug\":\"" + req.PathParam("slug") + "\",\"route\":\"" +
                                     req.route + "\",\"q\":\"" + req.Query("q").value_or("") +
                                     "\",\"path\":\"" + req.path + "\"}");
    });
    router_.Add(Method::kPut, "/api/v1/services/{slug}",
                [](Request&) { return Response::NoContent(); });
    router_.Add(Method::kPost, "/echo", [this](Request& req) {
      ++echo_calls_;
      return Response::Text(200, req.body);
    });
    router_.Add(Method::kGet, "/id",
                [](Request& req) { return Response::Text(200, req.request_id); });
    router_.Add(Method::kGet, "/boom",
                [](Request&) -> Response { throw std::runtime_error("kaboom"); });
    router_.Add(Method::kGet, "/slow", [this](Request&) {
      gate_.Enter();
      return Response::Text(200, "finally");
    });
    router_.Add(Method::kGet, "/until-canceled",
                [this](Request& req) { return probe_.Handle(req); });
    router_.Add(Method::kGet, "/held", [this](Request&) {
      Response r = Response::Text(200, "answer");
      r.release_after_send = std::shared_ptr<void>(nullptr, [this](void*) { released_.set_value(); });
      return r;
    });
    router_.Add(
        Method::kGet, "/inline",
        [](Request& req) { return Response::Text(200, req.remote_address); }, /*run_inline=*/true);
  }

  void StartServer(ServerOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.io_threads = 2;
    options.worker_threads = 2;
    options.access_log = false;
    server_ = std::make_unique<Server>(options, router_, &metrics_);
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_NE(server_->port(), 0);
  }

  void TearDown() override {
    gate_.Open();
    probe_.Release();
    if (server_) server_->Stop();
  }

  std::string Url(std::string_view path, std::string_view scheme = "http") const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(server_->port()) +
           std::string(path);
  }

  Result<ClientResponse> Get(std::string_view path,
                             std::vector<std::pair<std::string, std::string>> headers = {}) {
    ClientRequest req;
    req.url = Url(path);
    req.headers = std::move(headers);
    req.timeout = milliseconds(5000);
    return client_->Send(req);
  }

  Router router_;
  MetricsRegistry metrics_;
  Gate gate_;
  CancelProbe probe_;
  std::atomic<int> echo_calls_{0};
  std::promise<void> released_;
  std::unique_ptr<Client> client_ = NewCurlClient();
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, GetThroughCurlClient) {
  StartServer();
  auto r = Get("/hello");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(r->headers.Get("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r->headers.Get("content-length"), "5");
  EXPECT_TRUE(r->headers.Get("date").has_value());
}

// What a response holds (a query's selection) is released once it has been sent, not leaked.
TEST_F(ServerTest, WhatAResponseHoldsIsReleasedAfterItIsSent) {
  StartServer();
  auto released = released_.get_future();
  auto r = Get("/held");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "answer");
  EXPECT_EQ(released.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST_F(ServerTest, PathParamsAndQueryAreDecoded) {
  StartServer();
  auto r = Get("/api/v1/services/web%20app?q=a+b%21&x=1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"slug":"web app","route":"/api/v1/services/{slug}","q":"a b!",)"
                     R"("path":"/api/v1/services/web app"})");
  EXPECT_EQ(r->headers.Get("content-type"), "application/json");
}

// curl -g and hand-written URLs send `[]`, `{}`, `|` and quotes raw; Prometheus accepts them.
TEST_F(ServerTest, AcceptsBracketsBracesAndQuotesLeftRawInTheQuery) {
  StartServer();
  RawSocket s(server_->port());
  ASSERT_TRUE(s.connected());
  ASSERT_TRUE(
      s.Send("GET /api/v1/services/x?q=up{job=\"a|b\"}[5m]&match[]=1 HTTP/1.1\r\n"
             "Host: t\r\n\r\n"));
  auto r = s.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  // The test handler echoes q unescaped.
  EXPECT_NE(r->body.find(R"("q":"up{job="a|b"}[5m]")"), std::string::npos) << r->body;
}

TEST_F(ServerTest, PostBodyAndNoContent) {
  StartServer();
  ClientRequest req;
  req.method = Method::kPost;
  req.url = Url("/echo");
  req.body = std::string(100000, 'x');
  auto r = client_->Send(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, req.body);

  req.method = Method::kPut;
  req.url = Url("/api/v1/services/web");
  req.body = "{}";
  auto put = client_->Send(req);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->status, 204);
  EXPECT_EQ(put->body, "");
  EXPECT_FALSE(put->headers.Get("content-length").has_value());
}

TEST_F(ServerTest, NotFoundAndMethodNotAllowed) {
  StartServer();
  auto missing = Get("/nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, R"({"error":{"code":"not_found","message":"no route for GET /nope"}})");

  ClientRequest del;
  del.method = Method::kDelete;
  del.url = Url("/api/v1/services/web");
  auto r = client_->Send(del);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->headers.Get("allow"), "GET, HEAD, PUT");
  EXPECT_NE(r->body.find(R"("code":"method_not_allowed")"), std::string::npos) << r->body;
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  StartServer();
  RawSocket s(server_->port());
  ASSERT_TRUE(s.connected());
  for (const char* slug : {"one", "two", "three"}) {
    ASSERT_TRUE(
        s.Send(std::string("GET /api/v1/services/") + slug + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = s.ReadResponse();
    ASSERT_TRUE(r.has_value()) << slug;
    EXPECT_EQ(r->status, 200);
    EXPECT_NE(r->body.find(slug), std::string::npos);
    EXPECT_EQ(r->headers.count("connection"), 0u);  // HTTP/1.1 default: keep-alive
  }
  // Connection: close is honoured.
  ASSERT_TRUE(s.Send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto last = s.ReadResponse();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->headers["connection"], "close");
  EXPECT_TRUE(s.WaitClosed(milliseconds(2000)));
}

TEST_F(ServerTest, Http10ClosesUnlessKeepAliveAsked) {
  StartServer();
  RawSocket s(server_->port());
  ASSERT_TRUE(s.Send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto r = s.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Lower(r->headers["connection"]), "keep-alive");
  ASSERT_TRUE(s.Send("GET /hello HTTP/1.0\r\n\r\n"));
  ASSERT_TRUE(s.ReadResponse().has_value());
  EXPECT_TRUE(s.WaitClosed(milliseconds(2000)));
}

TEST_F(ServerTest, PipelinedRequestsAnsweredInOrder) {
  StartServer();
  RawSocket s(server_->port());
  // The first request is slower to handle (worker pool) than the third (inline).
  ASSERT_TRUE(
      s.Send("GET /api/v1/services/first HTTP/1.1\r\nHost: x\r\n\r\n"
             "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nsecond"
             "GET /inline HTTP/1.1\r\nHost: x\r\nX-Request-Id: third\r\n\r\n"));
  auto a = s.ReadResponse();
  auto b = s.ReadResponse();
  auto c = s.ReadResponse();
  ASSERT_TRUE(a && b && c);
  EXPECT_NE(a->body.find("\"slug\":\"first\""), std::string::npos) << a->body;
  EXPECT_EQ(b->body, "second");
  EXPECT_EQ(c->body, "127.0.0.1");
  EXPECT_EQ(c->headers["x-request-id"], "third");
}

TEST_F(ServerTest, ClientHangingUpCancelsTheRunningHandler) {
  StartServer();
  for (bool reset : {false, true}) {
    SCOPED_TRACE(reset ? "reset" : "close");
    const int n = reset ? 2 : 1;
    RawSocket s(server_->port());
    ASSERT_TRUE(s.Send("GET /until-canceled HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(probe_.WaitEntered(n, milliseconds(3000)));
    s.Close(reset);
    ASSERT_TRUE(probe_.WaitFinished(n, milliseconds(3000)));
    EXPECT_EQ(probe_.canceled(), n);
  }
}

TEST_F(ServerTest, WaitingClientIsNotCanceledAndKeepsItsConnection) {
  ServerOptions options;
  // The watch must not inherit the request's read deadline, however long the handler takes.
  options.read_timeout = milliseconds(100);
  StartServer(options);
  RawSocket s(server_->port());
  ASSERT_TRUE(s.Send("GET /until-canceled HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(probe_.WaitEntered(1, milliseconds(3000)));
  // A canceled handler would finish at once; this one must still be waiting well past 100 ms.
  EXPECT_FALSE(probe_.WaitFinished(1, milliseconds(400)));
  probe_.Release();
  auto r = s.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "answered");
  EXPECT_EQ(r->headers.count("connection"), 0u);
  ASSERT_TRUE(s.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto again = s.ReadResponse();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->body, "hello");
  EXPECT_EQ(probe_.canceled(), 0);
}

TEST_F(ServerTest, RequestsPipelinedWhileAHandlerRunsAreAnsweredInOrder) {
  StartServer();
  RawSocket s(server_->port());
  ASSERT_TRUE(s.Send("GET /until-canceled HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(probe_.WaitEntered(1, milliseconds(3000)));
  // More than the server buffers while it watches (64 KiB): the rest waits in the socket.
  const std::string body(100 * 1024, 'b');
  ASSERT_TRUE(
      s.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n\r\n" + body + "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  probe_.Release();
  auto a = s.ReadResponse();
  auto b = s.ReadResponse();
  auto c = s.ReadResponse();
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->body, "answered");
  EXPECT_EQ(b->body.size(), body.size());
  EXPECT_EQ(b->body, body);
  EXPECT_EQ(c->body, "hello");
  EXPECT_EQ(probe_.canceled(), 0);
}

TEST_F(ServerTest, HeadHasLengthButNoBody) {
  StartServer();
  RawSocket s(server_->port());
  ASSERT_TRUE(
      s.Send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = s.ReadResponse(/*head=*/true);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->headers["content-length"], "5");
  // Had the HEAD response carried a body, this would read "hello" as a status line.
  auto get = s.ReadResponse();
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "hello");
}

TEST_F(ServerTest, RequestIdEchoedOrGenerated) {
  StartServer();
  auto echoed = Get("/id", {{"X-Request-Id", "abc-123"}});
  ASSERT_TRUE(echoed.ok());
  EXPECT_EQ(echoed->body, "abc-123");
  EXPECT_EQ(echoed->headers.Get("x-request-id"), "abc-123");

  auto generated = Get("/id");
  ASSERT_TRUE(generated.ok());
  std::string id(generated->headers.Get("x-request-id").value_or(""));
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_EQ(generated->body, id);

  // Unprintable characters are dropped and the length is capped.
  auto cleaned = Get("/id", {{"X-Request-Id", "a b\tc" + std::string(300, 'z')}});
  ASSERT_TRUE(cleaned.ok());
  EXPECT_EQ(cleaned->body, "abc" + std::string(125, 'z'));
}

TEST_F(ServerTest, BodyTooLargeIs413WithoutCallingHandler) {
  StartServer();
  ClientRequest req;
  req.method = Method::kPost;
  req.url = Url("/echo");
  req.body = std::string(9 * 1024 * 1024, 'x');
  auto r = client_->Send(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(
      r->body,
      R"({"error":{"code":"payload_too_large","message":"request body exceeds 8388608 bytes"}})");
  EXPECT_EQ(echo_calls_.load(), 0);
}

TEST_F(ServerTest, ChunkedBodyTooLargeIs413) {
  ServerOptions options;
  options.max_body_bytes = 1000;
  StartServer(options);
  RawSocket s(server_->port());
  std::string chunk(600, 'y');
  ASSERT_TRUE(
      s.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "258\r\n" +
             chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto r = s.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_TRUE(s.WaitClosed(milliseconds(2000)));
  EXPECT_EQ(echo_calls_.load(), 0);
}

TEST_F(ServerTest, HeaderTooLargeIs431) {
  ServerOptions options;
  options.max_header_bytes = 4096;
  StartServer(options);
  RawSocket s(server_->port());
  ASSERT_TRUE(
      s.Send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8000, 'b') + "\r\n\r\n"));
  auto r = s.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(r->headers["content-type"], "application/json");
  EXPECT_EQ(
      r->body,
      R"({"error":{"code":"payload_too_large","message":"request header exceeds 4096 bytes"}})");
  EXPECT_TRUE(s.WaitClosed(milliseconds(2000)));
}

TEST_F(ServerTest, MalformedRequestIs400AndClosed) {
  StartServer();
  RawSocket s(server_->port());
  ASSERT_TRUE(s.Send("NOT A VALID REQUEST\r\n\r\n"));
  auto r = s.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(
      r->body.find(R"({"error":{"code":"validation_failed","message":"malformed HTTP request)"),
      std::string::npos)
      << r->body;
  EXPECT_TRUE(s.WaitClosed(milliseconds(2000)));
}

TEST_F(ServerTest, SlowLorisIsDisconnectedWhileOthersAreServed) {
  ServerOptions options;
  options.read_timeout = milliseconds(300);
  StartServer(options);
  RawSocket loris(server_->port());
  Clock::time_point start = Clock::now();
  ASSERT_TRUE(loris.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" +
                         std::string(50, 'z')));
  // Meanwhile another client is served at once.
  for (int i = 0; i < 3; ++i) {
    Clock::time_point t = Clock::now();
    auto r = Get("/hello");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
    EXPECT_LT(Clock::now() - t, milliseconds(250));
  }
  EXPECT_TRUE(loris.WaitClosed(milliseconds(3000)));
  EXPECT_GE(Clock::now() - start, milliseconds(250));
  EXPECT_EQ(echo_calls_.load(), 0);
}

TEST_F(ServerTest, TricklingHeadersAreCutOffByReadTimeout) {
  ServerOptions options;
  options.read_timeout = milliseconds(300);
  StartServer(options);
  RawSocket s(server_->port());
  Clock::time_point start = Clock::now();
  bool closed = false;
  // One header byte every 50 ms keeps each read short, but the whole request exceeds 300 ms.
  for (int i = 0; i < 40 && !closed; ++i) {
    closed = !s.Send(i == 0 ? "GET /hello HTTP/1.1\r\n" : "X");
    if (!closed) closed = s.WaitClosed(milliseconds(50));
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(Clock::now() - start, milliseconds(1500));
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosed) {
  ServerOptions options;
  options.idle_timeout = milliseconds(200);
  StartServer(options);
  RawSocket s(server_->port());
  ASSERT_TRUE(s.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(s.ReadResponse().has_value());
  Clock::time_point start = Clock::now();
  EXPECT_TRUE(s.WaitClosed(milliseconds(2000)));
  EXPECT_GE(Clock::now() - start, milliseconds(150));
}

TEST_F(ServerTest, ExpectContinueGetsInterimResponse) {
  StartServer();
  RawSocket s(server_->port());
  ASSERT_TRUE(
      s.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
             "Expect: 100-continue\r\n\r\n"));
  auto interim = s.ReadResponse();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(s.Send("ping"));
  auto r = s.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ping");
}

TEST_F(ServerTest, HandlerExceptionIs500WithRequestId) {
  StartServer();
  auto r = Get("/boom", {{"X-Request-Id", "req-42"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body,
            R"j({"error":{"code":"internal","message":"internal error (request id req-42)"}})j");
  EXPECT_EQ(r->headers.Get("x-request-id"), "req-42");
  // The connection and the server survive.
  auto after = Get("/hello");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, 200);
}

TEST_F(ServerTest, MaxConnectionsClosesTheExtraOne) {
  ServerOptions options;
  options.max_connections = 2;
  StartServer(options);
  auto a = std::make_unique<RawSocket>(server_->port());
  RawSocket b(server_->port());
  // A served request proves each connection was accepted and counted.
  for (RawSocket* s : {a.get(), &b}) {
    ASSERT_TRUE(s->Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(s->ReadResponse().has_value());
  }
  RawSocket c(server_->port());
  EXPECT_TRUE(c.WaitClosed(milliseconds(2000)));
  // Closing one frees a slot.
  a.reset();
  Clock::time_point deadline = Clock::now() + milliseconds(3000);
  bool served = false;
  while (!served && Clock::now() < deadline) {
    RawSocket d(server_->port());
    served = d.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n") &&
             d.ReadResponse(false, milliseconds(500)).has_value();
  }
  EXPECT_TRUE(served);
  ASSERT_TRUE(b.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(b.ReadResponse().has_value());
}

TEST_F(ServerTest, MetricsUseRouteTemplates) {
  StartServer();
  for (const char* path : {"/api/v1/services/a", "/api/v1/services/b", "/nope", "/boom"}) {
    ASSERT_TRUE(Get(path).ok());
  }
  // The last request's metrics are recorded once its response is written; a further request on
  // the same keep-alive connection orders after that.
  ASSERT_TRUE(Get("/hello").ok());
  std::string text = metrics_.Render();
  EXPECT_NE(text.find(R"(platops_http_requests_total{route="/api/v1/services/{slug}",)"
                      R"(method="GET",code="200"} 2)"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find(R"(platops_http_requests_total{route="unmatched",method="GET",code="404"} 1)"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(platops_http_requests_total{route="/boom",method="GET",code="500"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find(R"(platops_http_request_duration_seconds_count{route="/api/v1/services/{slug}",)"
                R"(method="GET",code="200"} 2)"),
      std::string::npos)
      << text;
  EXPECT_EQ(text.find("/api/v1/services/a"), std::string::npos) << "raw path leaked into labels";
  EXPECT_NE(text.find("platops_http_connections_open 1"), std::string::npos) << text;
}

TEST_F(ServerTest, StopLetsInFlightRequestFinishAndRefusesNewConnections) {
  StartServer();
  uint16_t port = server_->port();
  std::optional<Result<ClientResponse>> slow;
  std::thread client([&] {
    auto c = NewCurlClient();
    ClientRequest req;
    req.url = Url("/slow");
    req.timeout = milliseconds(5000);
    slow.emplace(c->Send(req));
  });
  ASSERT_TRUE(gate_.WaitEntered(1, milliseconds(3000)));
  // An idle keep-alive connection is closed right away by Stop().
  RawSocket idle(port);
  ASSERT_TRUE(idle.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(idle.ReadResponse().has_value());

  std::thread stopper([&] { server_->Stop(); });
  EXPECT_TRUE(idle.WaitClosed(milliseconds(2000)));
  Clock::time_point deadline = Clock::now() + milliseconds(2000);
  bool refused = false;
  while (!refused && Clock::now() < deadline) {
    RawSocket probe(port);
    refused = !probe.connected() && probe.connect_errno() == ECONNREFUSED;
  }
  EXPECT_TRUE(refused);
  std::this_thread::sleep_for(milliseconds(100));  // hold the request in flight a little longer
  gate_.Open();
  stopper.join();
  client.join();
  ASSERT_TRUE(slow.has_value());
  ASSERT_TRUE(slow->ok()) << slow->status().ToString();
  EXPECT_EQ((*slow)->status, 200);
  EXPECT_EQ((*slow)->body, "finally");
  EXPECT_EQ((*slow)->headers.Get("connection"), "close");
  RawSocket after(port);
  EXPECT_FALSE(after.connected());
  server_->Stop();  // idempotent
}

TEST_F(ServerTest, StopGivesUpAfterGrace) {
  ServerOptions options;
  options.shutdown_grace = milliseconds(200);
  StartServer(options);
  std::thread client([&] {
    auto c = NewCurlClient();
    ClientRequest req;
    req.url = Url("/slow");
    req.timeout = milliseconds(5000);
    auto r = c->Send(req);
    EXPECT_FALSE(r.ok());  // the connection was cut
  });
  ASSERT_TRUE(gate_.WaitEntered(1, milliseconds(3000)));
  std::thread opener([&] {
    std::this_thread::sleep_for(milliseconds(600));
    gate_.Open();
  });
  Clock::time_point start = Clock::now();
  server_->Stop();
  // The socket is closed at the grace deadline; Stop() then waits for the handler to return.
  EXPECT_GE(Clock::now() - start, milliseconds(150));
  opener.join();
  client.join();
}

TEST_F(ServerTest, StopCancelsTheHandlersOfConnectionsItCuts) {
  ServerOptions options;
  options.shutdown_grace = milliseconds(100);
  StartServer(options);
  RawSocket s(server_->port());
  ASSERT_TRUE(s.Send("GET /until-canceled HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(probe_.WaitEntered(1, milliseconds(3000)));
  // Stop() closes the busy connection after the grace period and waits for its handler, which
  // learns that nobody will read its answer.
  server_->Stop();
  EXPECT_EQ(probe_.canceled(), 1);
  EXPECT_TRUE(s.WaitClosed(milliseconds(2000)));
}

TEST_F(ServerTest, InlineHandlersRunOnIoThreadsOthersOnWorkers) {
  std::mutex mu;
  std::set<std::thread::id> inline_threads, worker_threads;
  router_.Add(
      Method::kGet, "/where/inline",
      [&](Request&) {
        std::lock_guard lock(mu);
        inline_threads.insert(std::this_thread::get_id());
        return Response::Text(200, "io");
      },
      /*run_inline=*/true);
  router_.Add(Method::kGet, "/where/worker", [&](Request&) {
    std::lock_guard lock(mu);
    worker_threads.insert(std::this_thread::get_id());
    return Response::Text(200, "worker");
  });
  StartServer();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(Get("/where/inline").ok());
    ASSERT_TRUE(Get("/where/worker").ok());
  }
  std::lock_guard lock(mu);
  ASSERT_FALSE(inline_threads.empty());
  ASSERT_FALSE(worker_threads.empty());
  for (const auto& id : inline_threads) EXPECT_EQ(worker_threads.count(id), 0u);
}

TEST_F(ServerTest, AccessLogHasOneLinePerRequest) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
  sink->set_pattern("%v");
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  spdlog::set_level(spdlog::level::info);
  // StartServer() turns the access log off; this server keeps it on.
  ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.io_threads = 1;
  options.worker_threads = 1;
  options.access_log = true;
  Server logged(options, router_, nullptr);
  ASSERT_TRUE(logged.Start().ok());
  ClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(logged.port()) + "/hello?x=1";
  req.headers = {{"X-Request-Id", "log-1"}};
  ASSERT_TRUE(client_->Send(req).ok());
  logged.Stop();  // the line is written after the response; Stop() orders after it
  spdlog::set_default_logger(previous);
  spdlog::set_level(spdlog::level::warn);

  std::vector<std::string> lines = sink->last_formatted();
  std::vector<std::string> access;
  for (std::string line : lines) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (line.starts_with("log-1 ")) access.push_back(line);
  }
  ASSERT_EQ(access.size(), 1u) << ::testing::PrintToString(lines);
  // request_id method target status bytes duration_ms remote
  EXPECT_TRUE(access[0].starts_with("log-1 GET /hello?x=1 200 5 ")) << access[0];
  EXPECT_TRUE(access[0].ends_with(" 127.0.0.1")) << access[0];
}

TEST(ServerAccessLogTest, SecretPathParametersAreNotLogged) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
  sink->set_pattern("%v");
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  spdlog::set_level(spdlog::level::info);
  Router router;
  router.Add(
      Method::kGet, "/ping/{token}", [](Request&) { return Response::Text(200, "OK\n"); },
      /*run_inline=*/false, /*secret_params=*/true);
  ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.io_threads = 1;
  options.worker_threads = 1;
  options.access_log = true;
  Server logged(options, router, nullptr);
  ASSERT_TRUE(logged.Start().ok());
  auto client = NewCurlClient();
  ClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(logged.port()) + "/ping/s3cr3t-token";
  req.headers = {{"X-Request-Id", "log-2"}};
  auto resp = client->Send(req);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 200);
  logged.Stop();
  spdlog::set_default_logger(previous);
  spdlog::set_level(spdlog::level::warn);

  std::string all;
  for (const auto& line : sink->last_formatted()) all += line;
  EXPECT_EQ(all.find("s3cr3t-token"), std::string::npos) << all;
  EXPECT_NE(all.find("log-2 GET /ping/{token} 200"), std::string::npos) << all;
}

TEST(ServerStartTest, PortInUseIsReported) {
  Router router;
  ServerOptions options;
  options.port = 0;
  options.io_threads = 1;
  options.worker_threads = 1;
  Server first(options, router, nullptr);
  ASSERT_TRUE(first.Start().ok());
  options.port = first.port();
  Server second(options, router, nullptr);
  Status s = second.Start();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("listening on 127.0.0.1:"), std::string::npos) << s.message();
}

TEST(ServerStartTest, MissingCertificateIsReported) {
  Router router;
  ServerOptions options;
  options.port = 0;
  options.tls_cert_file = "/nonexistent/cert.pem";
  options.tls_key_file = "/nonexistent/key.pem";
  Server server(options, router, nullptr);
  Status s = server.Start();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("/nonexistent/cert.pem"), std::string::npos) << s.message();
}

class TlsServerTest : public ServerTest {
 protected:
  void SetUp() override {
    if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl CLI";
    char tmpl[] = "/tmp/platops_http_tls_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
        dir_ + "/k.pem -out " + dir_ + "/c.pem >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  void TearDown() override {
    ServerTest::TearDown();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  // Serves HTTPS with the certificate SetUp made.
  void StartTlsServer() {
    ServerOptions options;
    options.tls_cert_file = dir_ + "/c.pem";
    options.tls_key_file = dir_ + "/k.pem";
    StartServer(options);
  }
  std::string dir_;
};

TEST_F(TlsServerTest, GetOverHttps) {
  StartTlsServer();

  ClientRequest req;
  req.url = Url("/api/v1/services/secure", "https");
  req.ca_file = dir_ + "/c.pem";
  req.timeout = milliseconds(5000);
  auto r = client_->Send(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"slug\":\"secure\""), std::string::npos);
  // Keep-alive over TLS.
  auto again = client_->Send(req);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->status, 200);

  // Without trusting the certificate the client refuses; unverified mode accepts it.
  auto other = NewCurlClient();
  req.ca_file.clear();
  auto untrusted = other->Send(req);
  EXPECT_EQ(untrusted.status().code(), StatusCode::kUnavailable);
  req.verify_tls = false;
  auto unverified = other->Send(req);
  ASSERT_TRUE(unverified.ok()) << unverified.status().ToString();
  EXPECT_EQ(unverified->status, 200);

  // Plain HTTP to the TLS port does not produce a response.
  RawSocket plain(server_->port());
  ASSERT_TRUE(plain.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(plain.ReadResponse(false, milliseconds(2000)).has_value());
}

TEST_F(TlsServerTest, WatchingTheClientKeepsTlsIntactAndSeesItHangUp) {
  StartTlsServer();

  // Pipelined over TLS while the first handler runs: the watch's read is canceled mid-stream.
  RawSocket s(server_->port());
  ASSERT_TRUE(s.StartTls());
  ASSERT_TRUE(s.Send("GET /until-canceled HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(probe_.WaitEntered(1, milliseconds(3000)));
  ASSERT_TRUE(s.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  probe_.Release();
  auto a = s.ReadResponse();
  auto b = s.ReadResponse();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->body, "answered");
  EXPECT_EQ(b->body, "hello");
  // Keep-alive still works after the watch.
  ASSERT_TRUE(s.Send("GET /api/v1/services/tls HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto c = s.ReadResponse();
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(c->body.find("\"slug\":\"tls\""), std::string::npos) << c->body;
  EXPECT_EQ(probe_.canceled(), 0);
}

TEST_F(TlsServerTest, TlsClientHangingUpCancelsTheRunningHandler) {
  StartTlsServer();
  RawSocket s(server_->port());
  ASSERT_TRUE(s.StartTls());
  ASSERT_TRUE(s.Send("GET /until-canceled HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(probe_.WaitEntered(1, milliseconds(3000)));
  s.Close();
  ASSERT_TRUE(probe_.WaitFinished(1, milliseconds(3000)));
  EXPECT_EQ(probe_.canceled(), 1);
}

TEST(ClientTest, ConnectionRefusedIsUnavailable) {
  // Bind a port, then close it, so nothing listens there.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  ClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
  auto r = NewCurlClient()->Send(req);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("127.0.0.1"), std::string::npos) << r.status().message();
}

TEST(ClientTest, SilentServerIsDeadlineExceeded) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
  req.timeout = milliseconds(200);
  Clock::time_point start = Clock::now();
  auto r = NewCurlClient()->Send(req);
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(Clock::now() - start, milliseconds(2000));
  ::close(fd);
}

}  // namespace
}  // namespace platops::http
