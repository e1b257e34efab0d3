#pragma once
// TestHttpServer: a small HTTP/1.1 server on 127.0.0.1 (an ephemeral port) for the scrape tests.
// Each connection carries one request, answered by a handler and closed. Test only.
// Thread-safety: SetHandler and requests() may be called from any thread; create and destroy it
// on one thread.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace platops::scrape {

struct TestRequest {
  std::string method;
  std::string target;                          // Path and query.
  std::map<std::string, std::string> headers;  // Lower-case names.
};

struct TestResponse {
  int status = 200;
  std::string reason = "OK";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds delay{0};  // Before answering; cut short by Stop.
  bool gzip = false;                   // Compress the body, Content-Encoding: gzip.
};

class TestHttpServer {
 public:
  using Handler = std::function<TestResponse(const TestRequest&)>;

  // Aborts the test binary when the socket cannot be set up.
  explicit TestHttpServer(Handler handler);
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  int port() const { return port_; }
  // "127.0.0.1:<port>": a scrape target address.
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void SetHandler(Handler handler);
  std::vector<TestRequest> requests() const;
  void Stop();

 private:
  void AcceptLoop();
  void Serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;               // GUARDED_BY(mu_)
  Handler handler_;                    // GUARDED_BY(mu_)
  std::vector<TestRequest> requests_;  // GUARDED_BY(mu_)
  std::vector<std::thread> handlers_;  // GUARDED_BY(mu_)
};

// gzip (RFC 1952) of `data`, for bodies served compressed.
std::string Gzip(const std::string& data);

}  // namespace platops::scrape
