#include "alerting/template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace platops::alerting {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Prometheus prefixes every template with four variable definitions on line 1, so execution
// errors on line 1 report columns shifted by their length (112 bytes), as Prometheus does.
constexpr int kPrefix = 112;

struct Case {
  std::string text;
  std::string want;  // the output, or "ERROR: " + the full error message
};

class TemplateTest : public ::testing::Test {
 protected:
  static TemplateData Data(double value = 0.5) {
    TemplateData d;
    d.labels = {{"__name__", "up"}, {"instance", "node1:9100"}, {"job", "node"}};
    d.external_labels = {{"cluster", "eu1"}};
    d.external_url = "http://testhost:9090/path/prefix";
    d.value = value;
    return d;
  }

  // The expansion of `text`, or "ERROR: " + the parse or execution error.
  static std::string Run(std::string_view text, const TemplateData& d) {
    auto t = Template::Parse("t", text);
    if (!t.ok()) return "ERROR: " + t.status().message();
    auto r = t->Expand(d);
    if (!r.ok()) return "ERROR: " + r.status().message();
    return *r;
  }
  static std::string Run(std::string_view text, double value = 0.5) {
    return Run(text, Data(value));
  }

  static void RunTable(const std::vector<Case>& cases, const TemplateData& d) {
    for (const Case& c : cases) EXPECT_EQ(Run(c.text, d), c.want) << "template: " << c.text;
  }
  static void RunTable(const std::vector<Case>& cases, double value = 0.5) {
    RunTable(cases, Data(value));
  }

  // An execution error at column `col` of the user's text on line 1.
  static std::string ExecError(int col, std::string_view at, std::string_view msg) {
    return "ERROR: template: t:1:" + std::to_string(kPrefix + col) + ": executing \"t\" at <" +
           std::string(at) + ">: " + std::string(msg);
  }
};

TEST_F(TemplateTest, RealAlertAnnotations) {
  const std::string down =
      "{{ $labels.instance }} of job {{ $labels.job }} has been down for more than 5 minutes "
      "(value {{ $value | humanize }})";
  EXPECT_EQ(Run(down, 0), "node1:9100 of job node has been down for more than 5 minutes (value 0)");
  EXPECT_EQ(Run(down, 1234567),
            "node1:9100 of job node has been down for more than 5 minutes (value 1.235M)");
  EXPECT_EQ(Run("{{ $value | humanizePercentage }} of disk used on {{ .Labels.instance }} "
                "({{ $externalLabels.cluster }})",
                0.8734),
            "87.34% of disk used on node1:9100 (eu1)");
  EXPECT_EQ(Run("{{ if gt $value 80.0 }}critical{{ else }}warning{{ end }}: {{ printf \"%.1f\" "
                "$value }}%",
                91.25),
            "critical: 91.2%");
}

TEST_F(TemplateTest, ParseOnceExpandMany) {
  auto t = Template::Parse("__alert_HighLoad", "{{ $labels.job }}={{ $value }}");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->name(), "__alert_HighLoad");
  TemplateData a = Data(1);
  TemplateData b = Data(2.5);
  b.labels["job"] = "api";
  EXPECT_EQ(*t->Expand(a), "node=1");
  EXPECT_EQ(*t->Expand(b), "api=2.5");
  EXPECT_EQ(*t->Expand(a), "node=1");
}

TEST_F(TemplateTest, GoFloatFormatting) {
  const std::vector<std::pair<double, std::string>> cases = {
      {0, "0"},
      {-0.0, "-0"},
      {1, "1"},
      {0.5, "0.5"},
      {100, "100"},
      {123456, "123456"},
      {1e6, "1e+06"},
      {1234567, "1.234567e+06"},
      {0.001, "0.001"},
      {0.0001, "0.0001"},
      {0.00001, "1e-05"},
      {1.5e-7, "1.5e-07"},
      {0.1 + 0.2, "0.30000000000000004"},
      {1e21, "1e+21"},
      {1e100, "1e+100"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {-2.5, "-2.5"},
      {kInf, "+Inf"},
      {-kInf, "-Inf"},
      {kNaN, "NaN"},
  };
  for (const auto& [v, want] : cases) {
    EXPECT_EQ(FormatGoFloat(v), want) << v;
    EXPECT_EQ(Run("{{ $value }}", v), want) << v;
  }
}

TEST_F(TemplateTest, Literals) {
  RunTable({
      {"plain text", "plain text"},
      {"", ""},
      {"{{ 1 }}", "1"},
      {"{{ -3 }}", "-3"},
      {"{{-3}}", "-3"},
      {"{{ +7 }}", "7"},
      {"{{ 1.0 }}", "1"},
      {"{{ 1e6 }}", "1e+06"},
      {"{{ 1.5e-7 }}", "1.5e-07"},
      {"{{ .5 }}", "0.5"},
      {"{{ 0x1F }}", "31"},
      {"{{ 0X1e }}", "30"},
      {"{{ 0o17 }}", "15"},
      {"{{ 017 }}", "15"},
      {"{{ 0b101 }}", "5"},
      {"{{ 1_000 }}", "1000"},
      {"{{ 'a' }}", "97"},
      {"{{ '\\n' }}", "10"},
      {"{{ true }} {{ false }}", "true false"},
      {"{{ \"<b>\" }}", "<b>"},
      {"{{ \"a\\tb\\u00e9\\x41\\101\\\"\" }}",
       "a\tb\xC3\xA9"
       "AA\""},
      {"{{ `raw\\n\"x\"` }}", "raw\\n\"x\""},
      {"{{ \"\" }}", ""},
  });
}

TEST_F(TemplateTest, TrimMarkersAndComments) {
  RunTable({
      {"a  {{- 1 -}}  b", "a1b"},
      {"a \n\t{{- 1 }} b", "a1 b"},
      {"a {{ 1 -}} \n b", "a 1b"},
      {"a{{/* a comment */}}b", "ab"},
      {"a {{- /* trimmed */ -}} b", "ab"},
      {"a{{/* multi\nline */}}b", "ab"},
      {"{{- 1 -}}", "1"},
      {"x{{ 1 }}\n{{ 2 }}", "x1\n2"},
  });
}

TEST_F(TemplateTest, DataAndVariables) {
  RunTable({
      {"{{ .Labels.instance }}", "node1:9100"},
      {"{{ $labels.job }}", "node"},
      {"{{ $.Labels.job }}", "node"},
      {"{{ .ExternalLabels.cluster }} {{ $externalLabels.cluster }}", "eu1 eu1"},
      {"{{ .ExternalURL }} {{ $externalURL }}",
       "http://testhost:9090/path/prefix http://testhost:9090/path/prefix"},
      {"{{ .Value }} {{ $value }}", "0.5 0.5"},
      {"[{{ $labels.missing }}]", "[]"},
      {"[{{ .Labels.missing }}]", "[]"},
      {"{{ .Labels }}", "map[__name__:up instance:node1:9100 job:node]"},
      {"{{ $ }}",
       "{map[__name__:up instance:node1:9100 job:node] map[cluster:eu1] "
       "http://testhost:9090/path/prefix 0.5}"},
      {"{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", "2"},
      {"{{ $x := $labels }}{{ $x.job }}", "node"},
      {"{{ $labels := 5 }}{{ $labels }}", "5"},
      {"{{ (1) }} {{ (print 1 2) }}", "1 1 2"},
      {"{{ ($labels).job }}", "node"},
      {"{{ \"abc\" | toUpper | printf \"%s!\" }}", "ABC!"},
      {"{{ $labels.job | printf \"%s-%s\" \"x\" }}", "x-node"},
      {"{{ .Labels.job | }}", "node"},
  });
}

TEST_F(TemplateTest, ControlStructures) {
  TemplateData other = Data();
  other.labels["job"] = "x";
  TemplateData third = Data();
  third.labels["job"] = "y";
  const std::string chain =
      "{{ if eq $labels.job \"node\" }}n{{ else if eq $labels.job \"x\" }}x{{ else }}o{{ end }}";
  EXPECT_EQ(Run(chain, Data()), "n");
  EXPECT_EQ(Run(chain, other), "x");
  EXPECT_EQ(Run(chain, third), "o");
  RunTable({
      {"{{ if true }}a{{ end }}", "a"},
      {"{{ if 0 }}a{{ else }}b{{ end }}", "b"},
      {"{{ if 0.0 }}a{{ else }}b{{ end }}", "b"},
      {"{{ if \"\" }}a{{ else }}b{{ end }}", "b"},
      {"{{ if \"x\" }}a{{ else }}b{{ end }}", "a"},
      {"{{ if $labels }}a{{ else }}b{{ end }}", "a"},
      {"{{ if args }}a{{ else }}b{{ end }}", "b"},
      {"{{ if $labels.missing }}a{{ else }}b{{ end }}", "b"},
      {"{{ if . }}a{{ end }}", "a"},
      {"{{ with $labels.instance }}[{{ . }}]{{ end }}", "[node1:9100]"},
      {"{{ with $labels.missing }}x{{ else }}none{{ end }}", "none"},
      {"{{ with $labels.missing }}a{{ else with $labels.job }}{{ . }}{{ end }}", "node"},
      {"{{ with $x := $labels.job }}{{ $x }}{{ end }}", "node"},
      {"{{ range $k, $v := $labels }}{{ $k }}={{ $v }},{{ end }}",
       "__name__=up,instance=node1:9100,job=node,"},
      {"{{ range $labels }}{{ . }};{{ end }}", "up;node1:9100;node;"},
      {"{{ range $v := .Labels }}{{ $v }};{{ end }}", "up;node1:9100;node;"},
      {"{{ range args }}x{{ else }}empty{{ end }}", "empty"},
      {"{{ range $labels.missing }}x{{ else }}empty{{ end }}",
       ExecError(16, "$labels.missing", "range can't iterate over ")},
      {"{{ range $i := 3 }}{{ $i }}{{ end }}", "012"},
      {"{{ range $i := 5 }}{{ if eq $i 3 }}{{ break }}{{ end }}{{ if eq $i 1 }}{{ continue }}"
       "{{ end }}{{ $i }}{{ end }}",
       "02"},
      {"{{ range $k, $v := args \"a\" \"b\" }}{{ $k }}:{{ $v }} {{ end }}", "arg0:a arg1:b "},
      {"{{ $x := 1 }}{{ range $labels }}{{ $x = 2 }}{{ end }}{{ $x }}", "2"},
      {"{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}", "21"},
  });
}

TEST_F(TemplateTest, Builtins) {
  RunTable({
      {"{{ and 1 0 }} {{ and 1 2 }} {{ or 0 \"\" \"x\" }} {{ or 0 \"\" }}", "0 2 x "},
      {"{{ not 0 }} {{ not $labels }}", "true false"},
      {"{{ or 1 (humanize \"bad\") }}", "1"},
      {"{{ and 0 (humanize \"bad\") }}", "0"},
      {"{{ len $labels }} {{ len \"h\xC3\xA9\" }} {{ len args }}", "3 3 0"},
      {"{{ index $labels \"job\" }}[{{ index $labels \"zzz\" }}]", "node[]"},
      {"{{ index \"abc\" 1 }}", "98"},
      {"{{ eq 1 2 1 }} {{ eq \"a\" \"b\" }} {{ eq $labels.job \"node\" }}", "true false true"},
      {"{{ ne \"a\" \"b\" }} {{ ne 1 1 }}", "true false"},
      {"{{ lt 1.5 2.5 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1 2 }}", "true true true false"},
      {"{{ lt $value 1.0 }}", "true"},
      {"{{ print 1 2 \"a\" \"b\" 3 }}", "1 2ab3"},
      {"{{ print }}", ""},
      {"{{ println 1 \"a\" }}", "1 a\n"},
      {"{{ html \"<a href='x'>&\" }}", "&lt;a href=&#39;x&#39;&gt;&amp;"},
      {"{{ urlquery \"a b&c\" }}", "a+b%26c"},
  });
}

TEST_F(TemplateTest, Printf) {
  RunTable({
      {"{{ printf \"%s-%d-%v\" \"a\" 42 1.5 }}", "a-42-1.5"},
      {"{{ printf \"%.2f\" 3.14159 }}", "3.14"},
      {"{{ printf \"%0.2f\" 2.0 }}", "2.00"},
      {"{{ printf \"%.0f %.0f\" 2.5 3.5 }}", "2 4"},
      {"{{ printf \"%f\" 1.5 }}", "1.500000"},
      {"{{ printf \"%5.1f|%-6.1f|\" 3.14159 2.5 }}", "  3.1|2.5   |"},
      {"{{ printf \"%08.3f\" -3.14159 }}", "-003.142"},
      {"{{ printf \"%+.1f\" 2.0 }}", "+2.0"},
      {"{{ printf \"%-5d|%5d|%05d|%+d\" 42 42 42 5 }}", "42   |   42|00042|+5"},
      {"{{ printf \"%x %X %o %b\" 255 255 8 5 }}", "ff FF 10 101"},
      {"{{ printf \"%x\" \"hi\" }}", "6869"},
      {"{{ printf \"%q\" \"a\\\"b\\n\" }}", "\"a\\\"b\\n\""},
      {"{{ printf \"%q %c\" 97 97 }}", "'a' a"},
      {"{{ printf \"%e\" 123456.789 }}", "1.234568e+05"},
      {"{{ printf \"%.2e %E\" 0.000123 1e6 }}", "1.23e-04 1.000000E+06"},
      {"{{ printf \"%g %g %g\" 1e-7 100000000.0 0.1 }}", "1e-07 1e+08 0.1"},
      {"{{ printf \"%8.3g|\" 3.14159 }}", "    3.14|"},
      {"{{ printf \"%.3g\" 1234.0 }}", "1.23e+03"},
      {"{{ printf \"%v %v\" 1e21 123456789.0 }}", "1e+21 1.23456789e+08"},
      {"{{ printf \"%6.2f%%\" 12.345 }}", " 12.35%"},
      {"{{ printf \"%.1f\" 0.05 }}", "0.1"},
      {"{{ printf \"%t %v\" true false }}", "true false"},
      {"{{ printf \"%s|%10s|%-4s|%.2s\" \"a\" \"b\" \"c\" \"xyz\" }}", "a|         b|c   |xy"},
      {"{{ printf \"%T %T %T %T\" 1.5 1 \"s\" $labels }}", "float64 int string map[string]string"},
      {"{{ printf \"%v\" $labels }}", "map[__name__:up instance:node1:9100 job:node]"},
      {"{{ printf \"%v\" $value }}", "0.5"},
      {"{{ printf \"%f\" $value }}", "0.500000"},
      {"{{ printf \"%5.1f\" $value }}", "  0.5"},
      {"{{ printf \"%d\" \"x\" }}", "%!d(string=x)"},
      {"{{ printf \"%f\" 3 }}", "%!f(int=3)"},
      {"{{ printf \"%d\" 1.5 }}", "%!d(float64=1.5)"},
      {"{{ printf \"%s %s\" \"a\" }}", "a %!s(MISSING)"},
      {"{{ printf \"%s\" \"a\" 2 \"b\" }}", "a%!(EXTRA int=2, string=b)"},
      {"{{ printf \"%z\" 1 }}", "%!z(int=1)"},
      {"{{ printf \"100%\" }}", "100%!(NOVERB)"},
      {"{{ printf \"%v\" (args 1).arg9 }}", "<nil>"},
  });
}

TEST_F(TemplateTest, Humanize) {
  RunTable({
      {"{{ humanize 0.0 }}:{{ humanize 1.0 }}:{{ humanize 1234567.0 }}:{{ humanize .12 }}",
       "0:1:1.235M:120m"},
      {"{{ humanize \"0.0\" }}:{{ humanize \"1.0\" }}:{{ humanize \"1234567.0\" }}:"
       "{{ humanize \".12\" }}",
       "0:1:1.235M:120m"},
      {"{{ humanize 0 }}:{{ humanize -1 }}:{{ humanize 1 }}:{{ humanize 1234567 }}:"
       "{{ humanize 9223372036854775807 }}",
       "0:-1:1:1.235M:9.223E"},
      {"{{ humanize 0.000001234 }}:{{ humanize -1500 }}:{{ humanize 1e27 }}", "1.234u:-1.5k:1000Y"},
      {"{{ humanize1024 0.0 }}:{{ humanize1024 1.0 }}:{{ humanize1024 1048576.0 }}:"
       "{{ humanize1024 .12 }}",
       "0:1:1Mi:0.12"},
      {"{{ humanize1024 \"1048576.0\" }}", "1Mi"},
      {"{{ humanize1024 0 }}:{{ humanize1024 -1 }}:{{ humanize1024 1 }}:"
       "{{ humanize1024 1234567 }}:{{ humanize1024 9223372036854775807 }}",
       "0:-1:1:1.177Mi:8Ei"},
      {"{{ humanizePercentage -0.22222 }}:{{ humanizePercentage 0.0 }}:"
       "{{ humanizePercentage 0.1234567 }}:{{ humanizePercentage 1.23456 }}",
       "-22.22%:0%:12.35%:123.5%"},
      {"{{ \"-0.22222\" | humanizePercentage }}:{{ \"0.1234567\" | humanizePercentage }}",
       "-22.22%:12.35%"},
      {"{{ humanizePercentage 0 }}:{{ humanizePercentage -1 }}:{{ humanizePercentage 1 }}:"
       "{{ humanizePercentage 1234567 }}:{{ humanizePercentage 9223372036854775807 }}",
       "0%:-100%:100%:1.235e+08%:9.223e+20%"},
  });
}

TEST_F(TemplateTest, HumanizeDuration) {
  const std::vector<std::pair<double, std::string>> cases = {
      {0, "0s"},
      {1, "1s"},
      {60, "1m 0s"},
      {3600, "1h 0m 0s"},
      {86400, "1d 0h 0m 0s"},
      {86400 + 3600, "1d 1h 0m 0s"},
      {-(86400 * 2 + 3600 * 3 + 60 * 4 + 5), "-2d 3h 4m 5s"},
      {899.99, "14m 59s"},
      {.1, "100ms"},
      {.0001, "100us"},
      {.12345, "123.5ms"},
      {60.1, "1m 0s"},
      {60.5, "1m 0s"},
      {1.2345, "1.234s"},
      {12.345, "12.35s"},
      {-1, "-1s"},
      {1234567, "14d 6h 56m 7s"},
      {-0.5, "-500ms"},
  };
  for (const auto& [v, want] : cases) {
    EXPECT_EQ(Run("{{ humanizeDuration $value }}", v), want) << v;
  }
  EXPECT_EQ(Run("{{ humanizeDuration \"86400\" }}:{{ humanizeDuration \".12345\" }}"),
            "1d 0h 0m 0s:123.5ms");
  EXPECT_EQ(Run("{{ humanizeDuration 1234567 }}"), "14d 6h 56m 7s");
}

TEST_F(TemplateTest, HumanizeInfAndNaN) {
  const std::string text =
      "{{ humanize $value }}:{{ humanize1024 $value }}:{{ humanizeDuration $value }}:"
      "{{ humanizeTimestamp $value }}:{{ humanizePercentage $value }}";
  EXPECT_EQ(Run(text, kInf), "+Inf:+Inf:+Inf:+Inf:+Inf%");
  EXPECT_EQ(Run(text, -kInf), "-Inf:-Inf:-Inf:-Inf:-Inf%");
  EXPECT_EQ(Run(text, kNaN), "NaN:NaN:NaN:NaN:NaN%");
  EXPECT_EQ(Run("{{ humanize \"+Inf\" }}:{{ humanize1024 \"-Inf\" }}:{{ humanize \"NaN\" }}"),
            "+Inf:-Inf:NaN");
}

TEST_F(TemplateTest, HumanizeTimestampAndToTime) {
  RunTable({
      {"{{ humanizeTimestamp 0 }}", "1970-01-01 00:00:00 +0000 UTC"},
      {"{{ humanizeTimestamp -1 }}", "1969-12-31 23:59:59 +0000 UTC"},
      {"{{ humanizeTimestamp 1 }}", "1970-01-01 00:00:01 +0000 UTC"},
      {"{{ humanizeTimestamp 1234567 }}", "1970-01-15 06:56:07 +0000 UTC"},
      {"{{ humanizeTimestamp 9223372036 }}", "2262-04-11 23:47:16 +0000 UTC"},
      {"{{ 1435065584.128 | humanizeTimestamp }}", "2015-06-23 13:19:44.128 +0000 UTC"},
      {"{{ \"1435065584.128\" | humanizeTimestamp }}", "2015-06-23 13:19:44.128 +0000 UTC"},
      {"{{ humanizeTimestamp 1.0000001 }}", "1970-01-01 00:00:01 +0000 UTC"},
      {"{{ (1435065584.128 | toTime).Format \"2006\" }}", "2015"},
      {"{{ (\"1435065584.128\" | toTime).Format \"2006\" }}", "2015"},
      {"{{ (toTime 1435065584.128).Format \"Mon, 02 Jan 2006 15:04:05.000 MST\" }}",
       "Tue, 23 Jun 2015 13:19:44.128 UTC"},
      {"{{ (toTime 1657155181).Format \"2006-01-02T15:04:05Z07:00\" }}", "2022-07-07T00:53:01Z"},
      {"{{ (toTime 1657155181).Unix }}", "1657155181"},
      {"{{ (toTime 1435065584).UnixMilli }}", "1435065584000"},
      {"{{ (toTime 1435065584.128).Format \"Jan _2 3:04PM .999 -0700\" }}",
       "Jun 23 1:19PM .128 +0000"},
      {"{{ (toTime 1435065584).Format \"Monday January 2, 06 15h .000 .999 pm\" }}",
       "Tuesday June 23, 15 13h .000  pm"},
      {"{{ (toTime -1).Format \"2006-01-02 15:04:05\" }}", "1969-12-31 23:59:59"},
      {"{{ 1435065584.128 | toTime }}", "2015-06-23 13:19:44.128 +0000 UTC"},
      {"{{ humanizeTimestamp -9223372036854775808 }}",
       ExecError(3, "humanizeTimestamp -9...",
                 "error calling humanizeTimestamp: -9.223372036854776e+18 cannot be represented "
                 "as a nanoseconds timestamp since it overflows int64")},
      {"{{ toTime 1.8e300 }}",
       ExecError(3, "toTime 1.8e300",
                 "error calling toTime: 1.8e+300 cannot be represented as a nanoseconds "
                 "timestamp since it overflows int64")},
  });
  EXPECT_EQ(Run("{{ toTime $value }}", kNaN),
            ExecError(3, "toTime $value", "error calling toTime: value is NaN or Inf"));
}

TEST_F(TemplateTest, StringFunctions) {
  RunTable({
      {"{{ \"aa bb CC\" | title }}", "Aa Bb CC"},
      {"{{ \"node-exporter_x.y\" | title }}", "Node-Exporter_x.Y"},
      {"{{ \"aa bb CC\" | toUpper }}", "AA BB CC"},
      {"{{ \"aA bB CC\" | toLower }}", "aa bb cc"},
      {"{{ match \"a+\" \"aa\" }} {{ match \"a+\" \"b\" }} {{ match \"^b\" \"ab\" }}",
       "true false false"},
      {"{{ reReplaceAll \"(a)b\" \"x$1\" \"ab\" }}", "xa"},
      {"{{ reReplaceAll \"(.*):.*\" \"$1\" $labels.instance }}", "node1"},
      {"{{ reReplaceAll \"(a)\" \"$1x\" \"a\" }}|{{ reReplaceAll \"(a)\" \"${1}x\" \"a\" }}",
       "|ax"},
      {"{{ reReplaceAll \"(?P<host>[^:]+):(?P<port>\\\\d+)\" \"$port/$host $$\" "
       "\"node1:9100\" }}",
       "9100/node1 $"},
      {"{{ reReplaceAll \"x*\" \"-\" \"abc\" }}", "-a-b-c-"},
      {"{{ reReplaceAll \"a\" \"b\" \"\" }}", ""},
      {"{{ \"<b>\" | safeHtml }}", "<b>"},
      {"{{ graphLink \"up\" }}", "/graph?g0.expr=up&g0.tab=0"},
      {"{{ tableLink \"up\" }}", "/graph?g0.expr=up&g0.tab=1"},
      {"{{ graphLink \"rate(x[5m]) > 0\" }}", "/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+0&g0.tab=0"},
      {"{{ urlQueryEscape \"a b/c\" }}", "a+b%2Fc"},
      {"{{ pathPrefix }}", "/path/prefix"},
      {"{{ externalURL }}", "http://testhost:9090/path/prefix"},
      {"{{ printf \"%0.2f\" (parseDuration \"1h2m10ms\") }}", "3720.01"},
      {"{{ parseDuration \"1d\" }} {{ parseDuration \"0\" }} {{ parseDuration \"1y1w\" }}",
       "86400 0 3.21408e+07"},
      {"{{ (args 1 \"2\").arg0 }} {{ (args 1 \"2\").arg1 }}", "1 2"},
      {"{{ (args 1).arg5 }}", "<no value>"},
      {"{{ args 1 \"x\" }}", "map[arg0:1 arg1:x]"},
  });
}

TEST_F(TemplateTest, StripPortAndDomain) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      // input, stripPort, stripDomain
      {"foo.example.com", "foo.example.com", "foo"},
      {"foo.example.com:12345", "foo.example.com", "foo:12345"},
      {"192.0.2.1", "192.0.2.1", "192.0.2.1"},
      {"192.0.2.1:12345", "192.0.2.1", "192.0.2.1:12345"},
      {"2001:0DB8::1", "2001:0DB8::1", "2001:0DB8::1"},
      {"[2001:0DB8::1]:12345", "2001:0DB8::1", "[2001:0DB8::1]:12345"},
      {"[2001:0DB8::1]::12345", "[2001:0DB8::1]::12345", "[2001:0DB8::1]::12345"},
  };
  for (const auto& [in, port, domain] : cases) {
    EXPECT_EQ(Run("{{ \"" + in + "\" | stripPort }}"), port) << in;
    EXPECT_EQ(Run("{{ \"" + in + "\" | stripDomain }}"), domain) << in;
  }
}

TEST_F(TemplateTest, QueryFunctions) {
  TemplateData d = Data();
  std::vector<std::string> queries;
  d.query = [&queries](std::string_view q) -> Result<std::vector<TemplateSample>> {
    queries.emplace_back(q);
    if (q == "missing") return std::vector<TemplateSample>{};
    if (q == "broken") return InvalidArgument("parse error: unexpected end of input");
    return std::vector<TemplateSample>{
        {{{"__name__", "metric"}, {"instance", "b"}, {"__value__", "vb"}}, 21},
        {{{"__name__", "metric"}, {"instance", "a"}}, 11},
    };
  };
  RunTable(
      {
          {"{{ query \"metric\" | first | value }}", "21"},
          {"{{ query \"metric\" | first | label \"instance\" }}", "b"},
          {"{{ query \"metric\" | first | strvalue }}", "vb"},
          {"[{{ query \"metric\" | first | label \"foo\" }}]", "[]"},
          {"{{ $x := query \"metric\" | first }}[{{ $x.Labels.foo }}]{{ $x.Value }}", "[]21"},
          {"{{ range query \"metric\" | sortByLabel \"instance\" }}{{ .Labels.instance }}:"
           "{{ .Value }}: {{ end }}",
           "a:11: b:21: "},
          {"{{ with query \"metric\" }}{{ len . }} {{ (index . 1).Value }}{{ end }}", "2 11"},
          {"{{ with query \"missing\" }}some{{ else }}none{{ end }}", "none"},
          {"{{ range $i, $s := query \"metric\" }}{{ $i }}={{ $s.Value }} {{ end }}", "0=21 1=11 "},
          {"{{ query \"metric\" | first }}", "{map[__name__:metric __value__:vb instance:b] 21}"},
          {"{{ query \"metric\" | first | value | humanize }}", "21"},
          {"{{ query \"missing\" | first }}",
           ExecError(21, "first",
                     "error calling first: first() called on vector with no elements")},
          {"{{ (query \"missing\").banana }}",
           ExecError(10, "\"missing\"",
                     "can't evaluate field banana in type template.queryResult")},
          {"{{ query \"broken\" }}",
           ExecError(3, "query \"broken\"",
                     "error calling query: parse error: unexpected end of input")},
      },
      d);
  EXPECT_THAT(queries, ::testing::Contains("metric"));
  EXPECT_EQ(Run("{{ query \"up\" }}"),
            ExecError(3, "query \"up\"",
                      "error calling query: no PromQL engine is available to this template"));
}

TEST_F(TemplateTest, ParseErrors) {
  RunTable({
      {"{{", "ERROR: template: t:1: unclosed action"},
      {"{{ foo }}", "ERROR: template: t:1: function \"foo\" not defined"},
      {"line1\nline2 {{ foo }}", "ERROR: template: t:2: function \"foo\" not defined"},
      {"{{ humanize }", "ERROR: template: t:1: unexpected \"}\" in operand"},
      {"{{ if true }}x", "ERROR: template: t:1: unexpected EOF"},
      {"{{ range $labels }}x{{ else }}y", "ERROR: template: t:1: unexpected EOF"},
      {"{{ end }}", "ERROR: template: t:1: unexpected {{end}}"},
      {"{{ else }}", "ERROR: template: t:1: unexpected {{else}}"},
      {"{{ if true }}a{{ else }}b{{ else }}c{{ end }}",
       "ERROR: template: t:1: expected end; found {{else}}"},
      {"{{ if }}{{ end }}", "ERROR: template: t:1: missing value for if"},
      {"{{ }}", "ERROR: template: t:1: missing value for command"},
      {"{{ ( ) }}", "ERROR: template: t:1: missing value for parenthesized pipeline"},
      {"{{ $x }}", "ERROR: template: t:1: undefined variable \"$x\""},
      {"{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}",
       "ERROR: template: t:1: undefined variable \"$x\""},
      {"{{ 1 | 2 }}", "ERROR: template: t:1: non executable command in pipeline stage 2"},
      {"{{ | toUpper }}", "ERROR: template: t:1: unexpected \"|\" in command"},
      {"{{ \"abc }}", "ERROR: template: t:1: unterminated quoted string"},
      {"{{ `abc }}", "ERROR: template: t:1: unterminated raw quoted string"},
      {"{{ 'ab }}", "ERROR: template: t:1: unterminated character constant"},
      {"{{ (1 }}", "ERROR: template: t:1: unclosed left paren"},
      {"{{ 1) }}", "ERROR: template: t:1: unexpected \")\" in command"},
      {"{{ # }}", "ERROR: template: t:1: unexpected \"#\" in command"},
      {"{{ \xC2\xA0 }}", "ERROR: template: t:1: unrecognized character in action: U+00A0"},
      {"{{ : }}", "ERROR: template: t:1: expected :="},
      {"{{/* x }}", "ERROR: template: t:1: unclosed comment"},
      {"{{/* x */ 1 }}", "ERROR: template: t:1: comment ends before closing delimiter"},
      {"{{ define \"x\" }}{{ end }}",
       "ERROR: template: t:1: {{define}} is not supported in alerting templates"},
      {"{{ template \"x\" }}",
       "ERROR: template: t:1: {{template}} is not supported in alerting templates"},
      {"{{ block \"x\" . }}{{ end }}",
       "ERROR: template: t:1: {{block}} is not supported in alerting templates"},
      {"{{ join \",\" (stringSlice \"a\") }}",
       "ERROR: template: t:1: function \"join\" not defined"},
      {"{{ break }}", "ERROR: template: t:1: {{break}} outside {{range}}"},
      {"{{ 1.2.3 }}", "ERROR: template: t:1: unexpected \".3\" in operand"},
      {"{{ 3x }}", "ERROR: template: t:1: bad number syntax: \"3x\""},
      {"{{ 99999999999999999999 }}",
       "ERROR: template: t:1: integer overflow: \"99999999999999999999\""},
      {"{{ \"a\\q\" }}", "ERROR: template: t:1: invalid syntax"},
      {"{{ $labels.job! }}", "ERROR: template: t:1: bad character U+0021 '!'"},
      {"{{ \"x\".y }}", "ERROR: template: t:1: unexpected . after term \"\\\"x\\\"\""},
      {"{{ range $a, $b, $c := . }}{{ end }}",
       "ERROR: template: t:1: too many declarations in range"},
      {"{{ $a, $b := 1 }}", "ERROR: template: t:1: too many declarations in command"},
      {"{{ 1\n2 + }}", "ERROR: template: t:2: illegal number syntax: \"+\""},
      {"a\n{{ 1\n", "ERROR: template: t:3: unclosed action started at t:2"},
  });
}

TEST_F(TemplateTest, ExecutionErrors) {
  RunTable({
      {"{{ humanize \"one\" }}",
       ExecError(3, "humanize \"one\"",
                 "error calling humanize: strconv.ParseFloat: parsing \"one\": invalid syntax")},
      {"{{ humanize1024 \"one\" }}",
       ExecError(3, "humanize1024 \"one\"",
                 "error calling humanize1024: strconv.ParseFloat: parsing \"one\": invalid "
                 "syntax")},
      {"{{ humanizeDuration \"one\" }}",
       ExecError(3, "humanizeDuration \"on...",
                 "error calling humanizeDuration: strconv.ParseFloat: parsing \"one\": invalid "
                 "syntax")},
      {"{{ \"one\" | humanizePercentage }}",
       ExecError(11, "humanizePercentage",
                 "error calling humanizePercentage: strconv.ParseFloat: parsing \"one\": "
                 "invalid syntax")},
      {"{{ humanize \"+NaN\" }}",
       ExecError(3, "humanize \"+NaN\"",
                 "error calling humanize: strconv.ParseFloat: parsing \"+NaN\": invalid syntax")},
      {"{{ humanize \"1e400\" }}",
       ExecError(3, "humanize \"1e400\"",
                 "error calling humanize: strconv.ParseFloat: parsing \"1e400\": value out of "
                 "range")},
      {"{{ humanize $labels }}",
       ExecError(3, "humanize $labels",
                 "error calling humanize: can't convert map[string]string to float")},
      {"{{ humanize }}",
       ExecError(3, "humanize", "wrong number of args for humanize: want 1 got 0")},
      {"{{ humanize 1 2 }}",
       ExecError(3, "humanize", "wrong number of args for humanize: want 1 got 2")},
      {"{{ printf }}",
       ExecError(3, "printf", "wrong number of args for printf: want at least 1 got 0")},
      {"{{ toUpper 1 }}", ExecError(11, "1", "expected string; found 1")},
      {"{{ toUpper $value }}",
       ExecError(11, "$value", "wrong type for value; expected string; got float64")},
      {"{{ $value | toUpper }}",
       ExecError(12, "toUpper", "wrong type for value; expected string; got float64")},
      {"{{ \"<b>\" | safeHtml | toUpper }}",
       ExecError(22, "toUpper", "wrong type for value; expected string; got template.HTML")},
      {"{{ toUpper (args).x }}", ExecError(12, "args", "invalid value; expected string")},
      {"{{ gt $value 80 }}",
       ExecError(3, "gt $value 80", "error calling gt: incompatible types for comparison")},
      {"{{ eq $value 1 }}",
       ExecError(3, "eq $value 1", "error calling eq: incompatible types for comparison")},
      {"{{ eq 1 }}", ExecError(3, "eq 1", "error calling eq: missing argument for comparison")},
      {"{{ lt $labels 1 }}",
       ExecError(3, "lt $labels 1", "error calling lt: invalid type for comparison")},
      {"{{ .Foo }}", ExecError(3, ".Foo",
                               "can't evaluate field Foo in type struct { Labels "
                               "map[string]string; ExternalLabels map[string]string; "
                               "ExternalURL string; Value float64 }")},
      {"{{ .Value.x }}", ExecError(9, ".Value.x", "can't evaluate field x in type float64")},
      {"{{ .Labels.foo 1 }}",
       ExecError(10, ".Labels.foo", "foo is not a method but has arguments")},
      {"{{ index $labels 1 }}",
       ExecError(3, "index $labels 1",
                 "error calling index: value has type int; should be string")},
      {"{{ index $value 1 }}",
       ExecError(3, "index $value 1", "error calling index: can't index item of type float64")},
      {"{{ index \"ab\" 5 }}",
       ExecError(3, "index \"ab\" 5", "error calling index: index out of range: 5")},
      {"{{ len $value }}", ExecError(3, "len $value", "error calling len: len of type float64")},
      {"{{ range $value }}{{ end }}", ExecError(9, "$value", "range can't iterate over 0.5")},
      {"{{ nil }}", ExecError(3, "nil", "nil is not a command")},
      {"{{ 1 2 }}", ExecError(3, "1", "can't give argument to non-function 1")},
      {"{{ $x := 1 }}{{ $y = 2 }}", ExecError(21, "2", "undefined variable: $y")},
      {"{{ if (args).x }}a{{ end }}",
       ExecError(7, "args", "if/with can't use <invalid reflect.Value>")},
      {"{{ match \"(\" \"a\" }}",
       ExecError(3, "match \"(\" \"a\"",
                 "error calling match: error parsing regexp: missing closing ): `(`")},
      {"{{ reReplaceAll \"(\" \"\" \"a\" }}",
       ExecError(3, "reReplaceAll \"(\" \"\" ...",
                 "error calling reReplaceAll: regexp: Compile(`(`): error parsing regexp: "
                 "missing closing ): `(`")},
      {"{{ parseDuration \"1x\" }}",
       ExecError(3, "parseDuration \"1x\"",
                 "error calling parseDuration: unknown unit \"x\" in duration \"1x\"")},
      {"{{ parseDuration \"5m1h\" }}",
       ExecError(3, "parseDuration \"5m1h\"",
                 "error calling parseDuration: not a valid duration string: \"5m1h\"")},
      {"{{ parseDuration \"\" }}",
       ExecError(3, "parseDuration \"\"", "error calling parseDuration: empty duration string")},
      {"{{ (toTime 1).Nope }}", ExecError(11, "1", "can't evaluate field Nope in type *time.Time")},
      {"x\n{{ humanize \"one\" }}",
       "ERROR: template: t:2:3: executing \"t\" at <humanize \"one\">: error calling humanize: "
       "strconv.ParseFloat: parsing \"one\": invalid syntax"},
  });
}

TEST_F(TemplateTest, TimeMethods) {
  RunTable({
      {"{{ (toTime 1.5).UTC }}", "1970-01-01 00:00:01.5 +0000 UTC"},
      {"{{ printf \"%T %T\" (toTime 1) (toTime 1).UTC }}", "*time.Time time.Time"},
      {"{{ (toTime 0).IsZero }} {{ (toTime -1.25).UnixMilli }}", "false -1250"},
  });
}

// ------------------------------------------------------------------------------------------------
// TemplateSet: named templates with Alertmanager's functions over a host's objects.

// map[string]string with sorted keys.
class TestMap final : public TemplateObject {
 public:
  explicit TestMap(std::vector<std::pair<std::string, std::string>> entries)
      : entries_(std::move(entries)) {}
  Shape shape() const override { return Shape::kMap; }
  std::string TypeName() const override { return "test.Map"; }
  size_t size() const override { return entries_.size(); }
  TemplateValue Element(size_t i) const override { return entries_[i].second; }
  std::string_view Key(size_t i) const override { return entries_[i].first; }
  TemplateValue Zero() const override { return std::string(); }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

// *test.Thing: struct { Name string; Tags test.Map; Items []string; Count int; When time.Time;
// Nothing interface{} } with the methods Has(string) bool and Only([]string) []string.
class TestThing final : public TemplateObject {
 public:
  Shape shape() const override { return Shape::kStruct; }
  std::string TypeName() const override { return "*test.Thing"; }
  size_t size() const override { return 6; }
  std::string_view Key(size_t i) const override {
    static constexpr std::string_view kNames[] = {"Name",  "Tags", "Items",
                                                  "Count", "When", "Nothing"};
    return kNames[i];
  }
  TemplateValue Element(size_t i) const override {
    switch (i) {
      case 0:
        return std::string("web <1>");
      case 1:
        return std::make_shared<const TestMap>(
            std::vector<std::pair<std::string, std::string>>{{"env", "prod"}, {"team", "sre"}});
      case 2:
        return MakeStringSlice(items_);
      case 3:
        return int64_t{3};
      case 4:
        return TemplateTime{1767261600, 500000000};
      default:
        return std::monostate{};
    }
  }
  std::optional<TemplateMethod> Method(std::string_view name) const override {
    if (name == "Has") {
      return TemplateMethod{
          {TemplateMethod::Param::kString},
          [this](const std::vector<TemplateValue>& a) -> Result<TemplateValue> {
            const auto& item = std::get<std::string>(a[0]);
            if (item == "boom") return InvalidArgument("no boom here");
            return TemplateValue(std::find(items_.begin(), items_.end(), item) != items_.end());
          }};
    }
    if (name == "Only") {
      return TemplateMethod{{TemplateMethod::Param::kStringSlice},
                            [this](const std::vector<TemplateValue>& a) -> Result<TemplateValue> {
                              const auto& keep =
                                  std::get<std::shared_ptr<const TemplateObject>>(a[0]);
                              std::vector<std::string> out;
                              for (size_t k = 0; k < keep->size(); ++k) {
                                auto v = std::get<std::string>(keep->Element(k));
                                if (std::find(items_.begin(), items_.end(), v) != items_.end()) {
                                  out.push_back(v);
                                }
                              }
                              return TemplateValue(MakeStringSlice(std::move(out)));
                            }};
    }
    return std::nullopt;
  }

 private:
  std::vector<std::string> items_ = {"a", "b", "c"};
};

class TemplateSetTest : public ::testing::Test {
 protected:
  // Parses `files` ({name, text}) in order, then executes `name`; or "ERROR: " + the error.
  static std::string Run(const std::vector<std::pair<std::string, std::string>>& files,
                         std::string_view name, const TemplateValue& dot, bool html = false) {
    TemplateSet set;
    for (const auto& [file, text] : files) {
      Status s = set.Parse(file, text);
      if (!s.ok()) return "ERROR: " + s.message();
    }
    auto r = set.Execute(name, dot, html);
    return r.ok() ? *r : "ERROR: " + r.status().message();
  }
  static std::string Run(std::string_view text, bool html = false) {
    return Run({{"f", std::string(text)}}, "f", std::make_shared<const TestThing>(), html);
  }
};

TEST_F(TemplateSetTest, DefineTemplateAndBlock) {
  EXPECT_EQ(Run("{{ define \"greet\" }}Hello {{ . }}, {{ $ }}{{ end }}"
                "{{ template \"greet\" .Name }}|{{ template \"greet\" }}"),
            "Hello web <1>, web <1>|Hello <no value>, <no value>");
  EXPECT_EQ(Run("{{ $x := 1 }}{{ block \"b\" .Count }}<{{ . }}>{{ end }}{{ $x }}"), "<3>1");
  // A later file's definition replaces an earlier one, also the body of a {{block}}; an empty
  // definition does not.
  EXPECT_EQ(Run({{"a", "{{ block \"b\" . }}default{{ end }}{{ define \"c\" }}c1{{ end }}"},
                 {"b",
                  "{{ define \"b\" }}override {{ .Count }}{{ end }}"
                  "{{ define \"c\" }} {{ end }}"}},
                "a", std::make_shared<const TestThing>()),
            "override 3");
  EXPECT_EQ(Run({{"a", "{{ define \"c\" }}c1{{ end }}"}, {"b", "{{ define \"c\" }} {{ end }}"}},
                "c", std::monostate{}),
            "c1");
  // Each file's text outside its definitions is a template of the file's name.
  EXPECT_EQ(Run({{"a", "A {{ template \"b\" }}"}, {"b", "B"}}, "a", std::monostate{}), "A B");
  EXPECT_EQ(Run({{"a", "A"}}, "b", std::monostate{}),
            "ERROR: template: no template \"b\" in the set");
}

TEST_F(TemplateSetTest, HostObjects) {
  EXPECT_EQ(Run("{{ .Name }} {{ .Tags.env }} [{{ .Tags.missing }}] {{ index .Tags \"team\" }} "
                "{{ index .Items 1 }} {{ len .Items }} {{ len .Tags }} {{ .Count }}"),
            "web <1> prod [] sre b 3 2 3");
  EXPECT_EQ(Run("{{ range $i, $v := .Items }}{{ $i }}{{ $v }}{{ end }} "
                "{{ range $k, $v := .Tags }}{{ $k }}={{ $v }};{{ end }} "
                "{{ range .Nothing }}x{{ else }}none{{ end }}"),
            "0a1b2c env=prod;team=sre; none");
  EXPECT_EQ(Run("{{ . }}|{{ printf \"%v\" . }}|{{ .Tags }}|{{ .Items }}|{{ .Nothing }}"),
            "{web <1> map[env:prod team:sre] [a b c] 3 2026-01-01 10:00:00.5 +0000 UTC <nil>}|"
            "&{web <1> map[env:prod team:sre] [a b c] 3 2026-01-01 10:00:00.5 +0000 UTC <nil>}|"
            "map[env:prod team:sre]|[a b c]|<no value>");
  EXPECT_EQ(Run("{{ .Has \"b\" }} {{ .Has \"z\" }} {{ .Only (stringSlice \"c\" \"z\" \"a\") }} "
                "{{ .Only nil | len }} {{ if .Items }}items{{ end }} {{ if .Tags }}tags{{ end }}"),
            "true false [c a] 0 items tags");
  EXPECT_EQ(Run("{{ .When.Format \"15:04:05.000\" }} {{ printf \"%T %T %T\" .When .Items .Tags }}"),
            "10:00:00.500 time.Time []string test.Map");
}

TEST_F(TemplateSetTest, HostObjectErrors) {
  auto exec_error = [](int col, std::string_view at, std::string_view msg) {
    return "ERROR: template: f:1:" + std::to_string(col) + ": executing \"f\" at <" +
           std::string(at) + ">: " + std::string(msg);
  };
  EXPECT_EQ(Run("{{ .Nope }}"),
            exec_error(3, ".Nope", "can't evaluate field Nope in type *test.Thing"));
  EXPECT_EQ(Run("{{ .Items.First }}"),
            exec_error(9, ".Items.First", "can't evaluate field First in type []string"));
  EXPECT_EQ(Run("{{ .Has 1 }}"), exec_error(8, "1", "expected string; found 1"));
  EXPECT_EQ(Run("{{ .Has \"boom\" }}"), exec_error(3, ".Has", "error calling Has: no boom here"));
  EXPECT_EQ(Run("{{ .Only .Tags }}"),
            exec_error(9, ".Tags", "wrong type for value; expected []string; got test.Map"));
  EXPECT_EQ(Run("{{ .Name 1 }}"),
            exec_error(3, ".Name", "Name has arguments but cannot be invoked as function"));
  EXPECT_EQ(Run("{{ .Tags.env 1 }}"),
            exec_error(8, ".Tags.env", "env is not a method but has arguments"));
  EXPECT_EQ(Run("{{ len . }}"),
            exec_error(3, "len .", "error calling len: len of type test.Thing"));
  EXPECT_EQ(Run("{{ index . 1 }}"),
            exec_error(3, "index . 1", "error calling index: can't index item of type test.Thing"));
  EXPECT_EQ(Run("{{ index .Items 3 }}"),
            exec_error(3, "index .Items 3", "error calling index: index out of range: 3"));
  EXPECT_EQ(Run("{{ index .Tags .Nothing }}"),
            exec_error(3, "index .Tags .Nothing",
                       "error calling index: value is nil; should be of type string"));
  EXPECT_EQ(
      Run("{{ index .Tags 3 }}"),
      exec_error(3, "index .Tags 3", "error calling index: value has type int; should be string"));
  EXPECT_EQ(Run("{{ range . }}{{ end }}"),
            exec_error(9, ".",
                       "range can't iterate over {web <1> map[env:prod team:sre] [a b c] 3 "
                       "2026-01-01 10:00:00.5 +0000 UTC <nil>}"));
}

TEST_F(TemplateSetTest, AlertmanagerFunctions) {
  EXPECT_EQ(Run("{{ join \", \" .Items }} {{ stringSlice | len }} {{ join \"-\" nil }}|"
                "{{ title \"ab-cd e_f g.h 2x\" }}|{{ trimSpace \"\\t a \\u00a0\" }}|"
                "{{ toUpper .Name }}"),
            "a, b, c 0 |Ab-Cd E_f G.h 2X|a|WEB <1>");
}

TEST_F(TemplateSetTest, HtmlEscapesActionOutput) {
  EXPECT_EQ(Run("<b>{{ .Name }}</b> {{ \"'&\\\"+\" }} {{ \"<i>\" | safeHtml }} [{{ .Nothing }}] "
                "{{ .Tags }}",
                true),
            "<b>web &lt;1&gt;</b> &#39;&amp;&#34;&#43; <i> [] map[env:prod team:sre]");
  EXPECT_EQ(Run("{{ .Name }}"), "web <1>");
}

TEST_F(TemplateSetTest, ParseErrors) {
  auto parse = [](std::string_view text) {
    return Run({{"f.tmpl", std::string(text)}}, "f.tmpl", {});
  };
  EXPECT_EQ(parse("{{ define \"a\" }}1{{ end }}{{ define \"a\" }}2{{ end }}"),
            "ERROR: template: f.tmpl:1: template: multiple definition of template \"a\"");
  EXPECT_EQ(parse("{{ define \"f.tmpl\" }}x{{ end }}y"),
            "ERROR: template: f.tmpl:1: template: multiple definition of template \"f.tmpl\"");
  EXPECT_EQ(parse("{{ if true }}{{ define \"a\" }}{{ end }}{{ end }}"),
            "ERROR: template: f.tmpl:1: unexpected <define> in command");
  EXPECT_EQ(parse("{{ define a }}{{ end }}"),
            "ERROR: template: f.tmpl:1: unexpected \"a\" in define clause");
  EXPECT_EQ(parse("{{ define \"a\" }}{{ else }}{{ end }}"),
            "ERROR: template: f.tmpl:1: unexpected {{else}} in define clause");
  EXPECT_EQ(parse("{{ define \"a\" }}\nx"), "ERROR: template: f.tmpl:2: unexpected EOF");
  EXPECT_EQ(parse("{{ $x := 1 }}{{ define \"a\" }}{{ $x }}{{ end }}"),
            "ERROR: template: f.tmpl:1: undefined variable \"$x\"");
  EXPECT_EQ(parse("{{ range .Items }}{{ block \"a\" . }}{{ break }}{{ end }}{{ end }}"),
            "ERROR: template: f.tmpl:1: {{break}} outside {{range}}");
  EXPECT_EQ(parse("{{ define \"a\" }}{{ end }}{{ template \"a\" \"b\" \"c\" }}"),
            "ERROR: template: f.tmpl:1:41: executing \"f.tmpl\" at <\"b\">: can't give argument "
            "to non-function \"b\"");
  EXPECT_EQ(parse("{{ humanize 1 }}"),
            "ERROR: template: f.tmpl:1: function \"humanize\" not defined");
  // A failed parse leaves the set as it was.
  TemplateSet set;
  ASSERT_TRUE(set.Parse("a", "{{ define \"x\" }}old{{ end }}").ok());
  EXPECT_FALSE(
      set.Parse("b", "{{ define \"x\" }}new{{ end }}{{ define \"y\" }}{{ foo }}{{ end }}").ok());
  EXPECT_TRUE(set.Has("x"));
  EXPECT_FALSE(set.Has("y"));
  EXPECT_FALSE(set.Has("b"));
  EXPECT_EQ(*set.Execute("x", {}), "old");
}

}  // namespace
}  // namespace platops::alerting
