#pragma once
// JsonReader: strict decoding of one JSON object into a struct. Every read names its field, so an
// error says exactly where the input was wrong ("depends_on[1].kind: must be hard or soft"), and
// Finish() rejects fields nobody asked for. Thread-safety: not shared; one per decode.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"

namespace platops {

class JsonReader {
 public:
  // `path` prefixes every field name in errors ("services[2]").
  JsonReader(const boost::json::value& v, std::string path = {});

  // False, with the error recorded, when the value is not an object.
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  // Each returns nullopt when absent (or after an error); records an error when present with the
  // wrong type or when `required` and absent. null counts as absent.
  std::optional<std::string> String(const char* name, bool required = false);
  std::optional<int64_t> Int(const char* name, bool required = false);
  std::optional<bool> Bool(const char* name, bool required = false);
  // An integer or a decimal number.
  std::optional<double> Number(const char* name, bool required = false);
  // A Prometheus-style duration string ("30s", "1h30m").
  std::optional<std::chrono::milliseconds> Duration(const char* name, bool required = false);
  std::optional<std::vector<std::string>> StringList(const char* name, bool required = false);
  std::optional<std::map<std::string, std::string>> StringMap(const char* name,
                                                              bool required = false);
  // An array of objects; call `each(reader_for_item, index)` for every item.
  template <typename F>
  void ObjectList(const char* name, F each);
  // A nested object: calls `each(reader_for_it)`. Returns false when absent or on an error.
  template <typename F>
  bool Object(const char* name, F each, bool required = false);
  // The raw value, or nullptr when absent.
  const boost::json::value* Raw(const char* name, bool required = false) {
    return Find(name, required);
  }
  // Marks a field as known without reading it.
  void Ignore(const char* name) { known_.insert(name); }
  bool Has(const char* name) const;

  // Records an error for `name` (keeps the first).
  void Fail(const char* name, std::string message);
  // Checks for unknown fields; returns the first error.
  Status Finish();

 private:
  const boost::json::value* Find(const char* name, bool required);
  std::string FieldPath(const std::string& name) const;

  const boost::json::object* obj_ = nullptr;
  std::string path_;
  std::set<std::string> known_;
  Status status_;
};

template <typename F>
void JsonReader::ObjectList(const char* name, F each) {
  const boost::json::value* v = Find(name, false);
  if (!v) return;
  if (!v->is_array()) {
    Fail(name, "must be a list");
    return;
  }
  const auto& arr = v->get_array();
  for (size_t i = 0; i < arr.size() && status_.ok(); ++i) {
    JsonReader item(arr[i], FieldPath(name) + "[" + std::to_string(i) + "]");
    each(item, i);
    Status st = item.Finish();
    if (!st.ok() && status_.ok()) status_ = st;
  }
}

template <typename F>
bool JsonReader::Object(const char* name, F each, bool required) {
  const boost::json::value* v = Find(name, required);
  if (!v) return false;
  if (!v->is_object()) {
    Fail(name, "must be an object");
    return false;
  }
  JsonReader inner(*v, FieldPath(name));
  each(inner);
  Status st = inner.Finish();
  if (!st.ok() && status_.ok()) status_ = st;
  return status_.ok();
}

// {"field": {"from": x, "to": y}} for every field of `after` that differs from `before` (a field
// missing from `before` reads as null), skipping `version`, `created_at` and `updated_at`. The
// payload of every `*.updated` event.
boost::json::object JsonChanges(const boost::json::object& before,
                                const boost::json::object& after);

// Serialises with keys in insertion order; the event log and the API both use it.
std::string JsonToString(const boost::json::value& v);
// Parses text; a syntax error or invalid UTF-8 gives InvalidArgument naming the position.
Result<boost::json::value> ParseJson(std::string_view text);

}  // namespace platops
