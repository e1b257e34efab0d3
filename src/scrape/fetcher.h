#pragma once
// Fetcher: the HTTP GETs of scrapes, all on one libcurl multi handle driven by the thread that
// owns it (the scrape scheduler). Start adds a transfer, Perform advances every transfer and
// reports the finished ones, Wait sleeps until a socket is ready, a transfer's timer runs out or
// Wakeup is called. Connections are kept alive and reused between scrapes of a host; gzip bodies
// are decoded; no proxy from the environment is used (Prometheus uses none unless configured).
// Thread-safety: one owning thread; only Wakeup may be called from any thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "scrape/ingester.h"

namespace platops::scrape {

struct FetchRequest {
  std::string url;
  std::chrono::milliseconds timeout{10000};
  std::vector<std::string> headers;  // "Name: value" lines (Accept, Authorization, ...).
  bool gzip = true;                  // Accept-Encoding: gzip (decoded here), else identity.
  bool follow_redirects = true;      // Up to 10, http and https only.
  uint64_t body_limit = 0;           // Bytes of decoded body; 0 = none.
  std::string username;              // HTTP basic auth when `basic`.
  std::string password;
  bool basic = false;
  // TLS. Files are read by libcurl at connect time; inline PEM is handed over as a blob.
  bool verify_tls = true;
  std::string ca_file, ca_pem;
  std::string cert_file, cert_pem;
  std::string key_file, key_pem;
  std::string min_version, max_version;  // "" or TLS10, TLS11, TLS12, TLS13.
};

struct FetchResult {
  FailureReason failure = FailureReason::kNone;
  std::string error;  // Prometheus's wording: `Get "<url>": context deadline exceeded`, ...
  int status = 0;
  std::string content_type;
};

class Fetcher {
 public:
  using Done = std::function<void(FetchResult)>;

  Fetcher();
  ~Fetcher();
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  // Starts a GET whose body is written into `*body` (cleared first; it must outlive the transfer).
  // `done` runs later, from Perform, on the owning thread. `id` names it for Cancel.
  // REQUIRES: no transfer with `id` is in flight.
  void Start(uint64_t id, const FetchRequest& request, std::string* body, Done done);
  // Abandons a transfer; its `done` never runs. No-op for an unknown id.
  void Cancel(uint64_t id);
  // Advances every transfer and runs `done` for each that ended.
  void Perform();
  // Sleeps until a transfer needs attention, `max` has passed or Wakeup is called.
  void Wait(std::chrono::milliseconds max);
  void Wakeup();
  size_t in_flight() const { return transfers_.size(); }

 private:
  struct Transfer;
  static size_t OnWrite(char* data, size_t size, size_t n, void* user);
  static size_t OnHeader(char* data, size_t size, size_t n, void* user);
  FetchResult Finish(Transfer& t, int code);
  void Release(std::unique_ptr<Transfer> t);

  void* multi_ = nullptr;  // CURLM*
  std::unordered_map<uint64_t, std::unique_ptr<Transfer>> transfers_;
  std::vector<void*> idle_easy_;  // CURL* kept for reuse (their DNS and TLS session caches).
};

}  // namespace platops::scrape
