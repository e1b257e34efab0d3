#include <gtest/gtest.h>
#include <re2/re2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <source_location>
#include <string>

#include "probe/probe.h"

namespace platops::probe {
namespace {

class SpecTest : public ::testing::Test {
 protected:
  static HttpSpec Http() {
    HttpSpec s;
    s.url = "https://example.com/healthz";
    return s;
  }
  static TcpSpec Tcp() {
    TcpSpec s;
    s.host = "db.internal";
    s.port = 5432;
    return s;
  }
  static DnsSpec Dns() {
    DnsSpec s;
    s.name = "example.com";
    return s;
  }
  static TlsSpec Tls() {
    TlsSpec s;
    s.host = "example.com";
    return s;
  }
  static ExecSpec Exec() {
    ExecSpec s;
    s.command = "/bin/true";
    return s;
  }

  // The status of preparing `s`.
  template <typename T>
  static Status Check(T s) {
    Spec spec = std::move(s);
    return Prepare(spec);
  }

  // Expects a validation error on `field` whose message contains `part`.
  template <typename T>
  static void ExpectError(T s, const std::string& field, const std::string& part,
                          std::source_location where = std::source_location::current()) {
    ::testing::ScopedTrace trace(where.file_name(), static_cast<int>(where.line()), field);
    Status st = Check(std::move(s));
    ASSERT_FALSE(st.ok()) << "expected an error on " << field;
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(st.field(), field) << st.ToString();
    EXPECT_NE(st.message().find(part), std::string::npos)
        << "message \"" << st.message() << "\" lacks \"" << part << "\"";
  }
};

TEST_F(SpecTest, NamesOutcomesAndRecords) {
  EXPECT_EQ(OutcomeName(Outcome::kOk), "OK");
  EXPECT_EQ(OutcomeName(Outcome::kWarning), "WARNING");
  EXPECT_EQ(OutcomeName(Outcome::kCritical), "CRITICAL");
  EXPECT_EQ(OutcomeName(Outcome::kUnknown), "UNKNOWN");
  EXPECT_EQ(DnsRecordName(DnsRecord::kA), "A");
  EXPECT_EQ(DnsRecordName(DnsRecord::kAAAA), "AAAA");
  EXPECT_EQ(DnsRecordName(DnsRecord::kCNAME), "CNAME");
  EXPECT_EQ(DnsRecordName(DnsRecord::kMX), "MX");
  EXPECT_EQ(DnsRecordName(DnsRecord::kTXT), "TXT");
  EXPECT_EQ(DnsRecordName(DnsRecord::kNS), "NS");
}

TEST_F(SpecTest, AcceptsValidSpecsOfEveryKind) {
  EXPECT_TRUE(Check(Http()).ok());
  EXPECT_TRUE(Check(Tcp()).ok());
  EXPECT_TRUE(Check(Dns()).ok());
  EXPECT_TRUE(Check(Tls()).ok());
  EXPECT_TRUE(Check(Exec()).ok());

  HttpSpec h = Http();
  h.url = "http://[::1]:8080/x?y=1";
  h.method = "POST";
  h.headers = {{"X-Api-Key", "k"}, {"Accept", ""}};
  h.expected_status = {{200, 204}, {301, 301}};
  h.body_contains = "ok";
  h.body_regex = "status\":\\s*\"up\"";
  h.json_path = "data.items.0.state";
  h.json_value = "up";
  h.max_redirects = 0;
  h.max_body_bytes = 1024;
  h.bearer_token = "abc.def";
  EXPECT_TRUE(Check(h).ok()) << Check(h).ToString();
}

TEST_F(SpecTest, HttpUrlMustBeHttpWithAHost) {
  HttpSpec s = Http();
  s.url = "";
  ExpectError(s, "http.url", "required");
  s.url = "ftp://example.com/";
  ExpectError(s, "http.url", "must start with http:// or https://");
  s.url = "example.com/health";
  ExpectError(s, "http.url", "must start with http:// or https://");
  s.url = "http:///path";
  ExpectError(s, "http.url", "must name a host");
  s.url = "http://:8080/";
  ExpectError(s, "http.url", "must name a host");
  s.url = "https://";
  ExpectError(s, "http.url", "must name a host");
  s.url = "http://host:99999/";
  ExpectError(s, "http.url", "not a valid URL (Port number was not a decimal number");
  s.url = "http://exa mple.com/";
  ExpectError(s, "http.url", "not a valid URL");
  s.url = "HTTPS://Example.COM:8443/";
  EXPECT_TRUE(Check(s).ok());
}

TEST_F(SpecTest, HttpMethodMustBeKnown) {
  HttpSpec s = Http();
  s.method = "get";
  ExpectError(s, "http.method", "must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
  s.method = "TRACE";
  ExpectError(s, "http.method", "got \"TRACE\"");
  for (const char* m : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    s.method = m;
    EXPECT_TRUE(Check(s).ok()) << m;
  }
}

TEST_F(SpecTest, HttpHeaderNamesAreTokensAndValuesSingleLines) {
  HttpSpec s = Http();
  s.headers = {{"X-Ok", "1"}, {"Bad Name", "v"}};
  ExpectError(s, "http.headers[1]", "invalid header name \"Bad Name\"");
  s.headers = {{"", "v"}};
  ExpectError(s, "http.headers[0]", "invalid header name");
  s.headers = {{"X-Inject", "a\r\nEvil: 1"}};
  ExpectError(s, "http.headers[0]", "must not contain CR, LF or NUL");
  s.headers = {{"content-length", "5"}};
  ExpectError(s, "http.headers[0]", "set by the probe");
}

TEST_F(SpecTest, HttpExpectedStatusRanges) {
  HttpSpec s = Http();
  s.expected_status = {{200, 299}, {99, 200}};
  ExpectError(s, "http.expected_status[1]", "must be within 100..599, got 99-200");
  s.expected_status = {{200, 600}};
  ExpectError(s, "http.expected_status[0]", "must be within 100..599");
  s.expected_status = {{200, 200}, {400, 300}};
  ExpectError(s, "http.expected_status[1]", "reversed: 400 > 300");
}

TEST_F(SpecTest, HttpBodyRegexIsCompiledOrRejectedWithRe2sError) {
  HttpSpec s = Http();
  s.body_regex = "(unclosed";
  ExpectError(s, "http.body_regex", "invalid regular expression: missing )");

  Spec spec = Http();
  std::get<HttpSpec>(spec).body_regex = "up|ok";
  ASSERT_TRUE(Prepare(spec).ok());
  const auto& re = std::get<HttpSpec>(spec).body_re;
  ASSERT_NE(re, nullptr);
  EXPECT_TRUE(RE2::PartialMatch("state: ok", *re));
  EXPECT_FALSE(RE2::PartialMatch("state: down", *re));
}

TEST_F(SpecTest, HttpJsonPathIsDottedWithNonEmptySegments) {
  HttpSpec s = Http();
  for (const char* bad : {".a", "a.", "a..b", "."}) {
    s.json_path = bad;
    ExpectError(s, "http.json_path", "empty segment");
  }
  s.json_path = "";
  s.json_value = "up";
  ExpectError(s, "http.json_value", "set without http.json_path");
  s.json_path = "status";
  s.json_op = JsonOp::kExists;
  s.json_value = "";
  EXPECT_TRUE(Check(s).ok());
}

TEST_F(SpecTest, HttpBodyAssertionsNeedABody) {
  HttpSpec s = Http();
  s.method = "HEAD";
  s.body_contains = "ok";
  ExpectError(s, "http.body_contains", "HEAD response has no body");
  s.body_contains = "";
  s.json_path = "a";
  ExpectError(s, "http.json_path", "HEAD response has no body");
}

TEST_F(SpecTest, HttpLimits) {
  HttpSpec s = Http();
  s.max_redirects = 11;
  ExpectError(s, "http.max_redirects", "must be 0..10, got 11");
  s.max_redirects = -1;
  ExpectError(s, "http.max_redirects", "must be 0..10, got -1");
  s.max_redirects = 10;
  s.max_body_bytes = 1023;
  ExpectError(s, "http.max_body_bytes", "must be 1024..67108864 (1 KiB..64 MiB), got 1023");
  s.max_body_bytes = 64 * 1024 * 1024 + 1;
  ExpectError(s, "http.max_body_bytes", "got 67108865");
  s.max_body_bytes = 64 * 1024 * 1024;
  s.max_response_time = std::chrono::milliseconds(0);
  ExpectError(s, "http.max_response_time", "must be positive");
  s.max_response_time = std::chrono::milliseconds(500);
  EXPECT_TRUE(Check(s).ok());
}

TEST_F(SpecTest, HttpAuthIsBasicOrBearer) {
  HttpSpec s = Http();
  s.basic_user = "alice";
  s.basic_password = "pw";
  s.bearer_token = "t";
  ExpectError(s, "http.bearer_token", "basic auth and a bearer token are exclusive");
  s.bearer_token = "";
  s.basic_user = "a:b";
  ExpectError(s, "http.basic_user", "must not contain ':'");
  s.basic_user = "";
  ExpectError(s, "http.basic_password", "set without http.basic_user");
  s.basic_password = "";
  s.bearer_token = "two words";
  ExpectError(s, "http.bearer_token", "must not contain spaces");
}

TEST_F(SpecTest, CaFileMustBeReadable) {
  HttpSpec h = Http();
  h.ca_file = "/nonexistent/ca.pem";
  ExpectError(h, "http.ca_file", "no such file: \"/nonexistent/ca.pem\"");
  TlsSpec t = Tls();
  t.ca_file = "/nonexistent/ca.pem";
  ExpectError(t, "tls.ca_file", "no such file");
}

TEST_F(SpecTest, TcpHostPortAndExpect) {
  TcpSpec s = Tcp();
  s.host = "";
  ExpectError(s, "tcp.host", "required");
  s.host = "bad host";
  ExpectError(s, "tcp.host", "invalid character ' '");
  s.host = "10.0.0.1";
  s.port = 0;
  ExpectError(s, "tcp.port", "must be 1..65535, got 0");
  s.port = 65536;
  ExpectError(s, "tcp.port", "got 65536");
  s.port = 22;
  s.expect_regex = "[";
  ExpectError(s, "tcp.expect", "invalid regular expression: missing ]");
  s.expect_regex = "^SSH-2\\.0";
  s.host = "::1";

  Spec spec = s;
  ASSERT_TRUE(Prepare(spec).ok());
  ASSERT_NE(std::get<TcpSpec>(spec).expect_re, nullptr);
  EXPECT_TRUE(RE2::PartialMatch("SSH-2.0-OpenSSH_9.2", *std::get<TcpSpec>(spec).expect_re));
}

TEST_F(SpecTest, DnsName) {
  DnsSpec s = Dns();
  s.name = "";
  ExpectError(s, "dns.name", "required");
  s.name = "a..b";
  ExpectError(s, "dns.name", "empty label");
  s.name = std::string(64, 'a') + ".com";
  ExpectError(s, "dns.name", "label longer than 63 characters");
  std::string long_name;
  while (long_name.size() < 254) long_name += "abcdefghi.";
  long_name += "com";
  s.name = long_name;
  ExpectError(s, "dns.name", "longer than 253 characters");
  s.name = "exa mple.com";
  ExpectError(s, "dns.name", "invalid character");
  s.name = "_dmarc.example.com.";
  EXPECT_TRUE(Check(s).ok());
  s.name = std::string(63, 'a') + ".example.com";
  EXPECT_TRUE(Check(s).ok());
}

TEST_F(SpecTest, DnsServerIsAnIpLiteralWithOptionalPort) {
  DnsSpec s = Dns();
  for (const char* ok : {"10.0.0.53", "10.0.0.53:5353", "[2001:db8::53]", "[::1]:53"}) {
    s.server = ok;
    EXPECT_TRUE(Check(s).ok()) << ok;
  }
  for (const char* bad :
       {"ns1.example.com", "2001:db8::53", "[2001:db8::53", "10.0.0.53:", "[::1]x", "300.1.1.1"}) {
    s.server = bad;
    ExpectError(s, "dns.server", "must be an IP address with an optional port");
  }
  s.server = "10.0.0.53:70000";
  ExpectError(s, "dns.server", "port must be 1..65535, got \"70000\"");
  s.server = "[::1]:0";
  ExpectError(s, "dns.server", "port must be 1..65535");
}

TEST_F(SpecTest, DnsExpectedValuesAreNonEmpty) {
  DnsSpec s = Dns();
  s.expected = {"93.184.216.34", ""};
  ExpectError(s, "dns.expected[1]", "must not be empty");
}

TEST_F(SpecTest, TlsHostPortAndDays) {
  TlsSpec s = Tls();
  s.host = "";
  ExpectError(s, "tls.host", "required");
  s.host = "127.0.0.1";
  s.port = 0;
  ExpectError(s, "tls.port", "must be 1..65535");
  s.port = 443;
  s.server_name = "bad_name!";
  ExpectError(s, "tls.server_name", "invalid character '!'");
  s.server_name = "";
  s.critical_days = -1;
  ExpectError(s, "tls.critical_days", "must be 0..3650, got -1");
  s.critical_days = 30;
  s.warning_days = 21;
  ExpectError(s, "tls.warning_days", "must be >= tls.critical_days (30), got 21");
  s.critical_days = 0;
  s.warning_days = 3651;
  ExpectError(s, "tls.warning_days", "must be 0..3650, got 3651");
  s.warning_days = 3650;
  EXPECT_TRUE(Check(s).ok());
}

TEST_F(SpecTest, ExecCommandMustExistAndBeExecutable) {
  ExecSpec s = Exec();
  s.command = "";
  ExpectError(s, "exec.command", "required");
  s.command = "/nonexistent/check_foo";
  ExpectError(s, "exec.command", "\"/nonexistent/check_foo\" is not an executable file");
  s.command = "/tmp";
  ExpectError(s, "exec.command", "\"/tmp\" is not an executable file");
  s.command = "platops-no-such-plugin";
  ExpectError(s, "exec.command", "\"platops-no-such-plugin\" not found in PATH");
  s.command = "./check_foo";
  ExpectError(s, "exec.command", "must be an absolute path or a name looked up in PATH");
  s.command = "sh";  // found in PATH
  EXPECT_TRUE(Check(s).ok());
}

TEST_F(SpecTest, ExecCommandLookupUsesPath) {
  char dir[] = "/tmp/platops-spec-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string plugin = std::string(dir) + "/check_thing";
  std::ofstream(plugin) << "#!/bin/sh\nexit 0\n";
  ASSERT_EQ(chmod(plugin.c_str(), 0755), 0);
  const char* old = std::getenv("PATH");
  std::string saved = old != nullptr ? old : "";
  ExecSpec s = Exec();
  s.command = "check_thing";
  ExpectError(s, "exec.command", "not found in PATH");
  setenv("PATH", (saved + ":" + dir).c_str(), 1);
  Status st = Check(s);
  setenv("PATH", saved.c_str(), 1);
  EXPECT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(chmod(plugin.c_str(), 0644), 0);
  s.command = plugin;
  ExpectError(s, "exec.command", "is not an executable file");
  std::remove(plugin.c_str());
  rmdir(dir);
}

TEST_F(SpecTest, ExecLimitsAndEnvironment) {
  ExecSpec s = Exec();
  s.max_output_bytes = 1023;
  ExpectError(s, "exec.max_output_bytes", "must be 1024..1048576 (1 KiB..1 MiB), got 1023");
  s.max_output_bytes = 1024 * 1024 + 1;
  ExpectError(s, "exec.max_output_bytes", "got 1048577");
  s.max_output_bytes = 1024 * 1024;
  s.env = {{"A=B", "x"}};
  ExpectError(s, "exec.env", "invalid variable name \"A=B\"");
  s.env = {{"LANG", "C"}};
  s.working_dir = "/nonexistent/dir";
  ExpectError(s, "exec.working_dir", "no such directory");
  s.working_dir = "/tmp";
  EXPECT_TRUE(Check(s).ok());
}

}  // namespace
}  // namespace platops::probe
