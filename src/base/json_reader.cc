#include "base/json_reader.h"

#include <boost/json.hpp>

#include "base/strings.h"
#include "base/time_util.h"

namespace platops {

namespace json = boost::json;

JsonReader::JsonReader(const json::value& v, std::string path) : path_(std::move(path)) {
  if (v.is_object()) {
    obj_ = &v.get_object();
  } else {
    status_ = InvalidArgument("must be a JSON object", path_);
  }
}

std::string JsonReader::FieldPath(const std::string& name) const {
  return path_.empty() ? name : path_ + "." + name;
}

void JsonReader::Fail(const char* name, std::string message) {
  if (status_.ok()) status_ = InvalidArgument(std::move(message), FieldPath(name));
}

bool JsonReader::Has(const char* name) const {
  if (!obj_) return false;
  auto it = obj_->find(name);
  return it != obj_->end() && !it->value().is_null();
}

const json::value* JsonReader::Find(const char* name, bool required) {
  known_.insert(name);
  if (!obj_ || !status_.ok()) return nullptr;
  auto it = obj_->find(name);
  if (it == obj_->end() || it->value().is_null()) {
    if (required) Fail(name, "is required");
    return nullptr;
  }
  return &it->value();
}

std::optional<std::string> JsonReader::String(const char* name, bool required) {
  const json::value* v = Find(name, required);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    Fail(name, "must be a string");
    return std::nullopt;
  }
  return std::string(v->get_string());
}

std::optional<int64_t> JsonReader::Int(const char* name, bool required) {
  const json::value* v = Find(name, required);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX))
    return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) {
    double d = v->get_double();
    if (d == static_cast<double>(static_cast<int64_t>(d)) && d > -9e18 && d < 9e18)
      return static_cast<int64_t>(d);
  }
  Fail(name, "must be an integer");
  return std::nullopt;
}

std::optional<bool> JsonReader::Bool(const char* name, bool required) {
  const json::value* v = Find(name, required);
  if (!v) return std::nullopt;
  if (!v->is_bool()) {
    Fail(name, "must be true or false");
    return std::nullopt;
  }
  return v->get_bool();
}

std::optional<double> JsonReader::Number(const char* name, bool required) {
  const json::value* v = Find(name, required);
  if (!v) return std::nullopt;
  if (v->is_number()) return v->to_number<double>();
  Fail(name, "must be a number");
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> JsonReader::Duration(const char* name, bool required) {
  const json::value* v = Find(name, required);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    Fail(name, "must be a duration such as \"30s\" or \"1h30m\"");
    return std::nullopt;
  }
  auto d = ParseDuration(v->get_string());
  if (!d.ok()) {
    Fail(name, d.status().message());
    return std::nullopt;
  }
  return *d;
}

std::optional<std::vector<std::string>> JsonReader::StringList(const char* name, bool required) {
  const json::value* v = Find(name, required);
  if (!v) return std::nullopt;
  if (!v->is_array()) {
    Fail(name, "must be a list of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < v->get_array().size(); ++i) {
    const auto& item = v->get_array()[i];
    if (!item.is_string()) {
      if (status_.ok())
        status_ =
            InvalidArgument("must be a string", FieldPath(name) + "[" + std::to_string(i) + "]");
      return std::nullopt;
    }
    out.emplace_back(item.get_string());
  }
  return out;
}

std::optional<std::map<std::string, std::string>> JsonReader::StringMap(const char* name,
                                                                        bool required) {
  const json::value* v = Find(name, required);
  if (!v) return std::nullopt;
  if (!v->is_object()) {
    Fail(name, "must be an object of strings");
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  for (const auto& kv : v->get_object()) {
    if (!kv.value().is_string()) {
      if (status_.ok())
        status_ =
            InvalidArgument("must be a string", FieldPath(name) + "." + std::string(kv.key()));
      return std::nullopt;
    }
    out.emplace(std::string(kv.key()), std::string(kv.value().get_string()));
  }
  return out;
}

Status JsonReader::Finish() {
  if (!status_.ok() || !obj_) return status_;
  for (const auto& kv : *obj_) {
    if (!known_.count(std::string(kv.key()))) {
      status_ = InvalidArgument("unknown field", FieldPath(std::string(kv.key())));
      break;
    }
  }
  return status_;
}

json::object JsonChanges(const json::object& before, const json::object& after) {
  json::object out;
  for (const auto& kv : after) {
    if (kv.key() == "version" || kv.key() == "updated_at" || kv.key() == "created_at") continue;
    auto it = before.find(kv.key());
    if (it == before.end() || it->value() != kv.value()) {
      json::object change;
      change["from"] = it == before.end() ? json::value(nullptr) : it->value();
      change["to"] = kv.value();
      out[kv.key()] = std::move(change);
    }
  }
  return out;
}

std::string JsonToString(const json::value& v) { return json::serialize(v); }

Result<json::value> ParseJson(std::string_view text) {
  if (!IsValidUtf8(text)) return InvalidArgument("request body is not valid UTF-8");
  json::parse_options opts;
  opts.max_depth = 64;
  std::error_code ec;
  json::stream_parser p({}, opts);
  size_t n = p.write_some(text.data(), text.size(), ec);
  if (!ec && n < text.size()) {
    return InvalidArgument("malformed JSON: unexpected data after the value at byte " +
                           std::to_string(n));
  }
  if (!ec) p.finish(ec);
  if (ec) {
    return InvalidArgument("malformed JSON at byte " + std::to_string(n) + ": " + ec.message());
  }
  return p.release();
}

}  // namespace platops
