// The curl prober: HTTP and TLS probes on libcurl multi handles driven by the socket API on epoll.
// Each worker thread owns one multi handle, an eventfd that wakes it for new work, a FIFO of
// probes waiting for a free slot and a pool of reusable transfers (easy handle, buffers).

#include "probe/prober.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <re2/re2.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <ctime>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace platops::probe {

namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr std::string_view kShuttingDown = "platops is shutting down";
// Idle transfers a worker keeps for reuse; more are freed.
constexpr size_t kMaxIdleTransfers = 256;
// A pooled transfer keeps at most this much body buffer capacity.
constexpr size_t kMaxPooledBodyCapacity = 256 * 1024;
constexpr int kMaxEvents = 128;

void CurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string FormatBytes(int64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < 1024 * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(n) / 1024);
  return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1024 * 1024));
}

std::string FormatDate(int64_t epoch_seconds) {
  time_t t = static_cast<time_t>(epoch_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

std::string Abbrev(std::string_view s, size_t max = 64) {
  if (s.size() <= max) return std::string(s);
  return std::string(s.substr(0, max)) + "...";
}

int64_t RoundMs(microseconds d) { return (d.count() + 500) / 1000; }

// "Connection refused" -> "connection refused".
std::string LowerFirst(std::string s) {
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

std::optional<int64_t> AsnTimeToEpoch(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return static_cast<int64_t>(timegm(&tm));
}

bool IsIpLiteral(const std::string& host) {
  std::array<unsigned char, 16> buf{};
  return inet_pton(AF_INET, host.c_str(), buf.data()) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buf.data()) == 1;
}

// A host as it goes into a URL: IPv6 literals in brackets.
std::string UrlHost(const std::string& host) {
  if (host.find(':') != std::string::npos && host.front() != '[') return "[" + host + "]";
  return host;
}

std::string Unbracket(const std::string& host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

// ---- JSON assertion --------------------------------------------------------------------------

std::optional<double> ParseNumber(std::string_view s) {
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return d;
}

std::optional<double> JsonNumber(const boost::json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

// Strings compare by their content, everything else by its JSON text (doubles in their
// shortest form, "0.25" rather than Boost's "2.5E-1").
std::string JsonText(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_double()) return fmt::format("{}", v.get_double());
  return boost::json::serialize(v);
}

std::string JsonDisplay(const boost::json::value& v) {
  if (v.is_string()) return "\"" + Abbrev(v.get_string()) + "\"";
  return Abbrev(JsonText(v));
}

std::string_view OpSymbol(JsonOp op) {
  switch (op) {
    case JsonOp::kEq:
      return "==";
    case JsonOp::kNe:
      return "!=";
    case JsonOp::kLt:
      return "<";
    case JsonOp::kLe:
      return "<=";
    case JsonOp::kGt:
      return ">";
    case JsonOp::kGe:
      return ">=";
    case JsonOp::kContains:
      return "contains";
    case JsonOp::kExists:
      return "exists";
  }
  return "==";
}

// Three-way comparison of a JSON value with the expected text: numerically when both are numbers.
int Compare(const boost::json::value& v, const std::string& expected) {
  std::optional<double> a = JsonNumber(v), b = ParseNumber(expected);
  if (a && b) return *a < *b ? -1 : (*a > *b ? 1 : 0);
  std::string text = JsonText(v);
  int c = text.compare(expected);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

// The failure message of the JSON assertion, or empty when it holds.
std::string CheckJson(const HttpSpec& spec, std::string_view body) {
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(body, ec);
  if (ec) return "body is not valid JSON: " + ec.message();
  const boost::json::value* v = &root;
  size_t start = 0;
  const std::string& path = spec.json_path;
  while (v != nullptr && start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string_view seg = std::string_view(path).substr(
        start, dot == std::string::npos ? std::string::npos : dot - start);
    if (v->is_object()) {
      v = v->get_object().if_contains(seg);
    } else if (v->is_array()) {
      size_t index = 0;
      auto [end, err] = std::from_chars(seg.data(), seg.data() + seg.size(), index);
      const auto& arr = v->get_array();
      v = (err == std::errc() && end == seg.data() + seg.size() && index < arr.size()) ? &arr[index]
                                                                                       : nullptr;
    } else {
      v = nullptr;
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  std::string prefix = "json " + path + ": ";
  if (v == nullptr) return prefix + "not found";
  if (spec.json_op == JsonOp::kExists) return {};
  bool ok = false;
  switch (spec.json_op) {
    case JsonOp::kEq:
      ok = Compare(*v, spec.json_value) == 0;
      break;
    case JsonOp::kNe:
      ok = Compare(*v, spec.json_value) != 0;
      break;
    case JsonOp::kLt:
      ok = Compare(*v, spec.json_value) < 0;
      break;
    case JsonOp::kLe:
      ok = Compare(*v, spec.json_value) <= 0;
      break;
    case JsonOp::kGt:
      ok = Compare(*v, spec.json_value) > 0;
      break;
    case JsonOp::kGe:
      ok = Compare(*v, spec.json_value) >= 0;
      break;
    case JsonOp::kContains:
      if (v->is_array()) {
        for (const auto& item : v->get_array()) ok = ok || Compare(item, spec.json_value) == 0;
      } else {
        ok = JsonText(*v).find(spec.json_value) != std::string::npos;
      }
      break;
    case JsonOp::kExists:
      ok = true;
      break;
  }
  if (ok) return {};
  std::string expected =
      ParseNumber(spec.json_value) ? spec.json_value : "\"" + Abbrev(spec.json_value) + "\"";
  return prefix + "got " + JsonDisplay(*v) + ", expected " + std::string(OpSymbol(spec.json_op)) +
         " " + expected;
}

std::string FormatRanges(const std::vector<StatusRange>& ranges) {
  if (ranges.empty()) return "200-399";
  std::string out;
  for (const StatusRange& r : ranges) {
    if (!out.empty()) out += ", ";
    out += r.low == r.high ? std::to_string(r.low) : fmt::format("{}-{}", r.low, r.high);
  }
  return out;
}

bool StatusExpected(const std::vector<StatusRange>& ranges, int status) {
  if (ranges.empty()) return status >= 200 && status <= 399;
  for (const StatusRange& r : ranges) {
    if (status >= r.low && status <= r.high) return true;
  }
  return false;
}

// ---- Probes and transfers ---------------------------------------------------------------------

struct Job {
  std::shared_ptr<const Spec> spec;
  milliseconds timeout{0};
  Callback done;
  Steady::time_point queued{};
};

// Where a probe was when it stopped: names the phase of a timeout.
enum class Phase { kResolving, kConnecting, kWaiting, kHeaders, kBody };

// One probe in flight, pooled by its worker. Touched only by the worker thread.
struct Transfer {
  CURL* easy = nullptr;
  size_t slot = 0;  // index in Worker::active_
  Job job;
  const HttpSpec* http = nullptr;
  const TlsSpec* tls = nullptr;
  std::array<char, CURL_ERROR_SIZE> error{};
  curl_slist* headers = nullptr;
  curl_slist* connect_to = nullptr;
  std::string body;  // the final response's body, kept only when an assertion reads it
  bool keep_body = false;
  int64_t body_limit = 0;
  int64_t body_bytes = 0;
  bool body_too_large = false;
  Phase phase = Phase::kResolving;
  int hop_status = 0;
  bool hop_location = false;
  bool tcp_connected = false;  // a socket closed while kConnecting had completed its TCP connect
  bool verify = false;
  std::string verify_host;           // TLS probe with verify: the name the chain must be valid for
  std::optional<int64_t> not_after;  // earliest notAfter of the current connection's chain
  int verify_error = X509_V_OK;
  Timestamp started{};
  Steady::time_point start{};

  void ResetState() {
    error[0] = '\0';
    body.clear();
    keep_body = false;
    body_limit = 0;
    body_bytes = 0;
    body_too_large = false;
    phase = Phase::kResolving;
    hop_status = 0;
    hop_location = false;
    tcp_connected = false;
    verify = false;
    verify_host.clear();
    not_after.reset();
    verify_error = X509_V_OK;
    http = nullptr;
    tls = nullptr;
  }
  void FreeLists() {
    curl_slist_free_all(headers);
    headers = nullptr;
    curl_slist_free_all(connect_to);
    connect_to = nullptr;
  }
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  t->phase = Phase::kBody;
  int64_t room = t->body_limit - t->body_bytes;
  if (static_cast<int64_t>(len) > room) {
    if (t->keep_body) t->body.append(data, static_cast<size_t>(room));
    t->body_bytes = t->body_limit;
    t->body_too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  if (t->keep_body) t->body.append(data, len);
  t->body_bytes += static_cast<int64_t>(len);
  return len;
}

bool HeaderIs(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = line[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != name[i]) return false;
  }
  return true;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  std::string_view line(data, len);
  if (line.starts_with("HTTP/")) {
    t->phase = Phase::kHeaders;
    t->hop_location = false;
    size_t sp = line.find(' ');
    int status = 0;
    if (sp != std::string_view::npos && line.size() >= sp + 4) {
      std::from_chars(line.data() + sp + 1, line.data() + sp + 4, status);
    }
    t->hop_status = status;
  } else if (line == "\r\n" || line == "\n") {
    // End of a response's headers: a redirect curl follows starts the next hop with a resolve.
    if (t->hop_status >= 300 && t->hop_status < 400 && t->hop_location && t->http != nullptr &&
        t->http->follow_redirects) {
      t->phase = Phase::kResolving;
    }
  } else if (HeaderIs(line, "location")) {
    t->hop_location = true;
  }
  return len;
}

int OnSockopt(void* user, curl_socket_t, curlsocktype) {
  auto* t = static_cast<Transfer*>(user);
  t->phase = Phase::kConnecting;
  t->tcp_connected = false;
  return CURL_SOCKOPT_OK;
}

// curl reports the connect time only once TLS is up too; a socket closed while still connecting
// tells TCP from TLS by whether it has a peer.
int OnCloseSocket(void* user, curl_socket_t fd) {
  auto* t = static_cast<Transfer*>(user);
  if (t->phase == Phase::kConnecting) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0) t->tcp_connected = true;
  }
  return close(fd);
}

int OnPrereq(void* user, char*, char*, int, int) {
  static_cast<Transfer*>(user)->phase = Phase::kWaiting;
  return CURL_PREREQFUNC_OK;
}

// Replaces OpenSSL's chain verification for one connection: records the earliest notAfter of
// the chain the peer presented, then verifies as usual (or accepts anything when not verifying).
int OnVerifyChain(X509_STORE_CTX* ctx, void* arg) {
  auto* t = static_cast<Transfer*>(arg);
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_untrusted(ctx);
  std::optional<int64_t> earliest;
  auto note = [&](X509* cert) {
    std::optional<int64_t> na = AsnTimeToEpoch(X509_get0_notAfter(cert));
    if (na && (!earliest || *na < *earliest)) earliest = na;
  };
  if (X509* leaf = X509_STORE_CTX_get0_cert(ctx)) note(leaf);
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) note(sk_X509_value(chain, i));
  t->not_after = earliest;
  if (!t->verify) return 1;
  if (!t->verify_host.empty()) {
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
    if (IsIpLiteral(t->verify_host)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, t->verify_host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, t->verify_host.c_str(), t->verify_host.size());
    }
  }
  int ok = X509_verify_cert(ctx);
  if (ok <= 0) t->verify_error = X509_STORE_CTX_get_error(ctx);
  return ok > 0 ? 1 : 0;
}

CURLcode OnSslCtx(CURL*, void* ssl_ctx, void* arg) {
  auto* t = static_cast<Transfer*>(arg);
  t->not_after.reset();  // a new connection (after a redirect): report the final one's chain
  t->verify_error = X509_V_OK;
  SSL_CTX_set_cert_verify_callback(static_cast<SSL_CTX*>(ssl_ctx), &OnVerifyChain, t);
  return CURLE_OK;
}

// CURLSH lock callbacks: one mutex per kind of shared data.
struct ShareLocks {
  std::array<std::mutex, CURL_LOCK_DATA_LAST> mu;
};

void OnShareLock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
  static_cast<ShareLocks*>(user)->mu[data].lock();
}

void OnShareUnlock(CURL*, curl_lock_data data, void* user) {
  static_cast<ShareLocks*>(user)->mu[data].unlock();
}

Result Fail(Outcome outcome, std::string message, Timestamp started, microseconds duration = {}) {
  Result r;
  r.outcome = outcome;
  r.message = std::move(message);
  r.started = started;
  r.duration = duration;
  return r;
}

// ---- Worker -----------------------------------------------------------------------------------

// One thread, one multi handle. Push and Stop are thread-safe; everything else runs on the thread.
class Worker {
 public:
  Worker(const Clock& clock, CURLSH* share, int max_in_flight)
      : clock_(clock), share_(share), max_in_flight_(static_cast<size_t>(max_in_flight)) {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    evfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = evfd_;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev);
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Worker::OnSocket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Worker::OnTimer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  }

  // libcurl's order: remove the easy handles, clean up the multi handle (which closes any
  // connection it still holds, calling our socket callbacks), then the easy handles.
  ~Worker() {
    for (Transfer* t : active_) curl_multi_remove_handle(multi_, t->easy);
    curl_multi_cleanup(multi_);
    for (Transfer* t : active_) Destroy(t);
    for (Transfer* t : idle_) Destroy(t);
    close(evfd_);
    close(epfd_);
  }

  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Queues a probe; after Stop returns it unqueued so the caller can fail it.
  std::optional<Job> Push(Job job) {
    bool wake = false;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return job;
      wake = incoming_.empty();
      incoming_.push_back(std::move(job));
    }
    if (wake) Wake();
    return std::nullopt;
  }

  void Start() {
    std::lock_guard lock(mu_);
    if (started_ || stopping_) return;
    started_ = true;
    thread_ = std::thread([this] { Loop(); });
  }

  // Fails everything queued and in flight with kUnknown and joins the thread.
  void Stop() {
    bool was_started = false;
    std::vector<Job> orphans;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      was_started = started_;
      if (!was_started) orphans.swap(incoming_);
    }
    if (was_started) {
      Wake();
      thread_.join();
    }
    for (Job& job : orphans) {
      job.done(Fail(Outcome::kUnknown, std::string(kShuttingDown), clock_.Now()));
    }
  }

 private:
  void Wake() {
    uint64_t one = 1;
    ssize_t n = write(evfd_, &one, sizeof one);
    (void)n;  // EAGAIN means the counter is already non-zero: the thread is woken anyway
  }

  static int OnSocket(CURL*, curl_socket_t s, int what, void* userp, void* socketp) {
    auto* w = static_cast<Worker*>(userp);
    if (what == CURL_POLL_REMOVE) {
      if (socketp != nullptr) epoll_ctl(w->epfd_, EPOLL_CTL_DEL, s, nullptr);
      return 0;
    }
    epoll_event ev{};
    ev.events =
        ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0u);
    ev.data.fd = s;
    if (socketp == nullptr) {
      if (epoll_ctl(w->epfd_, EPOLL_CTL_ADD, s, &ev) != 0 && errno == EEXIST) {
        epoll_ctl(w->epfd_, EPOLL_CTL_MOD, s, &ev);
      }
      curl_multi_assign(w->multi_, s, w);  // any non-null marker: "registered"
    } else if (epoll_ctl(w->epfd_, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT) {
      epoll_ctl(w->epfd_, EPOLL_CTL_ADD, s, &ev);
    }
    return 0;
  }

  // curl truncates its timeouts to whole milliseconds: waiting one more keeps us from waking
  // before the timer is due, which curl would not report again (it skips unchanged timers).
  static int OnTimer(CURLM*, long timeout_ms, void* userp) {
    auto* w = static_cast<Worker*>(userp);
    w->timer_ = DueAt(timeout_ms);
    return 0;
  }

  static Steady::time_point DueAt(long timeout_ms) {
    if (timeout_ms < 0) return Steady::time_point::max();
    return Steady::now() + milliseconds(timeout_ms == 0 ? 0 : timeout_ms + 1);
  }

  void Loop() {
    std::vector<Job> batch;
    std::array<epoll_event, kMaxEvents> events{};
    int running = 0;
    while (true) {
      int n = epoll_wait(epfd_, events.data(), kMaxEvents, WaitMs());
      bool woken = false;
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == evfd_) {
          uint64_t v = 0;
          ssize_t r = read(evfd_, &v, sizeof v);
          (void)r;
          woken = true;
          continue;
        }
        uint32_t e = events[i].events;
        int flags = 0;
        if ((e & (EPOLLIN | EPOLLHUP)) != 0) flags |= CURL_CSELECT_IN;
        if ((e & EPOLLOUT) != 0) flags |= CURL_CSELECT_OUT;
        if ((e & EPOLLERR) != 0) flags |= CURL_CSELECT_ERR;
        curl_multi_socket_action(multi_, fd, flags, &running);
      }
      if (woken) {
        bool stop = false;
        {
          std::lock_guard lock(mu_);
          batch.swap(incoming_);
          stop = stopping_;
        }
        for (Job& job : batch) Enqueue(std::move(job));
        batch.clear();
        if (stop) {
          CancelAll();
          return;
        }
      }
      if (timer_ <= Steady::now()) {
        timer_ = Steady::time_point::max();
        curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
        if (timer_ == Steady::time_point::max()) {
          // Not re-armed by curl: ask, so a timer that was not due yet is not lost.
          long ms = -1;
          curl_multi_timeout(multi_, &ms);
          timer_ = DueAt(ms);
        }
      }
      CollectDone();
      ExpireWaiting();
      StartWaiting();
    }
  }

  // Milliseconds until curl's timer or the earliest deadline of a waiting probe; -1: none.
  int WaitMs() const {
    Steady::time_point deadline = timer_;
    if (!waiting_.empty()) {
      if (active_.size() < max_in_flight_) return 0;
      deadline = std::min(deadline, waiting_deadline_);
    }
    if (deadline == Steady::time_point::max()) return -1;
    auto left = deadline - Steady::now();
    if (left <= Steady::duration::zero()) return 0;
    auto ms = duration_cast<milliseconds>(left + milliseconds(1) - Steady::duration(1));
    return static_cast<int>(std::min<int64_t>(ms.count(), 60'000));
  }

  void Enqueue(Job job) {
    waiting_deadline_ = std::min(waiting_deadline_, job.queued + job.timeout);
    waiting_.push_back(std::move(job));
  }

  // Fails probes that waited for a slot longer than their timeout.
  void ExpireWaiting() {
    if (waiting_.empty()) {
      waiting_deadline_ = Steady::time_point::max();
      return;
    }
    Steady::time_point now = Steady::now();
    if (now < waiting_deadline_) return;
    waiting_deadline_ = Steady::time_point::max();
    std::deque<Job> keep;
    for (Job& job : waiting_) {
      Steady::time_point deadline = job.queued + job.timeout;
      if (deadline <= now) {
        auto waited = duration_cast<microseconds>(now - job.queued);
        job.done(Fail(Outcome::kCritical, "not started within timeout: probe queue full",
                      clock_.Now(), waited));
      } else {
        waiting_deadline_ = std::min(waiting_deadline_, deadline);
        keep.push_back(std::move(job));
      }
    }
    waiting_.swap(keep);
  }

  void StartWaiting() {
    while (!waiting_.empty() && active_.size() < max_in_flight_) {
      Job job = std::move(waiting_.front());
      waiting_.pop_front();
      Begin(std::move(job));
    }
  }

  Transfer* Acquire() {
    Transfer* t = nullptr;
    if (!idle_.empty()) {
      t = idle_.back();
      idle_.pop_back();
      curl_easy_reset(t->easy);
    } else {
      t = new Transfer();
      t->easy = curl_easy_init();
      if (t->easy == nullptr) {
        delete t;
        return nullptr;
      }
      curl_easy_setopt(t->easy, CURLOPT_SHARE, share_);
    }
    t->ResetState();
    return t;
  }

  void Release(Transfer* t) {
    t->FreeLists();
    t->job = Job();
    if (idle_.size() >= kMaxIdleTransfers) {
      Destroy(t);
      return;
    }
    if (t->body.capacity() > kMaxPooledBodyCapacity) std::string().swap(t->body);
    idle_.push_back(t);
  }

  static void Destroy(Transfer* t) {
    t->FreeLists();
    curl_easy_cleanup(t->easy);
    delete t;
  }

  void Begin(Job job) {
    Transfer* t = Acquire();
    if (t == nullptr) {
      job.done(Fail(Outcome::kUnknown, "curl_easy_init failed", clock_.Now()));
      return;
    }
    t->job = std::move(job);
    t->started = clock_.Now();
    t->start = Steady::now();
    std::string problem;
    if (const auto* http = std::get_if<HttpSpec>(t->job.spec.get())) {
      problem = SetupHttp(*t, *http);
    } else if (const auto* tls = std::get_if<TlsSpec>(t->job.spec.get())) {
      problem = SetupTls(*t, *tls);
    } else {
      problem = "not an HTTP or TLS probe";
    }
    if (problem.empty()) {
      CURLMcode mc = curl_multi_add_handle(multi_, t->easy);
      if (mc != CURLM_OK) problem = std::string("curl: ") + curl_multi_strerror(mc);
    }
    if (!problem.empty()) {
      Callback done = std::move(t->job.done);
      Timestamp started = t->started;
      Release(t);
      done(Fail(Outcome::kUnknown, "internal: " + problem, started));
      return;
    }
    t->slot = active_.size();
    active_.push_back(t);
  }

  void SetupCommon(Transfer& t) {
    CURL* e = t.easy;
    long timeout_ms = static_cast<long>(std::max<int64_t>(1, t.job.timeout.count()));
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error.data());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);  // a timed-out resolve never blocks this thread
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    // Direct connections only, as blackbox_exporter by default: no proxy from the environment
    // (which also spares curl its getenv calls on every transfer).
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, &OnSockopt);
    curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, &t);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, &OnPrereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, &t);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &OnCloseSocket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, &t);
  }

  void SetupTlsOptions(Transfer& t, bool verify, const std::string& ca_file) {
    CURL* e = t.easy;
    t.verify = verify;
    curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);  // a full handshake every time
    curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, &OnSslCtx);
    curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, &t);
    if (verify) {
      if (!ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, ca_file.c_str());
    } else {
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
      // No trust store to load: nothing is verified against it.
      curl_easy_setopt(e, CURLOPT_CAINFO, nullptr);
      curl_easy_setopt(e, CURLOPT_CAPATH, nullptr);
    }
  }

  std::string SetupHttp(Transfer& t, const HttpSpec& s) {
    if (!s.body_regex.empty() && !s.body_re) return "spec not prepared (http.body_regex)";
    CURL* e = t.easy;
    t.http = &s;
    t.keep_body = !s.body_contains.empty() || s.body_re != nullptr || !s.json_path.empty();
    t.body_limit = s.max_body_bytes;
    SetupCommon(t);
    curl_easy_setopt(e, CURLOPT_URL, s.url.c_str());
    curl_easy_setopt(e, CURLOPT_USERAGENT, "platops-probe");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
    if (s.follow_redirects) {
      curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(e, CURLOPT_MAXREDIRS, static_cast<long>(s.max_redirects));
      curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    }
    const std::string& m = s.method;
    bool with_body = !s.body.empty() || m == "POST" || m == "PUT" || m == "PATCH";
    if (m == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (m != "GET" && m != "POST") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m.c_str());
    } else if (m == "GET" && with_body) {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "GET");
    }
    if (with_body && m != "HEAD") {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(s.body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, s.body.c_str());
    }
    bool has_expect = false;
    for (const auto& [name, value] : s.headers) {
      has_expect = has_expect || strcasecmp(name.c_str(), "Expect") == 0;
      // "Name;" is curl's spelling of a header with an empty value.
      std::string line = value.empty() ? name + ";" : name + ": " + value;
      t.headers = curl_slist_append(t.headers, line.c_str());
    }
    // curl would wait for "100 Continue" before sending a large body; many servers never send it.
    if (with_body && !has_expect) t.headers = curl_slist_append(t.headers, "Expect:");
    if (t.headers != nullptr) curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
    if (!s.basic_user.empty()) {
      curl_easy_setopt(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      curl_easy_setopt(e, CURLOPT_USERNAME, s.basic_user.c_str());
      curl_easy_setopt(e, CURLOPT_PASSWORD, s.basic_password.c_str());
    } else if (!s.bearer_token.empty()) {
      curl_easy_setopt(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BEARER));
      curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, s.bearer_token.c_str());
    }
    // Every hop may be https (a redirect from http), so TLS options are always set; they cost
    // nothing on plain connections.
    SetupTlsOptions(t, s.verify_tls, s.ca_file);
    return {};
  }

  std::string SetupTls(Transfer& t, const TlsSpec& s) {
    CURL* e = t.easy;
    t.tls = &s;
    SetupCommon(t);
    const std::string& name = s.server_name.empty() ? s.host : s.server_name;
    std::string port = std::to_string(s.port);
    std::string url = "https://" + UrlHost(name) + ":" + port + "/";
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    if (!s.server_name.empty() && s.server_name != s.host) {
      // Connect to `host` while sending and verifying `server_name`.
      std::string rule = UrlHost(name) + ":" + port + ":" + UrlHost(s.host) + ":" + port;
      t.connect_to = curl_slist_append(nullptr, rule.c_str());
      curl_easy_setopt(e, CURLOPT_CONNECT_TO, t.connect_to);
    }
    curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
    SetupTlsOptions(t, s.verify, s.ca_file);
    if (s.verify) t.verify_host = Unbracket(name);
    return {};
  }

  void CollectDone() {
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &t);
      CURLcode rc = m->data.result;
      Result r = t->http != nullptr ? HttpResult(*t, rc) : TlsResult(*t, rc);
      Finish(t, std::move(r));
    }
  }

  void Finish(Transfer* t, Result r) {
    curl_multi_remove_handle(multi_, t->easy);
    Transfer* last = active_.back();
    last->slot = t->slot;
    active_[t->slot] = last;
    active_.pop_back();
    Callback done = std::move(t->job.done);
    Release(t);
    done(std::move(r));
  }

  void CancelAll() {
    while (!active_.empty()) {
      Transfer* t = active_.back();
      Finish(t, Fail(Outcome::kUnknown, std::string(kShuttingDown), t->started,
                     duration_cast<microseconds>(Steady::now() - t->start)));
    }
    for (Job& job : waiting_) {
      job.done(Fail(Outcome::kUnknown, std::string(kShuttingDown), clock_.Now()));
    }
    waiting_.clear();
  }

  // The message of a probe that ran out of time, naming the phase it was in.
  std::string TimeoutMessage(const Transfer& t) const {
    std::string head = fmt::format("timeout after {} ms ", t.job.timeout.count());
    switch (t.phase) {
      case Phase::kResolving:
        return head + "while resolving the host name";
      case Phase::kConnecting:
        return head + (t.tcp_connected ? "during the TLS handshake" : "during connect");
      case Phase::kWaiting:
        return head + "while waiting for the response (connected, no first byte)";
      case Phase::kHeaders:
        return head + "while reading the response headers";
      case Phase::kBody:
        return head + "while reading the body (" + FormatBytes(t.body_bytes) + " read)";
    }
    return head;
  }

  // A transport failure: which step failed and curl's (or the OS's) reason.
  std::string TransportMessage(const Transfer& t, CURLcode rc) const {
    if (rc == CURLE_OPERATION_TIMEDOUT) return TimeoutMessage(t);
    if (rc == CURLE_TOO_MANY_REDIRECTS && t.http != nullptr) {
      return fmt::format("too many redirects (limit {})", t.http->max_redirects);
    }
    std::string reason = t.error[0] != '\0' ? std::string(t.error.data()) : curl_easy_strerror(rc);
    const char* phase = "response";
    switch (rc) {
      case CURLE_COULDNT_RESOLVE_HOST:
        phase = "resolve";
        break;
      case CURLE_COULDNT_CONNECT: {
        phase = "connect";
        long os_errno = 0;
        curl_easy_getinfo(t.easy, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno != 0) reason = LowerFirst(strerror(static_cast<int>(os_errno)));
        break;
      }
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CIPHER:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_ISSUER_ERROR:
        phase = "tls";
        break;
      default:
        switch (t.phase) {
          case Phase::kResolving:
            phase = "resolve";
            break;
          case Phase::kConnecting:
            phase = "connect";
            break;
          case Phase::kWaiting:
          case Phase::kHeaders:
            phase = "response";
            break;
          case Phase::kBody:
            phase = "body";
            break;
        }
    }
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
    return std::string(phase) + ": " + reason;
  }

  Result HttpResult(Transfer& t, CURLcode rc) {
    const HttpSpec& s = *t.http;
    CURL* e = t.easy;
    Result r;
    r.started = t.started;
    r.duration = duration_cast<microseconds>(Steady::now() - t.start);
    long status = 0, redirects = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(e, CURLINFO_REDIRECT_COUNT, &redirects);
    r.http_status = static_cast<int>(status);
    r.redirects = static_cast<int>(redirects);
    r.response_bytes = t.body_bytes;
    if (t.not_after) r.cert_expiry = Timestamp(std::chrono::seconds(*t.not_after));
    r.http_phases = Phases(e);

    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t.body_too_large)) {
      r.outcome = Outcome::kCritical;
      r.message = TransportMessage(t, rc);
      return r;
    }
    r.outcome = Outcome::kCritical;
    if (!StatusExpected(s.expected_status, r.http_status)) {
      r.message =
          fmt::format("HTTP {} (expected {})", r.http_status, FormatRanges(s.expected_status));
      return r;
    }
    if (t.body_too_large) {
      r.message = fmt::format("body exceeds {} bytes", s.max_body_bytes);
      return r;
    }
    if (!s.body_contains.empty() && t.body.find(s.body_contains) == std::string::npos) {
      r.message = "body does not contain \"" + Abbrev(s.body_contains) + "\"";
      return r;
    }
    if (s.body_re != nullptr && !RE2::PartialMatch(t.body, *s.body_re)) {
      r.message = "body does not match regex \"" + Abbrev(s.body_regex) + "\"";
      return r;
    }
    if (!s.json_path.empty()) {
      std::string failure = CheckJson(s, t.body);
      if (!failure.empty()) {
        r.message = std::move(failure);
        return r;
      }
    }
    int64_t ms = RoundMs(r.duration);
    if (s.max_response_time && r.duration > *s.max_response_time) {
      r.outcome = Outcome::kWarning;
      r.message = fmt::format("HTTP {} in {} ms (slower than {} ms)", r.http_status, ms,
                              s.max_response_time->count());
      return r;
    }
    r.outcome = Outcome::kOk;
    r.message = fmt::format("HTTP {} in {} ms", r.http_status, ms);
    return r;
  }

  // Phase durations as blackbox_exporter defines them (summed over redirects by curl as well):
  // resolve = DNS; connect = TCP connect; tls = DNS done to TLS done (it includes the TCP connect,
  // as in blackbox_exporter); processing = connection ready to first response byte; transfer =
  // first byte to the end.
  static HttpPhases Phases(CURL* e) {
    curl_off_t dns = 0, conn = 0, app = 0, first = 0, total = 0;
    curl_easy_getinfo(e, CURLINFO_NAMELOOKUP_TIME_T, &dns);
    curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &conn);
    curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &app);
    curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &first);
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total);
    auto span = [](curl_off_t from, curl_off_t to) {
      return microseconds(to > from && from >= 0 ? to - from : 0);
    };
    HttpPhases p;
    p.resolve = microseconds(dns);
    if (conn > 0) p.connect = span(dns, conn);
    if (app > 0) p.tls = span(dns, app);
    curl_off_t ready = app > 0 ? app : conn;
    if (first > 0 && ready > 0) p.processing = span(ready, first);
    if (first > 0) p.transfer = span(first, total);
    return p;
  }

  Result TlsResult(Transfer& t, CURLcode rc) {
    const TlsSpec& s = *t.tls;
    Result r;
    r.started = t.started;
    r.duration = duration_cast<microseconds>(Steady::now() - t.start);
    if (t.not_after) r.cert_expiry = Timestamp(std::chrono::seconds(*t.not_after));
    r.outcome = Outcome::kCritical;
    if (rc != CURLE_OK) {
      if (t.verify && t.verify_error != X509_V_OK) {
        r.message =
            std::string("verification failed: ") + X509_verify_cert_error_string(t.verify_error);
      } else {
        r.message = TransportMessage(t, rc);
      }
      return r;
    }
    if (!t.not_after) {
      r.message = "the server presented no certificate";
      return r;
    }
    int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
    int64_t left = *t.not_after - now;
    std::string date = FormatDate(*t.not_after);
    if (left <= 0) {
      r.message = "certificate expired on " + date;
      return r;
    }
    int64_t days = left / 86400;
    r.message =
        fmt::format("certificate expires in {} day{} ({})", days, days == 1 ? "" : "s", date);
    if (days < s.critical_days) return r;
    r.outcome = days < s.warning_days ? Outcome::kWarning : Outcome::kOk;
    return r;
  }

  const Clock& clock_;
  CURLSH* share_;
  const size_t max_in_flight_;
  int epfd_ = -1, evfd_ = -1;
  CURLM* multi_ = nullptr;
  std::thread thread_;

  std::mutex mu_;
  std::vector<Job> incoming_;  // GUARDED_BY(mu_)
  bool started_ = false;       // GUARDED_BY(mu_)
  bool stopping_ = false;      // GUARDED_BY(mu_)

  // Worker thread only.
  Steady::time_point timer_ = Steady::time_point::max();
  std::deque<Job> waiting_;
  Steady::time_point waiting_deadline_ = Steady::time_point::max();  // <= every waiting deadline
  std::vector<Transfer*> active_;
  std::vector<Transfer*> idle_;
};

class CurlProber final : public Prober {
 public:
  CurlProber(const EngineOptions& options, const Clock& clock) : clock_(clock) {
    CurlGlobalInit();
    share_ = curl_share_init();
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &OnShareLock);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &OnShareUnlock);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, &locks_);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    int threads = std::clamp(options.curl_threads, 1, 16);
    int in_flight = std::max(1, options.max_curl_in_flight);
    for (int i = 0; i < threads; ++i) {
      workers_.push_back(std::make_unique<Worker>(clock, share_, in_flight));
    }
  }

  ~CurlProber() override {
    Stop();
    workers_.clear();
    curl_share_cleanup(share_);
  }

  void Run(std::shared_ptr<const Spec> spec, milliseconds timeout, Callback done) override {
    size_t i = next_.fetch_add(1, std::memory_order_relaxed) % workers_.size();
    std::optional<Job> rejected =
        workers_[i]->Push(Job{std::move(spec), timeout, std::move(done), Steady::now()});
    if (rejected) {
      rejected->done(Fail(Outcome::kUnknown, std::string(kShuttingDown), clock_.Now()));
    }
  }

  void Start() override {
    for (auto& w : workers_) w->Start();
  }

  void Stop() override {
    for (auto& w : workers_) w->Stop();
  }

 private:
  const Clock& clock_;
  ShareLocks locks_;
  CURLSH* share_ = nullptr;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<size_t> next_{0};
};

}  // namespace

std::unique_ptr<Prober> NewCurlProber(const EngineOptions& options, const Clock& clock) {
  return std::make_unique<CurlProber>(options, clock);
}

}  // namespace platops::probe
