// TCP and DNS probes on one thread: non-blocking sockets and c-ares channels share one epoll set.
// c-ares tells us its sockets through the socket-state callback; its retry timers become the
// epoll timeout. Probe deadlines are ours: a late c-ares answer for a finished probe is ignored.

#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <re2/re2.h>

#include "probe/event_loop_prober.h"

namespace platops::probe {

namespace {

using std::chrono::milliseconds;

constexpr size_t kMaxReply = 64 * 1024;  // a TCP reply is matched against at most this much
constexpr size_t kShownReply = 200;      // bytes of a non-matching reply quoted in the message
constexpr int kDnsClassIn = 1;

// epoll tags: a TCP probe's id or a c-ares socket, shifted left, with the kind in the low bits;
// 0 is the eventfd.
enum Tag : uint64_t { kTagTcp = 1, kTagAres = 2 };
constexpr uint64_t MakeTag(uint64_t value, Tag kind) { return (value << 2) | kind; }

std::string ErrnoText(int err) {
  const char* text = strerrordesc_np(err);
  std::string s = text != nullptr ? text : "error " + std::to_string(err);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string Millis(std::chrono::microseconds d) {
  return fmt::format("{:.1f} ms", d.count() / 1e3);
}

int DnsType(DnsRecord r) {
  switch (r) {
    case DnsRecord::kA:
      return 1;
    case DnsRecord::kNS:
      return 2;
    case DnsRecord::kCNAME:
      return 5;
    case DnsRecord::kMX:
      return 15;
    case DnsRecord::kTXT:
      return 16;
    case DnsRecord::kAAAA:
      return 28;
  }
  return 1;
}

// `s` quoted for a one-line message: printable ASCII as is, the rest escaped; at most `max` bytes.
std::string Escape(std::string_view s, size_t max) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          out += fmt::format("\\x{:02x}", c);
        }
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

// A resolved address to connect to.
struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

// The host as an IP literal ("10.0.0.1", "::1", "[::1]"), or nullopt for a name.
std::optional<Endpoint> ParseLiteral(std::string_view host, int port) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string h(host);
  Endpoint e;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&e.addr);
  if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    e.len = sizeof(sockaddr_in);
    return e;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
  if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    e.len = sizeof(sockaddr_in6);
    return e;
  }
  return std::nullopt;
}

std::string AddressText(int family, const void* addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, addr, buf, sizeof buf) == nullptr) return {};
  return buf;
}

// An answer as the spec's `expected` spells it, for comparison: canonical addresses, names in
// lower case without the trailing dot.
std::string Canonical(DnsRecord record, std::string_view value) {
  std::string v(value);
  if (record == DnsRecord::kA || record == DnsRecord::kAAAA) {
    unsigned char buf[16];
    int family = record == DnsRecord::kA ? AF_INET : AF_INET6;
    if (inet_pton(family, v.c_str(), buf) == 1) return AddressText(family, buf);
    return v;
  }
  if (record == DnsRecord::kTXT) return v;
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!v.empty() && v.back() == '.') v.pop_back();
  return v;
}

struct Parsed {
  int status = ARES_SUCCESS;
  std::vector<std::string> answers;
};

// The CNAME targets in the answer section; c-ares 1.18 has no parser for them.
Parsed ParseCnames(const unsigned char* abuf, int alen) {
  Parsed out;
  out.status = ARES_EBADRESP;
  if (alen < 12) return out;
  const unsigned char* end = abuf + alen;
  int qdcount = (abuf[4] << 8) | abuf[5];
  int ancount = (abuf[6] << 8) | abuf[7];
  const unsigned char* p = abuf + 12;
  auto skip_name = [&]() {
    char* name = nullptr;
    long len = 0;
    if (ares_expand_name(p, abuf, alen, &name, &len) != ARES_SUCCESS) return false;
    ares_free_string(name);
    p += len;
    return true;
  };
  for (int i = 0; i < qdcount; ++i) {
    if (!skip_name() || end - p < 4) return out;
    p += 4;
  }
  for (int i = 0; i < ancount; ++i) {
    if (!skip_name() || end - p < 10) return out;
    int type = (p[0] << 8) | p[1];
    int rdlength = (p[8] << 8) | p[9];
    p += 10;
    if (end - p < rdlength) return out;
    if (type == DnsType(DnsRecord::kCNAME)) {
      char* name = nullptr;
      long len = 0;
      if (ares_expand_name(p, abuf, alen, &name, &len) != ARES_SUCCESS) return out;
      out.answers.emplace_back(name);
      ares_free_string(name);
    }
    p += rdlength;
  }
  out.status = out.answers.empty() ? ARES_ENODATA : ARES_SUCCESS;
  return out;
}

// The answers of a reply, normalised as DnsSpec::expected documents.
Parsed ParseAnswers(DnsRecord record, const unsigned char* abuf, int alen) {
  Parsed out;
  switch (record) {
    case DnsRecord::kA:
    case DnsRecord::kAAAA:
    case DnsRecord::kNS: {
      hostent* host = nullptr;
      if (record == DnsRecord::kA) {
        out.status = ares_parse_a_reply(abuf, alen, &host, nullptr, nullptr);
      } else if (record == DnsRecord::kAAAA) {
        out.status = ares_parse_aaaa_reply(abuf, alen, &host, nullptr, nullptr);
      } else {
        out.status = ares_parse_ns_reply(abuf, alen, &host);
      }
      if (out.status != ARES_SUCCESS) return out;
      if (record == DnsRecord::kNS) {
        for (char** a = host->h_aliases; a != nullptr && *a != nullptr; ++a) {
          out.answers.emplace_back(*a);
        }
      } else {
        for (char** a = host->h_addr_list; a != nullptr && *a != nullptr; ++a) {
          out.answers.push_back(AddressText(host->h_addrtype, *a));
        }
      }
      ares_free_hostent(host);
      return out;
    }
    case DnsRecord::kCNAME:
      return ParseCnames(abuf, alen);
    case DnsRecord::kMX: {
      ares_mx_reply* mx = nullptr;
      out.status = ares_parse_mx_reply(abuf, alen, &mx);
      if (out.status != ARES_SUCCESS) return out;
      for (ares_mx_reply* m = mx; m != nullptr; m = m->next) {
        out.answers.push_back(std::to_string(m->priority) + " " + m->host);
      }
      ares_free_data(mx);
      return out;
    }
    case DnsRecord::kTXT: {
      ares_txt_ext* txt = nullptr;
      out.status = ares_parse_txt_reply_ext(abuf, alen, &txt);
      if (out.status != ARES_SUCCESS) return out;
      // A record's character-strings are joined into one answer.
      for (ares_txt_ext* t = txt; t != nullptr; t = t->next) {
        std::string_view chunk(reinterpret_cast<const char*>(t->txt), t->length);
        if (t->record_start || out.answers.empty()) {
          out.answers.emplace_back(chunk);
        } else {
          out.answers.back() += chunk;
        }
      }
      ares_free_data(txt);
      return out;
    }
  }
  return out;
}

class SocketProber;

// One c-ares channel: the system resolver or one configured server.
struct Channel {
  SocketProber* prober = nullptr;
  std::string server;  // empty: the system resolver
  ares_channel channel = nullptr;
  int outstanding = 0;                      // queries whose callback has not run yet
  std::optional<SteadyTime> ares_deadline;  // when c-ares next wants ares_process_fd
};

// What a c-ares callback needs to find its probe; owned by c-ares until the callback runs.
struct QueryTag {
  SocketProber* prober;
  Channel* channel;
  uint64_t id;
};

// Thread-safety: Run, Start and Stop from any thread; the rest runs on the loop thread.
class SocketProber final : public EventLoopProber {
 public:
  SocketProber(const EngineOptions& options, const Clock& clock)
      : EventLoopProber(clock, static_cast<size_t>(std::max(options.max_socket_in_flight, 1)),
                        "probe queue full", 256) {
    ares_library_init(ARES_LIB_INIT_ALL);
    if (init_errno() != 0) {
      init_error_ = "socket prober: cannot create its epoll set: " + ErrnoText(init_errno());
    }
  }

  ~SocketProber() override {
    Stop();
    ares_library_cleanup();
  }

  // c-ares callbacks; loop thread only.
  static void OnSocketState(void* data, ares_socket_t fd, int readable, int writable) {
    auto* ch = static_cast<Channel*>(data);
    ch->prober->WatchAresSocket(*ch, fd, readable != 0, writable != 0);
  }
  static void OnAddrInfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* res) {
    std::unique_ptr<QueryTag> tag(static_cast<QueryTag*>(arg));
    tag->prober->AddrInfoDone(*tag, status, res);
    if (res != nullptr) ares_freeaddrinfo(res);
  }
  static void OnQuery(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    std::unique_ptr<QueryTag> tag(static_cast<QueryTag*>(arg));
    tag->prober->QueryDone(*tag, status, abuf, alen);
  }

 private:
  enum class Phase { kResolve, kConnect, kSend, kReceive, kDns };

  struct Probe {
    uint64_t id = 0;
    std::shared_ptr<const Spec> spec;
    Callback done;
    milliseconds timeout{0};
    Timestamp started{};
    SteadyTime start{};
    SteadyTime deadline{};
    Phase phase = Phase::kResolve;
    // TCP
    std::vector<Endpoint> endpoints;
    size_t next_endpoint = 0;
    int last_error = 0;  // errno of the last failed connect
    int fd = -1;
    size_t sent = 0;
    std::string received;
  };

  // Also asks every busy channel when c-ares next needs to run its timers.
  std::optional<SteadyTime> NextRunningDeadline() override {
    std::optional<SteadyTime> next;
    auto consider = [&](SteadyTime t) {
      if (!next || t < *next) next = t;
    };
    if (!deadlines_.empty()) consider(deadlines_.begin()->first);
    SteadyTime now = SteadyClock::now();
    for (auto& [server, ch] : channels_) {
      ch->ares_deadline.reset();
      if (ch->outstanding == 0) continue;
      timeval tv{};
      if (ares_timeout(ch->channel, nullptr, &tv) != nullptr) {
        ch->ares_deadline =
            now + std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
        consider(*ch->ares_deadline);
      }
    }
    return next;
  }

  void ProcessTimers(SteadyTime now) override {
    for (auto& [server, ch] : channels_) {
      if (ch->ares_deadline && *ch->ares_deadline <= now) {
        ch->ares_deadline.reset();
        ares_process_fd(ch->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      }
    }
  }

  size_t InFlight() const override { return probes_.size(); }

  void HandleEvent(const epoll_event& ev) override {
    uint64_t tag = ev.data.u64;
    switch (tag & 3) {
      case kTagTcp:
        if (auto it = probes_.find(tag >> 2); it != probes_.end()) TcpReady(*it->second);
        return;
      case kTagAres: {
        auto fd = static_cast<ares_socket_t>(tag >> 2);
        auto it = ares_sockets_.find(fd);
        if (it == ares_sockets_.end()) return;
        bool readable = (ev.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0;
        bool writable = (ev.events & EPOLLOUT) != 0;
        ares_process_fd(it->second->channel, readable ? fd : ARES_SOCKET_BAD,
                        writable ? fd : ARES_SOCKET_BAD);
        return;
      }
    }
  }

  void WatchAresSocket(Channel& ch, ares_socket_t fd, bool readable, bool writable) {
    auto it = ares_sockets_.find(fd);
    if (!readable && !writable) {
      if (it != ares_sockets_.end()) {
        epoll_ctl(epoll_fd(), EPOLL_CTL_DEL, fd, nullptr);
        ares_sockets_.erase(it);
      }
      return;
    }
    epoll_event ev{};
    ev.events = (readable ? uint32_t{EPOLLIN} : 0u) | (writable ? uint32_t{EPOLLOUT} : 0u);
    ev.data.u64 = MakeTag(static_cast<uint64_t>(fd), kTagAres);
    if (it == ares_sockets_.end()) {
      ares_sockets_.emplace(fd, &ch);
      epoll_ctl(epoll_fd(), EPOLL_CTL_ADD, fd, &ev);
    } else {
      it->second = &ch;
      epoll_ctl(epoll_fd(), EPOLL_CTL_MOD, fd, &ev);
    }
  }

  // The channel for `server` (empty: the system resolver), created on first use.
  platops::Result<Channel*> GetChannel(const std::string& server) {
    if (auto it = channels_.find(server); it != channels_.end()) return it->second.get();
    auto ch = std::make_unique<Channel>();
    ch->prober = this;
    ch->server = server;
    ares_options opts{};
    int mask = ARES_OPT_SOCK_STATE_CB;
    opts.sock_state_cb = &SocketProber::OnSocketState;
    opts.sock_state_cb_data = ch.get();
    if (!server.empty()) {
      // A configured server is what the check examines: its SERVFAIL or REFUSED is the answer
      // (not a cue to try another server), and a lost UDP packet is retried after 1 s.
      opts.flags = ARES_FLAG_NOCHECKRESP;
      opts.timeout = 1000;
      opts.tries = 3;
      mask |= ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    }
    int rc = ares_init_options(&ch->channel, &opts, mask);
    if (rc != ARES_SUCCESS) {
      return Internal(std::string("cannot set up the resolver: ") + ares_strerror(rc));
    }
    if (!server.empty()) {
      rc = ares_set_servers_ports_csv(ch->channel, server.c_str());
      if (rc != ARES_SUCCESS) {
        ares_destroy(ch->channel);
        return InvalidArgument("cannot use " + server + ": " + ares_strerror(rc), "dns.server");
      }
    }
    Channel* raw = ch.get();
    channels_.emplace(server, std::move(ch));
    return raw;
  }

  void ExpireRunning(SteadyTime now) override {
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      Probe& p = *probes_.at(deadlines_.begin()->second);
      Finish(p, Outcome::kCritical, TimeoutMessage(p));
    }
  }

  static std::string TimeoutMessage(const Probe& p) {
    std::string m = "timeout after " + std::to_string(p.timeout.count()) + " ms ";
    if (const auto* dns = std::get_if<DnsSpec>(p.spec.get())) {
      return m + "waiting for the " + std::string(DnsRecordName(dns->record)) + " answer for " +
             dns->name + " from " + (dns->server.empty() ? "the system resolver" : dns->server);
    }
    const auto& tcp = std::get<TcpSpec>(*p.spec);
    switch (p.phase) {
      case Phase::kResolve:
        return m + "during resolve of " + tcp.host;
      case Phase::kConnect:
        return m + "during connect";
      case Phase::kSend:
        return m + "during send (" + std::to_string(p.sent) + " of " +
               std::to_string(tcp.send.size()) + " bytes written)";
      case Phase::kReceive:
      case Phase::kDns:
        break;
    }
    return m + "waiting for a reply matching /" + tcp.expect_re->pattern() + "/ (received " +
           std::to_string(p.received.size()) + " bytes)";
  }

  void StartProbe(Waiting w) override {
    auto owned = std::make_unique<Probe>();
    Probe& p = *owned;
    p.id = w.id;
    p.spec = std::move(w.spec);
    p.done = std::move(w.done);
    p.timeout = w.timeout;
    p.started = clock().Now();
    p.start = SteadyClock::now();
    p.deadline = p.start + w.timeout;
    probes_.emplace(p.id, std::move(owned));
    deadlines_.emplace(p.deadline, p.id);
    if (!init_error_.empty()) return Finish(p, Outcome::kUnknown, init_error_);
    if (std::holds_alternative<DnsSpec>(*p.spec)) return StartDns(p);
    StartTcp(p);
  }

  // Removes the probe and reports its result. `p` is gone afterwards.
  void Finish(Probe& p, Outcome outcome, std::string message,
              std::optional<std::chrono::microseconds> dns_lookup = std::nullopt,
              std::vector<std::string> dns_answers = {}) {
    CloseSocket(p);
    Result r = MakeResult(outcome, std::move(message), p.started, p.start);
    r.dns_lookup = dns_lookup;
    r.dns_answers = std::move(dns_answers);
    Callback done = std::move(p.done);
    uint64_t id = p.id;
    deadlines_.erase({p.deadline, id});
    probes_.erase(id);
    done(std::move(r));
  }

  void CloseSocket(Probe& p) {
    if (p.fd < 0) return;
    CloseWatched(p.fd);
    p.fd = -1;
  }

  // --- TCP ---

  void StartTcp(Probe& p) {
    const auto& spec = std::get<TcpSpec>(*p.spec);
    if (!spec.expect_regex.empty() && (spec.expect_re == nullptr || !spec.expect_re->ok())) {
      return Finish(p, Outcome::kUnknown, "tcp.expect: the spec was not prepared");
    }
    if (auto literal = ParseLiteral(spec.host, spec.port)) {
      p.endpoints.push_back(*literal);
      return ConnectNext(p);
    }
    platops::Result<Channel*> channel = GetChannel("");
    if (!channel.ok()) {
      return Finish(p, Outcome::kUnknown,
                    "resolve " + spec.host + ": " + channel.status().message());
    }
    Channel* ch = channel.value();
    p.phase = Phase::kResolve;
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = ARES_AI_NUMERICSERV;
    ++ch->outstanding;
    std::string service = std::to_string(spec.port);
    // May call back at once (an /etc/hosts entry): `p` must not be used after this.
    ares_getaddrinfo(ch->channel, spec.host.c_str(), service.c_str(), &hints,
                     &SocketProber::OnAddrInfo, new QueryTag{this, ch, p.id});
  }

  void AddrInfoDone(const QueryTag& tag, int status, const ares_addrinfo* res) {
    --tag.channel->outstanding;
    auto it = probes_.find(tag.id);
    if (it == probes_.end()) return;  // timed out or shut down meanwhile
    Probe& p = *it->second;
    const auto& spec = std::get<TcpSpec>(*p.spec);
    if (status != ARES_SUCCESS) {
      return Finish(p, Outcome::kCritical, "resolve " + spec.host + ": " + ares_strerror(status));
    }
    for (const ares_addrinfo_node* n = res != nullptr ? res->nodes : nullptr; n != nullptr;
         n = n->ai_next) {
      if (n->ai_addr == nullptr || n->ai_addrlen > sizeof(sockaddr_storage)) continue;
      Endpoint e;
      std::memcpy(&e.addr, n->ai_addr, n->ai_addrlen);
      e.len = n->ai_addrlen;
      p.endpoints.push_back(e);
    }
    if (p.endpoints.empty()) {
      return Finish(p, Outcome::kCritical, "resolve " + spec.host + ": no addresses");
    }
    ConnectNext(p);
  }

  // Tries the remaining addresses in order until one connects or starts connecting.
  void ConnectNext(Probe& p) {
    p.phase = Phase::kConnect;
    while (p.next_endpoint < p.endpoints.size()) {
      const Endpoint& e = p.endpoints[p.next_endpoint++];
      int fd = socket(e.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        p.last_error = errno;
        continue;
      }
      p.fd = fd;
      if (connect(fd, reinterpret_cast<const sockaddr*>(&e.addr), e.len) == 0) {
        return Connected(p);
      }
      if (errno == EINPROGRESS) {
        epoll_event ev{};
        ev.events = EPOLLOUT;
        ev.data.u64 = MakeTag(p.id, kTagTcp);
        epoll_ctl(epoll_fd(), EPOLL_CTL_ADD, fd, &ev);
        return;
      }
      p.last_error = errno;
      close(fd);
      p.fd = -1;
    }
    Finish(p, Outcome::kCritical, "connect: " + ErrnoText(p.last_error));
  }

  void TcpReady(Probe& p) {
    switch (p.phase) {
      case Phase::kConnect: {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err == 0) return Connected(p);
        p.last_error = err;
        CloseSocket(p);
        return ConnectNext(p);
      }
      case Phase::kSend:
        return Send(p);
      case Phase::kReceive:
        return Receive(p);
      case Phase::kResolve:
      case Phase::kDns:
        return;
    }
  }

  void Connected(Probe& p) {
    const auto& spec = std::get<TcpSpec>(*p.spec);
    if (!spec.send.empty()) {
      p.phase = Phase::kSend;
      return Send(p);
    }
    AfterSend(p);
  }

  void Send(Probe& p) {
    const auto& spec = std::get<TcpSpec>(*p.spec);
    while (p.sent < spec.send.size()) {
      ssize_t n = send(p.fd, spec.send.data() + p.sent, spec.send.size() - p.sent, MSG_NOSIGNAL);
      if (n > 0) {
        p.sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return Watch(p, EPOLLOUT);
      return Finish(p, Outcome::kCritical, "send: " + ErrnoText(errno));
    }
    AfterSend(p);
  }

  void AfterSend(Probe& p) {
    const auto& spec = std::get<TcpSpec>(*p.spec);
    if (spec.expect_re == nullptr) {
      return Finish(p, Outcome::kOk, "connected in " + Millis(Since(p.start)));
    }
    p.phase = Phase::kReceive;
    Watch(p, EPOLLIN);
  }

  // Waits for `events` on the probe's socket (it is registered once connect started).
  void Watch(Probe& p, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = MakeTag(p.id, kTagTcp);
    if (epoll_ctl(epoll_fd(), EPOLL_CTL_MOD, p.fd, &ev) != 0) {
      epoll_ctl(epoll_fd(), EPOLL_CTL_ADD, p.fd, &ev);
    }
  }

  // Reads what is there, then matches once against everything received so far.
  void Receive(Probe& p) {
    const auto& spec = std::get<TcpSpec>(*p.spec);
    bool eof = false;
    int read_error = 0;
    char buf[16 * 1024];
    while (p.received.size() < kMaxReply) {
      ssize_t n = read(p.fd, buf, std::min(sizeof buf, kMaxReply - p.received.size()));
      if (n > 0) {
        p.received.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      if (n == 0) {
        eof = true;
      } else {
        read_error = errno;
      }
      break;
    }
    if (RE2::PartialMatch(p.received, *spec.expect_re)) {
      return Finish(p, Outcome::kOk, "reply matched in " + Millis(Since(p.start)));
    }
    if (read_error != 0) {
      return Finish(p, Outcome::kCritical,
                    "read: " + ErrnoText(read_error) + " (received " +
                        std::to_string(p.received.size()) + " bytes)");
    }
    if (eof || p.received.size() >= kMaxReply) {
      return Finish(p, Outcome::kCritical,
                    "reply did not match /" + spec.expect_re->pattern() + "/: got \"" +
                        Escape(p.received, kShownReply) + "\"");
    }
  }

  // --- DNS ---

  void StartDns(Probe& p) {
    const auto& spec = std::get<DnsSpec>(*p.spec);
    p.phase = Phase::kDns;
    platops::Result<Channel*> channel = GetChannel(spec.server);
    if (!channel.ok()) {
      const Status& st = channel.status();
      return Finish(p, Outcome::kUnknown,
                    st.field().empty() ? st.message() : st.field() + ": " + st.message());
    }
    Channel* ch = channel.value();
    ++ch->outstanding;
    auto* tag = new QueryTag{this, ch, p.id};
    // Both may call back at once: `p` must not be used after them.
    if (spec.server.empty()) {
      // The system resolver applies its search list, as every other program on the host does.
      ares_search(ch->channel, spec.name.c_str(), kDnsClassIn, DnsType(spec.record),
                  &SocketProber::OnQuery, tag);
    } else {
      ares_query(ch->channel, spec.name.c_str(), kDnsClassIn, DnsType(spec.record),
                 &SocketProber::OnQuery, tag);
    }
  }

  void QueryDone(const QueryTag& tag, int status, const unsigned char* abuf, int alen) {
    --tag.channel->outstanding;
    auto it = probes_.find(tag.id);
    if (it == probes_.end()) return;  // timed out or shut down meanwhile
    Probe& p = *it->second;
    const auto& spec = std::get<DnsSpec>(*p.spec);
    std::chrono::microseconds lookup = Since(p.start);
    std::string type(DnsRecordName(spec.record));
    Parsed parsed;
    parsed.status = status;
    if (status == ARES_SUCCESS) parsed = ParseAnswers(spec.record, abuf, alen);
    // The response codes by their DNS names, like dig prints them.
    for (auto [code, rcode] :
         {std::pair{ARES_ENOTFOUND, "NXDOMAIN"}, std::pair{ARES_ESERVFAIL, "SERVFAIL"},
          std::pair{ARES_EREFUSED, "REFUSED"}}) {
      if (parsed.status == code) {
        return Finish(p, Outcome::kCritical, std::string(rcode) + " for " + spec.name + " " + type,
                      lookup);
      }
    }
    if (parsed.status == ARES_ENODATA ||
        (parsed.status == ARES_SUCCESS && parsed.answers.empty())) {
      return Finish(p, Outcome::kCritical, "no " + type + " records", lookup);
    }
    if (parsed.status != ARES_SUCCESS) {
      return Finish(p, Outcome::kCritical,
                    "query " + spec.name + " " + type + ": " + ares_strerror(parsed.status),
                    lookup);
    }
    std::set<std::string> have;
    for (const std::string& a : parsed.answers) have.insert(Canonical(spec.record, a));
    std::vector<std::string> missing;
    for (const std::string& e : spec.expected) {
      if (have.count(Canonical(spec.record, e)) == 0) missing.push_back(e);
    }
    if (!missing.empty()) {
      std::string message = fmt::format("expected {} not in answers [{}]", fmt::join(missing, ", "),
                                        fmt::join(parsed.answers, ", "));
      return Finish(p, Outcome::kCritical, std::move(message), lookup, std::move(parsed.answers));
    }
    size_t count = parsed.answers.size();
    Finish(p, Outcome::kOk,
           fmt::format("{} {} record{} in {}", count, type, count == 1 ? "" : "s", Millis(lookup)),
           lookup, std::move(parsed.answers));
  }

  // --- shutdown ---

  void ShutdownRunning() override {
    while (!probes_.empty()) {
      Finish(*probes_.begin()->second, Outcome::kUnknown, std::string(kShuttingDown));
    }
    // Runs the remaining c-ares callbacks (ARES_EDESTRUCTION); they find no probe.
    for (auto& [server, ch] : channels_) ares_destroy(ch->channel);
    channels_.clear();
  }

  std::string init_error_;  // set when the epoll set could not be made; every probe reports it

  // Loop thread only.
  std::unordered_map<uint64_t, std::unique_ptr<Probe>> probes_;
  std::set<std::pair<SteadyTime, uint64_t>> deadlines_;
  std::map<std::string, std::unique_ptr<Channel>> channels_;
  std::unordered_map<ares_socket_t, Channel*> ares_sockets_;
};

}  // namespace

std::unique_ptr<Prober> NewSocketProber(const EngineOptions& options, const Clock& clock) {
  return std::make_unique<SocketProber>(options, clock);
}

}  // namespace platops::probe
