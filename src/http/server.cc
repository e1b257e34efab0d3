#include "http/server.h"

#include <openssl/ssl.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <exception>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <type_traits>
#include <vector>

#include "base/crypto.h"
#include "base/metrics_registry.h"

namespace platops::http {
namespace {

// Percent-encodes the characters RFC 3986 forbids in a target but clients send raw anyway (curl -g
// with `match[]=`, selectors with `{}` and `|`), as Go's net/url and so Prometheus accept them.
std::string EscapeLenientTarget(std::string_view target) {
  if (!target.starts_with('/')) return std::string(target);  // Absolute form: [IPv6] hosts.
  static constexpr std::string_view kLenient = "[]{}|\"^`<> ";
  if (target.find_first_of(kLenient) == std::string_view::npos) return std::string(target);
  std::string out;
  out.reserve(target.size() + 16);
  for (char c : target) {
    if (kLenient.find(c) == std::string_view::npos) {
      out.push_back(c);
      continue;
    }
    static constexpr char kHex[] = "0123456789ABCDEF";
    out.push_back('%');
    out.push_back(kHex[static_cast<unsigned char>(c) >> 4]);
    out.push_back(kHex[static_cast<unsigned char>(c) & 0xf]);
  }
  return out;
}

namespace asio = boost::asio;
namespace beast = boost::beast;

// Request ids only need to be unique in practice, not unpredictable: a per-thread generator seeded
// once from the CSPRNG avoids a getrandom system call on every request.
std::string NewRequestId() {
  thread_local std::mt19937_64 rng(std::stoull(RandomHex(8), nullptr, 16));
  return fmt::format("{:016x}", rng());
}
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr asio::as_tuple_t<asio::use_awaitable_t<>> kTuple{};
constexpr size_t kReadChunk = 16 * 1024;
// While a handler runs, bytes the client sends (a pipelined request) are buffered up to this much;
// beyond it the client is no longer watched and TCP flow control holds the rest back.
constexpr size_t kMaxWatchBuffer = 64 * 1024;
constexpr size_t kMaxRequestIdLength = 128;
constexpr std::string_view kRequestIdHeader = "X-Request-Id";
// Upper bound for the polite part of closing: TLS close_notify, draining an unread request body.
constexpr milliseconds kMaxCloseTime{1000};

int DefaultIoThreads() {
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// X-Request-Id as received, restricted to printable ASCII without spaces and 128 characters, so it
// can be logged and echoed safely; empty means "generate one".
std::string SanitizeRequestId(std::string_view in) {
  std::string out;
  for (char c : in) {
    if (out.size() == kMaxRequestIdLength) break;
    if (c > 0x20 && c < 0x7F) out += c;
  }
  return out;
}

std::string HttpDate() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

bool IsHttpParseError(const boost::system::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

// One accepted connection as seen by Stop(). Every member but `client_gone` is touched on
// `strand` only.
struct Connection {
  explicit Connection(Strand s) : strand(std::move(s)) {}
  Strand strand;
  beast::tcp_stream* stream = nullptr;  // the lowest layer while the session runs
  bool busy = false;                    // a request is being read, handled or answered
  // Set on the strand when the client went away while a handler ran; handlers read it
  // (Request::canceled aliases it).
  std::atomic<bool> client_gone{false};
};

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions options, const Router& router, MetricsRegistry* metrics);
  ~Impl();

  Status Start();
  void Stop();
  uint16_t port() const { return port_.load(); }

 private:
  // What one request produced, for the access log and metrics.
  struct Outcome {
    std::string request_id;
    std::string method = "OTHER";
    std::string target;
    bool secret_target = false;  // the access log shows the route template, not the target
    std::string route = "unmatched";
    int status = 0;
    size_t bytes = 0;
  };

  asio::awaitable<void> Accept();
  asio::awaitable<void> RunConnection(tcp::socket socket, std::shared_ptr<Connection> conn);
  template <class Stream>
  asio::awaitable<void> Serve(Stream& stream, const std::shared_ptr<Connection>& conn_ptr,
                              const std::string& remote);
  template <class Stream>
  asio::awaitable<Response> RunWatched(Stream& stream, beast::flat_buffer& buffer, Connection& conn,
                                       const Router::Match& match, Request& req);
  template <class Stream>
  asio::awaitable<void> Close(Stream& stream, bool drain_input);
  Response Dispatch(const Router::Match& match, Request& req) const;
  bhttp::response<bhttp::string_body> ToBeast(Response resp, unsigned version, bool keep_alive,
                                              bool head, const std::string& request_id) const;
  void Record(const Outcome& o, Clock::time_point start, const std::string& remote) const;
  void ForEachConnection(void (*action)(Connection&));
  void OnConnectionClosed(const std::shared_ptr<Connection>& conn);

  const ServerOptions options_;
  const Router& router_;
  CounterFamily* requests_total_ = nullptr;
  HistogramFamily* request_duration_ = nullptr;
  // Shared with the metrics gauge, which may outlive the server.
  std::shared_ptr<std::atomic<int64_t>> open_connections_ =
      std::make_shared<std::atomic<int64_t>>(0);

  std::atomic<uint16_t> port_{0};
  std::atomic<bool> stopping_{false};
  std::mutex control_mu_;  // serializes Start and Stop
  bool started_ = false;   // GUARDED_BY(control_mu_)
  bool stopped_ = false;   // GUARDED_BY(control_mu_)

  std::mutex conns_mu_;
  std::condition_variable conns_cv_;
  std::set<std::shared_ptr<Connection>> conns_;  // GUARDED_BY(conns_mu_)

  std::optional<asio::ssl::context> ssl_ctx_;
  std::optional<asio::thread_pool> workers_;
  std::vector<std::thread> io_threads_;
  // Declared after everything a connection touches: destroying the io_context destroys the frames
  // of coroutines that never finished (only after a forced stop), and they use the members above.
  asio::io_context ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  tcp::acceptor acceptor_;
};

Server::Impl::Impl(ServerOptions options, const Router& router, MetricsRegistry* metrics)
    : options_(std::move(options)),
      router_(router),
      ioc_(options_.io_threads > 0 ? options_.io_threads : DefaultIoThreads()),
      acceptor_(asio::make_strand(ioc_)) {
  if (metrics != nullptr) {
    requests_total_ = &metrics->Counter(
        "platops_http_requests_total",
        "HTTP requests served, by route template, method and status.", {"route", "method", "code"});
    request_duration_ =
        &metrics->Histogram("platops_http_request_duration_seconds",
                            "Time from a request's first byte to its response written, by route "
                            "template, method and status.",
                            {"route", "method", "code"}, MetricsRegistry::DefaultLatencyBuckets());
    metrics->Gauge("platops_http_connections_open", "Open HTTP connections.", {},
                   [open = open_connections_] {
                     return std::vector<std::pair<LabelValues, double>>{
                         {{}, static_cast<double>(open->load())}};
                   });
  }
}

Server::Impl::~Impl() { Stop(); }

Status Server::Impl::Start() {
  std::lock_guard control(control_mu_);
  if (started_ || stopped_) return Status(StatusCode::kInternal, "http server already started");

  const bool tls = !options_.tls_cert_file.empty() || !options_.tls_key_file.empty();
  if (tls) {
    if (options_.tls_cert_file.empty() || options_.tls_key_file.empty()) {
      return InvalidArgument("TLS needs both a certificate and a key file", "tls");
    }
    try {
      asio::ssl::context ctx(asio::ssl::context::tls_server);
      ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                      asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
      SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
      ctx.use_certificate_chain_file(options_.tls_cert_file);
      ctx.use_private_key_file(options_.tls_key_file, asio::ssl::context::pem);
      ssl_ctx_.emplace(std::move(ctx));
    } catch (const boost::system::system_error& e) {
      return InvalidArgument(fmt::format("loading TLS certificate {} and key {}: {}",
                                         options_.tls_cert_file, options_.tls_key_file, e.what()),
                             "tls");
    }
  }

  const std::string where = fmt::format("{}:{}", options_.host, options_.port);
  boost::system::error_code ec;
  tcp::resolver resolver(ioc_);
  auto endpoints = resolver.resolve(options_.host, std::to_string(options_.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return Unavailable(fmt::format("resolving {}: {}", where, ec ? ec.message() : "no address"));
  }
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    return Unavailable(fmt::format("listening on {}: {}", where, ec.message()));
  }
  port_ = acceptor_.local_endpoint().port();

  int workers =
      options_.worker_threads > 0 ? options_.worker_threads : std::max(4, 2 * DefaultIoThreads());
  workers_.emplace(static_cast<size_t>(workers));
  work_.emplace(ioc_.get_executor());
  asio::co_spawn(acceptor_.get_executor(), Accept(), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("http: accept loop failed: {}", ex.what());
    }
  });
  int io_threads = options_.io_threads > 0 ? options_.io_threads : DefaultIoThreads();
  for (int i = 0; i < io_threads; ++i) {
    io_threads_.emplace_back([this] {
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("http: unexpected exception on an I/O thread: {}", e.what());
        }
      }
    });
  }
  started_ = true;
  spdlog::info("http: listening on {}:{}{}", options_.host, port(), tls ? " (TLS)" : "");
  return Status::Ok();
}

void Server::Impl::ForEachConnection(void (*action)(Connection&)) {
  std::lock_guard lock(conns_mu_);
  for (const auto& conn : conns_) {
    asio::post(conn->strand, [conn, action] { action(*conn); });
  }
}

void Server::Impl::Stop() {
  std::lock_guard control(control_mu_);
  if (stopped_) return;
  stopped_ = true;
  if (!started_) return;

  // Refuse new connections first; wait until the acceptor is closed so callers can rely on it.
  {
    std::lock_guard lock(conns_mu_);
    stopping_ = true;
  }
  std::promise<void> closed;
  asio::post(acceptor_.get_executor(), [this, &closed] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    closed.set_value();
  });
  closed.get_future().wait();

  // Idle keep-alive connections go now; busy ones close after writing their response.
  ForEachConnection([](Connection& c) {
    if (c.stream != nullptr && !c.busy) c.stream->close();
  });
  {
    std::unique_lock lock(conns_mu_);
    if (!conns_cv_.wait_for(lock, options_.shutdown_grace, [this] { return conns_.empty(); })) {
      spdlog::warn("http: {} connections still busy after the shutdown grace period; closing them",
                   conns_.size());
    }
  }
  ForEachConnection([](Connection& c) {
    if (c.stream != nullptr) c.stream->close();
  });
  {
    // Closed sockets end their sessions promptly, unless a handler is still running.
    std::unique_lock lock(conns_mu_);
    conns_cv_.wait_for(lock, kMaxCloseTime, [this] { return conns_.empty(); });
  }

  work_.reset();
  ioc_.stop();
  for (auto& t : io_threads_) t.join();
  io_threads_.clear();
  workers_->join();
  spdlog::info("http: stopped");
}

void Server::Impl::OnConnectionClosed(const std::shared_ptr<Connection>& conn) {
  open_connections_->fetch_sub(1);
  std::lock_guard lock(conns_mu_);
  conns_.erase(conn);
  conns_cv_.notify_all();
}

asio::awaitable<void> Server::Impl::Accept() {
  for (;;) {
    Strand strand = asio::make_strand(ioc_);
    auto [ec, socket] = co_await acceptor_.async_accept(strand, kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      // Out of descriptors or similar: back off briefly instead of spinning.
      spdlog::warn("http: accept failed: {}", ec.message());
      asio::steady_timer timer(acceptor_.get_executor(), milliseconds(50));
      co_await timer.async_wait(kTuple);
      continue;
    }
    if (open_connections_->load() >= options_.max_connections) {
      spdlog::warn("http: {} connections open, refusing one more", options_.max_connections);
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    auto conn = std::make_shared<Connection>(strand);
    {
      std::lock_guard lock(conns_mu_);
      if (stopping_) co_return;
      conns_.insert(conn);
    }
    open_connections_->fetch_add(1);
    asio::co_spawn(strand, RunConnection(std::move(socket), conn), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("http: connection failed: {}", ex.what());
      }
    });
  }
}

asio::awaitable<void> Server::Impl::RunConnection(tcp::socket socket,
                                                  std::shared_ptr<Connection> conn) {
  // Runs at the end of the session, and also if the frame is destroyed unfinished.
  struct Closer {
    Impl* impl;
    const std::shared_ptr<Connection>& conn;
    ~Closer() {
      conn->stream = nullptr;
      impl->OnConnectionClosed(conn);
    }
  } closer{this, conn};

  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  tcp::endpoint peer = socket.remote_endpoint(ec);
  std::string remote = ec ? std::string("unknown") : peer.address().to_string();

  if (ssl_ctx_) {
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *ssl_ctx_);
    conn->stream = &beast::get_lowest_layer(stream);
    beast::get_lowest_layer(stream).expires_after(options_.read_timeout);
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
    if (hec) {
      spdlog::debug("http: TLS handshake with {} failed: {}", remote, hec.message());
    } else {
      co_await Serve(stream, conn, remote);
    }
    conn->stream = nullptr;
  } else {
    beast::tcp_stream stream(std::move(socket));
    conn->stream = &stream;
    co_await Serve(stream, conn, remote);
    conn->stream = nullptr;
  }
}

template <class Stream>
asio::awaitable<void> Server::Impl::Serve(Stream& stream,
                                          const std::shared_ptr<Connection>& conn_ptr,
                                          const std::string& remote) {
  Connection& conn = *conn_ptr;
  beast::tcp_stream& tcp = beast::get_lowest_layer(stream);
  // Bytes read past the end of one request (pipelining) stay here for the next one.
  beast::flat_buffer buffer;
  bool first = true;
  for (;;) {
    conn.busy = false;
    if (stopping_) break;
    if (buffer.size() == 0) {
      // A new connection must start its request within read_timeout; a kept-alive one may idle.
      tcp.expires_after(first ? options_.read_timeout : options_.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(kReadChunk), kTuple);
      if (ec) break;
      buffer.commit(n);
    }
    first = false;
    conn.busy = true;
    const Clock::time_point start = Clock::now();

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(
        std::min<size_t>(options_.max_header_bytes, std::numeric_limits<uint32_t>::max())));
    parser.body_limit(static_cast<uint64_t>(options_.max_body_bytes));
    // read_timeout bounds the whole request, so a client trickling bytes cannot hold the slot.
    tcp.expires_after(options_.read_timeout);
    auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, kTuple);
    if (!ec && !parser.is_done()) {
      const auto& header = parser.get();
      if (header.version() >= 11 && beast::iequals(header[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> proceed{bhttp::status::continue_, header.version()};
        auto [wec, wn] = co_await bhttp::async_write(stream, proceed, kTuple);
        ec = wec;
      }
      if (!ec) {
        auto [rec, rn] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
        ec = rec;
      }
    }

    Outcome outcome;
    if (parser.is_header_done()) {
      const auto& header = parser.get();
      outcome.method = MethodName(ParseMethod(header.method_string()));
      outcome.target = header.target();
      outcome.request_id = SanitizeRequestId(header[kRequestIdHeader]);
    }
    if (outcome.request_id.empty()) outcome.request_id = NewRequestId();

    if (ec) {
      // Reply only when the client can do something about it; otherwise just hang up.
      std::optional<Response> reply;
      if (ec == bhttp::error::body_limit) {
        reply = Response::Error(
            Status(StatusCode::kPayloadTooLarge,
                   fmt::format("request body exceeds {} bytes", options_.max_body_bytes)));
      } else if (ec == bhttp::error::header_limit) {
        reply = Response::Error(
            Status(StatusCode::kPayloadTooLarge,
                   fmt::format("request header exceeds {} bytes", options_.max_header_bytes)));
        reply->status = 431;
      } else if (IsHttpParseError(ec) && ec != bhttp::error::end_of_stream &&
                 ec != bhttp::error::partial_message) {
        reply = Response::Error(InvalidArgument("malformed HTTP request: " + ec.message()));
      } else {
        spdlog::debug("http: closing connection from {}: {}", remote, ec.message());
        break;
      }
      outcome.status = reply->status;
      outcome.bytes = reply->body.size();
      auto res = ToBeast(std::move(*reply), 11, false, false, outcome.request_id);
      tcp.expires_after(options_.read_timeout);
      auto [wec, wn] = co_await bhttp::async_write(stream, res, kTuple);
      Record(outcome, start, remote);
      if (!wec) co_await Close(stream, true);
      co_return;
    }

    bhttp::request<bhttp::string_body> msg = parser.release();
    Request req;
    req.method = ParseMethod(msg.method_string());
    req.target = outcome.target;
    req.remote_address = remote;
    req.request_id = outcome.request_id;
    req.canceled = std::shared_ptr<const std::atomic<bool>>(conn_ptr, &conn.client_gone);
    for (const auto& field : msg) {
      req.headers.Add(std::string(field.name_string()), std::string(field.value()));
    }
    req.body = std::move(msg.body());
    const bool keep_alive_requested = msg.keep_alive();
    const unsigned version = msg.version();

    Response resp;
    const std::string target = EscapeLenientTarget(outcome.target);
    auto url = target.starts_with('/') ? boost::urls::parse_origin_form(target)
                                       : boost::urls::parse_absolute_uri(target);
    if (!url) {
      resp = Response::Error(InvalidArgument("malformed request target"));
    } else {
      req.path = url->path();
      for (const auto& param : url->params()) req.query.emplace(param.key, param.value);
      Router::Match match = router_.Find(req.method, url->encoded_path());
      if (match.handler == nullptr) {
        resp = Response::Error(match.status);
        if (match.status.code() == StatusCode::kMethodNotAllowed) {
          std::string allow;
          for (Method m : match.allowed) {
            if (!allow.empty()) allow += ", ";
            allow += MethodName(m);
          }
          resp.headers.Set("Allow", allow);
        }
      } else {
        req.route = match.route;
        req.path_params = match.params;
        outcome.route = match.route;
        outcome.secret_target = match.secret_params;
        if (match.run_inline) {
          resp = Dispatch(match, req);
        } else {
          resp = co_await RunWatched(stream, buffer, conn, match, req);
        }
      }
    }

    // A client that went away gets its answer written (a half-closed one may still read it), and
    // nothing more.
    const bool client_gone = conn.client_gone.load();
    if (client_gone) {
      spdlog::debug("http: request {}: client {} went away while the handler ran",
                    outcome.request_id, remote);
    }
    bool keep_alive = keep_alive_requested && !stopping_ && !client_gone;
    if (auto connection = resp.headers.Get("Connection");
        connection && beast::iequals(*connection, "close")) {
      keep_alive = false;
    }
    const bool head = req.method == Method::kHead;
    outcome.bytes = head ? 0 : resp.body.size();
    std::shared_ptr<void> release = std::move(resp.release_after_send);
    auto res = ToBeast(std::move(resp), version, keep_alive, head, outcome.request_id);
    outcome.status = static_cast<int>(res.result_int());
    tcp.expires_after(std::max(options_.read_timeout, options_.idle_timeout));
    auto [wec, wn] = co_await bhttp::async_write(stream, res, kTuple);
    if (release != nullptr && workers_) {
      asio::post(*workers_, [r = std::move(release)]() mutable { r.reset(); });
    }
    release.reset();
    Record(outcome, start, remote);
    if (wec) co_return;
    if (!keep_alive) {
      co_await Close(stream, buffer.size() > 0 && !client_gone);
      co_return;
    }
  }
}

// Runs a handler on the worker pool while this coroutine watches the client, one read at a time:
// bytes it sends meanwhile go into `buffer` for the next request (up to kMaxWatchBuffer), and EOF,
// a reset or a socket closed by Stop() set conn.client_gone. When the response is ready the read
// in flight is canceled and awaited, so the stream is idle again (TLS allows one read at a time).
// `req` belongs to the handler until the response is ready.
template <class Stream>
asio::awaitable<Response> Server::Impl::RunWatched(Stream& stream, beast::flat_buffer& buffer,
                                                   Connection& conn, const Router::Match& match,
                                                   Request& req) {
  beast::tcp_stream& tcp = beast::get_lowest_layer(stream);
  // Touched on the connection's strand only.
  struct Run {
    std::optional<Response> response;
    // Exists while this coroutine waits for the response without reading; canceled to wake it.
    std::optional<asio::steady_timer> idle;
  } run;
  // A plain post and completion is much cheaper than co_spawn's coroutine machinery.
  asio::post(*workers_, [this, &match, &req, &run, &tcp, strand = conn.strand] {
    Response r = Dispatch(match, req);
    asio::post(strand, [&run, &tcp, r = std::move(r)]() mutable {
      run.response = std::move(r);
      if (run.idle) {
        run.idle->cancel();
      } else {
        tcp.cancel();  // The coroutine is in (or just past) its read; end that read.
      }
    });
  });
  // However long the handler takes, the watch itself never times out.
  tcp.expires_never();
  while (!run.response) {
    if (!conn.client_gone.load(std::memory_order_relaxed) && buffer.size() < kMaxWatchBuffer) {
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(kReadChunk), kTuple);
      if (!ec) {
        buffer.commit(n);
      } else if (ec != asio::error::operation_aborted || !run.response) {
        conn.client_gone.store(true);
        conn.client_gone.notify_all();
      }
      continue;
    }
    run.idle.emplace(conn.strand, asio::steady_timer::time_point::max());
    co_await run.idle->async_wait(kTuple);
    run.idle.reset();
  }
  co_return std::move(*run.response);
}

template <class Stream>
asio::awaitable<void> Server::Impl::Close(Stream& stream, bool drain_input) {
  beast::tcp_stream& tcp = beast::get_lowest_layer(stream);
  tcp.expires_after(std::min<milliseconds>(options_.read_timeout, kMaxCloseTime));
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    boost::system::error_code ignored;
    tcp.socket().shutdown(tcp::socket::shutdown_send, ignored);
    // Closing with unread input makes the kernel send a reset, which can destroy the response
    // before the client reads it (a rejected upload still in flight); drain until EOF instead.
    if (drain_input) {
      std::vector<char> sink(kReadChunk);
      for (;;) {
        auto [ec, n] = co_await tcp.async_read_some(asio::buffer(sink), kTuple);
        if (ec) break;
      }
    }
  } else {
    auto [ec] = co_await stream.async_shutdown(kTuple);
  }
  tcp.close();
}

Response Server::Impl::Dispatch(const Router::Match& match, Request& req) const {
  try {
    return (*match.handler)(req);
  } catch (const std::exception& e) {
    spdlog::error("http: request {} {} {}: handler threw: {}", req.request_id,
                  MethodName(req.method), req.route, e.what());
  } catch (...) {
    spdlog::error("http: request {} {} {}: handler threw a non-standard exception", req.request_id,
                  MethodName(req.method), req.route);
  }
  return Response::Error(
      Status(StatusCode::kInternal, fmt::format("internal error (request id {})", req.request_id)));
}

bhttp::response<bhttp::string_body> Server::Impl::ToBeast(Response resp, unsigned version,
                                                          bool keep_alive, bool head,
                                                          const std::string& request_id) const {
  if (resp.status < 200 || resp.status > 599) {
    spdlog::error("http: request {}: handler returned invalid status {}", request_id, resp.status);
    resp = Response::Error(
        Status(StatusCode::kInternal, fmt::format("internal error (request id {})", request_id)));
  }
  bhttp::response<bhttp::string_body> res;
  res.version(version);
  res.result(static_cast<unsigned>(resp.status));
  bool has_content_type = false;
  for (const auto& [name, value] : resp.headers.items()) {
    if (beast::iequals(name, "Content-Length") || beast::iequals(name, "Transfer-Encoding") ||
        beast::iequals(name, "Connection") || beast::iequals(name, "X-Request-Id")) {
      continue;
    }
    if (name.empty() || HasLineBreak(name) || HasLineBreak(value)) {
      spdlog::error("http: request {}: dropping response header with a line break", request_id);
      continue;
    }
    if (beast::iequals(name, "Content-Type")) has_content_type = true;
    res.insert(name, value);
  }
  res.set(bhttp::field::date, HttpDate());
  res.set(kRequestIdHeader, request_id);
  res.keep_alive(keep_alive);
  const bool bodiless_status = resp.status == 204 || resp.status == 304;
  if (!has_content_type && !resp.content_type.empty() && !bodiless_status) {
    res.set(bhttp::field::content_type, resp.content_type);
  }
  if (bodiless_status) {
    // 204 and 304 carry neither a body nor a Content-Length.
  } else if (head) {
    res.content_length(resp.body.size());
  } else {
    res.body() = std::move(resp.body);
    res.prepare_payload();
  }
  return res;
}

void Server::Impl::Record(const Outcome& o, Clock::time_point start,
                          const std::string& remote) const {
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (requests_total_ != nullptr) {
    requests_total_->Add({o.route, o.method, std::to_string(o.status)});
    request_duration_->Observe({o.route, o.method, std::to_string(o.status)}, seconds);
  }
  if (options_.access_log) {
    spdlog::info("{} {} {} {} {} {:.1f} {}", o.request_id, o.method,
                 o.secret_target ? o.route : o.target, o.status, o.bytes, seconds * 1000, remote);
  }
}

Server::Server(ServerOptions options, const Router& router, MetricsRegistry* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), router, metrics)) {}

Server::~Server() { Stop(); }

Status Server::Start() { return impl_->Start(); }

void Server::Stop() { impl_->Stop(); }

uint16_t Server::port() const { return impl_->port(); }

}  // namespace platops::http
