#include "ingest/file_sd.h"

#include <glob.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "base/json_reader.h"
#include "base/strings.h"
#include "ingest/relabel.h"

namespace platops::ingest {

namespace json = boost::json;

namespace {

// Aliases expand to copies, so a small document can describe a huge one: stop far above any real
// configuration.
constexpr int64_t kMaxYamlNodes = 1'000'000;
constexpr int kMaxYamlDepth = 64;

std::string Quote(std::string_view s) { return QuoteForMessage(s); }

std::string LineOf(const YAML::Mark& mark) { return "line " + std::to_string(mark.line + 1); }

bool IsPlainNull(const YAML::Node& n) {
  if (n.Tag() == "tag:yaml.org,2002:null") return true;
  if (n.Tag() != "?") return false;  // Quoted ("!") or explicitly tagged: a string.
  const std::string& s = n.Scalar();
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

Result<json::value> NodeToJson(const YAML::Node& n, int depth, int64_t& budget) {
  if (depth > kMaxYamlDepth)
    return InvalidArgument("YAML nested deeper than " + std::to_string(kMaxYamlDepth) + " levels");
  if (--budget < 0)
    return InvalidArgument("YAML expands to more than " + std::to_string(kMaxYamlNodes) +
                           " nodes (aliases included)");
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return json::value(nullptr);
    case YAML::NodeType::Scalar:
      if (IsPlainNull(n)) return json::value(nullptr);
      return json::value(n.Scalar());
    case YAML::NodeType::Sequence: {
      json::array arr;
      for (const auto& item : n) {
        PLATOPS_ASSIGN_OR_RETURN(auto v, NodeToJson(item, depth + 1, budget));
        arr.push_back(std::move(v));
      }
      return json::value(std::move(arr));
    }
    case YAML::NodeType::Map: {
      json::object obj;
      std::vector<json::object> merged;  // "<<: *anchor" mappings, earlier ones first.
      for (const auto& kv : n) {
        if (!kv.first.IsScalar() && !kv.first.IsNull())
          return InvalidArgument(LineOf(kv.first.Mark()) + ": mapping keys must be scalars");
        std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
        if (key == "<<" && kv.first.Tag() == "?") {
          PLATOPS_ASSIGN_OR_RETURN(auto v, NodeToJson(kv.second, depth + 1, budget));
          if (v.is_object()) {
            merged.push_back(std::move(v.get_object()));
            continue;
          }
          bool all_maps =
              v.is_array() && std::all_of(v.get_array().begin(), v.get_array().end(),
                                          [](const json::value& m) { return m.is_object(); });
          if (!all_maps)
            return InvalidArgument(LineOf(kv.first.Mark()) +
                                   ": a merge key (<<) needs a mapping or a list of mappings");
          for (auto& m : v.get_array()) merged.push_back(std::move(m.get_object()));
          continue;
        }
        if (obj.contains(key))
          return InvalidArgument(LineOf(kv.first.Mark()) + ": key " + Quote(Abbreviate(key)) +
                                 " already set in this mapping");
        PLATOPS_ASSIGN_OR_RETURN(auto v, NodeToJson(kv.second, depth + 1, budget));
        obj[key] = std::move(v);
      }
      // Keys written in the mapping win over merged ones; earlier merged mappings win over later.
      for (auto& m : merged) {
        for (auto& kv : m) {
          if (!obj.contains(kv.key())) obj[kv.key()] = std::move(kv.value());
        }
      }
      return json::value(std::move(obj));
    }
  }
  return json::value(nullptr);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Extension(std::string_view path) {
  size_t slash = path.find_last_of('/');
  size_t dot = path.find_last_of('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return "";
  return Lower(path.substr(dot));
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unavailable("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Unavailable("cannot read " + path + ": " + std::strerror(errno));
  return ss.str();
}

Result<std::vector<TargetGroup>> ReadFileSd(const std::string& path) {
  PLATOPS_ASSIGN_OR_RETURN(std::string content, ReadWholeFile(path));
  return ParseFileSdContent(content, path);
}

}  // namespace

Result<json::value> PromYamlToJson(std::string_view text) {
  if (!IsValidUtf8(text)) return InvalidArgument("YAML is not valid UTF-8");
  try {
    YAML::Node root = YAML::Load(std::string(text));
    int64_t budget = kMaxYamlNodes;
    return NodeToJson(root, 0, budget);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("invalid YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
                           std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

Result<std::vector<TargetGroup>> ParseTargetGroups(const json::value& list, std::string_view path) {
  std::vector<TargetGroup> out;
  const std::string base(path);
  if (list.is_null()) return out;
  if (!list.is_array()) return InvalidArgument("must be a list of target groups", base);
  const auto& arr = list.get_array();
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string at = base + "[" + std::to_string(i) + "]";
    const json::value& item = arr[i];
    if (item.is_null()) return InvalidArgument("nil target group item found", at);
    if (!item.is_object()) return InvalidArgument("must be a mapping with targets and labels", at);
    TargetGroup group;
    group.source = at;
    for (const auto& kv : item.get_object()) {
      const std::string key(kv.key());
      const std::string field = at + "." + key;
      const json::value& v = kv.value();
      if (key == "targets") {
        if (v.is_null()) continue;
        if (!v.is_array()) return InvalidArgument("must be a list of addresses", field);
        const auto& targets = v.get_array();
        for (size_t t = 0; t < targets.size(); ++t) {
          if (targets[t].is_null()) {
            group.targets.emplace_back();
            continue;
          }
          if (!targets[t].is_string())
            return InvalidArgument("must be a string", field + "[" + std::to_string(t) + "]");
          group.targets.emplace_back(targets[t].get_string());
        }
      } else if (key == "labels") {
        if (v.is_null()) continue;
        if (!v.is_object())
          return InvalidArgument("must be a mapping of label names to values", field);
        for (const auto& label : v.get_object()) {
          const std::string name(label.key());
          if (!IsValidLabelName(name))
            return InvalidArgument(Quote(name) + " is not a valid label name", field);
          if (!label.value().is_string() && !label.value().is_null())
            return InvalidArgument("must be a string", field + "." + name);
          std::string value =
              label.value().is_null() ? std::string() : std::string(label.value().get_string());
          if (!IsValidUtf8(value))
            return InvalidArgument("value is not valid UTF-8", field + "." + name);
          group.labels.push_back({name, std::move(value)});
        }
        group.labels = metrics::Normalize(std::move(group.labels));
      } else {
        return InvalidArgument("unknown field " + Quote(key) + " in target group", field);
      }
    }
    out.push_back(std::move(group));
  }
  return out;
}

Result<std::vector<TargetGroup>> ParseFileSdContent(std::string_view content,
                                                    std::string_view file_path) {
  const std::string file(file_path);
  const std::string ext = Extension(file_path);
  json::value doc;
  if (ext == ".json") {
    auto parsed = ParseJson(content);
    if (!parsed.ok()) return InvalidArgument(parsed.status().message(), file);
    doc = std::move(parsed).value();
    if (!doc.is_array()) return InvalidArgument("must be a JSON array of target groups", file);
  } else if (ext == ".yml" || ext == ".yaml") {
    auto parsed = PromYamlToJson(content);
    if (!parsed.ok()) return InvalidArgument(parsed.status().message(), file);
    doc = std::move(parsed).value();
  } else {
    return InvalidArgument("file_sd files must end in .json, .yml or .yaml", file);
  }
  PLATOPS_ASSIGN_OR_RETURN(auto groups, ParseTargetGroups(doc, file));
  for (size_t i = 0; i < groups.size(); ++i) {
    groups[i].source = file + ":" + std::to_string(i);
    groups[i].labels.push_back({"__meta_filepath", file});
    groups[i].labels = metrics::Normalize(std::move(groups[i].labels));
  }
  return groups;
}

bool IsValidFileSdPattern(std::string_view pattern) {
  // ^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$
  static constexpr std::string_view kExts[] = {".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"};
  bool ext_ok = false;
  for (auto ext : kExts) {
    if (pattern.size() >= ext.size() && pattern.substr(pattern.size() - ext.size()) == ext) {
      ext_ok = true;
      break;
    }
  }
  if (!ext_ok) return false;
  size_t star = pattern.find('*');
  if (star == std::string_view::npos) return true;
  return pattern.find_first_of("*/", star + 1) == std::string_view::npos;
}

std::vector<std::string> ExpandGlobs(const std::vector<std::string>& patterns) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& pattern : patterns) {
    glob_t g{};
    // GLOB_PERIOD: '*' matches a leading '.', as Go's filepath.Match does.
    int rc = glob(pattern.c_str(), GLOB_PERIOD, nullptr, &g);
    if (rc == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        std::string path = g.gl_pathv[i];
        if (seen.insert(path).second) out.push_back(std::move(path));
      }
    }
    globfree(&g);
  }
  return out;
}

FileSd::FileSd(std::vector<std::string> patterns, std::chrono::milliseconds refresh_interval)
    : patterns_(std::move(patterns)), refresh_interval_(refresh_interval) {}

FileSdUpdate FileSd::Poll(Timestamp now) {
  FileSdUpdate update;
  const bool first = !polled_;
  const bool full = first || now >= last_full_ + refresh_interval_;
  if (full) last_full_ = now;
  polled_ = true;

  std::vector<std::string> paths = ExpandGlobs(patterns_);
  std::map<std::string, FileState> next;
  for (const auto& path : paths) {
    std::error_code ec;
    auto mtime = std::filesystem::last_write_time(path, ec);
    uintmax_t size = ec ? 0 : std::filesystem::file_size(path, ec);
    auto old = files_.find(path);
    if (ec) {
      // Vanished between listing and stat, or not a regular file: keep what we had.
      update.errors.push_back(Unavailable("cannot stat " + path + ": " + ec.message()));
      if (old != files_.end()) next.emplace(path, std::move(old->second));
      continue;
    }
    bool changed = old == files_.end() || old->second.mtime != mtime || old->second.size != size;
    if (!full && !changed) {
      next.emplace(path, std::move(old->second));
      continue;
    }
    FileState state;
    state.mtime = mtime;
    state.size = size;
    auto groups = ReadFileSd(path);
    if (groups.ok()) {
      state.groups = std::move(groups).value();
    } else {
      update.errors.push_back(groups.status());
      if (old != files_.end()) state.groups = std::move(old->second.groups);
    }
    next.emplace(path, std::move(state));
  }
  files_ = std::move(next);

  std::vector<TargetGroup> current;
  for (const auto& path : paths) {
    auto it = files_.find(path);
    if (it == files_.end()) continue;
    current.insert(current.end(), it->second.groups.begin(), it->second.groups.end());
  }
  if (first || current != groups_) {
    groups_ = std::move(current);
    update.groups = groups_;
  }
  return update;
}

}  // namespace platops::ingest
