#include "probe/test_targets.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace platops::probe::targets {

namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "test_targets: %s: %s\n", what.c_str(), std::strerror(errno));
  ERR_print_errors_fp(stderr);
  std::abort();
}

std::string ToPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

std::string ToPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

X509* CertFromPem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) Die("PEM_read_bio_X509");
  return cert;
}

EVP_PKEY* KeyFromPem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) Die("PEM_read_bio_PrivateKey");
  return key;
}

void AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) Die("X509V3_EXT_conf_nid " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Makes a certificate for `key` signed by `issuer_key` (self-signed when `issuer` is null).
TestCert MakeCert(const CertOptions& o, bool is_ca, X509* issuer, EVP_PKEY* issuer_key) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) Die("EVP_EC_gen");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), serial >> 1);
  time_t now = std::time(nullptr);
  time_t not_after = now + o.not_after.count();
  ASN1_TIME_set(X509_getm_notBefore(cert), now + o.not_before.count());
  ASN1_TIME_set(X509_getm_notAfter(cert), not_after);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(o.common_name.c_str()), -1, -1,
                             0);
  X509* signer = issuer != nullptr ? issuer : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(signer));
  AddExt(cert, signer, NID_subject_key_identifier, "hash");
  if (is_ca) {
    AddExt(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExt(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExt(cert, signer, NID_basic_constraints, "critical,CA:FALSE");
    AddExt(cert, signer, NID_key_usage, "critical,digitalSignature");
    AddExt(cert, signer, NID_ext_key_usage, "serverAuth");
    std::string san;
    for (const std::string& d : o.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + d;
    for (const std::string& ip : o.ips) san += (san.empty() ? "IP:" : ",IP:") + ip;
    if (!san.empty()) AddExt(cert, signer, NID_subject_alt_name, san);
  }
  if (issuer != nullptr) AddExt(cert, signer, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    Die("X509_sign");
  }
  TestCert out{ToPem(cert), ToPem(key), Timestamp(std::chrono::seconds(not_after))};
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

bool WriteAll(int fd, SSL* ssl, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ssl != nullptr ? SSL_write(ssl, data.data(), static_cast<int>(data.size()))
                               : send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

ssize_t ReadSome(int fd, SSL* ssl, char* buf, size_t len) {
  if (ssl != nullptr) return SSL_read(ssl, buf, static_cast<int>(len));
  return recv(fd, buf, len, 0);
}

// Reads one request head and its Content-Length body; false when the peer went away.
bool ReadRequest(int fd, SSL* ssl, std::string& out) {
  char buf[4096];
  size_t head_end = std::string::npos;
  while ((head_end = out.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ReadSome(fd, ssl, buf, sizeof buf);
    if (n <= 0) return false;
    out.append(buf, static_cast<size_t>(n));
  }
  size_t want = 0;
  std::string lower = out.substr(0, head_end);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t cl = lower.find("\r\ncontent-length:");
  if (cl != std::string::npos) want = std::strtoul(lower.c_str() + cl + 17, nullptr, 10);
  while (out.size() < head_end + 4 + want) {
    ssize_t n = ReadSome(fd, ssl, buf, sizeof buf);
    if (n <= 0) return false;
    out.append(buf, static_cast<size_t>(n));
  }
  return true;
}

std::string_view Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string Response(int status, const HeaderList& headers, const std::string& body,
                     bool with_length = true) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(Reason(status)) +
                    "\r\nConnection: close\r\n";
  if (with_length) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  out += "\r\n";
  return out + body;
}

// The path of a request line "GET /x HTTP/1.1".
std::string RequestPath(const std::string& request) {
  size_t a = request.find(' ');
  size_t b = a == std::string::npos ? a : request.find(' ', a + 1);
  if (b == std::string::npos) return "/";
  return request.substr(a + 1, b - a - 1);
}

// True when stopping; otherwise waits up to `ms`.
bool WaitStop(int stop_fd, int ms) {
  pollfd p{stop_fd, POLLIN, 0};
  return poll(&p, 1, ms) > 0;
}

}  // namespace

TestCert SelfSigned(const CertOptions& options) {
  return MakeCert(options, false, nullptr, nullptr);
}

TestCa::TestCa() {
  CertOptions o;
  o.common_name = "platops test CA";
  o.not_after = std::chrono::hours(24 * 365);
  ca_ = MakeCert(o, true, nullptr, nullptr);
  char path[] = "/tmp/platops-test-ca-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) Die("mkstemp");
  if (write(fd, ca_.cert_pem.data(), ca_.cert_pem.size()) !=
      static_cast<ssize_t>(ca_.cert_pem.size())) {
    Die("write CA file");
  }
  close(fd);
  ca_file_ = path;
}

TestCa::~TestCa() { unlink(ca_file_.c_str()); }

TestCert TestCa::Issue(const CertOptions& options) const {
  X509* issuer = CertFromPem(ca_.cert_pem);
  EVP_PKEY* key = KeyFromPem(ca_.key_pem);
  TestCert out = MakeCert(options, false, issuer, key);
  X509_free(issuer);
  EVP_PKEY_free(key);
  return out;
}

Behaviour Behaviour::HttpOk(std::string body, int status, HeaderList headers) {
  Behaviour b;
  b.kind = Kind::kHttp;
  b.body = std::move(body);
  b.status = status;
  b.headers = std::move(headers);
  return b;
}

Behaviour Behaviour::Echo() {
  Behaviour b;
  b.kind = Kind::kEcho;
  return b;
}

Behaviour Behaviour::RedirectLoop() {
  Behaviour b;
  b.kind = Kind::kRedirectLoop;
  return b;
}

Behaviour Behaviour::RedirectTo(std::string url) {
  Behaviour b;
  b.kind = Kind::kRedirectTo;
  b.location = std::move(url);
  return b;
}

Behaviour Behaviour::NeverAccept() {
  Behaviour b;
  b.kind = Kind::kNeverAccept;
  return b;
}

Behaviour Behaviour::AcceptNeverAnswer() {
  Behaviour b;
  b.kind = Kind::kAcceptNeverAnswer;
  return b;
}

Behaviour Behaviour::SlowBytes() {
  Behaviour b;
  b.kind = Kind::kSlowBytes;
  return b;
}

Behaviour Behaviour::HugeBody() {
  Behaviour b;
  b.kind = Kind::kHugeBody;
  return b;
}

std::unique_ptr<TestServer> TestServer::Start(Behaviour behaviour, std::optional<TestCert> tls) {
  return std::unique_ptr<TestServer>(new TestServer(std::move(behaviour), std::move(tls)));
}

TestServer::TestServer(Behaviour behaviour, std::optional<TestCert> tls)
    : behaviour_(std::move(behaviour)), tls_(tls.has_value()) {
  if (tls) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    X509* cert = CertFromPem(tls->cert_pem);
    EVP_PKEY* key = KeyFromPem(tls->key_pem);
    if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
      Die("SSL_CTX_use_certificate");
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    ssl_ctx_ = ctx;
  }
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (stop_fd_ < 0 || listen_fd_ < 0) Die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bool never_accept = behaviour_.kind == Behaviour::Kind::kNeverAccept;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, never_accept ? 0 : 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Die("bind/listen");
  }
  port_ = ntohs(addr.sin_port);
  if (never_accept) {
    // One completed connection fills an accept queue of backlog 0; later SYNs are dropped.
    filler_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(filler_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      Die("connect filler");
    }
    return;
  }
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TestServer::~TestServer() {
  Stop();
  if (ssl_ctx_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
}

std::string TestServer::Url(std::string_view path) const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) +
         std::string(path);
}

std::vector<std::string> TestServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void TestServer::Stop() {
  std::vector<std::thread> handlers;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof one) != sizeof one) Die("write stop");
    for (int fd : live_fds_) shutdown(fd, SHUT_RDWR);
  }
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard lock(mu_);
    handlers.swap(handlers_);
  }
  for (std::thread& t : handlers) t.join();
  if (filler_fd_ >= 0) close(filler_fd_);
  close(listen_fd_);
  close(stop_fd_);
}

void TestServer::AcceptLoop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) return;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    connections_++;
    std::lock_guard lock(mu_);
    if (stopped_) {
      close(fd);
      return;
    }
    live_fds_.insert(fd);
    handlers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void TestServer::Serve(int fd) {
  // A peer that goes away makes writes fail with EPIPE instead of killing the test binary.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);

  SSL* ssl = nullptr;
  auto serve = [&] {
    if (behaviour_.kind == Behaviour::Kind::kAcceptNeverAnswer) {
      char buf[4096];
      while (recv(fd, buf, sizeof buf, 0) > 0) {
      }
      return;
    }
    if (tls_) {
      ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) != 1) return;
    }
    std::string request;
    if (!ReadRequest(fd, ssl, request)) return;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(request);
    }
    const Behaviour& b = behaviour_;
    if (b.delay.count() > 0 && WaitStop(stop_fd_, static_cast<int>(b.delay.count()))) return;
    switch (b.kind) {
      case Behaviour::Kind::kHttp:
        WriteAll(fd, ssl, Response(b.status, b.headers, b.body));
        break;
      case Behaviour::Kind::kEcho:
        WriteAll(fd, ssl, Response(200, b.headers, request));
        break;
      case Behaviour::Kind::kRedirectLoop:
        WriteAll(fd, ssl, Response(302, {{"Location", RequestPath(request)}}, ""));
        break;
      case Behaviour::Kind::kRedirectTo:
        WriteAll(fd, ssl, Response(302, {{"Location", b.location}}, ""));
        break;
      case Behaviour::Kind::kSlowBytes: {
        if (!WriteAll(fd, ssl, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")) return;
        for (int i = 0; i < 1000; ++i) {
          if (!WriteAll(fd, ssl, "x") || WaitStop(stop_fd_, 1000)) return;
        }
        break;
      }
      case Behaviour::Kind::kHugeBody: {
        if (!WriteAll(fd, ssl, "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")) return;
        std::string chunk(64 * 1024, 'x');
        for (int64_t sent = 0; sent < 1000000000; sent += static_cast<int64_t>(chunk.size())) {
          if (!WriteAll(fd, ssl, chunk)) return;
        }
        break;
      }
      case Behaviour::Kind::kNeverAccept:
      case Behaviour::Kind::kAcceptNeverAnswer:
        break;
    }
    if (ssl != nullptr) SSL_shutdown(ssl);
  };
  serve();
  if (ssl != nullptr) SSL_free(ssl);
  std::lock_guard lock(mu_);
  live_fds_.erase(fd);
  close(fd);
}

}  // namespace platops::probe::targets
