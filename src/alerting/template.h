#pragma once
// Go's text/template for platops's two kinds of templates, with Go's output formatting and error
// wording:
// - Template: Prometheus's alerting-rule templates. Labels and annotations are expanded with
//   Prometheus's template data ($labels, $externalLabels, $externalURL, $value) and functions, so
//   rule files behave as they do under Prometheus. Parse once at rule load (a bad template is
//   refused there, as promtool does), expand for every alert. {{define}}, {{template}} and
//   {{block}} are refused at parse.
// - TemplateSet: named templates ({{define}}, {{template}}, {{block}}) with Alertmanager's
//   functions (toUpper, toLower, title, trimSpace, join, match, safeHtml, reReplaceAll,
//   stringSlice), executed against a host's data model given as TemplateObjects (Alertmanager's
//   template.Data, see notify_template.h), as plain text or HTML-escaped.
//
// Not supported: methods other than Format/Unix/UnixMilli/String/UTC/IsZero on times, the
// functions js/slice/call and Prometheus's toDuration/now, complex numbers and hex floats,
// Unicode case mapping (toUpper/toLower/title map ASCII letters only), %+v field names, and
// html/template's contextual escaping: in HTML mode every action's output is escaped as in HTML
// text (& < > " ' + and NUL), also inside attributes and URLs. {{template}} calls nest at most
// 100 deep (Go: 100000). Thread-safety: Template is immutable after Parse and Expand may run
// concurrently; TemplateSet::Parse is externally synchronized, Execute may run concurrently.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
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

// ------------------------------------------------------------------------------------------------
// Templates over a host's data (Alertmanager's notification templates).

// A time.Time in UTC.
struct TemplateTime {
  int64_t unix_seconds = 0;
  int32_t nanos = 0;  // 0..999999999
};
// Go's zero time.Time, 0001-01-01 00:00:00 UTC: what an unset time reads as.
inline constexpr TemplateTime kGoZeroTime{-62135596800, 0};

class TemplateObject;

// A value of a host's data as templates see it; std::monostate is Go's nil.
using TemplateValue = std::variant<std::monostate, bool, int64_t, std::string, TemplateTime,
                                   std::shared_ptr<const TemplateObject>>;

// A method templates may call on a TemplateObject (`.SortedPairs`, `.Remove (stringSlice "a")`).
struct TemplateMethod {
  enum class Param { kString, kStringSlice };  // Go's string and []string
  std::vector<Param> params;
  // Gets arguments of the declared types: a std::string, or a []string object.
  std::function<Result<TemplateValue>(const std::vector<TemplateValue>& args)> call;
};

// A Go struct, slice or map of a host's data model, as reflection shows it to templates: its
// elements for printing, range, len and index, and its methods. Immutable.
class TemplateObject {
 public:
  enum class Shape { kStruct, kSlice, kMap };
  virtual ~TemplateObject() = default;

  virtual Shape shape() const = 0;
  // The Go type, for %T and errors: "*template.Data", "template.KV", "[]string". A struct type
  // named "*..." is a pointer: printed "&{...}" as an operand of print/printf.
  virtual std::string TypeName() const = 0;
  // Struct fields in declaration order, slice elements, or map entries in key (byte) order.
  virtual size_t size() const = 0;
  virtual TemplateValue Element(size_t i) const = 0;
  // The field name (struct) or key (map) of element i.
  virtual std::string_view Key(size_t /*i*/) const { return {}; }
  // Map: what a missing key reads as (the element type's zero value: Go's missingkey=zero).
  virtual TemplateValue Zero() const { return std::monostate{}; }
  // The method `name`, or nullopt. Methods come before fields and keys, as in Go.
  virtual std::optional<TemplateMethod> Method(std::string_view /*name*/) const {
    return std::nullopt;
  }
};

// A []string (what stringSlice returns and join takes).
std::shared_ptr<const TemplateObject> MakeStringSlice(std::vector<std::string> values);

// Named Go templates with Alertmanager's functions, as text/template's associated templates.
class TemplateSet {
 public:
  TemplateSet();

  // Parses `text` as the file `name` (Go's Template.New(name).Parse): its {{define}}s and
  // {{block}}s, and its text outside them as template `name`, replace the templates of the same
  // names, except that an empty one does not replace a non-empty one. Defining a name twice in one
  // text is an error. Errors use Go's wording (`template: <name>:<line>: ...`); on error the set
  // is unchanged.
  Status Parse(std::string name, std::string_view text);

  bool Has(std::string_view name) const;

  // Executes template `name` with `dot` as `.` and `$`. `html`: each action's output is escaped
  // for HTML text unless safeHtml produced it; nil prints as "" rather than "<no value>".
  // Errors use Go's execution wording: `template: <file>:<line>:<col>: executing "<name>" at
  // <{{template "x" .}}>: template "x" not defined`.
  Result<std::string> Execute(std::string_view name, const TemplateValue& dot,
                              bool html = false) const;

  struct Impl;  // defined in template.cc

 private:
  std::shared_ptr<const Impl> impl_;
};

// Go's fmt formatting of a float64 for %v and Print: the shortest representation that reads back
// exactly, in scientific form when the decimal exponent is < -4 or >= 6 ("1e+06", "0.001",
// "1.5e-07", "123456", "+Inf", "NaN").
std::string FormatGoFloat(double v);

}  // namespace platops::alerting
