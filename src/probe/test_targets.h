#pragma once
// Test-only network targets for probe tests: an HTTP(S) server on 127.0.0.1 with canned
// behaviours, and certificates made in memory. Never compiled into the server.
// Thread-safety: a TestServer's accessors are thread-safe; create and destroy it on one thread.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "base/clock.h"

namespace platops::probe::targets {

// A certificate and its private key, PEM.
struct TestCert {
  std::string cert_pem;
  std::string key_pem;
  Timestamp not_after{};  // whole seconds, as in the certificate
};

struct CertOptions {
  std::string common_name = "localhost";
  std::vector<std::string> dns_names = {"localhost"};  // subjectAltName DNS entries
  std::vector<std::string> ips = {"127.0.0.1"};        // subjectAltName IP entries
  // Validity relative to the real time now.
  std::chrono::seconds not_before = -std::chrono::hours(1);
  std::chrono::seconds not_after = std::chrono::hours(24 * 90);
};

// A self-signed leaf certificate (not a CA), EC P-256.
TestCert SelfSigned(const CertOptions& options);

// A certificate authority whose certificate is written to a temporary PEM file (the `ca_file` of
// a probe spec); the file is removed by the destructor.
class TestCa {
 public:
  TestCa();
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  TestCert Issue(const CertOptions& options) const;
  const std::string& ca_file() const { return ca_file_; }
  const TestCert& cert() const { return ca_; }

 private:
  TestCert ca_;
  std::string ca_file_;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// What a TestServer does with every connection.
struct Behaviour {
  enum class Kind {
    kHttp,               // one response, then close
    kEcho,               // 200 with the received request (head and body) as the body
    kRedirectLoop,       // 302 to the same path, forever
    kRedirectTo,         // 302 to `location`
    kNeverAccept,        // the accept queue is full: SYNs are dropped, connect never completes
    kAcceptNeverAnswer,  // accepts, reads, never writes (no TLS handshake either)
    kSlowBytes,          // headers at once, then a 1000-byte body at 1 byte per second
    kHugeBody,           // announces 1 GB and streams it until the client goes away
  };
  Kind kind = Kind::kHttp;
  int status = 200;
  std::string body;
  HeaderList headers;
  std::string location;
  std::chrono::milliseconds delay{0};  // kHttp and kEcho: wait this long before answering

  static Behaviour HttpOk(std::string body = "ok", int status = 200, HeaderList headers = {});
  static Behaviour Echo();
  static Behaviour RedirectLoop();
  static Behaviour RedirectTo(std::string url);
  static Behaviour NeverAccept();
  static Behaviour AcceptNeverAnswer();
  static Behaviour SlowBytes();
  static Behaviour HugeBody();
};

// A listener on 127.0.0.1, an ephemeral port; one thread accepts, one thread per connection
// serves it with blocking I/O. Stop() (or the destructor) shuts every connection down and joins.
class TestServer {
 public:
  // Speaks HTTPS when `tls` is given. Aborts the test binary if the socket cannot be set up.
  static std::unique_ptr<TestServer> Start(Behaviour behaviour,
                                           std::optional<TestCert> tls = std::nullopt);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port><path>" (https with TLS).
  std::string Url(std::string_view path = "/") const;
  // Connections accepted so far.
  int connections() const { return connections_.load(); }
  // The request heads (and bodies) received so far, raw.
  std::vector<std::string> requests() const;
  void Stop();

 private:
  TestServer(Behaviour behaviour, std::optional<TestCert> tls);
  void AcceptLoop();
  void Serve(int fd);

  Behaviour behaviour_;
  bool tls_ = false;
  void* ssl_ctx_ = nullptr;  // SSL_CTX*, kept out of this header
  int listen_fd_ = -1;
  int filler_fd_ = -1;  // kNeverAccept: the connection that fills the accept queue
  int stop_fd_ = -1;    // eventfd, readable once stopping
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::thread acceptor_;

  mutable std::mutex mu_;
  bool stopped_ = false;               // GUARDED_BY(mu_)
  std::set<int> live_fds_;             // GUARDED_BY(mu_)
  std::vector<std::thread> handlers_;  // GUARDED_BY(mu_)
  std::vector<std::string> requests_;  // GUARDED_BY(mu_)
};

}  // namespace platops::probe::targets
