#pragma once
// Server: HTTP/1.1 (and HTTPS) on Boost.Beast with C++20 coroutines. Keep-alive, pipelined
// requests answered in order, limits, graceful shutdown, access log, request metrics.
// Thread-safety: Start/Stop from one controlling thread; handlers run concurrently.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "http/router.h"

namespace platops {
class MetricsRegistry;
}

namespace platops::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  // 0 picks a free port (tests); see Server::port().
  uint16_t port = 9470;
  // I/O threads. Default 0: the number of cores.
  int io_threads = 0;
  // Threads running blocking handlers (store access). Default 0: 2 x cores, at least 4.
  int worker_threads = 0;
  // Largest request body; larger gets 413 and the connection is closed. Default 8 MiB.
  size_t max_body_bytes = 8 * 1024 * 1024;
  // Largest request line plus headers; larger gets 431. Default 64 KiB.
  size_t max_header_bytes = 64 * 1024;
  // Time to receive one whole request (headers and body) once its first byte arrived; a stalled
  // client is disconnected. Default 30 s.
  std::chrono::milliseconds read_timeout{30000};
  // An idle keep-alive connection is closed after this. Default 60 s.
  std::chrono::milliseconds idle_timeout{60000};
  // Open connections beyond this are accepted and closed at once. Default 1024.
  int max_connections = 1024;
  // HTTPS when both are set (PEM files).
  std::string tls_cert_file;
  std::string tls_key_file;
  // In-flight requests are given this long to finish on Stop(). Default 10 s.
  std::chrono::milliseconds shutdown_grace{10000};
  // Log one line per request at info level.
  bool access_log = true;
};

class Server {
 public:
  // `router` and `metrics` must outlive the server. `metrics` may be null.
  Server(ServerOptions options, const Router& router, MetricsRegistry* metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving on background threads.
  Status Start();
  // Stops accepting, lets in-flight requests finish (up to shutdown_grace), closes connections
  // and joins the threads. Idempotent.
  void Stop();
  // The bound port (useful when options.port was 0).
  uint16_t port() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace platops::http
