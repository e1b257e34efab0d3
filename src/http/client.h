#pragma once
// Client: outbound HTTP through libcurl (the CLI, later checks, scrapes and notifications).
// Thread-safety: one Client per thread, or externally synchronized.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "http/message.h"

namespace platops::http {

struct ClientRequest {
  Method method = Method::kGet;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{30000};
  // HTTPS: verify the server's certificate and name (default true); `ca_file` (PEM) replaces the
  // system trust store when set.
  bool verify_tls = true;
  std::string ca_file;
  // A TLS client certificate and its key (PEM files), both or neither.
  std::string cert_file;
  std::string key_file;
  // "http://host:port" and the like: sent through this proxy. "" = libcurl's default (the
  // *_proxy environment variables).
  std::string proxy_url;
  // Follow up to 10 redirects, as Go's client does; the response is the last one's. An
  // Authorization header is not sent on to another host.
  bool follow_redirects = false;
};

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

class Client {
 public:
  virtual ~Client() = default;
  // A response with any status is OK; a non-OK Status means no response (connection refused,
  // timeout, TLS failure) and names the reason.
  virtual Result<ClientResponse> Send(const ClientRequest& request) = 0;
};

std::unique_ptr<Client> NewCurlClient();

}  // namespace platops::http
