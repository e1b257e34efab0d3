#include "alerting/smtp.h"

#include <arpa/inet.h>

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>

#include "alerting/email.h"
#include "base/strings.h"

namespace platops::alerting {
namespace {

using std::chrono::milliseconds;

constexpr const char* kMailFrom = "Mail-From";
constexpr const char* kRcptTo = "Rcpt-To";
constexpr const char* kHello = "Smtp-Hello";
constexpr const char* kAuthUsername = "Smtp-Auth-Username";
constexpr const char* kAuthIdentity = "Smtp-Auth-Identity";
constexpr const char* kRequireTls = "Smtp-Require-Tls";
constexpr const char* kInsecureSkipVerify = "Smtp-Tls-Insecure-Skip-Verify";
constexpr const char* kCaFile = "Smtp-Tls-Ca-File";
// Longest server reply kept in an attempt's error.
constexpr size_t kMaxReply = 256;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Target {
  bool implicit_tls = false;
  std::string host;  // as written, IPv6 in brackets
  std::string port;
};

Result<Target> ParseTarget(std::string_view target) {
  Target t;
  std::string_view rest;
  if (StartsWith(target, "smtps://")) {
    t.implicit_tls = true;
    rest = target.substr(8);
  } else if (StartsWith(target, "smtp://")) {
    rest = target.substr(7);
  } else {
    return InvalidArgument(
        "must be smtp://host:port or smtps://host:port, got " + QuoteForMessage(target), "target");
  }
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size() ||
      rest.find_first_of("/?#@") != std::string_view::npos) {
    return InvalidArgument("must be smtp://host:port, got " + QuoteForMessage(target), "target");
  }
  t.host = std::string(rest.substr(0, colon));
  t.port = std::string(rest.substr(colon + 1));
  if (!std::all_of(t.port.begin(), t.port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidArgument("port must be a number, got " + QuoteForMessage(t.port), "target");
  }
  return t;
}

bool IsLoopback(std::string_view host) {
  if (host == "localhost" || host == "[::1]") return true;
  // 127.0.0.0/8 as a dotted quad only: "127.mail.example.com" is a remote host.
  in_addr addr{};
  return StartsWith(host, "127.") && inet_pton(AF_INET, std::string(host).c_str(), &addr) == 1;
}

std::string PercentEncode(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

// What the session said, for the error: the command sent last (its verb only, so that AUTH
// payloads never reach a log) and the server's reply to it; and the first exchange the server
// refused (4xx or 5xx), which is what failed the delivery (libcurl may QUIT after it).
struct Transcript {
  std::string command;
  std::string reply;
  std::string refused_command;
  std::string refused_reply;

  void NoteRefusal() {
    // A refused EHLO is not fatal: libcurl falls back to HELO.
    if (refused_reply.empty() && command != "EHLO" && !reply.empty() &&
        (reply[0] == '4' || reply[0] == '5')) {
      refused_command = command;
      refused_reply = reply;
    }
  }
};

int OnDebug(CURL*, curl_infotype type, char* data, size_t size, void* user) {
  auto* t = static_cast<Transcript*>(user);
  std::string_view text(data, size);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  switch (type) {
    case CURLINFO_HEADER_OUT: {
      std::string verb(text.substr(0, text.find(' ')));
      std::transform(verb.begin(), verb.end(), verb.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      static constexpr std::string_view kVerbs[] = {"EHLO", "HELO", "STARTTLS", "AUTH", "MAIL",
                                                    "RCPT", "DATA", "QUIT",     "RSET", "NOOP"};
      if (std::find(std::begin(kVerbs), std::end(kVerbs), verb) == std::end(kVerbs)) {
        verb = "AUTH";  // an AUTH continuation line: credentials, never kept
      } else if (verb == "MAIL") {
        verb = "MAIL FROM";
      } else if (verb == "RCPT") {
        verb = "RCPT TO";
      }
      t->NoteRefusal();
      t->command = std::move(verb);
      t->reply.clear();
      break;
    }
    case CURLINFO_DATA_OUT:
      if (t->command != "end of data") {
        t->NoteRefusal();
        t->command = "end of data";
        t->reply.clear();
      }
      break;
    case CURLINFO_HEADER_IN:
      if (!t->reply.empty()) t->reply += ' ';
      t->reply += text;
      break;
    default:
      break;
  }
  return 0;
}

struct Upload {
  std::string_view data;
  size_t offset = 0;
};

size_t OnRead(char* buffer, size_t size, size_t n, void* user) {
  auto* u = static_cast<Upload*>(user);
  const size_t len = std::min(size * n, u->data.size() - u->offset);
  std::copy_n(u->data.data() + u->offset, len, buffer);
  u->offset += len;
  return len;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

std::map<std::string, std::string> SmtpSession::ToHeaders() const {
  std::map<std::string, std::string> h;
  h[kMailFrom] = mail_from;
  h[kRcptTo] = Join(rcpt_to, ", ");
  h[kHello] = hello;
  if (!auth_username.empty()) h[kAuthUsername] = auth_username;
  if (!auth_identity.empty()) h[kAuthIdentity] = auth_identity;
  h[kRequireTls] = require_tls ? "true" : "false";
  if (insecure_skip_verify) h[kInsecureSkipVerify] = "true";
  if (!ca_file.empty()) h[kCaFile] = ca_file;
  return h;
}

Result<SmtpSession> SmtpSession::FromHeaders(const std::map<std::string, std::string>& h) {
  SmtpSession s;
  auto get = [&](const char* name) -> std::string {
    auto it = h.find(name);
    return it == h.end() ? std::string() : it->second;
  };
  s.mail_from = get(kMailFrom);
  if (s.mail_from.empty())
    return InvalidArgument("must not be empty", std::string("headers.") + kMailFrom);
  auto rcpt = ParseAddressList(get(kRcptTo));
  if (!rcpt.ok())
    return InvalidArgument(rcpt.status().message(), std::string("headers.") + kRcptTo);
  for (auto& a : *rcpt) s.rcpt_to.push_back(std::move(a.address));
  if (auto hello = get(kHello); !hello.empty()) s.hello = hello;
  s.auth_username = get(kAuthUsername);
  s.auth_identity = get(kAuthIdentity);
  PLATOPS_ASSIGN_OR_RETURN(s.require_tls, BoolHeader(h, kRequireTls, true));
  PLATOPS_ASSIGN_OR_RETURN(s.insecure_skip_verify, BoolHeader(h, kInsecureSkipVerify, false));
  s.ca_file = get(kCaFile);
  return s;
}

SmtpDeliverer::SmtpDeliverer(SmtpDelivererOptions options) : options_(std::move(options)) {
  GlobalInit();
}

Result<DeliveryResult> SmtpDeliverer::Deliver(const OutboxRow& row) {
  auto failed = [](std::string error) {
    return DeliveryResult{AttemptOutcome::kFailed, 0, milliseconds(0), std::move(error)};
  };
  if (row.kind != "email") return failed("no SMTP delivery for kind " + QuoteForMessage(row.kind));
  auto target = ParseTarget(row.target);
  if (!target.ok()) return failed(target.status().ToString());
  auto session = SmtpSession::FromHeaders(row.headers);
  if (!session.ok()) return failed(session.status().ToString());
  auto secret = OpenDeliverySecret(options_.secret_box, row.sealed_secret);
  if (!secret.ok()) return failed(secret.status().message());
  const std::string hostport = target->host + ":" + target->port;

  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Internal("curl_easy_init failed");
  CURL* h = curl.get();
  const std::string url = std::string(target->implicit_tls ? "smtps://" : "smtp://") + hostport +
                          "/" + PercentEncode(session->hello);
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout.count()));

  // TLS: implicit on 465; else STARTTLS required or opportunistic. Credentials only travel
  // encrypted, unless to this host.
  const bool has_credentials = !session->auth_username.empty() && !secret->password.empty();
  const bool tls_required = session->require_tls || (has_credentials && !IsLoopback(target->host));
  if (!target->implicit_tls) {
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     static_cast<long>(tls_required ? CURLUSESSL_ALL : CURLUSESSL_TRY));
  }
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, session->insecure_skip_verify ? 0L : 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, session->insecure_skip_verify ? 0L : 2L);
  if (!session->ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, session->ca_file.c_str());
  if (has_credentials) {
    curl_easy_setopt(h, CURLOPT_USERNAME, session->auth_username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, secret->password.c_str());
    if (!session->auth_identity.empty()) {
      curl_easy_setopt(h, CURLOPT_SASL_AUTHZID, session->auth_identity.c_str());
    }
  }

  const std::string mail_from = "<" + session->mail_from + ">";
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_slist* list = nullptr;
  for (const auto& r : session->rcpt_to) {
    curl_slist* next = curl_slist_append(list, ("<" + r + ">").c_str());
    if (!next) {
      curl_slist_free_all(list);
      return Internal("curl_slist_append failed");
    }
    list = next;
  }
  const std::unique_ptr<curl_slist, SlistDeleter> rcpt(list);
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt.get());
  Upload upload{row.request, 0};
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, OnRead);
  curl_easy_setopt(h, CURLOPT_READDATA, &upload);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(row.request.size()));

  Transcript transcript;
  curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, OnDebug);
  curl_easy_setopt(h, CURLOPT_DEBUGDATA, &transcript);
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);

  const auto start = std::chrono::steady_clock::now();
  const CURLcode rc = curl_easy_perform(h);
  DeliveryResult out;
  out.latency = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  out.status_code = static_cast<int>(code);
  if (rc == CURLE_OK) {
    out.outcome = AttemptOutcome::kOk;
    return out;
  }
  transcript.NoteRefusal();
  if (!transcript.refused_reply.empty()) {
    // The server refused: 5xx for good, 4xx for now.
    const std::string& reply = transcript.refused_reply;
    out.status_code = reply.size() >= 3 && std::isdigit(static_cast<unsigned char>(reply[1])) &&
                              std::isdigit(static_cast<unsigned char>(reply[2]))
                          ? std::stoi(reply.substr(0, 3))
                          : out.status_code;
    out.outcome = reply[0] == '5' ? AttemptOutcome::kFailed : AttemptOutcome::kRetry;
    out.error = fmt::format(
        "{}: {}", transcript.refused_command.empty() ? "greeting" : transcript.refused_command,
        Abbreviate(reply, kMaxReply));
    return out;
  }
  const std::string reply = Abbreviate(transcript.reply, kMaxReply);
  out.outcome = AttemptOutcome::kRetry;
  if (rc == CURLE_USE_SSL_FAILED && transcript.command != "STARTTLS") {
    out.error =
        fmt::format("{} does not offer STARTTLS, and TLS is required ({})", hostport,
                    session->require_tls ? "require_tls is true, Alertmanager's default"
                                         : "credentials are only sent encrypted to a remote host");
    return out;
  }
  std::string detail = errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(rc);
  long os_errno = 0;
  curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
  if (os_errno != 0) detail += fmt::format(" ({})", std::strerror(static_cast<int>(os_errno)));
  out.error = fmt::format("{} {}: {}", hostport,
                          transcript.command.empty() ? "connect" : transcript.command, detail);
  if (!reply.empty()) out.error += " (server said: " + reply + ")";
  return out;
}

Result<DeliveryResult> RoutingDeliverer::Deliver(const OutboxRow& row) {
  if (row.kind == "webhook" || row.kind == "slack") return http_.Deliver(row);
  if (row.kind == "email") return smtp_.Deliver(row);
  return DeliveryResult{AttemptOutcome::kFailed, 0, milliseconds(0),
                        "no deliverer for kind " + QuoteForMessage(row.kind)};
}

}  // namespace platops::alerting
