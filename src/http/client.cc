#include "http/client.h"

#include <curl/curl.h>
#include <strings.h>

#include <mutex>

namespace platops::http {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<Headers*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    // A new response (after 100 Continue or a redirect): forget the previous one's headers.
    *headers = Headers();
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    headers->Add(std::string(Trim(line.substr(0, colon))),
                 std::string(Trim(line.substr(colon + 1))));
  }
  return size * n;
}

class CurlClient : public Client {
 public:
  CurlClient() : curl_(curl_easy_init()) {}
  ~CurlClient() override {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }
  CurlClient(const CurlClient&) = delete;
  CurlClient& operator=(const CurlClient&) = delete;

  Result<ClientResponse> Send(const ClientRequest& request) override {
    if (curl_ == nullptr) return Status(StatusCode::kInternal, "curl_easy_init failed");
    if (request.method == Method::kOther) {
      return InvalidArgument("unsupported HTTP method", "method");
    }
    // Reset options but keep the connection cache, so keep-alive works across calls.
    curl_easy_reset(curl_);
    ClientResponse response;
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl_, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &response.headers);
    if (!request.verify_tls) {
      curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!request.ca_file.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, request.ca_file.c_str());
    if (!request.cert_file.empty()) {
      curl_easy_setopt(curl_, CURLOPT_SSLCERT, request.cert_file.c_str());
    }
    if (!request.key_file.empty()) curl_easy_setopt(curl_, CURLOPT_SSLKEY, request.key_file.c_str());
    if (!request.proxy_url.empty()) curl_easy_setopt(curl_, CURLOPT_PROXY, request.proxy_url.c_str());
    if (request.follow_redirects) {
      curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(curl_, CURLOPT_MAXREDIRS, 10L);
      curl_easy_setopt(curl_, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    }

    switch (request.method) {
      case Method::kGet:
        curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
        // A body would otherwise turn the request into a POST.
        if (!request.body.empty()) curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, "GET");
        break;
      case Method::kHead:
        curl_easy_setopt(curl_, CURLOPT_NOBODY, 1L);
        break;
      default:
        curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST,
                         std::string(MethodName(request.method)).c_str());
        break;
    }
    if (!request.body.empty() || request.method == Method::kPost ||
        request.method == Method::kPut || request.method == Method::kPatch) {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, request.body.data());
    }

    curl_slist* headers = nullptr;
    bool has_expect = false;
    for (const auto& [name, value] : request.headers) {
      if (name.size() == 6 && strncasecmp(name.c_str(), "expect", 6) == 0) has_expect = true;
      headers = curl_slist_append(headers, (name + ": " + value).c_str());
    }
    // curl would wait for "100 Continue" before sending a large body; many servers never send it.
    if (!has_expect) headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);

    CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
      std::string message =
          request.url + ": " + (error[0] != '\0' ? error : curl_easy_strerror(rc));
      if (rc == CURLE_OPERATION_TIMEDOUT) return Status(StatusCode::kDeadlineExceeded, message);
      return Unavailable(message);
    }
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    return response;
  }

 private:
  CURL* curl_;
};

}  // namespace

std::unique_ptr<Client> NewCurlClient() {
  GlobalInit();
  return std::make_unique<CurlClient>();
}

}  // namespace platops::http
