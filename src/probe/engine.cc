#include <mutex>

#include "probe/prober.h"

namespace platops::probe {

namespace {

class Engine final : public ProbeEngine {
 public:
  Engine(const EngineOptions& options, const Clock& clock)
      : curl_(NewCurlProber(options, clock)),
        socket_(NewSocketProber(options, clock)),
        exec_(NewExecProber(options, clock)) {}

  ~Engine() override { Stop(); }

  void Run(std::shared_ptr<const Spec> spec, std::chrono::milliseconds timeout,
           Callback done) override {
    Prober& p = Route(*spec);
    p.Run(std::move(spec), timeout, std::move(done));
  }

  void Start() override {
    std::lock_guard lock(mu_);
    if (started_) return;
    started_ = true;
    curl_->Start();
    socket_->Start();
    exec_->Start();
  }

  void Stop() override {
    std::lock_guard lock(mu_);
    if (!started_ || stopped_) return;
    stopped_ = true;
    curl_->Stop();
    socket_->Stop();
    exec_->Stop();
  }

 private:
  Prober& Route(const Spec& spec) {
    if (std::holds_alternative<HttpSpec>(spec) || std::holds_alternative<TlsSpec>(spec))
      return *curl_;
    if (std::holds_alternative<ExecSpec>(spec)) return *exec_;
    return *socket_;
  }

  std::unique_ptr<Prober> curl_, socket_, exec_;
  std::mutex mu_;
  bool started_ = false, stopped_ = false;  // GUARDED_BY(mu_)
};

}  // namespace

std::unique_ptr<ProbeEngine> ProbeEngine::Create(const EngineOptions& options, const Clock& clock) {
  return std::make_unique<Engine>(options, clock);
}

}  // namespace platops::probe
