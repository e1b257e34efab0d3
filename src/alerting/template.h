#pragma once
// The Go text/template subset used by Prometheus alerting rules: labels and annotations are
// expanded with Prometheus's template data ($labels, $externalLabels, $externalURL, $value) and
// template functions, with Go's output formatting and error wording, so rule files behave as they
// do under Prometheus. Parse once at rule load (a bad template is refused there, as promtool does),
// expand for every alert.
//
// Not supported: {{define}}, {{template}} and {{block}} (refused at parse), methods other than
// Format/Unix/UnixMilli/String on the result of toTime, the functions js/slice/call and
// Prometheus's toDuration/now, complex numbers and hex floats, and Unicode case mapping
// (toUpper/toLower/title map ASCII letters only). Thread-safety: Template is immutable after Parse;
// Expand may run concurrently.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace platops::alerting {

// One element of a PromQL instant-vector result, as the template functions see it.
struct TemplateSample {
  std::map<std::string, std::string> labels;  // includes __name__ when the series has one
  double value = 0;
};

// Evaluates a PromQL instant query at the alert's evaluation time. An error is reported as the
// failure of the `query` function ("error calling query: <message>").
using TemplateQueryFunc =
    std::function<Result<std::vector<TemplateSample>>(std::string_view query)>;

// The data of one expansion, as Prometheus's alerting rule builds it.
struct TemplateData {
  std::map<std::string, std::string> labels;           // .Labels, $labels
  std::map<std::string, std::string> external_labels;  // .ExternalLabels, $externalLabels
  std::string external_url;  // .ExternalURL, $externalURL, externalURL, pathPrefix
  double value = 0;          // .Value, $value
  // Backs query/first/label/value/sortByLabel. Empty: `query` fails with an error.
  TemplateQueryFunc query;
};

class Template {
 public:
  // Parses `text` preceded by Prometheus's variable definitions ({{$labels := .Labels}}... on the
  // same first line, so reported columns match Prometheus's). Errors use Go's wording:
  // `template: <name>:<line>: function "foo" not defined`.
  static Result<Template> Parse(std::string name, std::string_view text);

  // Executes the template. Errors use Go's execution wording: `template: <name>:<line>:<col>:
  // executing "<name>" at <humanize "one">: error calling humanize: ...`.
  Result<std::string> Expand(const TemplateData& data) const;

  const std::string& name() const;

  struct Impl;  // defined in template.cc

 private:
  explicit Template(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Go's fmt formatting of a float64 for %v and Print: the shortest representation that reads back
// exactly, in scientific form when the decimal exponent is < -4 or >= 6 ("1e+06", "0.001",
// "1.5e-07", "123456", "+Inf", "NaN").
std::string FormatGoFloat(double v);

}  // namespace platops::alerting
