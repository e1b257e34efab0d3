#pragma once
// Prober: the engine's internal seam, one implementation per family of probes. The engine routes
// HTTP and TLS specs to the curl prober, TCP and DNS to the socket prober, exec to the exec
// prober. Thread-safety: Run is thread-safe; Start and Stop are called once each, by the engine.

#include <chrono>
#include <memory>

#include "probe/probe.h"

namespace platops::probe {

class Prober {
 public:
  virtual ~Prober() = default;
  // Same contract as ProbeEngine::Run.
  virtual void Run(std::shared_ptr<const Spec> spec, std::chrono::milliseconds timeout,
                   Callback done) = 0;
  virtual void Start() = 0;
  virtual void Stop() = 0;
};

// HTTP and TLS on libcurl multi handles, `options.curl_threads` threads.
std::unique_ptr<Prober> NewCurlProber(const EngineOptions& options, const Clock& clock);
// TCP (non-blocking sockets on epoll) and DNS (c-ares), one thread.
std::unique_ptr<Prober> NewSocketProber(const EngineOptions& options, const Clock& clock);
// Exec checks through posix_spawn, at most `options.max_exec_in_flight` children at once.
std::unique_ptr<Prober> NewExecProber(const EngineOptions& options, const Clock& clock);

}  // namespace platops::probe
