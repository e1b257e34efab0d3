#pragma once
// Probes: one execution of one check against its target (an HTTP request, a TCP connect, a DNS
// query, a TLS handshake, a child process), and the result it yields. No scheduling and no state:
// the checks module decides when to probe and what a result means over time.
// Entry class: ProbeEngine. Specs are validated and prepared once (Prepare) and then shared,
// immutable, by every run of the check.
// Thread-safety: ProbeEngine is thread-safe; a prepared spec is immutable.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace re2 {
class RE2;
}

namespace platops::probe {

// The Nagios/Icinga result states, ordered so that a larger value is worse except kUnknown.
enum class Outcome { kOk = 0, kWarning = 1, kCritical = 2, kUnknown = 3 };
std::string_view OutcomeName(Outcome o);  // "OK", "WARNING", "CRITICAL", "UNKNOWN"

// A closed range of accepted HTTP status codes.
struct StatusRange {
  int low = 200;
  int high = 399;
};

// Comparison for the JSON assertion of an HTTP check.
enum class JsonOp { kEq, kNe, kLt, kLe, kGt, kGe, kContains, kExists };

struct HttpSpec {
  std::string url;                                           // http:// or https://, required
  std::string method = "GET";                                // GET HEAD POST PUT PATCH DELETE OPTIONS
  std::vector<std::pair<std::string, std::string>> headers;  // sent as given
  std::string body;
  std::vector<StatusRange> expected_status;  // empty: 200-399
  std::string body_contains;                 // empty: no assertion
  std::string body_regex;                    // RE2, unanchored search; empty: none
  std::string json_path;                     // dotted path ("data.items.0.state"); empty: none
  JsonOp json_op = JsonOp::kEq;
  std::string json_value;  // compared as a number when both sides are numbers, else as text
  std::optional<std::chrono::milliseconds> max_response_time;  // slower: WARNING
  bool follow_redirects = true;
  int max_redirects = 10;  // 0..10
  bool verify_tls = true;
  std::string ca_file;  // PEM; empty: the system trust store
  std::string basic_user, basic_password;
  std::string bearer_token;
  int64_t max_body_bytes = 1 << 20;  // read at most this much; 1 KiB .. 64 MiB
  // Set by Prepare.
  std::shared_ptr<const re2::RE2> body_re;
};

struct TcpSpec {
  std::string host;  // name or address
  int port = 0;      // 1..65535
  std::string send;  // written after connect; empty: nothing
  std::string expect_regex;  // RE2 searched in what the peer sends; empty: connect is enough
  std::shared_ptr<const re2::RE2> expect_re;  // set by Prepare
};

enum class DnsRecord { kA, kAAAA, kCNAME, kMX, kTXT, kNS };
std::string_view DnsRecordName(DnsRecord r);

struct DnsSpec {
  std::string name;  // the name to resolve
  DnsRecord record = DnsRecord::kA;
  std::string server;  // "host" or "host:port" (IP literal); empty: the system resolver
  // Every expected value must be among the answers (addresses in canonical form, names without
  // the trailing dot, MX as "10 mx.example.com", TXT as the joined strings). Empty: at least one
  // answer.
  std::vector<std::string> expected;
};

struct TlsSpec {
  std::string host;
  int port = 443;
  std::string server_name;  // SNI and the name verified; empty: host
  bool verify = true;       // chain and host name
  std::string ca_file;      // PEM; empty: the system trust store
  int warning_days = 21;    // earliest expiry sooner than this: WARNING
  int critical_days = 7;    // sooner than this (or expired): CRITICAL
};

struct ExecSpec {
  std::string command;  // an absolute path, or a name looked up in PATH; no shell
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // the whole environment of the child (plus PATH)
  std::string working_dir;                 // empty: the server's
  int64_t max_output_bytes = 64 * 1024;
};

using Spec = std::variant<HttpSpec, TcpSpec, DnsSpec, TlsSpec, ExecSpec>;

// Validates a spec and compiles what it needs (regexes). Errors name the field as the check
// document spells it ("http.url", "tcp.expect", "dns.server", ...).
Status Prepare(Spec& spec);

// Nagios performance data: 'label'=value[UOM];[warn];[crit];[min];[max]
struct PerfDatum {
  std::string label;
  double value = 0;
  std::string unit;  // "", "s", "ms", "us", "%", "B", "KB", "MB", "TB", "c"
  std::optional<double> warn, crit, min, max;  // thresholds as plain numbers when they are numbers
};
// Parses the text after '|' (possibly several lines joined). Malformed items are skipped;
// the second member says how many.
std::pair<std::vector<PerfDatum>, int> ParsePerfData(std::string_view text);

// Phase durations of an HTTP probe, as blackbox_exporter names them.
struct HttpPhases {
  std::chrono::microseconds resolve{0}, connect{0}, tls{0}, processing{0}, transfer{0};
};

struct Result {
  Outcome outcome = Outcome::kUnknown;
  std::string message;  // one line: "HTTP 200 in 12 ms", "connect: connection refused"
  Timestamp started{};
  std::chrono::microseconds duration{0};  // wall time of the whole probe
  // HTTP
  int http_status = 0;
  int64_t response_bytes = 0;
  std::optional<HttpPhases> http_phases;
  int redirects = 0;
  // HTTP over TLS and TLS: the earliest notAfter in the presented chain.
  std::optional<Timestamp> cert_expiry;
  // DNS
  std::optional<std::chrono::microseconds> dns_lookup;
  std::vector<std::string> dns_answers;
  // Exec
  int exit_code = -1;
  std::vector<PerfDatum> perfdata;
};

using Callback = std::function<void(Result)>;

struct EngineOptions {
  // Threads driving libcurl multi handles (HTTP and TLS). Default 1; 1..16.
  int curl_threads = 1;
  // Concurrent HTTP/TLS probes per curl thread; more wait in a queue. Default 2000.
  int max_curl_in_flight = 2000;
  // Concurrent TCP and DNS probes (one event thread). Default 2000.
  int max_socket_in_flight = 2000;
  // Concurrent exec probes (children alive at once). Default 32; 1..1024.
  int max_exec_in_flight = 32;
};

class ProbeEngine {
 public:
  // `clock` stamps Result::started; elapsed times use the monotonic clock.
  static std::unique_ptr<ProbeEngine> Create(const EngineOptions& options, const Clock& clock);
  virtual ~ProbeEngine() = default;

  // Runs `spec` (prepared) once, asynchronously. `done` is called exactly once, on an engine
  // thread, with the result; it must be quick (hand the result to another queue). The probe ends
  // within `timeout` (plus a few ms): a probe that has not finished by then yields kCritical with
  // a message saying which phase timed out. After Stop(), `done` is called with kUnknown
  // ("platops is shutting down") for anything not yet started.
  virtual void Run(std::shared_ptr<const Spec> spec, std::chrono::milliseconds timeout,
                   Callback done) = 0;

  virtual void Start() = 0;
  // Cancels probes in flight (their callbacks run with kUnknown), then joins the threads.
  virtual void Stop() = 0;
};

}  // namespace platops::probe
