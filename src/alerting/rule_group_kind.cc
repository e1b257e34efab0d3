#include "alerting/rule_group_kind.h"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <charconv>
#include <optional>
#include <utility>

#include "alerting/rule_templates.h"
#include "base/json_reader.h"
#include "base/strings.h"
#include "base/time_util.h"
#include "config/kind_registry.h"
#include "events/event_log.h"

namespace platops::alerting {

namespace json = boost::json;

namespace {

// The name of the one-group rule file a document is checked as; only ever seen in
// ParseRuleFile's messages, which lose it again in Translate.
constexpr std::string_view kSyntheticFile = "RuleGroup";

// Fields platops adds to an object it returns (none today for RuleGroup, but every kind accepts
// them back so a GET answer can be applied).
constexpr const char* kReadOnlyFields[] = {"version", "created_at", "updated_at"};

int64_t Ms(Timestamp t) { return t.time_since_epoch().count(); }

std::string Child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// A document as a one-group rule file: `{"groups": [<doc>]}` in JSON, which is YAML flow
// syntax, written one member per line so that a line number ParseRuleFile reports names the
// field on that line.
class SyntheticFile {
 public:
  explicit SyntheticFile(const json::value& doc) {
    text_ = "{\"groups\": [";
    line_paths_.emplace_back();
    NewLine("");
    Value(doc, "");
    NewLine("");
    text_ += "]}\n";
  }

  const std::string& text() const { return text_; }
  // The field written on 1-based `line`, "" for the document itself or when out of range.
  std::string FieldAt(int line) const {
    if (line < 1 || static_cast<size_t>(line) > line_paths_.size()) return "";
    return line_paths_[line - 1];
  }

 private:
  void NewLine(std::string path) {
    text_ += '\n';
    line_paths_.push_back(std::move(path));
  }

  void Value(const json::value& v, const std::string& path) {
    switch (v.kind()) {
      case json::kind::object: {
        text_ += '{';
        bool first = true;
        for (const auto& kv : v.get_object()) {
          if (!first) text_ += ',';
          first = false;
          const std::string child = Child(path, kv.key());
          NewLine(child);
          text_ += json::serialize(json::string(kv.key()));
          text_ += ": ";
          Value(kv.value(), child);
        }
        NewLine(path);
        text_ += '}';
        return;
      }
      case json::kind::array: {
        text_ += '[';
        const auto& arr = v.get_array();
        for (size_t i = 0; i < arr.size(); ++i) {
          if (i > 0) text_ += ',';
          const std::string child = path + "[" + std::to_string(i) + "]";
          NewLine(child);
          Value(arr[i], child);
        }
        NewLine(path);
        text_ += ']';
        return;
      }
      case json::kind::double_: {
        // Shortest round-trip form ("1.5", not Boost's "1.5e0"): the closest we can get to the
        // text the YAML had before it became a JSON number.
        char buf[64];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.get_double());
        text_.append(buf, ec == std::errc() ? end : buf);
        return;
      }
      default:
        text_ += json::serialize(v);  // strings, integers, booleans, null
        return;
    }
  }

  std::string text_;
  std::vector<std::string> line_paths_;
};

bool ConsumePrefix(std::string_view& s, std::string_view prefix) {
  if (!StartsWith(s, prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

// Reads a leading decimal number; 0 when there is none.
int ConsumeNumber(std::string_view& s) {
  int n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc()) return 0;
  s.remove_prefix(end - s.data());
  return n;
}

// Strips a leading "<line>:<col>: " and returns the line, or 0 when `s` does not start so.
int ConsumePosition(std::string_view& s) {
  std::string_view rest = s;
  const int line = ConsumeNumber(rest);
  if (line == 0 || !ConsumePrefix(rest, ":") || ConsumeNumber(rest) == 0 ||
      !ConsumePrefix(rest, ": ")) {
    return 0;
  }
  s = rest;
  return line;
}

// The field of a message ParseRuleFile gives without a position: the rule it names, and the
// label or annotation within it.
std::string FieldFromMessage(std::string_view message, const std::string& group) {
  std::string field;
  std::string_view rest = message;
  if (ConsumePrefix(rest, "group \"" + group + "\", rule ")) {
    const int rule = ConsumeNumber(rest);
    if (rule > 0) field = "rules[" + std::to_string(rule - 1) + "]";
  }
  for (std::string_view what : {"label", "annotation"}) {
    const std::string marker = "\": " + std::string(what) + " \"";
    if (size_t at = message.find(marker); at != std::string_view::npos) {
      const size_t start = at + marker.size();
      const size_t end = message.find("\": ", start);
      if (end != std::string_view::npos) {
        return Child(Child(field, std::string(what) + "s"), message.substr(start, end - start));
      }
    }
    if (message.find("invalid " + std::string(what)) != std::string_view::npos) {
      return Child(field, std::string(what) + "s");
    }
  }
  return field;
}

// ParseRuleFile's error for a synthetic file as InvalidArgument: each problem in promtool's
// words without the file name and position (both would point into the synthetic file), the
// position turned into the field written there. The Status field is the first problem's; later
// problems follow on their own lines as "<field>: <message>".
Status Translate(const Status& st, const SyntheticFile& file, const std::string& group,
                 const std::string& path) {
  std::string_view all = st.message();
  const std::string head = std::string(kSyntheticFile) + ": ";
  const std::string separator = "\n" + head;
  if (!ConsumePrefix(all, head)) return InvalidArgument(st.message(), path);
  std::string message;
  std::string first_field;
  bool first = true;
  while (true) {
    const size_t next = all.find(separator);
    std::string_view entry = all.substr(0, next);
    int line = 0;
    if (ConsumePrefix(entry, "yaml: unmarshal errors:\n  line ")) {
      line = ConsumeNumber(entry);
      (void)ConsumePrefix(entry, ": ");
    } else if (int at = ConsumePosition(entry); at > 0) {
      line = at;
      // "only one of 'record' and 'alert'" carries both positions.
      (void)ConsumePosition(entry);
    }
    std::string field = file.FieldAt(line);
    if (entry.ends_with("Groupname must not be empty")) {
      field = "name";
    } else if (entry.ends_with("field 'expr' must be set in rule") && !field.ends_with(".expr")) {
      field = Child(field, "expr");  // no `expr` line: the position is the rule's
    } else if (field.empty()) {
      field = FieldFromMessage(entry, group);
    }
    if (!path.empty()) field = field.empty() ? path : Child(path, field);
    if (first) {
      first_field = field;
      message = std::string(entry);
      first = false;
    } else {
      message += "\n" + (field.empty() ? "" : field + ": ") + std::string(entry);
    }
    if (next == std::string_view::npos) break;
    all.remove_prefix(next + separator.size());
  }
  return InvalidArgument(std::move(message), std::move(first_field));
}

// Validates a document (without `kind`) as promtool would the only group of a rule file.
Result<RuleGroupSpec> ParseDoc(const json::value& doc, const std::string& path) {
  json::value group = doc;
  if (group.is_object()) {
    for (const char* field : kReadOnlyFields) group.get_object().erase(field);
  }
  const SyntheticFile file(group);
  RuleFileOptions options;
  options.check_template = CheckRuleTemplate;
  auto parsed = ParseRuleFile(file.text(), kSyntheticFile, options);
  if (!parsed.ok()) {
    // The group name as ParseRuleFile read it (a scalar's text), to find it in the messages.
    std::string name;
    const json::value* n = group.is_object() ? group.get_object().if_contains("name") : nullptr;
    if (n != nullptr && n->is_string()) {
      name = std::string(n->get_string());
    } else if (n != nullptr && (n->is_int64() || n->is_uint64() || n->is_bool())) {
      name = json::serialize(*n);
    }
    return Translate(parsed.status(), file, name, path);
  }
  if (parsed->size() != 1)
    return Internal("a RuleGroup document read as " + std::to_string(parsed->size()) + " groups");
  RuleGroupSpec spec = std::move(parsed->front());
  spec.file = RuleGroupFile(spec.name);
  for (auto& rule : spec.rules) rule.line = 0;
  return spec;
}

json::object PairsJson(const StringPairs& pairs) {
  json::object o;
  for (const auto& [name, value] : pairs) o[name] = value;
  return o;
}

// The normalised document: Prometheus's field order (a group's `labels` before its `rules`, to
// stay beside the other group settings), durations as model.Duration writes them, fields at their
// defaults left out (as Prometheus's `omitempty`; `rules` and `expr` always written).
json::object SpecJson(const RuleGroupSpec& spec) {
  json::object o;
  o["name"] = spec.name;
  if (spec.interval.count() != 0) o["interval"] = FormatDuration(spec.interval);
  if (spec.query_offset) o["query_offset"] = FormatDuration(*spec.query_offset);
  if (spec.limit != 0) o["limit"] = spec.limit;
  if (!spec.labels.empty()) o["labels"] = PairsJson(spec.labels);
  json::array rules;
  for (const auto& r : spec.rules) {
    json::object rule;
    rule[r.alerting ? "alert" : "record"] = r.name;
    rule["expr"] = r.expr;
    if (r.for_duration.count() != 0) rule["for"] = FormatDuration(r.for_duration);
    if (r.keep_firing_for.count() != 0) rule["keep_firing_for"] = FormatDuration(r.keep_firing_for);
    if (!r.labels.empty()) rule["labels"] = PairsJson(r.labels);
    if (!r.annotations.empty()) rule["annotations"] = PairsJson(r.annotations);
    rules.push_back(std::move(rule));
  }
  o["rules"] = std::move(rules);
  return o;
}

json::object DocObject(const std::string& text) {
  auto v = ParseJson(text);
  if (v.ok() && v->is_object()) return std::move(v->get_object());
  return {};
}

}  // namespace

std::string RuleGroupFile(const std::string& name) { return "RuleGroup/" + name; }

std::vector<store::Migration> RuleGroupStore::Migrations() {
  return {{"alerting_rule_groups", 1,
           "CREATE TABLE rule_groups ("
           " name TEXT PRIMARY KEY, doc TEXT NOT NULL, version INTEGER NOT NULL,"
           " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)"}};
}

RuleGroupStore::RuleGroupStore(store::Store& store, const events::EventLog& log, const Clock& clock)
    : store_(store), log_(log), clock_(clock) {}

Status RuleGroupStore::Load() {
  std::map<std::string, std::string> docs;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(docs, Docs(tx));
    return Status::Ok();
  }));
  std::map<std::string, RuleGroupSpec> groups;
  for (const auto& [name, text] : docs) {
    auto doc = ParseJson(text);
    auto spec = doc.ok() ? ParseDoc(*doc, "") : Result<RuleGroupSpec>(doc.status());
    if (!spec.ok()) {
      spdlog::warn("alerting: stored RuleGroup \"{}\" is not loaded: {}", name,
                   spec.status().ToString());
      continue;
    }
    groups.emplace(name, std::move(*spec));
  }
  std::lock_guard lock(mu_);
  groups_ = std::move(groups);
  return Status::Ok();
}

std::vector<RuleGroupSpec> RuleGroupStore::Specs() const {
  std::lock_guard lock(mu_);
  std::vector<RuleGroupSpec> out;
  out.reserve(groups_.size());
  for (const auto& [name, spec] : groups_) out.push_back(spec);
  return out;
}

void RuleGroupStore::OnChange(std::function<void()> f) {
  std::lock_guard lock(change_mu_);
  on_change_ = std::move(f);
}

Result<std::map<std::string, std::string>> RuleGroupStore::Docs(store::Tx& tx) const {
  PLATOPS_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT name, doc FROM rule_groups ORDER BY name"));
  std::map<std::string, std::string> out;
  for (const auto& r : rows) out.emplace(r.Text(0), r.Text(1));
  return out;
}

Status RuleGroupStore::Put(store::Tx& tx, const std::string& actor, const std::string& doc,
                           bool create) {
  PLATOPS_ASSIGN_OR_RETURN(json::value value, ParseJson(doc));
  PLATOPS_ASSIGN_OR_RETURN(RuleGroupSpec spec, ParseDoc(value, ""));
  const json::object after = SpecJson(spec);
  const std::string text = JsonToString(after);
  const std::string& name = spec.name;
  PLATOPS_ASSIGN_OR_RETURN(
      auto existing, tx.QueryOne("SELECT doc, version FROM rule_groups WHERE name = $1", {name}));
  const int64_t now = Ms(clock_.Now());
  json::object payload;
  std::string action;
  if (create) {
    if (existing) return Conflict("rule group \"" + Abbreviate(name) + "\" already exists", "name");
    action = "rule_group.created";
    payload["after"] = after;
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO rule_groups (name, doc, version, created_at, updated_at)"
                " VALUES ($1, $2, $3, $4, $5)",
                {name, text, int64_t{1}, now, now})
            .status());
  } else {
    if (!existing) return NotFound("rule group \"" + Abbreviate(name) + "\" not found");
    if (existing->Text(0) == text) return Status::Ok();
    action = "rule_group.updated";
    const json::object before = DocObject(existing->Text(0));
    json::object changes = JsonChanges(before, after);
    // JsonChanges skips fields `after` lacks; here a field left out is one set back to its
    // default, a change like any other.
    for (const auto& kv : before) {
      if (!after.contains(kv.key())) changes[kv.key()] = {{"from", kv.value()}, {"to", nullptr}};
    }
    payload["changes"] = std::move(changes);
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("UPDATE rule_groups SET doc = $2, version = $3, updated_at = $4 WHERE name = $1",
                {name, text, existing->Int(1) + 1, now})
            .status());
  }
  PLATOPS_RETURN_IF_ERROR(
      log_.Append(tx, {actor, action, "rule_group", name, JsonToString(payload)}).status());
  tx.AfterCommit([this, spec = std::move(spec)]() mutable {
    const std::string key = spec.name;
    Changed(key, std::move(spec));
  });
  return Status::Ok();
}

Status RuleGroupStore::Delete(store::Tx& tx, const std::string& actor, const std::string& name) {
  PLATOPS_ASSIGN_OR_RETURN(auto existing,
                           tx.QueryOne("SELECT doc FROM rule_groups WHERE name = $1", {name}));
  if (!existing) return NotFound("rule group \"" + Abbreviate(name) + "\" not found");
  PLATOPS_RETURN_IF_ERROR(tx.Exec("DELETE FROM rule_groups WHERE name = $1", {name}).status());
  json::object payload;
  payload["before"] = DocObject(existing->Text(0));
  PLATOPS_RETURN_IF_ERROR(
      log_.Append(tx, {actor, "rule_group.deleted", "rule_group", name, JsonToString(payload)})
          .status());
  tx.AfterCommit([this, name] { Changed(name, std::nullopt); });
  return Status::Ok();
}

void RuleGroupStore::Changed(const std::string& name, std::optional<RuleGroupSpec> spec) {
  {
    std::lock_guard lock(mu_);
    if (spec) {
      groups_.insert_or_assign(name, std::move(*spec));
    } else {
      groups_.erase(name);
    }
  }
  std::lock_guard lock(change_mu_);  // Clearing the listener waits for a call in progress.
  if (on_change_) on_change_();
}

void RegisterRuleGroupKind(config::KindRegistry& registry, RuleGroupStore& groups) {
  config::KindHandler h;
  h.kind = "RuleGroup";
  h.order = 80;
  h.write_role = 3;
  h.decode = [](const json::value& doc, const std::string& path) -> Result<json::object> {
    PLATOPS_ASSIGN_OR_RETURN(RuleGroupSpec spec, ParseDoc(doc, path));
    return SpecJson(spec);
  };
  h.key = [](const json::object& spec) { return std::string(spec.at("name").get_string()); };
  h.references = [](const json::object&) { return std::vector<config::Reference>{}; };
  h.list = [&groups](store::Tx& tx) -> Result<std::map<std::string, json::object>> {
    // The stored documents as they are, so one that no longer validates can still be fixed or
    // deleted by an apply.
    PLATOPS_ASSIGN_OR_RETURN(auto docs, groups.Docs(tx));
    std::map<std::string, json::object> out;
    for (const auto& [name, text] : docs) {
      auto v = ParseJson(text);
      if (!v.ok() || !v->is_object()) {
        return Internal("stored rule group \"" + name + "\" is not a JSON object");
      }
      out.emplace(name, std::move(v->get_object()));
    }
    return out;
  };
  h.put = [&groups](store::Tx& tx, const std::string& actor, const json::object& spec,
                    bool create) { return groups.Put(tx, actor, JsonToString(spec), create); };
  h.remove = [&groups](store::Tx& tx, const std::string& actor, const std::string& key) {
    return groups.Delete(tx, actor, key);
  };
  registry.Register(std::move(h));
}

}  // namespace platops::alerting
