#include "config/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <regex>

#include "base/strings.h"

namespace platops::config {

namespace json = boost::json;

namespace {

json::value ScalarToJson(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  // yaml-cpp tags quoted scalars "!" and plain ones "?"; `!!str 5` is a string too.
  if (n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str") return json::value(s);
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (std::regex_match(s, kInt)) {
    errno = 0;
    long long v = std::strtoll(s.c_str(), nullptr, 10);
    if (errno == 0) return static_cast<int64_t>(v);
  }
  if (std::regex_match(s, kFloat)) {
    double d = std::strtod(s.c_str(), nullptr);
    if (std::isfinite(d)) return d;  // JSON has no infinities: keep "1e999" as text
  }
  return json::value(s);
}

// Aliases expand to copies, so a small document can describe a huge one ("billion laughs"):
// stop at a node budget far above any real configuration.
constexpr int64_t kMaxNodes = 1'000'000;

Result<json::value> NodeToJson(const YAML::Node& n, int depth, int64_t& budget) {
  if (depth > 64) return InvalidArgument("YAML nested deeper than 64 levels");
  if (--budget < 0)
    return InvalidArgument("YAML expands to more than " + std::to_string(kMaxNodes) +
                           " nodes (aliases included)");
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return json::value(nullptr);
    case YAML::NodeType::Scalar:
      return ScalarToJson(n);
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
      for (const auto& kv : n) {
        if (!kv.first.IsScalar())
          return InvalidArgument("line " + std::to_string(kv.first.Mark().line + 1) +
                                 ": mapping keys must be plain strings");
        const std::string& key = kv.first.Scalar();
        if (obj.contains(key))
          return InvalidArgument("line " + std::to_string(kv.first.Mark().line + 1) +
                                 ": duplicate key \"" + Abbreviate(key) + "\"");
        PLATOPS_ASSIGN_OR_RETURN(auto v, NodeToJson(kv.second, depth + 1, budget));
        obj[key] = std::move(v);
      }
      return json::value(std::move(obj));
    }
  }
  return json::value(nullptr);
}

void Emit(YAML::Emitter& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      out << YAML::Null;
      break;
    case json::kind::bool_:
      out << v.get_bool();
      break;
    case json::kind::int64:
      out << v.get_int64();
      break;
    case json::kind::uint64:
      out << v.get_uint64();
      break;
    case json::kind::double_:
      out << v.get_double();
      break;
    case json::kind::string: {
      std::string s(v.get_string());
      // Quote strings that a reader would take for another type.
      json::value reread = ScalarToJson(YAML::Node(s));
      if (!reread.is_string() || s.empty())
        out << YAML::DoubleQuoted << s;
      else
        out << s;
      break;
    }
    case json::kind::array:
      if (v.get_array().empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        break;
      }
      out << YAML::BeginSeq;
      for (const auto& item : v.get_array()) Emit(out, item);
      out << YAML::EndSeq;
      break;
    case json::kind::object:
      if (v.get_object().empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        break;
      }
      out << YAML::BeginMap;
      for (const auto& kv : v.get_object()) {
        out << YAML::Key << std::string(kv.key()) << YAML::Value;
        Emit(out, kv.value());
      }
      out << YAML::EndMap;
      break;
  }
}

}  // namespace

Result<std::vector<json::value>> YamlToJson(std::string_view text) {
  if (!IsValidUtf8(text)) return InvalidArgument("YAML is not valid UTF-8");
  std::vector<json::value> out;
  try {
    int64_t budget = kMaxNodes;
    for (const auto& node : YAML::LoadAll(std::string(text))) {
      if (node.IsNull()) continue;
      PLATOPS_ASSIGN_OR_RETURN(auto v, NodeToJson(node, 0, budget));
      out.push_back(std::move(v));
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument("invalid YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
                           std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  return out;
}

std::string JsonToYaml(const std::vector<json::value>& docs) {
  std::string result;
  for (size_t i = 0; i < docs.size(); ++i) {
    YAML::Emitter out;
    out.SetIndent(2);
    Emit(out, docs[i]);
    if (i) result += "---\n";
    result += out.c_str();
    result += '\n';
  }
  return result;
}

}  // namespace platops::config
