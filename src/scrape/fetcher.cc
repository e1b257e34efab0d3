#include "scrape/fetcher.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

namespace platops::scrape {

namespace {

constexpr size_t kMaxIdleEasy = 64;

void CurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

long SslVersion(const std::string& min, const std::string& max) {
  long v = CURL_SSLVERSION_DEFAULT;
  if (min == "TLS10") v = CURL_SSLVERSION_TLSv1_0;
  if (min == "TLS11") v = CURL_SSLVERSION_TLSv1_1;
  if (min == "TLS12") v = CURL_SSLVERSION_TLSv1_2;
  if (min == "TLS13") v = CURL_SSLVERSION_TLSv1_3;
  if (max == "TLS10") v |= CURL_SSLVERSION_MAX_TLSv1_0;
  if (max == "TLS11") v |= CURL_SSLVERSION_MAX_TLSv1_1;
  if (max == "TLS12") v |= CURL_SSLVERSION_MAX_TLSv1_2;
  if (max == "TLS13") v |= CURL_SSLVERSION_MAX_TLSv1_3;
  return v;
}

void SetBlob(CURL* easy, CURLoption option, const std::string& pem) {
  curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(easy, option, &blob);
}

}  // namespace

struct Fetcher::Transfer {
  uint64_t id = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string* body = nullptr;
  uint64_t body_limit = 0;
  bool limit_hit = false;
  std::string url;
  std::string status_line;  // "404 Not Found" of the last response head.
  Done done;
  char error[CURL_ERROR_SIZE] = {};
};

Fetcher::Fetcher() {
  CurlGlobalInit();
  multi_ = curl_multi_init();
}

Fetcher::~Fetcher() {
  auto* multi = static_cast<CURLM*>(multi_);
  for (auto& [id, t] : transfers_) {
    curl_multi_remove_handle(multi, t->easy);
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
  }
  transfers_.clear();
  for (void* easy : idle_easy_) curl_easy_cleanup(static_cast<CURL*>(easy));
  curl_multi_cleanup(multi);
}

size_t Fetcher::OnWrite(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  // Prometheus fails a body that reaches the limit (not only one that passes it).
  if (t->body_limit > 0 && t->body->size() + bytes >= t->body_limit) {
    t->limit_hit = true;
    return 0;
  }
  t->body->append(data, bytes);
  return bytes;
}

size_t Fetcher::OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  std::string_view line(data, bytes);
  if (line.starts_with("HTTP/")) {
    size_t sp = line.find(' ');
    std::string_view rest = sp == std::string_view::npos ? "" : line.substr(sp + 1);
    while (!rest.empty() && (rest.back() == '\r' || rest.back() == '\n' || rest.back() == ' '))
      rest.remove_suffix(1);
    t->status_line.assign(rest);
  }
  return bytes;
}

void Fetcher::Start(uint64_t id, const FetchRequest& r, std::string* body, Done done) {
  auto t = std::make_unique<Transfer>();
  t->id = id;
  t->body = body;
  t->body->clear();
  t->body_limit = r.body_limit;
  t->url = r.url;
  t->done = std::move(done);
  CURL* easy;
  if (!idle_easy_.empty()) {
    easy = static_cast<CURL*>(idle_easy_.back());
    idle_easy_.pop_back();
    curl_easy_reset(easy);
  } else {
    easy = curl_easy_init();
  }
  t->easy = easy;
  curl_easy_setopt(easy, CURLOPT_URL, t->url.c_str());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, t.get());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  // Fewer, larger writes for big bodies.
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 256L * 1024);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Fetcher::OnWrite);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Fetcher::OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::max<int64_t>(1, r.timeout.count())));
  curl_easy_setopt(easy, CURLOPT_PROXY, "");
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, r.gzip ? "gzip" : "identity");
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "platops-scrape");
  if (r.follow_redirects) {
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  }
  for (const auto& h : r.headers) t->headers = curl_slist_append(t->headers, h.c_str());
  if (t->headers) curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);
  if (r.basic) {
    curl_easy_setopt(easy, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(easy, CURLOPT_USERNAME, r.username.c_str());
    curl_easy_setopt(easy, CURLOPT_PASSWORD, r.password.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, r.verify_tls ? 1L : 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, r.verify_tls ? 2L : 0L);
  if (!r.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, r.ca_file.c_str());
  if (!r.ca_pem.empty()) SetBlob(easy, CURLOPT_CAINFO_BLOB, r.ca_pem);
  if (!r.cert_file.empty()) curl_easy_setopt(easy, CURLOPT_SSLCERT, r.cert_file.c_str());
  if (!r.cert_pem.empty()) SetBlob(easy, CURLOPT_SSLCERT_BLOB, r.cert_pem);
  if (!r.key_file.empty()) curl_easy_setopt(easy, CURLOPT_SSLKEY, r.key_file.c_str());
  if (!r.key_pem.empty()) SetBlob(easy, CURLOPT_SSLKEY_BLOB, r.key_pem);
  if (!r.min_version.empty() || !r.max_version.empty())
    curl_easy_setopt(easy, CURLOPT_SSLVERSION, SslVersion(r.min_version, r.max_version));
  curl_multi_add_handle(static_cast<CURLM*>(multi_), easy);
  transfers_[id] = std::move(t);
}

void Fetcher::Release(std::unique_ptr<Transfer> t) {
  curl_multi_remove_handle(static_cast<CURLM*>(multi_), t->easy);
  curl_slist_free_all(t->headers);
  t->headers = nullptr;
  if (idle_easy_.size() < kMaxIdleEasy) {
    idle_easy_.push_back(t->easy);
  } else {
    curl_easy_cleanup(t->easy);
  }
}

void Fetcher::Cancel(uint64_t id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  std::unique_ptr<Transfer> t = std::move(it->second);
  transfers_.erase(it);
  Release(std::move(t));
}

FetchResult Fetcher::Finish(Transfer& t, int code) {
  FetchResult r;
  const auto result = static_cast<CURLcode>(code);
  if (result == CURLE_WRITE_ERROR && t.limit_hit) {
    r.failure = FailureReason::kBodySizeLimit;
    r.error = "body size limit exceeded";
    return r;
  }
  if (result == CURLE_OPERATION_TIMEDOUT) {
    r.failure = FailureReason::kTimeout;
    r.error = "Get \"" + t.url + "\": context deadline exceeded";
    return r;
  }
  if (result != CURLE_OK) {
    r.failure = FailureReason::kFetch;
    r.error = "Get \"" + t.url + "\": " + (t.error[0] ? t.error : curl_easy_strerror(result));
    return r;
  }
  long status = 0;
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
  r.status = static_cast<int>(status);
  char* content_type = nullptr;
  curl_easy_getinfo(t.easy, CURLINFO_CONTENT_TYPE, &content_type);
  if (content_type) r.content_type = content_type;
  if (status != 200) {
    r.failure = FailureReason::kHttpStatus;
    r.error = "server returned HTTP status " +
              (t.status_line.empty() ? std::to_string(status) : t.status_line);
  }
  return r;
}

void Fetcher::Perform() {
  auto* multi = static_cast<CURLM*>(multi_);
  int running = 0;
  curl_multi_perform(multi, &running);
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Transfer* raw = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&raw));
    const int code = msg->data.result;
    auto it = transfers_.find(raw->id);
    if (it == transfers_.end()) continue;
    std::unique_ptr<Transfer> t = std::move(it->second);
    transfers_.erase(it);
    FetchResult r = Finish(*t, code);
    Done done = std::move(t->done);
    Release(std::move(t));
    // After Release: `done` may start the next transfer of the same target.
    done(std::move(r));
  }
}

void Fetcher::Wait(std::chrono::milliseconds max) {
  curl_multi_poll(static_cast<CURLM*>(multi_), nullptr, 0,
                  static_cast<int>(std::clamp<int64_t>(max.count(), 0, 60000)), nullptr);
}

void Fetcher::Wakeup() { curl_multi_wakeup(static_cast<CURLM*>(multi_)); }

}  // namespace platops::scrape
