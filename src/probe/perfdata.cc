// Nagios performance data, as the plugin development guidelines define it:
// 'label'=value[UOM];[warn];[crit];[min];[max], items separated by whitespace.

#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "probe/probe.h"

namespace platops::probe {

namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A finite decimal number at the start of `s` ("-1.5e3"); the value and the characters used.
std::optional<std::pair<double, size_t>> ParseLeadingNumber(std::string_view s) {
  size_t skip = 0;
  if (!s.empty() && s[0] == '+') skip = 1;  // from_chars refuses a leading '+'
  std::string_view rest = s.substr(skip);
  size_t digits_at = (!rest.empty() && rest[0] == '-') ? 1 : 0;
  // Only digits or a point may start the number: from_chars would also take "inf" and "nan".
  if (skip == 1 && digits_at == 1) return std::nullopt;
  if (rest.size() <= digits_at || !(IsDigit(rest[digits_at]) || rest[digits_at] == '.')) {
    return std::nullopt;
  }
  double value = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
  if (ec != std::errc() || !std::isfinite(value)) return std::nullopt;
  return std::make_pair(value, skip + static_cast<size_t>(end - rest.data()));
}

// The whole of `s` as a number, or nullopt.
std::optional<double> ParseNumber(std::string_view s) {
  auto n = ParseLeadingNumber(s);
  if (!n || n->second != s.size()) return std::nullopt;
  return n->first;
}

// A Nagios range that is not a plain number: "10:", "~:5", "10:20", "@10:20", "@5".
bool IsRange(std::string_view t) {
  if (!t.empty() && t[0] == '@') t.remove_prefix(1);
  size_t colon = t.find(':');
  if (colon == std::string_view::npos) return ParseNumber(t).has_value();
  std::string_view start = t.substr(0, colon), end = t.substr(colon + 1);
  if (start.empty() && end.empty()) return false;
  bool start_ok = start.empty() || start == "~" || ParseNumber(start).has_value();
  bool end_ok = end.empty() || ParseNumber(end).has_value();
  return start_ok && end_ok;
}

// A unit that could continue the number ("1e1e5", "5..") is garbage: formatting the value back
// would not give the same item.
bool StartsLikeNumber(std::string_view unit) {
  if (unit.empty()) return false;
  if (IsDigit(unit[0]) || unit[0] == '.') return true;
  if (unit[0] != 'e' && unit[0] != 'E') return false;
  size_t i = 1;
  if (i < unit.size() && (unit[i] == '+' || unit[i] == '-')) ++i;
  return i < unit.size() && IsDigit(unit[i]);
}

enum class ItemKind { kValue, kUndetermined, kMalformed };

// Fills `datum` (whose label is set) from the text after '='.
ItemKind ParseFields(std::string_view text, PerfDatum& datum) {
  std::vector<std::string_view> fields;
  for (size_t start = 0;;) {
    size_t semi = text.find(';', start);
    fields.push_back(text.substr(start, semi == std::string_view::npos ? semi : semi - start));
    if (semi == std::string_view::npos) break;
    start = semi + 1;
  }
  // Value, warn, crit, min, max; anything beyond must be empty (trailing semicolons).
  for (size_t i = 5; i < fields.size(); ++i) {
    if (!fields[i].empty()) return ItemKind::kMalformed;
  }
  if (fields[0] == "U") return ItemKind::kUndetermined;
  auto number = ParseLeadingNumber(fields[0]);
  if (!number) return ItemKind::kMalformed;
  datum.value = number->first;
  std::string_view unit = fields[0].substr(number->second);
  if (StartsLikeNumber(unit)) return ItemKind::kMalformed;
  if (unit.find_first_of("='") != std::string_view::npos) return ItemKind::kMalformed;
  datum.unit = std::string(unit);

  std::optional<double>* thresholds[] = {&datum.warn, &datum.crit};
  for (size_t i = 0; i < 2; ++i) {
    if (i + 1 >= fields.size() || fields[i + 1].empty()) continue;
    std::string_view t = fields[i + 1];
    if (auto n = ParseNumber(t)) {
      *thresholds[i] = *n;
    } else if (!IsRange(t)) {
      return ItemKind::kMalformed;
    }
  }
  std::optional<double>* limits[] = {&datum.min, &datum.max};
  for (size_t i = 0; i < 2; ++i) {
    if (i + 3 >= fields.size() || fields[i + 3].empty()) continue;
    auto n = ParseNumber(fields[i + 3]);
    if (!n) return ItemKind::kMalformed;
    *limits[i] = *n;
  }
  return ItemKind::kValue;
}

}  // namespace

std::pair<std::vector<PerfDatum>, int> ParsePerfData(std::string_view text) {
  std::vector<PerfDatum> items;
  int malformed = 0;
  size_t i = 0;
  const size_t n = text.size();
  while (true) {
    while (i < n && IsSpace(text[i])) ++i;
    if (i == n) break;
    PerfDatum datum;
    bool label_ok = true;
    if (text[i] == '\'') {
      // A quoted label may hold spaces; a quote inside is doubled.
      ++i;
      bool closed = false;
      while (i < n) {
        if (text[i] == '\'') {
          if (i + 1 < n && text[i + 1] == '\'') {
            datum.label += '\'';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        datum.label += text[i++];
      }
      if (!closed) {  // the rest of the text is one unterminated item
        ++malformed;
        break;
      }
    } else {
      size_t start = i;
      while (i < n && !IsSpace(text[i]) && text[i] != '=') ++i;
      datum.label = std::string(text.substr(start, i - start));
      if (datum.label.find('\'') != std::string::npos) label_ok = false;
    }
    if (datum.label.empty() || i == n || text[i] != '=') label_ok = false;
    if (i < n && text[i] == '=') ++i;
    size_t start = i;
    while (i < n && !IsSpace(text[i])) ++i;
    if (!label_ok) {
      ++malformed;
      continue;
    }
    switch (ParseFields(text.substr(start, i - start), datum)) {
      case ItemKind::kValue:
        items.push_back(std::move(datum));
        break;
      case ItemKind::kUndetermined:
        break;
      case ItemKind::kMalformed:
        ++malformed;
        break;
    }
  }
  return {std::move(items), malformed};
}

}  // namespace platops::probe
