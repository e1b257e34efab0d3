#include "alerting/email.h"

#include <fmt/format.h>

#include <ctime>
#include <utility>

#include "alerting/smtp.h"
#include "base/crypto.h"
#include "base/strings.h"

namespace platops::alerting {
namespace {

// ---- Addresses ----------------------------------------------------------------------------------

bool IsAtext(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x80) return true;  // UTF-8, as Go's parser accepts in atoms
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

class AddressParser {
 public:
  explicit AddressParser(std::string_view s) : s_(s) {}

  Result<std::vector<MailAddress>> List() {
    std::vector<MailAddress> out;
    SkipWs();
    if (AtEnd()) return InvalidArgument("no address");
    while (true) {
      const size_t start = pos_;
      PLATOPS_ASSIGN_OR_RETURN(MailAddress a, Entry());
      out.push_back(std::move(a));
      SkipWs();
      if (AtEnd()) return out;
      if (s_[pos_] != ',') {
        return Fail(start, "expected ',' or the end after the address");
      }
      ++pos_;
      SkipWs();
      if (AtEnd()) return Fail(pos_, "no address after ','");
    }
  }

 private:
  bool AtEnd() const { return pos_ >= s_.size(); }
  void SkipWs() {
    while (!AtEnd() && IsWsp(s_[pos_])) ++pos_;
  }

  Status Fail(size_t from, std::string_view what) const {
    size_t end = s_.find(',', from);
    std::string_view entry = s_.substr(from, end == std::string_view::npos ? end : end - from);
    while (!entry.empty() && IsWsp(entry.back())) entry.remove_suffix(1);
    return InvalidArgument(fmt::format("invalid address {}: {}", QuoteForMessage(entry), what));
  }

  // One address: a bare addr-spec or [phrase] <addr-spec>.
  Result<MailAddress> Entry() {
    const size_t start = pos_;
    if (auto bare = AddrSpec(); bare.ok()) {
      size_t after = pos_;
      SkipWs();
      if (AtEnd() || s_[pos_] == ',') return MailAddress{"", std::move(bare).value()};
      pos_ = after;
    }
    pos_ = start;
    std::string name;
    while (!AtEnd() && s_[pos_] != '<') {
      if (s_[pos_] == '"') {
        PLATOPS_ASSIGN_OR_RETURN(std::string word, QuotedString(start));
        if (!name.empty()) name += ' ';
        name += word;
      } else if (IsAtext(s_[pos_]) || s_[pos_] == '.') {
        std::string word;
        while (!AtEnd() && (IsAtext(s_[pos_]) || s_[pos_] == '.')) word += s_[pos_++];
        if (!name.empty()) name += ' ';
        name += word;
      } else if (s_[pos_] == '(') {
        return Fail(start, "comments are not supported");
      } else if (s_[pos_] == ':') {
        return Fail(start, "groups are not supported");
      } else if (s_[pos_] == '@' || s_[pos_] == ',') {
        return Fail(start, "not an address (local@domain, or Name <local@domain>)");
      } else {
        return Fail(start,
                    fmt::format("unexpected character {}", QuoteForMessage(s_.substr(pos_, 1))));
      }
      SkipWs();
    }
    if (AtEnd()) {
      if (name.find('@') == std::string::npos) return Fail(start, "missing '@' or angle-addr");
      return Fail(start, "not an address (local@domain, or Name <local@domain>)");
    }
    ++pos_;  // '<'
    auto spec = AddrSpec();
    if (!spec.ok()) return Fail(start, spec.status().message());
    if (AtEnd() || s_[pos_] != '>') return Fail(start, "missing '>'");
    ++pos_;
    return MailAddress{std::move(name), std::move(spec).value()};
  }

  // local@domain, canonical (a quoted local part re-quoted minimally).
  Result<std::string> AddrSpec() {
    std::string local;
    if (!AtEnd() && s_[pos_] == '"') {
      PLATOPS_ASSIGN_OR_RETURN(std::string q, QuotedString(pos_));
      local = "\"";
      for (char c : q) {
        if (c == '"' || c == '\\') local += '\\';
        local += c;
      }
      local += '"';
    } else {
      PLATOPS_ASSIGN_OR_RETURN(local, DotAtom("local part"));
    }
    if (AtEnd() || s_[pos_] != '@') return InvalidArgument("missing '@'");
    ++pos_;
    std::string domain;
    if (!AtEnd() && s_[pos_] == '[') {
      const size_t close = s_.find(']', pos_);
      if (close == std::string_view::npos) return InvalidArgument("unterminated domain literal");
      domain = std::string(s_.substr(pos_, close + 1 - pos_));
      pos_ = close + 1;
    } else {
      PLATOPS_ASSIGN_OR_RETURN(domain, DotAtom("domain"));
    }
    return local + "@" + domain;
  }

  Result<std::string> DotAtom(std::string_view what) {
    std::string out;
    while (true) {
      const size_t start = pos_;
      while (!AtEnd() && IsAtext(s_[pos_])) ++pos_;
      if (pos_ == start) return InvalidArgument(fmt::format("empty or invalid {}", what));
      out += s_.substr(start, pos_ - start);
      if (AtEnd() || s_[pos_] != '.') return out;
      out += '.';
      ++pos_;
    }
  }

  // The content of a quoted-string at pos_ (which is '"'), escapes resolved.
  Result<std::string> QuotedString(size_t entry_start) {
    std::string out;
    ++pos_;
    while (!AtEnd()) {
      char c = s_[pos_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (AtEnd()) break;
        c = s_[pos_++];
      } else if (c == '\r' || c == '\n') {
        return Fail(entry_start, "line break in a quoted string");
      }
      out += c;
    }
    return Fail(entry_start, "unterminated quoted string");
  }

  std::string_view s_;
  size_t pos_ = 0;
};

bool NeedsEncoding(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x7F || (u < 0x20 && c != '\t')) return true;
  }
  return false;
}

// ---- Headers ------------------------------------------------------------------------------------

// Header names that carry addresses: values are parsed and re-written with encoded names.
bool IsAddressHeader(std::string_view name) {
  for (std::string_view h : {"From", "To", "Cc", "Bcc", "Reply-To", "Sender"}) {
    if (EqualsIgnoreCase(name, h)) return true;
  }
  return false;
}

// The MIME structure is platops's.
bool IsReservedHeader(std::string_view name) {
  for (std::string_view h : {"Mime-Version", "Content-Type", "Content-Transfer-Encoding"}) {
    if (EqualsIgnoreCase(name, h)) return true;
  }
  return false;
}

bool IsHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (c <= 32 || c >= 127 || c == ':') return false;
  }
  return true;
}

Status CheckHeaderNames(const EmailConfig& c) {
  for (const auto& [name, value] : c.headers) {
    if (!IsHeaderName(name)) {
      return InvalidArgument("not a valid header name: " + QuoteForMessage(name), "headers");
    }
    if (IsReservedHeader(name)) {
      return InvalidArgument(
          "is set by platops (the body is multipart/alternative, quoted-printable); remove it",
          "headers." + name);
    }
  }
  return Status::Ok();
}

Status CheckBody(const EmailConfig& c) {
  if (c.text.empty() && c.html.empty()) {
    return InvalidArgument("text and html are both empty: the email would have no body", "html");
  }
  return Status::Ok();
}

Result<std::vector<MailAddress>> ParseField(std::string_view text, const std::string& field) {
  auto list = ParseAddressList(text);
  if (!list.ok()) return InvalidArgument(list.status().message(), field);
  return list;
}

Result<MailAddress> ParseOne(std::string_view text, const std::string& field) {
  PLATOPS_ASSIGN_OR_RETURN(auto list, ParseField(text, field));
  if (list.size() != 1) {
    return InvalidArgument(fmt::format("must be exactly one address, got {}", list.size()), field);
  }
  return list.front();
}

std::string FormatAddressList(const std::vector<MailAddress>& list) {
  std::string out;
  for (const auto& a : list) {
    if (!out.empty()) out += ", ";
    out += FormatAddress(a);
  }
  return out;
}

// RFC 1123 with a numeric zone, in UTC: "Mon, 02 Jan 2006 15:04:05 +0000".
std::string MailDate(Timestamp t) {
  const std::time_t secs = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::floor<std::chrono::seconds>(t).time_since_epoch())
                               .count();
  std::tm tm{};
  gmtime_r(&secs, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} +0000", kDays[tm.tm_wday],
                     tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
}

bool IsMessageIdDomain(std::string_view d) {
  if (d.empty()) return false;
  for (char c : d) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127 || std::string_view("<>@\"(),;:\\").find(c) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

Result<std::pair<std::string, std::string>> SplitHostPort(std::string_view hostport) {
  const size_t colon = hostport.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == hostport.size()) {
    return InvalidArgument("must be host:port, got " + QuoteForMessage(hostport), "smarthost");
  }
  std::string_view host = hostport.substr(0, colon);
  std::string_view port = hostport.substr(colon + 1);
  if (host.find(':') != std::string_view::npos && (host.front() != '[' || host.back() != ']')) {
    return InvalidArgument("an IPv6 host must be in brackets, got " + QuoteForMessage(hostport),
                           "smarthost");
  }
  int n = 0;
  for (char c : port) {
    if (c < '0' || c > '9' || n > 65535) {
      return InvalidArgument("port must be a number, got " + QuoteForMessage(port), "smarthost");
    }
    n = n * 10 + (c - '0');
  }
  if (n < 1 || n > 65535) {
    return InvalidArgument("port must be 1..65535, got " + QuoteForMessage(port), "smarthost");
  }
  return std::make_pair(std::string(host), std::string(port));
}

}  // namespace

Result<std::vector<MailAddress>> ParseAddressList(std::string_view text) {
  return AddressParser(text).List();
}

std::string FormatAddress(const MailAddress& a) {
  if (a.name.empty()) return a.address;
  std::string name;
  if (NeedsEncoding(a.name)) {
    name = EncodeHeaderValue(a.name);
  } else {
    // Plain atoms separated by single spaces go as they are; anything else is quoted.
    bool plain = a.name.front() != ' ' && a.name.back() != ' ';
    for (size_t i = 0; plain && i < a.name.size(); ++i) {
      const char c = a.name[i];
      plain = IsAtext(c) || (c == ' ' && a.name[i + 1] != ' ');
    }
    if (plain) {
      name = a.name;
    } else {
      name = "\"";
      for (char c : a.name) {
        if (c == '"' || c == '\\') name += '\\';
        name += c;
      }
      name += '"';
    }
  }
  return name + " <" + a.address + ">";
}

std::string EncodeHeaderValue(std::string_view value, bool force) {
  if (!force && !NeedsEncoding(value)) return std::string(value);
  constexpr std::string_view kOpen = "=?utf-8?q?";
  constexpr std::string_view kClose = "?=";
  constexpr size_t kMaxWord = 75;
  const size_t max_payload = kMaxWord - kOpen.size() - kClose.size();
  std::string out;
  std::string word;
  auto flush = [&] {
    if (word.empty()) return;
    if (!out.empty()) out += "\r\n ";
    out += kOpen;
    out += word;
    out += kClose;
    word.clear();
  };
  for (size_t i = 0; i < value.size();) {
    // One UTF-8 sequence at a time, so that no encoded-word splits a character.
    size_t len = 1;
    const auto lead = static_cast<unsigned char>(value[i]);
    if (lead >= 0xC0) len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    len = std::min(len, value.size() - i);
    std::string piece;
    for (size_t j = i; j < i + len; ++j) {
      const char c = value[j];
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          std::string_view("!*+-/").find(c) != std::string_view::npos) {
        piece += c;
      } else if (c == ' ') {
        piece += '_';
      } else {
        piece += fmt::format("={:02X}", static_cast<unsigned char>(c));
      }
    }
    if (word.size() + piece.size() > max_payload) flush();
    word += piece;
    i += len;
  }
  flush();
  return out;
}

std::string FoldedHeader(std::string_view name, std::string_view value) {
  constexpr size_t kSoft = 78;
  constexpr size_t kHard = 998;
  std::string line = std::string(name) + ": " + std::string(value);
  if (value.find('\n') != std::string_view::npos) return line;  // encoded-words: folded already
  std::string out;
  size_t start = 0;        // of the current physical line in `line`
  const size_t first = name.size() + 2;  // no fold before the value starts
  while (line.size() - start > kSoft) {
    const size_t limit = start + kSoft;
    size_t at = line.find_last_of(" \t", limit);
    if (at == std::string::npos || at <= std::max(start, first)) {
      at = line.find_first_of(" \t", limit);  // the run is longer than a line: fold after it
      if (at == std::string::npos) break;
    }
    out.append(line, start, at - start);
    out += "\r\n";
    start = at;  // the white space starts the continuation line
  }
  out.append(line, start, std::string::npos);
  size_t longest = 0;
  for (size_t from = 0; from <= out.size();) {
    size_t end = out.find("\r\n", from);
    if (end == std::string::npos) end = out.size();
    longest = std::max(longest, end - from);
    from = end + 2;
  }
  if (longest > kHard) {
    return std::string(name) + ": " + EncodeHeaderValue(value, true);
  }
  return out;
}

std::string QuotedPrintable(std::string_view text) {
  constexpr size_t kMaxLine = 76;
  std::string out;
  size_t line_len = 0;
  auto put = [&](std::string_view token) {
    // Leave room for the soft break's '='.
    if (line_len + token.size() > kMaxLine - 1) {
      out += "=\r\n";
      line_len = 0;
    }
    out += token;
    line_len += token.size();
  };
  size_t i = 0;
  while (true) {
    size_t end = text.find_first_of("\r\n", i);
    const std::string_view line = text.substr(i, end == std::string_view::npos ? end : end - i);
    for (size_t j = 0; j < line.size(); ++j) {
      const auto c = static_cast<unsigned char>(line[j]);
      const bool last = j + 1 == line.size();
      const bool inner_space = (c == ' ' || c == '\t') && !last;
      const bool printable = c > 32 && c < 127 && c != '=' && !(c == '.' && line_len == 0);
      if (inner_space || printable) {
        put(line.substr(j, 1));
      } else {
        put(fmt::format("={:02X}", c));
      }
    }
    if (end == std::string_view::npos) break;
    out += "\r\n";
    line_len = 0;
    i = end + (text.compare(end, 2, "\r\n") == 0 ? 2 : 1);
  }
  return out;
}

Status ValidateEmailConfig(const EmailConfig& c) {
  if (c.from.find("{{") == std::string::npos) {
    PLATOPS_RETURN_IF_ERROR(ParseOne(c.from, "from").status());
  }
  if (c.to.find("{{") == std::string::npos) {
    PLATOPS_RETURN_IF_ERROR(ParseField(c.to, "to").status());
  }
  PLATOPS_RETURN_IF_ERROR(SplitHostPort(c.smarthost).status());
  PLATOPS_RETURN_IF_ERROR(CheckHeaderNames(c));
  return CheckBody(c);
}

Result<EmailMessage> BuildEmail(const EmailConfig& c, const NotificationData& data,
                                const RenderFn& render, Timestamp now,
                                std::string_view message_id_domain) {
  PLATOPS_RETURN_IF_ERROR(CheckHeaderNames(c));
  PLATOPS_RETURN_IF_ERROR(CheckBody(c));
  auto run = [&](std::string_view text, bool html,
                 const std::string& field) -> Result<std::string> {
    if (text.empty()) return std::string();
    Result<std::string> out = render(text, html);
    if (!out.ok()) return Status(out.status().code(), out.status().message(), field);
    return out;
  };

  EmailMessage msg;
  PLATOPS_ASSIGN_OR_RETURN(std::string from_text, run(c.from, false, "from"));
  PLATOPS_ASSIGN_OR_RETURN(std::string to_text, run(c.to, false, "to"));
  PLATOPS_ASSIGN_OR_RETURN(MailAddress from, ParseOne(from_text, "from"));
  PLATOPS_ASSIGN_OR_RETURN(std::vector<MailAddress> to, ParseField(to_text, "to"));
  msg.envelope_from = from.address;
  for (const auto& a : to) msg.recipients.push_back(a.address);

  // Header values; From and To, when not set here, show the envelope's addresses, as
  // Alertmanager's notifier defaults them to `from` and `to`.
  std::map<std::string, std::string> templates = c.headers;
  templates.try_emplace("Subject", kDefaultEmailSubject);
  std::map<std::string, std::string> values;  // name -> encoded value
  for (const auto& [name, text] : templates) {
    const std::string field = "headers." + name;
    PLATOPS_ASSIGN_OR_RETURN(std::string rendered, run(text, false, field));
    if (IsAddressHeader(name)) {
      PLATOPS_ASSIGN_OR_RETURN(auto list, ParseField(rendered, field));
      values[name] = FormatAddressList(list);
    } else if (EqualsIgnoreCase(name, "Message-Id") || EqualsIgnoreCase(name, "Date")) {
      if (NeedsEncoding(rendered)) {
        return InvalidArgument("must be printable ASCII, got " + QuoteForMessage(rendered), field);
      }
      values[name] = rendered;
    } else {
      values[name] = EncodeHeaderValue(rendered);
    }
  }
  auto take = [&](std::string_view name) -> std::optional<std::string> {
    for (auto it = values.begin(); it != values.end(); ++it) {
      if (EqualsIgnoreCase(it->first, name)) {
        std::string v = std::move(it->second);
        values.erase(it);
        return v;
      }
    }
    return std::nullopt;
  };
  const std::string from_header = take("From").value_or(FormatAddress(from));
  const std::string to_header = take("To").value_or(FormatAddressList(to));
  const std::string subject = take("Subject").value_or("");
  std::optional<std::string> date = take("Date");
  std::optional<std::string> message_id = take("Message-Id");

  PLATOPS_ASSIGN_OR_RETURN(std::string text_body, run(c.text, false, "text"));
  PLATOPS_ASSIGN_OR_RETURN(std::string html_body, run(c.html, true, "html"));

  // The boundary and Message-Id come from the content: "=_" never occurs in quoted-printable.
  std::string digest_input = fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n", data.receiver,
                                         data.group_key, now.time_since_epoch().count(),
                                         from_header, to_header, subject, text_body, html_body);
  for (const auto& [name, value] : values) digest_input += name + ": " + value + "\n";
  const std::string digest = Sha256Hex(digest_input);
  const std::string boundary = "=_" + digest.substr(0, 28);
  if (!message_id) {
    std::string domain(message_id_domain);
    if (domain.empty()) domain = from.address.substr(from.address.rfind('@') + 1);
    if (!IsMessageIdDomain(domain)) {
      return InvalidArgument("not a domain for Message-Id: " + QuoteForMessage(domain),
                             "message_id_domain");
    }
    message_id = "<" + digest.substr(28, 32) + "@" + domain + ">";
  }
  msg.message_id = *message_id;

  std::string& out = msg.data;
  out += FoldedHeader("From", from_header) + "\r\n";
  out += FoldedHeader("To", to_header) + "\r\n";
  out += FoldedHeader("Subject", subject) + "\r\n";
  out += "Date: " + date.value_or(MailDate(now)) + "\r\n";
  out += "Message-Id: " + *message_id + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  for (const auto& [name, value] : values) out += FoldedHeader(name, value) + "\r\n";
  out += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n";
  out += "\r\n";
  auto part = [&](std::string_view type, std::string_view body) {
    out += "--" + boundary + "\r\n";
    out += "Content-Transfer-Encoding: quoted-printable\r\n";
    out += "Content-Type: " + std::string(type) + "; charset=UTF-8\r\n";
    out += "\r\n";
    out += QuotedPrintable(body);
    out += "\r\n";
  };
  // The preferred alternative last (RFC 2046 5.1.4).
  if (!c.text.empty()) part("text/plain", text_body);
  if (!c.html.empty()) part("text/html", html_body);
  out += "--" + boundary + "--\r\n";
  return msg;
}

Result<OutgoingNotification> EmailNotification(const EmailConfig& c, size_t index,
                                               const NotificationData& data, const RenderFn& render,
                                               const SecretBox& box, std::string idempotency_key,
                                               Timestamp now, std::string_view message_id_domain) {
  const std::string prefix = "email_configs[" + std::to_string(index) + "]";
  Status valid = ValidateEmailConfig(c);
  if (!valid.ok()) return valid.WithFieldPrefix(prefix);
  Result<EmailMessage> msg = BuildEmail(c, data, render, now, message_id_domain);
  if (!msg.ok()) return msg.status().WithFieldPrefix(prefix);
  auto hostport = SplitHostPort(c.smarthost);
  if (!hostport.ok()) return hostport.status().WithFieldPrefix(prefix);
  const auto& [host, port] = *hostport;

  SmtpSession session;
  session.mail_from = msg->envelope_from;
  session.rcpt_to = msg->recipients;
  if (!c.hello.empty()) session.hello = c.hello;
  session.auth_username = c.auth_username;
  session.auth_identity = c.auth_identity;
  session.require_tls = c.require_tls;
  session.insecure_skip_verify = c.tls_config.insecure_skip_verify;
  session.ca_file = c.tls_config.ca_file;

  OutgoingNotification n;
  n.idempotency_key = std::move(idempotency_key);
  n.receiver = data.receiver;
  n.integration = "email[" + std::to_string(index) + "]";
  n.kind = "email";
  n.target = (port == "465" ? "smtps://" : "smtp://") + host + ":" + port;
  n.request = std::move(msg->data);
  n.headers = session.ToHeaders();
  const std::string& password =
      c.auth_password.value.empty() ? c.auth_secret.value : c.auth_password.value;
  if (!password.empty()) n.sealed_secret = SealDeliverySecret(box, DeliverySecret{"", password});
  return n;
}

}  // namespace platops::alerting
