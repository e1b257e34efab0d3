// Prepare(Spec&): validation of every kind of probe spec, and the compiled regexes it keeps.

#include <arpa/inet.h>
#include <curl/curl.h>
#include <re2/re2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "base/strings.h"
#include "probe/probe.h"

namespace platops::probe {

namespace {

constexpr int64_t kKiB = 1024;
constexpr int64_t kMiB = 1024 * 1024;

std::string Quote(std::string_view s) {
  std::string out = Abbreviate(s, 80);
  out.insert(out.begin(), '"');
  out.push_back('"');
  return out;
}

bool HasControlChar(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// RFC 9110 token characters (header field names, methods).
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  for (char c : s) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && kExtra.find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// A DNS name: at most 253 characters without the trailing dot, labels of 1..63 letters, digits,
// '-' and '_' (service labels such as "_dmarc").
Status CheckDnsName(std::string_view name, const char* field) {
  if (name.empty()) return InvalidArgument("required", field);
  std::string_view n = name;
  if (n.size() > 1 && n.back() == '.') n.remove_suffix(1);
  if (n.size() > 253) {
    return InvalidArgument("name is longer than 253 characters", field);
  }
  size_t label = 0;
  for (size_t i = 0; i <= n.size(); ++i) {
    if (i == n.size() || n[i] == '.') {
      if (label == 0) return InvalidArgument("empty label in " + Quote(name), field);
      if (label > 63) {
        return InvalidArgument("label longer than 63 characters in " + Quote(name), field);
      }
      label = 0;
      continue;
    }
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) {
      return InvalidArgument("invalid character '" + std::string(1, c) + "' in " + Quote(name),
                             field);
    }
    ++label;
  }
  return Status::Ok();
}

// A host to connect to: an IP literal or a DNS name.
Status CheckHost(std::string_view host, const char* field) {
  if (host.empty()) return InvalidArgument("required", field);
  std::array<unsigned char, 16> buf{};
  std::string h(host);
  if (inet_pton(AF_INET, h.c_str(), buf.data()) == 1) return Status::Ok();
  if (inet_pton(AF_INET6, h.c_str(), buf.data()) == 1) return Status::Ok();
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') {
    std::string inner = h.substr(1, h.size() - 2);
    if (inet_pton(AF_INET6, inner.c_str(), buf.data()) == 1) return Status::Ok();
  }
  return CheckDnsName(host, field);
}

Status CheckPort(int port, const char* field) {
  if (port < 1 || port > 65535) {
    return InvalidArgument("must be 1..65535, got " + std::to_string(port), field);
  }
  return Status::Ok();
}

platops::Result<std::shared_ptr<const re2::RE2>> CompileRegex(const std::string& pattern,
                                                              const char* field) {
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<const re2::RE2>(pattern, options);
  if (!re->ok()) {
    return InvalidArgument("invalid regular expression: " + re->error(), field);
  }
  return std::shared_ptr<const re2::RE2>(std::move(re));
}

Status CheckReadableFile(const std::string& path, const char* field) {
  if (path.empty()) return Status::Ok();
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return InvalidArgument("no such file: " + Quote(path), field);
  }
  if (access(path.c_str(), R_OK) != 0) {
    return InvalidArgument("not readable: " + Quote(path), field);
  }
  return Status::Ok();
}

bool IsExecutableFile(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

Status CheckUrl(const std::string& url) {
  constexpr const char* kField = "http.url";
  if (url.empty()) return InvalidArgument("required", kField);
  if (!StartsWithIgnoreCase(url, "http://") && !StartsWithIgnoreCase(url, "https://")) {
    return InvalidArgument("must start with http:// or https://, got " + Quote(url), kField);
  }
  // curl reads "http:///x" as host "x"; a third slash is a mistake, not a host.
  if (url[url.find("://") + 3] == '/') {
    return InvalidArgument("must name a host, got " + Quote(url), kField);
  }
  CURLU* u = curl_url();
  if (u == nullptr) return Internal("curl_url: out of memory");
  CURLUcode rc = curl_url_set(u, CURLUPART_URL, url.c_str(), 0);
  char* host = nullptr;
  if (rc == CURLUE_OK) rc = curl_url_get(u, CURLUPART_HOST, &host, 0);
  bool has_host = host != nullptr && host[0] != '\0';
  curl_free(host);
  curl_url_cleanup(u);
  if (rc == CURLUE_NO_HOST || (rc == CURLUE_OK && !has_host)) {
    return InvalidArgument("must name a host, got " + Quote(url), kField);
  }
  if (rc != CURLUE_OK) {
    return InvalidArgument(
        std::string("not a valid URL (") + curl_url_strerror(rc) + "): " + Quote(url), kField);
  }
  return Status::Ok();
}

Status PrepareHttp(HttpSpec& s) {
  PLATOPS_RETURN_IF_ERROR(CheckUrl(s.url));
  static constexpr std::array<std::string_view, 7> kMethods = {"GET",   "HEAD",   "POST",   "PUT",
                                                               "PATCH", "DELETE", "OPTIONS"};
  bool known = false;
  for (std::string_view m : kMethods) known = known || s.method == m;
  if (!known) {
    return InvalidArgument(
        "must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS; got " + Quote(s.method),
        "http.method");
  }
  for (size_t i = 0; i < s.headers.size(); ++i) {
    const auto& [name, value] = s.headers[i];
    std::string field = "http.headers[" + std::to_string(i) + "]";
    if (!IsToken(name)) {
      return InvalidArgument("invalid header name " + Quote(name), field);
    }
    if (EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Transfer-Encoding")) {
      return InvalidArgument(name + " is set by the probe from the body", field);
    }
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return InvalidArgument("header " + name + ": value must not contain CR, LF or NUL", field);
    }
  }
  for (size_t i = 0; i < s.expected_status.size(); ++i) {
    const StatusRange& r = s.expected_status[i];
    std::string field = "http.expected_status[" + std::to_string(i) + "]";
    if (r.low < 100 || r.low > 599 || r.high < 100 || r.high > 599) {
      return InvalidArgument("status codes must be within 100..599, got " + std::to_string(r.low) +
                                 "-" + std::to_string(r.high),
                             field);
    }
    if (r.low > r.high) {
      return InvalidArgument(
          "range is reversed: " + std::to_string(r.low) + " > " + std::to_string(r.high), field);
    }
  }
  bool head = s.method == "HEAD";
  if (head && !s.body_contains.empty()) {
    return InvalidArgument("a HEAD response has no body to search", "http.body_contains");
  }
  if (!s.body_regex.empty()) {
    if (head) return InvalidArgument("a HEAD response has no body to search", "http.body_regex");
    PLATOPS_ASSIGN_OR_RETURN(s.body_re, CompileRegex(s.body_regex, "http.body_regex"));
  } else {
    s.body_re.reset();
  }
  if (!s.json_path.empty()) {
    if (head) return InvalidArgument("a HEAD response has no body to parse", "http.json_path");
    for (std::string_view seg : Split(s.json_path, '.')) {
      if (seg.empty()) {
        return InvalidArgument("empty segment in " + Quote(s.json_path) +
                                   " (use dotted keys and indexes: \"data.items.0.state\")",
                               "http.json_path");
      }
    }
  }
  if (s.json_path.empty() && !s.json_value.empty()) {
    return InvalidArgument("set without http.json_path", "http.json_value");
  }
  if (s.max_response_time && s.max_response_time->count() <= 0) {
    return InvalidArgument("must be positive", "http.max_response_time");
  }
  if (s.max_redirects < 0 || s.max_redirects > 10) {
    return InvalidArgument("must be 0..10, got " + std::to_string(s.max_redirects),
                           "http.max_redirects");
  }
  PLATOPS_RETURN_IF_ERROR(CheckReadableFile(s.ca_file, "http.ca_file"));
  if (s.max_body_bytes < kKiB || s.max_body_bytes > 64 * kMiB) {
    return InvalidArgument(
        "must be 1024..67108864 (1 KiB..64 MiB), got " + std::to_string(s.max_body_bytes),
        "http.max_body_bytes");
  }
  if (s.basic_user.find(':') != std::string::npos) {
    return InvalidArgument("must not contain ':'", "http.basic_user");
  }
  if (s.basic_user.empty() && !s.basic_password.empty()) {
    return InvalidArgument("set without http.basic_user", "http.basic_password");
  }
  if (HasControlChar(s.basic_user) || HasControlChar(s.basic_password)) {
    return InvalidArgument("must not contain control characters", HasControlChar(s.basic_user)
                                                                      ? "http.basic_user"
                                                                      : "http.basic_password");
  }
  if (!s.bearer_token.empty()) {
    if (!s.basic_user.empty()) {
      return InvalidArgument("basic auth and a bearer token are exclusive", "http.bearer_token");
    }
    if (HasControlChar(s.bearer_token) || s.bearer_token.find(' ') != std::string::npos) {
      return InvalidArgument("must not contain spaces or control characters", "http.bearer_token");
    }
  }
  return Status::Ok();
}

Status PrepareTcp(TcpSpec& s) {
  PLATOPS_RETURN_IF_ERROR(CheckHost(s.host, "tcp.host"));
  PLATOPS_RETURN_IF_ERROR(CheckPort(s.port, "tcp.port"));
  if (!s.expect_regex.empty()) {
    PLATOPS_ASSIGN_OR_RETURN(s.expect_re, CompileRegex(s.expect_regex, "tcp.expect"));
  } else {
    s.expect_re.reset();
  }
  return Status::Ok();
}

// "10.0.0.53", "10.0.0.53:5353", "[2001:db8::53]", "[2001:db8::53]:53".
Status CheckDnsServer(const std::string& server) {
  constexpr const char* kField = "dns.server";
  if (server.empty()) return Status::Ok();
  Status bad = InvalidArgument(
      "must be an IP address with an optional port (\"10.0.0.53\", \"10.0.0.53:5353\", "
      "\"[2001:db8::53]:53\"), got " +
          Quote(server),
      kField);
  std::string addr;
  std::string_view port;
  std::array<unsigned char, 16> buf{};
  int family = AF_INET;
  if (server.front() == '[') {
    size_t close = server.find(']');
    if (close == std::string::npos) return bad;
    addr = server.substr(1, close - 1);
    std::string_view rest = std::string_view(server).substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad;
      port = rest.substr(1);
      if (port.empty()) return bad;
    }
    family = AF_INET6;
  } else {
    size_t colon = server.find(':');
    if (colon != std::string::npos && server.find(':', colon + 1) != std::string::npos) {
      return bad;  // an IPv6 literal without brackets
    }
    addr = server.substr(0, colon);
    if (colon != std::string::npos) {
      port = std::string_view(server).substr(colon + 1);
      if (port.empty()) return bad;
    }
  }
  if (inet_pton(family, addr.c_str(), buf.data()) != 1) return bad;
  if (!port.empty()) {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) {
      return InvalidArgument("port must be 1..65535, got " + Quote(port), kField);
    }
  }
  return Status::Ok();
}

Status PrepareDns(DnsSpec& s) {
  PLATOPS_RETURN_IF_ERROR(CheckDnsName(s.name, "dns.name"));
  PLATOPS_RETURN_IF_ERROR(CheckDnsServer(s.server));
  for (size_t i = 0; i < s.expected.size(); ++i) {
    if (s.expected[i].empty()) {
      return InvalidArgument("must not be empty", "dns.expected[" + std::to_string(i) + "]");
    }
  }
  return Status::Ok();
}

Status PrepareTls(TlsSpec& s) {
  PLATOPS_RETURN_IF_ERROR(CheckHost(s.host, "tls.host"));
  PLATOPS_RETURN_IF_ERROR(CheckPort(s.port, "tls.port"));
  if (!s.server_name.empty()) {
    PLATOPS_RETURN_IF_ERROR(CheckDnsName(s.server_name, "tls.server_name"));
  }
  PLATOPS_RETURN_IF_ERROR(CheckReadableFile(s.ca_file, "tls.ca_file"));
  if (s.critical_days < 0 || s.critical_days > 3650) {
    return InvalidArgument("must be 0..3650, got " + std::to_string(s.critical_days),
                           "tls.critical_days");
  }
  if (s.warning_days < 0 || s.warning_days > 3650) {
    return InvalidArgument("must be 0..3650, got " + std::to_string(s.warning_days),
                           "tls.warning_days");
  }
  if (s.warning_days < s.critical_days) {
    return InvalidArgument("must be >= tls.critical_days (" + std::to_string(s.critical_days) +
                               "), got " + std::to_string(s.warning_days),
                           "tls.warning_days");
  }
  return Status::Ok();
}

Status PrepareExec(ExecSpec& s) {
  constexpr const char* kField = "exec.command";
  if (s.command.empty()) return InvalidArgument("required", kField);
  if (s.command.front() == '/') {
    if (!IsExecutableFile(s.command)) {
      return InvalidArgument(Quote(s.command) + " is not an executable file", kField);
    }
  } else if (s.command.find('/') != std::string::npos) {
    return InvalidArgument(
        "must be an absolute path or a name looked up in PATH, got " + Quote(s.command), kField);
  } else {
    const char* path = std::getenv("PATH");
    bool found = false;
    for (const std::string& dir : Split(path != nullptr ? path : "", ':')) {
      if (!dir.empty() && IsExecutableFile(dir + "/" + s.command)) {
        found = true;
        break;
      }
    }
    if (!found) return InvalidArgument(Quote(s.command) + " not found in PATH", kField);
  }
  for (const auto& [name, value] : s.env) {
    if (name.empty() || name.find('=') != std::string::npos ||
        name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
      return InvalidArgument("invalid variable name " + Quote(name), "exec.env");
    }
  }
  if (!s.working_dir.empty()) {
    struct stat st {};
    if (stat(s.working_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return InvalidArgument("no such directory: " + Quote(s.working_dir), "exec.working_dir");
    }
  }
  if (s.max_output_bytes < kKiB || s.max_output_bytes > kMiB) {
    return InvalidArgument(
        "must be 1024..1048576 (1 KiB..1 MiB), got " + std::to_string(s.max_output_bytes),
        "exec.max_output_bytes");
  }
  return Status::Ok();
}

}  // namespace

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kOk:
      return "OK";
    case Outcome::kWarning:
      return "WARNING";
    case Outcome::kCritical:
      return "CRITICAL";
    case Outcome::kUnknown:
      return "UNKNOWN";
  }
  return "UNKNOWN";
}

std::string_view DnsRecordName(DnsRecord r) {
  switch (r) {
    case DnsRecord::kA:
      return "A";
    case DnsRecord::kAAAA:
      return "AAAA";
    case DnsRecord::kCNAME:
      return "CNAME";
    case DnsRecord::kMX:
      return "MX";
    case DnsRecord::kTXT:
      return "TXT";
    case DnsRecord::kNS:
      return "NS";
  }
  return "A";
}

Status Prepare(Spec& spec) {
  return std::visit(
      [](auto& s) -> Status {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, HttpSpec>) return PrepareHttp(s);
        if constexpr (std::is_same_v<T, TcpSpec>) return PrepareTcp(s);
        if constexpr (std::is_same_v<T, DnsSpec>) return PrepareDns(s);
        if constexpr (std::is_same_v<T, TlsSpec>) return PrepareTls(s);
        if constexpr (std::is_same_v<T, ExecSpec>) return PrepareExec(s);
      },
      spec);
}

}  // namespace platops::probe
