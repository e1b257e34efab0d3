#include "alerting/rule_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "base/strings.h"
#include "base/time_util.h"
#include "promql/parser.h"

namespace platops::alerting {
namespace {

// Prometheus 3 validates names with its UTF-8 scheme: any non-empty valid UTF-8.
bool ValidName(std::string_view name) { return !name.empty() && IsValidUtf8(name); }

std::string Position(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  return std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

// Errors collected while reading; each line is one of promtool's.
class Errors {
 public:
  explicit Errors(std::string_view file) : file_(file) {}
  void Add(std::string message) { lines_.push_back(file_ + ": " + std::move(message)); }
  bool empty() const { return lines_.empty(); }
  Status ToStatus() const { return InvalidArgument(Join(lines_, "\n")); }

 private:
  std::string file_;
  std::vector<std::string> lines_;
};

// yaml.v3's strict decoding error for a field the type does not have.
void CheckKnownFields(const YAML::Node& map, std::initializer_list<std::string_view> known,
                      std::string_view type, Errors& errors) {
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      errors.Add("yaml: unmarshal errors:\n  line " + std::to_string(kv.first.Mark().line + 1) +
                 ": field " + key + " not found in type " + std::string(type));
    }
  }
}

// A scalar as a Go string field takes it (numbers and booleans as written). False when the node
// is a map or a list, with the error added.
bool ReadString(const YAML::Node& n, std::string_view what, std::string& out, Errors& errors) {
  if (!n || n.IsNull()) {
    out.clear();
    return true;
  }
  if (!n.IsScalar()) {
    errors.Add("yaml: unmarshal errors:\n  line " + std::to_string(n.Mark().line + 1) +
               ": cannot unmarshal " + (n.IsMap() ? "!!map" : "!!seq") + " into " +
               std::string(what));
    return false;
  }
  out = n.Scalar();
  return true;
}

bool ReadDuration(const YAML::Node& n, std::chrono::milliseconds& out, Errors& errors) {
  std::string text;
  if (!ReadString(n, "model.Duration", text, errors)) return false;
  if (text.empty()) return true;
  auto d = ParseDuration(text);
  if (!d.ok()) {
    errors.Add(Position(n) + ": not a valid duration string: \"" + text + "\"");
    return false;
  }
  out = *d;
  return true;
}

bool ReadMap(const YAML::Node& n, std::string_view what, StringPairs& out, Errors& errors) {
  out.clear();
  if (!n || n.IsNull()) return true;
  if (!n.IsMap()) {
    errors.Add("yaml: unmarshal errors:\n  line " + std::to_string(n.Mark().line + 1) +
               ": cannot unmarshal " + (n.IsSequence() ? "!!seq" : "!!str") + " into " +
               std::string(what));
    return false;
  }
  for (const auto& kv : n) {
    std::string value;
    if (!ReadString(kv.second, "string", value, errors)) return false;
    out.emplace_back(kv.first.Scalar(), std::move(value));
  }
  std::sort(out.begin(), out.end());
  return true;
}

void ReadRule(const YAML::Node& node, const std::string& group, int index,
              const RuleFileOptions& options, RuleSpec& rule, Errors& errors) {
  rule.line = node.Mark().line + 1;
  if (!node.IsMap()) {
    errors.Add("yaml: unmarshal errors:\n  line " + std::to_string(rule.line) +
               ": cannot unmarshal into rulefmt.RuleNode: a rule is a map");
    return;
  }
  CheckKnownFields(node,
                   {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"},
                   "rulefmt.RuleNode", errors);
  std::string record;
  std::string alert;
  bool ok = ReadString(node["record"], "string", record, errors);
  ok = ReadString(node["alert"], "string", alert, errors) && ok;
  ok = ReadString(node["expr"], "string", rule.expr, errors) && ok;
  ok = ReadDuration(node["for"], rule.for_duration, errors) && ok;
  ok = ReadDuration(node["keep_firing_for"], rule.keep_firing_for, errors) && ok;
  ok = ReadMap(node["labels"], "map[string]string", rule.labels, errors) && ok;
  ok = ReadMap(node["annotations"], "map[string]string", rule.annotations, errors) && ok;
  if (!ok) return;
  rule.alerting = !alert.empty();
  rule.name = rule.alerting ? alert : record;

  // Prometheus's rule validation, in its order and words.
  const std::string prefix = "group \"" + group + "\", rule " + std::to_string(index + 1) +
                             ", \"" + rule.name + "\": ";
  const YAML::Node record_node = node["record"];
  const YAML::Node alert_node = node["alert"];
  const YAML::Node expr_node = node["expr"];
  const std::string name_pos = Position(record_node ? record_node : alert_node ? alert_node : node);
  auto at = [&](const YAML::Node& n, std::string message) {
    errors.Add(Position(n ? n : node) + ": " + prefix + std::move(message));
  };
  if (!record.empty() && !alert.empty()) {
    errors.Add(Position(record_node) + ": " + Position(alert_node) + ": " + prefix +
               "only one of 'record' and 'alert' must be set");
  }
  if (record.empty() && alert.empty()) {
    errors.Add(name_pos + ": " + prefix + "one of 'record' or 'alert' must be set");
  }
  if (rule.expr.empty()) {
    at(expr_node, "field 'expr' must be set in rule");
  } else if (auto parsed = promql::Parse(rule.expr); !parsed.ok()) {
    at(expr_node, "could not parse expression: " + parsed.status().message());
  }
  if (!record.empty()) {
    if (!rule.annotations.empty()) at(record_node, "invalid field 'annotations' in recording rule");
    if (rule.for_duration.count() != 0) at(record_node, "invalid field 'for' in recording rule");
    if (rule.keep_firing_for.count() != 0) {
      at(record_node, "invalid field 'keep_firing_for' in recording rule");
    }
    if (!ValidName(record)) at(record_node, "invalid recording rule name: " + record);
    if (record.find_first_of("{}") != std::string::npos) {
      at(record_node,
         "braces present in the recording rule name; should it be in expr?: " + record);
    }
  }
  for (const auto& [name, value] : rule.labels) {
    if (!ValidName(name) || name == "__name__") errors.Add(prefix + "invalid label name: " + name);
    if (!IsValidUtf8(value)) errors.Add(prefix + "invalid label value: " + value);
  }
  for (const auto& [name, value] : rule.annotations) {
    if (!ValidName(name)) errors.Add(prefix + "invalid annotation name: " + name);
  }
  if (rule.alerting && options.check_template) {
    const std::string template_name = "__alert_" + rule.name;
    for (const auto& [name, value] : rule.labels) {
      if (Status st = options.check_template(template_name, value); !st.ok()) {
        errors.Add(prefix + "label \"" + name + "\": " + st.message());
      }
    }
    for (const auto& [name, value] : rule.annotations) {
      if (Status st = options.check_template(template_name, value); !st.ok()) {
        errors.Add(prefix + "annotation \"" + name + "\": " + st.message());
      }
    }
  }
}

}  // namespace

Result<std::vector<RuleGroupSpec>> ParseRuleFile(std::string_view content, std::string_view file,
                                                 const RuleFileOptions& options) {
  Errors errors(file);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(content));
  } catch (const YAML::Exception& e) {
    errors.Add("yaml: line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    return errors.ToStatus();
  }
  std::vector<RuleGroupSpec> groups;
  if (!root || root.IsNull()) return groups;
  if (!root.IsMap()) {
    errors.Add("yaml: unmarshal errors:\n  line " + std::to_string(root.Mark().line + 1) +
               ": cannot unmarshal into rulefmt.RuleGroups: the file must be a map with `groups`");
    return errors.ToStatus();
  }
  CheckKnownFields(root, {"groups"}, "rulefmt.RuleGroups", errors);
  const YAML::Node list = root["groups"];
  if (list && !list.IsNull() && !list.IsSequence()) {
    errors.Add("yaml: unmarshal errors:\n  line " + std::to_string(list.Mark().line + 1) +
               ": cannot unmarshal into []rulefmt.RuleGroup: `groups` is a list");
    return errors.ToStatus();
  }
  std::set<std::string> seen;
  if (list && list.IsSequence()) {
    for (const auto& g : list) {
      RuleGroupSpec group;
      group.file = std::string(file);
      if (!g.IsMap()) {
        errors.Add("yaml: unmarshal errors:\n  line " + std::to_string(g.Mark().line + 1) +
                   ": cannot unmarshal into rulefmt.RuleGroup: a group is a map");
        continue;
      }
      CheckKnownFields(g, {"name", "interval", "query_offset", "limit", "rules", "labels"},
                       "rulefmt.RuleGroup", errors);
      bool ok = ReadString(g["name"], "string", group.name, errors);
      ok = ReadDuration(g["interval"], group.interval, errors) && ok;
      if (g["query_offset"] && !g["query_offset"].IsNull()) {
        std::chrono::milliseconds offset{0};
        if (ReadDuration(g["query_offset"], offset, errors)) {
          group.query_offset = offset;
        } else {
          ok = false;
        }
      }
      std::string limit;
      if (ReadString(g["limit"], "int", limit, errors) && !limit.empty()) {
        int n = 0;
        const auto [end, ec] = std::from_chars(limit.data(), limit.data() + limit.size(), n);
        if (ec != std::errc() || end != limit.data() + limit.size() || n < 0) {
          errors.Add("yaml: unmarshal errors:\n  line " + std::to_string(g["limit"].Mark().line + 1) +
                     ": cannot unmarshal !!str `" + limit + "` into int");
          ok = false;
        } else {
          group.limit = n;
        }
      }
      ok = ReadMap(g["labels"], "map[string]string", group.labels, errors) && ok;
      if (!ok) continue;
      if (group.name.empty()) errors.Add(Position(g) + ": Groupname must not be empty");
      if (!seen.insert(group.name).second) {
        errors.Add(Position(g) + ": groupname: \"" + group.name + "\" is repeated in the same file");
      }
      for (const auto& [name, value] : group.labels) {
        if (!ValidName(name) || name == "__name__") errors.Add("invalid label name: " + name);
        if (!IsValidUtf8(value)) errors.Add("invalid label value: " + value);
      }
      const YAML::Node rules = g["rules"];
      if (rules && !rules.IsNull() && !rules.IsSequence()) {
        errors.Add("yaml: unmarshal errors:\n  line " + std::to_string(rules.Mark().line + 1) +
                   ": cannot unmarshal into []rulefmt.RuleNode: `rules` is a list");
        continue;
      }
      if (rules && rules.IsSequence()) {
        int index = 0;
        for (const auto& r : rules) {
          RuleSpec rule;
          ReadRule(r, group.name, index++, options, rule, errors);
          group.rules.push_back(std::move(rule));
        }
      }
      groups.push_back(std::move(group));
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  return groups;
}

}  // namespace platops::alerting
