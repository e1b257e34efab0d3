#include "alerting/template.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include "alerting/label_set.h"
#include "base/strings.h"

namespace platops::alerting {
namespace {

// ------------------------------------------------------------------------------------------------
// Go's strconv/fmt number and string formatting.

// The decimal digits of |v| (finite): shortest round-trip when prec < 0, else `prec` significant
// digits; trailing zeros removed. The value is 0.digits * 10^dp; zero has no digits and dp 0.
struct Decimal {
  std::string digits;
  int dp = 0;
};

Decimal ToDecimal(double v, int prec) {
  std::string buf(64 + static_cast<size_t>(std::max(prec, 0)), '\0');
  const double a = std::fabs(v);
  std::to_chars_result r =
      prec < 0
          ? std::to_chars(buf.data(), buf.data() + buf.size(), a, std::chars_format::scientific)
          : std::to_chars(buf.data(), buf.data() + buf.size(), a, std::chars_format::scientific,
                          std::max(prec - 1, 0));
  std::string_view s(buf.data(), static_cast<size_t>(r.ptr - buf.data()));
  const size_t e = s.find('e');
  Decimal d;
  for (char c : s.substr(0, e)) {
    if (c != '.') d.digits.push_back(c);
  }
  while (!d.digits.empty() && d.digits.back() == '0') d.digits.pop_back();
  std::string_view exp_text = s.substr(e + 1);
  const bool neg_exp = exp_text.front() == '-';
  exp_text.remove_prefix(1);
  int exp = 0;
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp);
  d.dp = d.digits.empty() ? 0 : (neg_exp ? -exp : exp) + 1;
  return d;
}

// %e body with `decimals` digits after the point ("1.5e-07").
std::string FormatE(const Decimal& d, int decimals) {
  std::string out(1, d.digits.empty() ? '0' : d.digits[0]);
  if (decimals > 0) {
    out += '.';
    for (int i = 1; i <= decimals; ++i) {
      out += i < static_cast<int>(d.digits.size()) ? d.digits[static_cast<size_t>(i)] : '0';
    }
  }
  const int exp = d.digits.empty() ? 0 : d.dp - 1;
  out += exp < 0 ? "e-" : "e+";
  const int a = std::abs(exp);
  if (a < 10) out += '0';
  out += std::to_string(a);
  return out;
}

// %f body with `decimals` digits after the point.
std::string FormatF(const Decimal& d, int decimals) {
  std::string out;
  const int nd = static_cast<int>(d.digits.size());
  if (d.dp > 0) {
    for (int i = 0; i < d.dp; ++i) out += i < nd ? d.digits[static_cast<size_t>(i)] : '0';
  } else {
    out = "0";
  }
  if (decimals > 0) {
    out += '.';
    for (int i = 1; i <= decimals; ++i) {
      const int idx = d.dp + i - 1;
      out += idx >= 0 && idx < nd ? d.digits[static_cast<size_t>(idx)] : '0';
    }
  }
  return out;
}

// strconv.FormatFloat(v, fmt, prec, 64) for fmt in e, f, g (prec < 0: shortest).
std::string StrconvFloat(double v, char fmt_char, int prec) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::string sign = std::signbit(v) ? "-" : "";
  const bool shortest = prec < 0;
  switch (fmt_char) {
    case 'e': {
      if (shortest) {
        Decimal d = ToDecimal(v, -1);
        return sign + FormatE(d, std::max(static_cast<int>(d.digits.size()) - 1, 0));
      }
      return sign + FormatE(ToDecimal(v, prec + 1), prec);
    }
    case 'f': {
      if (shortest) {
        Decimal d = ToDecimal(v, -1);
        return sign + FormatF(d, std::max(static_cast<int>(d.digits.size()) - d.dp, 0));
      }
      std::string buf(400 + static_cast<size_t>(prec), '\0');
      auto r = std::to_chars(buf.data(), buf.data() + buf.size(), std::fabs(v),
                             std::chars_format::fixed, prec);
      return sign + std::string(buf.data(), r.ptr);
    }
    default: {
      Decimal d;
      int eprec = 0;
      if (shortest) {
        d = ToDecimal(v, -1);
        prec = static_cast<int>(d.digits.size());
        eprec = 6;
      } else {
        if (prec == 0) prec = 1;
        d = ToDecimal(v, prec);
        eprec = prec;
        const int nd = static_cast<int>(d.digits.size());
        if (eprec > nd && nd >= d.dp) eprec = nd;
      }
      const int nd = static_cast<int>(d.digits.size());
      const int exp = d.dp - 1;
      if (exp < -4 || exp >= eprec) {
        if (prec > nd) prec = nd;
        return sign + FormatE(d, std::max(prec - 1, 0));
      }
      if (prec > d.dp) prec = nd;
      return sign + FormatF(d, std::max(prec - d.dp, 0));
    }
  }
}

// The flags and sizes of one printf verb.
struct FmtFlags {
  bool plus = false, minus = false, space = false, zero = false, sharp = false;
  int width = -1;  // -1: none
  int prec = -1;   // -1: none
};

size_t RuneCount(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// Pads to the width in runes: left with spaces (or zeros), or right with spaces for '-'.
std::string Pad(std::string s, const FmtFlags& f) {
  if (f.width < 0) return s;
  const size_t n = RuneCount(s);
  if (static_cast<size_t>(f.width) <= n) return s;
  const size_t fill = static_cast<size_t>(f.width) - n;
  if (f.minus) return s + std::string(fill, ' ');
  return std::string(fill, f.zero ? '0' : ' ') + s;
}

std::string FmtFloatVerb(double v, char verb, const FmtFlags& f) {
  char base = verb;
  int prec = f.prec;
  if (verb == 'v') {
    base = 'g';
  } else if (verb == 'E' || verb == 'G' || verb == 'F') {
    base = static_cast<char>(verb - 'A' + 'a');
  }
  if (prec < 0 && (base == 'e' || base == 'f')) prec = 6;
  std::string num = StrconvFloat(v, base, prec);
  if (verb == 'E' || verb == 'G') {
    for (char& c : num) {
      if (c == 'e') c = 'E';
    }
  }
  if (num[0] != '-' && num[0] != '+') num.insert(num.begin(), '+');
  if (f.space && num[0] == '+' && !f.plus) num[0] = ' ';
  if (num[1] == 'I' || num[1] == 'N') {
    if (num[1] == 'N' && !f.space && !f.plus) num.erase(0, 1);
    FmtFlags nf = f;
    nf.zero = false;
    return Pad(num, nf);
  }
  if (f.plus || num[0] != '+') {
    if (f.zero && f.width > static_cast<int>(num.size())) {
      return num.substr(0, 1) + std::string(static_cast<size_t>(f.width) - num.size(), '0') +
             num.substr(1);
    }
    return Pad(num, f);
  }
  return Pad(num.substr(1), f);
}

// Decodes the UTF-8 sequence at s[i]; returns {rune, length}, rune -1 for an invalid byte.
std::pair<int32_t, size_t> DecodeRune(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {b0, 1};
  size_t len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 0;
  if (len == 0 || b0 > 0xF4 || i + len > s.size()) return {-1, 1};
  int32_t r = b0 & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return {-1, 1};
    r = (r << 6) | (b & 0x3F);
  }
  static constexpr int32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (r < kMin[len] || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return {-1, 1};
  return {r, len};
}

bool IsPrintRune(int32_t r) { return r >= 0 && IsGoPrint(static_cast<char32_t>(r)); }

// strconv.ParseFloat(s, 64) with its error text.
Result<double> GoParseFloat(std::string_view s) {
  auto syntax = [&] {
    return InvalidArgument("strconv.ParseFloat: parsing " + GoQuote(s) + ": invalid syntax");
  };
  std::string_view body = s;
  bool neg = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body.empty() || body[0] == '+' || body[0] == '-') return syntax();
  std::string lower;
  for (char c : body) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "inf" || lower == "infinity") {
    return neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  if (lower == "nan" && body.size() == s.size()) return std::numeric_limits<double>::quiet_NaN();
  for (char c : lower) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.' && c != 'e' && c != '+' &&
        c != '-') {
      return syntax();
    }
  }
  double v = 0;
  auto r = std::from_chars(body.data(), body.data() + body.size(), v, std::chars_format::general);
  if (r.ptr != body.data() + body.size()) return syntax();
  if (r.ec == std::errc::result_out_of_range) {
    if (lower.find("e-") != std::string::npos) return neg ? -0.0 : 0.0;
    return InvalidArgument("strconv.ParseFloat: parsing " + GoQuote(s) + ": value out of range");
  }
  if (r.ec != std::errc()) return syntax();
  return neg ? -v : v;
}

// float64 -> int64 as Go compiles it on amd64: out-of-range values become math.MinInt64.
int64_t GoFloatToInt64(double v) {
  constexpr double kTwo63 = 9223372036854775808.0;
  if (std::isnan(v) || v >= kTwo63 || v < -kTwo63) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

struct CivilTime {
  int64_t year;
  int month, day, hour, minute, second, weekday;  // weekday 0 = Sunday
  int64_t nanos;
};

// A time.Time in UTC (wider than int64 nanoseconds: Go's zero time is year 1).
struct GoTime {
  int64_t sec = 0;
  int32_t nsec = 0;  // 0..999999999
};

GoTime GoTimeFromUnixNanos(int64_t unix_ns) {
  const int64_t sec = FloorDiv(unix_ns, 1000000000);
  return GoTime{sec, static_cast<int32_t>(unix_ns - sec * 1000000000)};
}

CivilTime ToCivil(GoTime time) {
  const int64_t secs = time.sec;
  CivilTime t{};
  t.nanos = time.nsec;
  const int64_t days = FloorDiv(secs, 86400);
  const int64_t sod = secs - days * 86400;
  t.hour = static_cast<int>(sod / 3600);
  t.minute = static_cast<int>(sod % 3600 / 60);
  t.second = static_cast<int>(sod % 60);
  t.weekday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  // Days since 1970-01-01 to proleptic Gregorian year/month/day.
  const int64_t z = days + 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  t.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  t.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  t.year = yoe + era * 400 + (t.month <= 2);
  return t;
}

std::string GoYear(int64_t y) {
  if (y < 0) return "-" + fmt::format("{:04d}", -y);
  return fmt::format("{:04d}", y);
}

// time.Time.String() of a UTC time: "2015-06-23 13:19:44.128 +0000 UTC".
std::string GoTimeString(GoTime time) {
  const CivilTime t = ToCivil(time);
  std::string out = fmt::format("{}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}", GoYear(t.year), t.month,
                                t.day, t.hour, t.minute, t.second);
  if (t.nanos != 0) {
    std::string frac = fmt::format("{:09d}", t.nanos);
    while (frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
  return out + " +0000 UTC";
}

constexpr const char* kMonths[] = {"January",   "February", "March",    "April",
                                   "May",       "June",     "July",     "August",
                                   "September", "October",  "November", "December"};
constexpr const char* kDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                 "Thursday", "Friday", "Saturday"};

// time.Time.Format for a UTC time, with Go's reference-time layout elements.
std::string GoTimeFormat(GoTime time, std::string_view layout) {
  const CivilTime t = ToCivil(time);
  std::string out;
  auto starts = [&](size_t i, std::string_view p) { return layout.substr(i).starts_with(p); };
  const int hour12 = t.hour % 12 == 0 ? 12 : t.hour % 12;
  for (size_t i = 0; i < layout.size();) {
    auto put = [&out, &i](std::string_view s, size_t n) {
      out += s;
      i += n;
    };
    if (starts(i, "January")) {
      put(kMonths[t.month - 1], 7);
    } else if (starts(i, "Jan")) {
      put(std::string_view(kMonths[t.month - 1]).substr(0, 3), 3);
    } else if (starts(i, "Monday")) {
      put(kDays[t.weekday], 6);
    } else if (starts(i, "Mon")) {
      put(std::string_view(kDays[t.weekday]).substr(0, 3), 3);
    } else if (starts(i, "MST")) {
      put("UTC", 3);
    } else if (starts(i, "2006")) {
      put(GoYear(t.year), 4);
    } else if (starts(i, "-07:00") || starts(i, "Z07:00")) {
      put(layout[i] == 'Z' ? "Z" : "+00:00", 6);
    } else if (starts(i, "-0700") || starts(i, "Z0700")) {
      put(layout[i] == 'Z' ? "Z" : "+0000", 5);
    } else if (starts(i, "-07") || starts(i, "Z07")) {
      put(layout[i] == 'Z' ? "Z" : "+00", 3);
    } else if (starts(i, "01")) {
      put(fmt::format("{:02d}", t.month), 2);
    } else if (starts(i, "02")) {
      put(fmt::format("{:02d}", t.day), 2);
    } else if (starts(i, "_2")) {
      put(fmt::format("{:2d}", t.day), 2);
    } else if (starts(i, "06")) {
      put(fmt::format("{:02d}", ((t.year % 100) + 100) % 100), 2);
    } else if (starts(i, "15")) {
      put(fmt::format("{:02d}", t.hour), 2);
    } else if (starts(i, "03")) {
      put(fmt::format("{:02d}", hour12), 2);
    } else if (starts(i, "04")) {
      put(fmt::format("{:02d}", t.minute), 2);
    } else if (starts(i, "05")) {
      put(fmt::format("{:02d}", t.second), 2);
    } else if (starts(i, "PM") || starts(i, "pm")) {
      std::string ampm = t.hour >= 12 ? "PM" : "AM";
      if (layout[i] == 'p') ampm = t.hour >= 12 ? "pm" : "am";
      put(ampm, 2);
    } else if (starts(i, ".0") || starts(i, ".9") || starts(i, ",0") || starts(i, ",9")) {
      const char digit = layout[i + 1];
      size_t j = i + 1;
      while (j < layout.size() && layout[j] == digit) ++j;
      const bool is_frac =
          j >= layout.size() || !std::isdigit(static_cast<unsigned char>(layout[j]));
      if (!is_frac) {
        put(layout.substr(i, 1), 1);
        continue;
      }
      const size_t n = std::min<size_t>(j - i - 1, 9);
      std::string frac = fmt::format("{:09d}", t.nanos).substr(0, n);
      if (digit == '9') {
        while (!frac.empty() && frac.back() == '0') frac.pop_back();
        if (!frac.empty()) out += layout[i] + frac;
      } else {
        out += layout[i] + frac;
      }
      i = j;
    } else if (starts(i, "1")) {
      put(std::to_string(t.month), 1);
    } else if (starts(i, "2")) {
      put(std::to_string(t.day), 1);
    } else if (starts(i, "3")) {
      put(std::to_string(hour12), 1);
    } else if (starts(i, "4")) {
      put(std::to_string(t.minute), 1);
    } else if (starts(i, "5")) {
      put(std::to_string(t.second), 1);
    } else {
      put(layout.substr(i, 1), 1);
    }
  }
  return out;
}

// url.QueryEscape.
std::string QueryEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Values: the Go types a Prometheus template can meet.

struct Value;
using AnyMap = std::map<std::string, Value>;
using StringMap = std::map<std::string, std::string>;
using Samples = std::vector<TemplateSample>;

enum class Kind {
  kMissing,  // no value at all (the absent final argument of a pipeline stage)
  kInvalid,  // Go's invalid reflect.Value / nil interface: prints "<no value>"
  kBool,
  kInt,
  kFloat,
  kString,
  kHtml,       // html/template.HTML from safeHtml
  kStringMap,  // map[string]string
  kAnyMap,     // map[string]interface {} from args
  kSamples,    // template.queryResult
  kSample,     // *template.sample (null pointer possible)
  kTime,       // *time.Time from toTime, or a host's time.Time
  kRoot,       // the alert data struct
  kObject,     // a host's struct, slice or map (TemplateObject)
};

struct Value {
  Kind kind = Kind::kInvalid;
  bool b = false;
  int64_t i = 0;  // kInt
  double f = 0;
  std::string s;
  std::shared_ptr<const StringMap> labels;
  std::shared_ptr<const AnyMap> any_map;
  std::shared_ptr<const Samples> samples;
  std::shared_ptr<const TemplateSample> sample;
  const TemplateData* root = nullptr;
  GoTime time;              // kTime
  bool time_value = false;  // kTime: a host's time.Time, not toTime's *time.Time
  std::shared_ptr<const TemplateObject> object;  // kObject

  static Value Missing() { return Value{.kind = Kind::kMissing}; }
  static Value Bool(bool v) { return Value{.kind = Kind::kBool, .b = v}; }
  static Value Int(int64_t v) { return Value{.kind = Kind::kInt, .i = v}; }
  static Value Float(double v) { return Value{.kind = Kind::kFloat, .f = v}; }
  static Value String(std::string v) { return Value{.kind = Kind::kString, .s = std::move(v)}; }
  static Value Labels(const StringMap& m) {
    // Borrows `m`, which outlives the expansion.
    return Value{.kind = Kind::kStringMap,
                 .labels = std::shared_ptr<const StringMap>(std::shared_ptr<void>(), &m)};
  }
  bool missing() const { return kind == Kind::kMissing; }
};

// A host's value as templates see it.
Value FromHost(const TemplateValue& hv) {
  if (const auto* b = std::get_if<bool>(&hv)) return Value::Bool(*b);
  if (const auto* i = std::get_if<int64_t>(&hv)) return Value::Int(*i);
  if (const auto* s = std::get_if<std::string>(&hv)) return Value::String(*s);
  if (const auto* t = std::get_if<TemplateTime>(&hv)) {
    return Value{
        .kind = Kind::kTime, .time = GoTime{t->unix_seconds, t->nanos}, .time_value = true};
  }
  if (const auto* o = std::get_if<std::shared_ptr<const TemplateObject>>(&hv); o && *o) {
    return Value{.kind = Kind::kObject, .object = *o};
  }
  return Value{};
}

// A template value as a host method's argument (strings and []string objects reach methods).
TemplateValue ToHost(const Value& v) {
  switch (v.kind) {
    case Kind::kBool:
      return v.b;
    case Kind::kInt:
      return v.i;
    case Kind::kString:
    case Kind::kHtml:
      return v.s;
    case Kind::kTime:
      return TemplateTime{v.time.sec, v.time.nsec};
    case Kind::kObject:
      return v.object;
    default:
      return std::monostate{};
  }
}

constexpr std::string_view kRootType =
    "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; "
    "Value float64 }";

std::string TypeName(const Value& v) {
  switch (v.kind) {
    case Kind::kMissing:
    case Kind::kInvalid:
      return "<nil>";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float64";
    case Kind::kString:
      return "string";
    case Kind::kHtml:
      return "template.HTML";
    case Kind::kStringMap:
      return "map[string]string";
    case Kind::kAnyMap:
      return "map[string]interface {}";
    case Kind::kSamples:
      return "template.queryResult";
    case Kind::kSample:
      return "*template.sample";
    case Kind::kTime:
      return v.time_value ? "time.Time" : "*time.Time";
    case Kind::kRoot:
      return std::string(kRootType);
    case Kind::kObject:
      return v.object->TypeName();
  }
  return "?";
}

void FormatArg(std::string& out, const Value& v, char verb, const FmtFlags& f, bool deref);

void BadVerb(std::string& out, const Value& v, char verb) {
  out += "%!";
  out += verb;
  out += '(';
  if (v.kind == Kind::kInvalid || v.kind == Kind::kMissing) {
    out += "<nil>";
  } else {
    out += TypeName(v) + "=";
    FormatArg(out, v, 'v', FmtFlags{}, false);
  }
  out += ')';
}

std::string FmtInteger(int64_t v, char verb, const FmtFlags& f) {
  const bool neg = v < 0;
  const uint64_t u = neg ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  std::string digits;
  switch (verb) {
    case 'b':
      digits = fmt::format("{:b}", u);
      break;
    case 'o':
    case 'O':
      digits = fmt::format("{:o}", u);
      break;
    case 'x':
      digits = fmt::format("{:x}", u);
      break;
    case 'X':
      digits = fmt::format("{:X}", u);
      break;
    default:
      digits = std::to_string(u);
  }
  int prec = -1;
  if (f.prec >= 0) {
    prec = f.prec;
    if (prec == 0 && u == 0) digits.clear();
  } else if (f.zero && f.width >= 0 && !f.minus) {
    prec = f.width;
    if (neg || f.plus || f.space) --prec;
  }
  if (prec > static_cast<int>(digits.size())) {
    digits.insert(0, static_cast<size_t>(prec) - digits.size(), '0');
  }
  if (verb == 'O') digits.insert(0, "0o");
  if (neg) {
    digits.insert(digits.begin(), '-');
  } else if (f.plus) {
    digits.insert(digits.begin(), '+');
  } else if (f.space) {
    digits.insert(digits.begin(), ' ');
  }
  FmtFlags nf = f;
  nf.zero = false;
  return Pad(digits, nf);
}

std::string Truncate(std::string_view s, const FmtFlags& f) {
  if (f.prec < 0) return std::string(s);
  size_t runes = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (runes == static_cast<size_t>(f.prec)) break;
      ++runes;
    }
  }
  return std::string(s.substr(0, i));
}

void FormatString(std::string& out, const Value& v, std::string_view s, char verb,
                  const FmtFlags& f) {
  switch (verb) {
    case 'v':
    case 's':
      out += Pad(Truncate(s, f), f);
      return;
    case 'q':
      out += Pad(GoQuote(Truncate(s, f)), f);
      return;
    case 'x':
    case 'X': {
      std::string hex;
      for (char c : Truncate(s, f)) {
        const auto u = static_cast<unsigned char>(c);
        hex += verb == 'x' ? fmt::format("{:02x}", u) : fmt::format("{:02X}", u);
      }
      out += Pad(hex, f);
      return;
    }
    default:
      BadVerb(out, v, verb);
  }
}

void FormatObject(std::string& out, const Value& v, char verb, bool deref);

// fmt's formatting of one operand. `deref` prints a pointer to a struct as the struct, as
// text/template does for the value of an action.
void FormatArg(std::string& out, const Value& v, char verb, const FmtFlags& f, bool deref) {
  if (verb == 'T') {
    out += Pad(TypeName(v), f);
    return;
  }
  switch (v.kind) {
    case Kind::kMissing:
    case Kind::kInvalid:
      if (verb == 'v') {
        out += Pad("<nil>", f);
      } else {
        BadVerb(out, v, verb);
      }
      return;
    case Kind::kBool:
      if (verb == 'v' || verb == 't') {
        out += Pad(v.b ? "true" : "false", f);
      } else {
        BadVerb(out, v, verb);
      }
      return;
    case Kind::kInt:
      switch (verb) {
        case 'v':
        case 'd':
        case 'b':
        case 'o':
        case 'O':
        case 'x':
        case 'X':
          out += FmtInteger(v.i, verb, f);
          return;
        case 'c':
        case 'q': {
          std::string rune;
          if (v.i >= 0 && v.i <= 0x10FFFF && !(v.i >= 0xD800 && v.i <= 0xDFFF)) {
            AppendUtf8(rune, static_cast<uint32_t>(v.i));
          } else {
            rune = "\xEF\xBF\xBD";
          }
          out += Pad(verb == 'c' ? rune : GoQuote(rune, '\''), f);
          return;
        }
        case 'U':
          out += Pad(fmt::format("U+{:04X}", v.i), f);
          return;
        default:
          BadVerb(out, v, verb);
          return;
      }
    case Kind::kFloat:
      switch (verb) {
        case 'v':
        case 'g':
        case 'G':
        case 'e':
        case 'E':
        case 'f':
        case 'F':
          out += FmtFloatVerb(v.f, verb, f);
          return;
        default:
          BadVerb(out, v, verb);
          return;
      }
    case Kind::kString:
    case Kind::kHtml:
      FormatString(out, v, v.s, verb, f);
      return;
    case Kind::kTime:
      FormatString(out, v, GoTimeString(v.time), verb, f);
      return;
    case Kind::kObject:
      FormatObject(out, v, verb, deref);
      return;
    case Kind::kStringMap: {
      std::string s = "map[";
      bool first = true;
      for (const auto& [k, val] : *v.labels) {
        if (!first) s += ' ';
        first = false;
        FormatString(s, Value::String(k), k, verb, FmtFlags{});
        s += ':';
        FormatString(s, Value::String(val), val, verb, FmtFlags{});
      }
      out += s + "]";
      return;
    }
    case Kind::kAnyMap: {
      std::string s = "map[";
      bool first = true;
      for (const auto& [k, val] : *v.any_map) {
        if (!first) s += ' ';
        first = false;
        FormatString(s, Value::String(k), k, verb, FmtFlags{});
        s += ':';
        FormatArg(s, val, verb, FmtFlags{}, false);
      }
      out += s + "]";
      return;
    }
    case Kind::kSample: {
      if (!v.sample) {
        out += verb == 'v' ? "<nil>" : "%!" + std::string(1, verb) + "(<nil>)";
        return;
      }
      out += deref ? "{" : "&{";
      Value labels;
      labels.kind = Kind::kStringMap;
      labels.labels = std::shared_ptr<const StringMap>(v.sample, &v.sample->labels);
      FormatArg(out, labels, verb, FmtFlags{}, false);
      out += ' ';
      FormatArg(out, Value::Float(v.sample->value), verb, FmtFlags{}, false);
      out += '}';
      return;
    }
    case Kind::kSamples: {
      out += '[';
      for (size_t k = 0; k < v.samples->size(); ++k) {
        if (k > 0) out += ' ';
        Value e{.kind = Kind::kSample,
                .sample = std::shared_ptr<const TemplateSample>(v.samples, &(*v.samples)[k])};
        FormatArg(out, e, verb, FmtFlags{}, false);
      }
      out += ']';
      return;
    }
    case Kind::kRoot: {
      out += '{';
      FormatArg(out, Value::Labels(v.root->labels), verb, FmtFlags{}, false);
      out += ' ';
      FormatArg(out, Value::Labels(v.root->external_labels), verb, FmtFlags{}, false);
      out += ' ';
      FormatString(out, Value::String(v.root->external_url), v.root->external_url, verb,
                   FmtFlags{});
      out += ' ';
      FormatArg(out, Value::Float(v.root->value), verb, FmtFlags{}, false);
      out += '}';
      return;
    }
  }
}

// fmt's %v of a host's struct ("{a b}", "&{a b}" for a pointer operand), slice ("[a b]") or map
// ("map[k:v]", keys in order).
void FormatObject(std::string& out, const Value& v, char verb, bool deref) {
  const TemplateObject& o = *v.object;
  const size_t n = o.size();
  switch (o.shape()) {
    case TemplateObject::Shape::kStruct:
      if (!deref && o.TypeName().starts_with('*')) out += '&';
      out += '{';
      for (size_t k = 0; k < n; ++k) {
        if (k > 0) out += ' ';
        FormatArg(out, FromHost(o.Element(k)), verb, FmtFlags{}, false);
      }
      out += '}';
      return;
    case TemplateObject::Shape::kSlice:
      out += '[';
      for (size_t k = 0; k < n; ++k) {
        if (k > 0) out += ' ';
        FormatArg(out, FromHost(o.Element(k)), verb, FmtFlags{}, false);
      }
      out += ']';
      return;
    case TemplateObject::Shape::kMap:
      out += "map[";
      for (size_t k = 0; k < n; ++k) {
        if (k > 0) out += ' ';
        const Value key = Value::String(std::string(o.Key(k)));
        FormatString(out, key, key.s, verb, FmtFlags{});
        out += ':';
        FormatArg(out, FromHost(o.Element(k)), verb, FmtFlags{}, false);
      }
      out += ']';
      return;
  }
}

bool IsStringKind(const Value& v) { return v.kind == Kind::kString || v.kind == Kind::kHtml; }

// fmt.Sprint / fmt.Sprintln.
std::string GoSprint(const std::vector<Value>& args, bool ln) {
  std::string out;
  for (size_t k = 0; k < args.size(); ++k) {
    if (k > 0 && (ln || (!IsStringKind(args[k]) && !IsStringKind(args[k - 1])))) out += ' ';
    FormatArg(out, args[k], 'v', FmtFlags{}, false);
  }
  if (ln) out += '\n';
  return out;
}

// fmt.Sprintf.
std::string GoSprintf(std::string_view format, const std::vector<Value>& args) {
  std::string out;
  size_t arg = 0;
  for (size_t i = 0; i < format.size();) {
    if (format[i] != '%') {
      out += format[i++];
      continue;
    }
    ++i;
    FmtFlags f;
    for (; i < format.size(); ++i) {
      const char c = format[i];
      if (c == '+') {
        f.plus = true;
      } else if (c == '-') {
        f.minus = true;
        f.zero = false;
      } else if (c == ' ') {
        f.space = true;
      } else if (c == '0') {
        f.zero = !f.minus;
      } else if (c == '#') {
        f.sharp = true;
      } else {
        break;
      }
    }
    auto number = [&](int& target, std::string_view bad) {
      if (i < format.size() && format[i] == '*') {
        ++i;
        if (arg < args.size() && args[arg].kind == Kind::kInt) {
          target = static_cast<int>(args[arg].i);
          if (target < 0 && &target == &f.width) {
            f.minus = true;
            f.zero = false;
            target = -target;
          }
        } else {
          out += bad;
        }
        ++arg;
        return;
      }
      size_t start = i;
      while (i < format.size() && std::isdigit(static_cast<unsigned char>(format[i]))) ++i;
      if (i > start) {
        target = 0;
        std::from_chars(format.data() + start, format.data() + i, target);
      }
    };
    number(f.width, "%!(BADWIDTH)");
    if (i < format.size() && format[i] == '.') {
      ++i;
      f.prec = 0;
      number(f.prec, "%!(BADPREC)");
    }
    if (i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    auto [verb_rune, len] = DecodeRune(format, i);
    const char verb = verb_rune >= 0 && verb_rune < 0x80 ? static_cast<char>(verb_rune) : '?';
    i += len;
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (arg >= args.size()) {
      out += "%!";
      out += verb;
      out += "(MISSING)";
      continue;
    }
    if (verb == 'w') {
      BadVerb(out, args[arg++], verb);
      continue;
    }
    FormatArg(out, args[arg++], verb, f, false);
  }
  if (arg < args.size()) {
    out += "%!(EXTRA ";
    for (size_t k = arg; k < args.size(); ++k) {
      if (k > arg) out += ", ";
      if (args[k].kind == Kind::kInvalid) {
        out += "<nil>";
      } else {
        out += TypeName(args[k]) + "=";
        FormatArg(out, args[k], 'v', FmtFlags{}, false);
      }
    }
    out += ')';
  }
  return out;
}

}  // namespace

std::string FormatGoFloat(double v) { return FmtFloatVerb(v, 'v', FmtFlags{}); }

namespace {

// ------------------------------------------------------------------------------------------------
// Lexer (text/template/parse/lex.go).

enum class ItemType {
  kError,
  kBool,
  kChar,
  kCharConstant,
  kAssign,
  kDeclare,
  kEOF,
  kField,
  kIdentifier,
  kLeftDelim,
  kLeftParen,
  kNumber,
  kPipe,
  kRawString,
  kRightDelim,
  kRightParen,
  kSpace,
  kString,
  kText,
  kVariable,
  kKeyword,  // keywords follow
  kBlock,
  kBreak,
  kContinue,
  kDot,
  kDefine,
  kElse,
  kEnd,
  kIf,
  kNil,
  kRange,
  kTemplate,
  kWith,
};

struct Item {
  ItemType type;
  int pos;
  std::string val;
  int line;
};

std::string ItemString(const Item& it) {
  if (it.type == ItemType::kEOF) return "EOF";
  if (it.type == ItemType::kError) return it.val;
  if (it.type > ItemType::kKeyword) return "<" + it.val + ">";
  if (RuneCount(it.val) > 10) {
    FmtFlags f;
    f.prec = 10;
    return GoQuote(Truncate(it.val, f)) + "...";
  }
  return GoQuote(it.val);
}

bool IsSpace(int32_t r) { return r == ' ' || r == '\t' || r == '\r' || r == '\n'; }
bool IsAlphaNumeric(int32_t r) {
  if (r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')) {
    return true;
  }
  return r >= 0x80 && IsPrintRune(r);
}

constexpr std::string_view kLeftDelim = "{{";
constexpr std::string_view kRightDelim = "}}";

class Lexer {
 public:
  explicit Lexer(std::string_view input) : in_(input) {
    for (size_t k = 0; k < in_.size(); ++k) {
      if (in_[k] == '\n') newlines_.push_back(static_cast<int>(k));
    }
  }

  std::vector<Item> Run() {
    State st = State::kText;
    while (st != State::kDone) {
      switch (st) {
        case State::kText:
          st = LexText();
          break;
        case State::kLeftDelim:
          st = LexLeftDelim();
          break;
        case State::kComment:
          st = LexComment();
          break;
        case State::kInsideAction:
          st = LexInsideAction();
          break;
        case State::kDone:
          break;
      }
    }
    return std::move(items_);
  }

 private:
  enum class State { kText, kLeftDelim, kComment, kInsideAction, kDone };
  static constexpr int32_t kEof = -1;

  int LineAt(size_t pos) const {
    return 1 + static_cast<int>(
                   std::lower_bound(newlines_.begin(), newlines_.end(), static_cast<int>(pos)) -
                   newlines_.begin());
  }
  void Emit(ItemType t) {
    items_.push_back(Item{t, static_cast<int>(start_),
                          std::string(in_.substr(start_, pos_ - start_)), LineAt(start_)});
    start_ = pos_;
  }
  State Error(std::string msg) {
    items_.push_back(
        Item{ItemType::kError, static_cast<int>(start_), std::move(msg), LineAt(start_)});
    return State::kDone;
  }
  int32_t Peek() const {
    if (pos_ >= in_.size()) return kEof;
    return DecodeRune(in_, pos_).first;
  }
  int32_t Next() {
    if (pos_ >= in_.size()) {
      last_width_ = 0;
      return kEof;
    }
    auto [r, len] = DecodeRune(in_, pos_);
    last_width_ = len;
    pos_ += len;
    return r;
  }
  void Backup() { pos_ -= last_width_; }
  bool Accept(std::string_view valid) {
    if (pos_ < in_.size() && valid.find(in_[pos_]) != std::string_view::npos) {
      ++pos_;
      return true;
    }
    return false;
  }
  void AcceptRun(std::string_view valid) {
    while (Accept(valid)) {
    }
  }
  static bool HasLeftTrimMarker(std::string_view s) {
    return s.size() >= 2 && s[0] == '-' && IsSpace(static_cast<unsigned char>(s[1]));
  }
  static bool HasRightTrimMarker(std::string_view s) {
    return s.size() >= 2 && IsSpace(static_cast<unsigned char>(s[0])) && s[1] == '-';
  }
  // {delim, trim}: whether a (trim-marked) right delimiter starts at pos_.
  std::pair<bool, bool> AtRightDelim() const {
    std::string_view rest = in_.substr(pos_);
    if (HasRightTrimMarker(rest) && rest.substr(2).starts_with(kRightDelim)) return {true, true};
    return {rest.starts_with(kRightDelim), false};
  }
  bool AtTerminator() const {
    const int32_t r = Peek();
    if (IsSpace(r)) return true;
    switch (r) {
      case kEof:
      case '.':
      case ',':
      case '|':
      case ':':
      case ')':
      case '(':
        return true;
      default:
        return in_.substr(pos_).starts_with(kRightDelim);
    }
  }
  static std::string BadChar(int32_t r) {
    std::string s = fmt::format("U+{:04X}", r < 0 ? 0xFFFD : r);
    if (r >= 0 && IsPrintRune(r)) {
      std::string rune;
      AppendUtf8(rune, static_cast<uint32_t>(r));
      s += " '" + rune + "'";
    }
    return s;
  }

  State LexText() {
    const size_t x = in_.find(kLeftDelim, pos_);
    if (x != std::string_view::npos) {
      if (x > pos_) {
        size_t trim = 0;
        if (HasLeftTrimMarker(in_.substr(x + kLeftDelim.size()))) {
          std::string_view text = in_.substr(start_, x - start_);
          while (trim < text.size() &&
                 IsSpace(static_cast<unsigned char>(text[text.size() - 1 - trim]))) {
            ++trim;
          }
        }
        pos_ = x - trim;
        if (pos_ > start_) Emit(ItemType::kText);
        pos_ = x;
        start_ = pos_;
      }
      return State::kLeftDelim;
    }
    pos_ = in_.size();
    if (pos_ > start_) {
      Emit(ItemType::kText);
      return State::kText;
    }
    Emit(ItemType::kEOF);
    return State::kDone;
  }

  State LexLeftDelim() {
    pos_ += kLeftDelim.size();
    const bool trim = HasLeftTrimMarker(in_.substr(pos_));
    const size_t after = trim ? 2 : 0;
    if (in_.substr(pos_ + after).starts_with("/*")) {
      pos_ += after;
      start_ = pos_;
      return State::kComment;
    }
    Emit(ItemType::kLeftDelim);
    pos_ += after;
    start_ = pos_;
    paren_depth_ = 0;
    return State::kInsideAction;
  }

  State LexComment() {
    pos_ += 2;
    const size_t x = in_.find("*/", pos_);
    if (x == std::string_view::npos) return Error("unclosed comment");
    pos_ = x + 2;
    auto [delim, trim] = AtRightDelim();
    if (!delim) return Error("comment ends before closing delimiter");
    if (trim) pos_ += 2;
    pos_ += kRightDelim.size();
    if (trim) SkipSpaces();
    start_ = pos_;
    return State::kText;
  }

  void SkipSpaces() {
    while (pos_ < in_.size() && IsSpace(static_cast<unsigned char>(in_[pos_]))) ++pos_;
  }

  State LexRightDelim(bool trim) {
    if (trim) {
      pos_ += 2;
      start_ = pos_;
    }
    pos_ += kRightDelim.size();
    Emit(ItemType::kRightDelim);
    if (trim) {
      SkipSpaces();
      start_ = pos_;
    }
    return State::kText;
  }

  State LexInsideAction() {
    auto [delim, trim] = AtRightDelim();
    if (delim) {
      if (paren_depth_ == 0) return LexRightDelim(trim);
      return Error("unclosed left paren");
    }
    const int32_t r = Next();
    if (r == kEof) return Error("unclosed action");
    if (IsSpace(r)) {
      Backup();
      return LexSpace();
    }
    switch (r) {
      case '=':
        Emit(ItemType::kAssign);
        return State::kInsideAction;
      case ':':
        if (Next() != '=') return Error("expected :=");
        Emit(ItemType::kDeclare);
        return State::kInsideAction;
      case '|':
        Emit(ItemType::kPipe);
        return State::kInsideAction;
      case '"':
        return LexQuote();
      case '`':
        return LexRawQuote();
      case '$':
        return LexFieldOrVariable(ItemType::kVariable);
      case '\'':
        return LexChar();
      case '(':
        Emit(ItemType::kLeftParen);
        ++paren_depth_;
        return State::kInsideAction;
      case ')':
        Emit(ItemType::kRightParen);
        --paren_depth_;
        if (paren_depth_ < 0) return Error("unexpected right paren");
        return State::kInsideAction;
      default:
        break;
    }
    if (r == '.') {
      if (pos_ < in_.size() && (in_[pos_] < '0' || in_[pos_] > '9')) {
        return LexFieldOrVariable(ItemType::kField);
      }
    }
    if (r == '.' || r == '+' || r == '-' || (r >= '0' && r <= '9')) {
      Backup();
      return LexNumber();
    }
    if (IsAlphaNumeric(r)) {
      Backup();
      return LexIdentifier();
    }
    if (r > 0 && r < 0x80 && r >= 0x20 && r < 0x7F) {
      Emit(ItemType::kChar);
      return State::kInsideAction;
    }
    return Error("unrecognized character in action: " + BadChar(r));
  }

  State LexSpace() {
    size_t num_spaces = 0;
    while (IsSpace(Peek())) {
      Next();
      ++num_spaces;
    }
    std::string_view rest = in_.substr(pos_ - 1);
    if (HasRightTrimMarker(rest) && rest.substr(2).starts_with(kRightDelim)) {
      --pos_;
      if (num_spaces == 1) return State::kInsideAction;
    }
    Emit(ItemType::kSpace);
    return State::kInsideAction;
  }

  State LexIdentifier() {
    int32_t r = 0;
    for (;;) {
      r = Next();
      if (!IsAlphaNumeric(r)) break;
    }
    Backup();
    if (!AtTerminator()) return Error("bad character " + BadChar(r));
    const std::string_view word = in_.substr(start_, pos_ - start_);
    static constexpr std::pair<std::string_view, ItemType> kKeywords[] = {
        {"block", ItemType::kBlock},
        {"break", ItemType::kBreak},
        {"continue", ItemType::kContinue},
        {"define", ItemType::kDefine},
        {"else", ItemType::kElse},
        {"end", ItemType::kEnd},
        {"if", ItemType::kIf},
        {"range", ItemType::kRange},
        {"nil", ItemType::kNil},
        {"template", ItemType::kTemplate},
        {"with", ItemType::kWith}};
    for (const auto& [kw, type] : kKeywords) {
      if (word == kw) {
        Emit(type);
        return State::kInsideAction;
      }
    }
    Emit(word == "true" || word == "false" ? ItemType::kBool : ItemType::kIdentifier);
    return State::kInsideAction;
  }

  State LexFieldOrVariable(ItemType type) {
    if (AtTerminator()) {
      Emit(type == ItemType::kVariable ? ItemType::kVariable : ItemType::kDot);
      return State::kInsideAction;
    }
    int32_t r = 0;
    for (;;) {
      r = Next();
      if (!IsAlphaNumeric(r)) break;
    }
    Backup();
    if (!AtTerminator()) return Error("bad character " + BadChar(r));
    Emit(type);
    return State::kInsideAction;
  }

  State LexChar() {
    for (;;) {
      int32_t r = Next();
      if (r == '\\') {
        r = Next();
        if (r != kEof && r != '\n') continue;
      }
      if (r == kEof || r == '\n') return Error("unterminated character constant");
      if (r == '\'') break;
    }
    Emit(ItemType::kCharConstant);
    return State::kInsideAction;
  }

  State LexQuote() {
    for (;;) {
      int32_t r = Next();
      if (r == '\\') {
        r = Next();
        if (r != kEof && r != '\n') continue;
      }
      if (r == kEof || r == '\n') return Error("unterminated quoted string");
      if (r == '"') break;
    }
    Emit(ItemType::kString);
    return State::kInsideAction;
  }

  State LexRawQuote() {
    const size_t x = in_.find('`', pos_);
    if (x == std::string_view::npos) return Error("unterminated raw quoted string");
    pos_ = x + 1;
    Emit(ItemType::kRawString);
    return State::kInsideAction;
  }

  State LexNumber() {
    Accept("+-");
    std::string_view digits = "0123456789_";
    if (Accept("0")) {
      if (Accept("xX")) {
        digits = "0123456789abcdefABCDEF_";
      } else if (Accept("oO")) {
        digits = "01234567_";
      } else if (Accept("bB")) {
        digits = "01_";
      }
    }
    AcceptRun(digits);
    if (Accept(".")) AcceptRun(digits);
    if (digits.size() == 11 && Accept("eE")) {
      Accept("+-");
      AcceptRun("0123456789_");
    }
    if (digits.size() == 23 && Accept("pP")) {
      Accept("+-");
      AcceptRun("0123456789_");
    }
    Accept("i");
    if (IsAlphaNumeric(Peek())) {
      Next();
      return Error("bad number syntax: " + GoQuote(in_.substr(start_, pos_ - start_)));
    }
    Emit(ItemType::kNumber);
    return State::kInsideAction;
  }

  std::string_view in_;
  std::vector<int> newlines_;
  size_t pos_ = 0, start_ = 0, last_width_ = 0;
  int paren_depth_ = 0;
  std::vector<Item> items_;
};

// strconv.Unquote of a Go string, raw string or character literal.
std::optional<std::string> GoUnquote(std::string_view q) {
  if (q.size() < 2) return std::nullopt;
  const char quote = q.front();
  if (q.back() != quote) return std::nullopt;
  std::string_view body = q.substr(1, q.size() - 2);
  std::string out;
  if (quote == '`') {
    for (char c : body) {
      if (c != '\r') out += c;
    }
    return out;
  }
  for (size_t i = 0; i < body.size();) {
    const char c = body[i];
    if (c == quote || (c == '\n')) return std::nullopt;
    if (c != '\\') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 >= body.size()) return std::nullopt;
    const char e = body[i + 1];
    i += 2;
    auto hex = [&](size_t n) -> std::optional<uint32_t> {
      if (i + n > body.size()) return std::nullopt;
      uint32_t v = 0;
      for (size_t k = 0; k < n; ++k) {
        const char h = body[i + k];
        if (!std::isxdigit(static_cast<unsigned char>(h))) return std::nullopt;
        v = v * 16 +
            static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h))
                                      ? h - '0'
                                      : std::tolower(static_cast<unsigned char>(h)) - 'a' + 10);
      }
      i += n;
      return v;
    };
    switch (e) {
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case '"':
      case '\'':
        if (e != quote) return std::nullopt;
        out += e;
        break;
      case 'x': {
        auto v = hex(2);
        if (!v) return std::nullopt;
        out += static_cast<char>(*v);
        break;
      }
      case 'u':
      case 'U': {
        auto v = hex(e == 'u' ? 4 : 8);
        if (!v || *v > 0x10FFFF || (*v >= 0xD800 && *v <= 0xDFFF)) return std::nullopt;
        AppendUtf8(out, *v);
        break;
      }
      default: {
        if (e < '0' || e > '7' || i + 2 > body.size()) return std::nullopt;
        uint32_t v = static_cast<uint32_t>(e - '0');
        for (int k = 0; k < 2; ++k) {
          const char o = body[i++];
          if (o < '0' || o > '7') return std::nullopt;
          v = v * 8 + static_cast<uint32_t>(o - '0');
        }
        if (v > 255) return std::nullopt;
        out += static_cast<char>(v);
      }
    }
  }
  if (quote == '\'') {
    if (out.empty()) return std::nullopt;
    auto [r, len] = DecodeRune(out, 0);
    if (len != out.size() && !(r < 0 && out.size() == 1)) return std::nullopt;
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Parse tree (text/template/parse/node.go).

enum class NodeType {
  kText,
  kAction,
  kIf,
  kRange,
  kWith,
  kList,
  kPipe,
  kCommand,
  kField,
  kVariable,
  kIdentifier,
  kDot,
  kNil,
  kBool,
  kNumber,
  kString,
  kChain,
  kElse,
  kEnd,
  kBreak,
  kContinue,
  kTemplate,
};

struct Number {
  bool is_int = false, is_uint = false, is_float = false;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
};

struct Node {
  NodeType type;
  int pos = 0;
  int line = 0;
  std::string text;                 // kText text, kIdentifier name, kNumber/kString source
  std::string str;                  // kString value, kTemplate name
  std::vector<std::string> idents;  // kField names, kVariable ($x then fields), kChain fields
  bool truth = false;               // kBool
  Number number;                    // kNumber
  bool is_assign = false;           // kPipe
  std::vector<std::unique_ptr<Node>> decls;  // kPipe: variables
  std::vector<std::unique_ptr<Node>> items;  // kList nodes, kPipe commands, kCommand args
  std::unique_ptr<Node> pipe;  // kAction/kIf/kRange/kWith, kTemplate (may be null); kChain operand
  std::unique_ptr<Node> list, else_list;  // kIf/kRange/kWith

  std::string String() const {
    switch (type) {
      case NodeType::kText:
        return text;
      case NodeType::kAction:
        return "{{" + pipe->String() + "}}";
      case NodeType::kIf:
      case NodeType::kRange:
      case NodeType::kWith: {
        const char* name = type == NodeType::kIf      ? "if"
                           : type == NodeType::kRange ? "range"
                                                      : "with";
        std::string s = std::string("{{") + name + " " + pipe->String() + "}}" + list->String();
        if (else_list) s += "{{else}}" + else_list->String();
        return s + "{{end}}";
      }
      case NodeType::kList: {
        std::string s;
        for (const auto& n : items) s += n->String();
        return s;
      }
      case NodeType::kPipe: {
        std::string s;
        for (size_t k = 0; k < decls.size(); ++k) {
          if (k > 0) s += ", ";
          s += decls[k]->String();
        }
        if (!decls.empty()) s += is_assign ? " = " : " := ";
        for (size_t k = 0; k < items.size(); ++k) {
          if (k > 0) s += " | ";
          s += items[k]->String();
        }
        return s;
      }
      case NodeType::kCommand: {
        std::string s;
        for (size_t k = 0; k < items.size(); ++k) {
          if (k > 0) s += ' ';
          if (items[k]->type == NodeType::kPipe) {
            s += "(" + items[k]->String() + ")";
          } else {
            s += items[k]->String();
          }
        }
        return s;
      }
      case NodeType::kField: {
        std::string s;
        for (const auto& id : idents) s += "." + id;
        return s;
      }
      case NodeType::kVariable: {
        std::string s;
        for (size_t k = 0; k < idents.size(); ++k) s += (k > 0 ? "." : "") + idents[k];
        return s;
      }
      case NodeType::kChain: {
        std::string s = pipe->type == NodeType::kPipe ? "(" + pipe->String() + ")" : pipe->String();
        for (const auto& id : idents) s += "." + id;
        return s;
      }
      case NodeType::kIdentifier:
      case NodeType::kNumber:
      case NodeType::kString:
        return text;
      case NodeType::kDot:
        return ".";
      case NodeType::kNil:
        return "nil";
      case NodeType::kBool:
        return truth ? "true" : "false";
      case NodeType::kElse:
        return "{{else}}";
      case NodeType::kEnd:
        return "{{end}}";
      case NodeType::kBreak:
        return "{{break}}";
      case NodeType::kContinue:
        return "{{continue}}";
      case NodeType::kTemplate:
        return "{{template " + GoQuote(str) + (pipe ? " " + pipe->String() : "") + "}}";
    }
    return "";
  }
};

std::unique_ptr<Node> NewNode(NodeType type, int pos, int line = 0) {
  auto n = std::make_unique<Node>();
  n->type = type;
  n->pos = pos;
  n->line = line;
  return n;
}

// ------------------------------------------------------------------------------------------------
// Functions.

enum class Param {
  kAny,    // interface{}
  kValue,  // reflect.Value (builtins): like interface{}, but nil literals are refused
  kNone,   // no type check (the operand of a chain)
  kString,
  kFloat64,
  kSamples,
  kSample,
  kStringSlice,  // []string
};

std::string ParamName(Param p) {
  switch (p) {
    case Param::kAny:
    case Param::kNone:
      return "interface {}";
    case Param::kValue:
      return "reflect.Value";
    case Param::kString:
      return "string";
    case Param::kFloat64:
      return "float64";
    case Param::kSamples:
      return "template.queryResult";
    case Param::kSample:
      return "*template.sample";
    case Param::kStringSlice:
      return "[]string";
  }
  return "?";
}

struct CallContext {
  const TemplateData& data;
};

using FuncImpl = std::function<Result<Value>(const CallContext&, const std::vector<Value>&)>;

struct FuncSpec {
  std::vector<Param> params;  // the fixed parameters
  std::optional<Param> variadic;
  FuncImpl fn;
};

Status Err(std::string msg) { return InvalidArgument(std::move(msg)); }

// Go's isTrue: {truth, ok}; ok is false for values with no truth (invalid).
std::pair<bool, bool> IsTrue(const Value& v) {
  switch (v.kind) {
    case Kind::kMissing:
    case Kind::kInvalid:
      return {false, false};
    case Kind::kBool:
      return {v.b, true};
    case Kind::kInt:
    case Kind::kTime:
      return {v.kind == Kind::kTime || v.i != 0, true};
    case Kind::kFloat:
      return {v.f != 0, true};
    case Kind::kString:
    case Kind::kHtml:
      return {!v.s.empty(), true};
    case Kind::kStringMap:
      return {!v.labels->empty(), true};
    case Kind::kAnyMap:
      return {!v.any_map->empty(), true};
    case Kind::kSamples:
      return {!v.samples->empty(), true};
    case Kind::kSample:
      return {v.sample != nullptr, true};
    case Kind::kRoot:
      return {true, true};
    case Kind::kObject:
      return {v.object->shape() == TemplateObject::Shape::kStruct || v.object->size() > 0, true};
  }
  return {false, false};
}

Result<double> ConvertToFloat(const Value& v) {
  switch (v.kind) {
    case Kind::kFloat:
      return v.f;
    case Kind::kInt:
      return static_cast<double>(v.i);
    case Kind::kString:
      return GoParseFloat(v.s);
    default:
      return Err("can't convert " + TypeName(v) + " to float");
  }
}

std::string Sprintf4g(double v, std::string_view suffix = "") {
  FmtFlags f;
  f.prec = 4;
  return FmtFloatVerb(v, 'g', f) + std::string(suffix);
}

Result<Value> Humanize(double v) {
  if (v == 0 || std::isnan(v) || std::isinf(v)) return Value::String(Sprintf4g(v));
  std::string prefix;
  if (std::fabs(v) >= 1) {
    for (const char* p : {"k", "M", "G", "T", "P", "E", "Z", "Y"}) {
      if (std::fabs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
  } else {
    for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
      if (std::fabs(v) >= 1) break;
      prefix = p;
      v *= 1000;
    }
  }
  return Value::String(Sprintf4g(v, prefix));
}

Result<Value> Humanize1024(double v) {
  if (std::fabs(v) <= 1 || std::isnan(v) || std::isinf(v)) return Value::String(Sprintf4g(v));
  std::string prefix;
  for (const char* p : {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"}) {
    if (std::fabs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return Value::String(Sprintf4g(v, prefix));
}

Result<Value> HumanizeDuration(double v) {
  if (std::isnan(v) || std::isinf(v)) return Value::String(Sprintf4g(v));
  if (v == 0) return Value::String(Sprintf4g(v, "s"));
  if (std::fabs(v) >= 1) {
    std::string sign;
    if (v < 0) {
      sign = "-";
      v = -v;
    }
    const int64_t duration = GoFloatToInt64(v);
    const int64_t seconds = duration % 60;
    const int64_t minutes = (duration / 60) % 60;
    const int64_t hours = (duration / 60 / 60) % 24;
    const int64_t days = duration / 60 / 60 / 24;
    if (days != 0) {
      return Value::String(fmt::format("{}{}d {}h {}m {}s", sign, days, hours, minutes, seconds));
    }
    if (hours != 0)
      return Value::String(fmt::format("{}{}h {}m {}s", sign, hours, minutes, seconds));
    if (minutes != 0) return Value::String(fmt::format("{}{}m {}s", sign, minutes, seconds));
    return Value::String(sign + Sprintf4g(v, "s"));
  }
  std::string prefix;
  for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return Value::String(Sprintf4g(v, prefix + "s"));
}

constexpr std::string_view kNaNOrInf = "value is NaN or Inf";

// Prometheus's floatToTime: seconds to a time truncated to milliseconds.
Result<Value> FloatToTime(double v) {
  if (std::isnan(v) || std::isinf(v)) return Err(std::string(kNaNOrInf));
  const double ts = v * 1e9;
  if (ts > 9223372036854775807.0 || ts < -9223372036854775808.0) {
    return Err(FormatGoFloat(v) +
               " cannot be represented as a nanoseconds timestamp since it overflows int64");
  }
  const int64_t ms = GoFloatToInt64(ts) / 1000000;
  return Value{.kind = Kind::kTime, .time = GoTimeFromUnixNanos(ms * 1000000)};
}

// net.SplitHostPort; nullopt when the value is not host:port.
std::optional<std::pair<std::string, std::string>> SplitHostPort(std::string_view hp) {
  const size_t i = hp.rfind(':');
  if (i == std::string_view::npos) return std::nullopt;
  std::string_view host;
  size_t j = 0, k = 0;
  if (!hp.empty() && hp[0] == '[') {
    const size_t end = hp.find(']');
    if (end == std::string_view::npos) return std::nullopt;
    if (end + 1 == hp.size() || end + 1 != i) return std::nullopt;
    host = hp.substr(1, end - 1);
    j = 1;
    k = end + 1;
  } else {
    host = hp.substr(0, i);
    if (host.find(':') != std::string_view::npos) return std::nullopt;
  }
  if (hp.substr(j).find('[') != std::string_view::npos) return std::nullopt;
  if (hp.substr(k).find(']') != std::string_view::npos) return std::nullopt;
  return std::make_pair(std::string(host), std::string(hp.substr(i + 1)));
}

// net.ParseIP(s) != nil.
bool IsIp(std::string_view s) {
  auto is_v4 = [](std::string_view v) {
    int parts = 0;
    size_t i = 0;
    while (i <= v.size()) {
      size_t j = v.find('.', i);
      if (j == std::string_view::npos) j = v.size();
      std::string_view p = v.substr(i, j - i);
      if (p.empty() || p.size() > 3 || (p.size() > 1 && p[0] == '0')) return false;
      int n = 0;
      for (char c : p) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
        n = n * 10 + (c - '0');
      }
      if (n > 255) return false;
      ++parts;
      i = j + 1;
    }
    return parts == 4;
  };
  if (is_v4(s)) return true;
  if (s.find(':') == std::string_view::npos) return false;
  int groups = 0;
  bool double_colon = s.find("::") != std::string_view::npos;
  if (double_colon && s.find("::", s.find("::") + 1) != std::string_view::npos) return false;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(':', i);
    if (j == std::string_view::npos) j = s.size();
    std::string_view g = s.substr(i, j - i);
    if (!g.empty()) {
      if (j == s.size() && g.find('.') != std::string_view::npos) {
        if (!is_v4(g)) return false;
        groups += 2;
      } else {
        if (g.size() > 4) return false;
        for (char c : g) {
          if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
        }
        ++groups;
      }
    }
    i = j + 1;
  }
  return double_colon ? groups < 8 : groups == 8;
}

std::string JoinHostPort(std::string_view host, std::string_view port) {
  if (host.find(':') != std::string_view::npos) {
    return "[" + std::string(host) + "]:" + std::string(port);
  }
  return std::string(host) + ":" + std::string(port);
}

std::string RegexpErrorText(const RE2& re) {
  std::string what;
  switch (re.error_code()) {
    case RE2::ErrorBadEscape:
      what = "invalid escape sequence";
      break;
    case RE2::ErrorBadCharClass:
      what = "invalid character class";
      break;
    case RE2::ErrorBadCharRange:
      what = "invalid character class range";
      break;
    case RE2::ErrorMissingBracket:
      what = "missing closing ]";
      break;
    case RE2::ErrorMissingParen:
      what = "missing closing )";
      break;
    case RE2::ErrorUnexpectedParen:
      what = "unexpected )";
      break;
    case RE2::ErrorTrailingBackslash:
      what = "trailing backslash at end of expression";
      break;
    case RE2::ErrorRepeatArgument:
      what = "missing argument to repetition operator";
      break;
    case RE2::ErrorRepeatSize:
      what = "invalid repeat count";
      break;
    case RE2::ErrorRepeatOp:
      what = "invalid nested repetition operator";
      break;
    case RE2::ErrorBadPerlOp:
      what = "invalid or unsupported Perl syntax";
      break;
    case RE2::ErrorBadUTF8:
      what = "invalid UTF-8";
      break;
    case RE2::ErrorBadNamedCapture:
      what = "invalid named capture";
      break;
    default:
      what = "invalid regexp";
      break;
  }
  return "error parsing regexp: " + what + ": `" + re.error_arg() + "`";
}

std::unique_ptr<RE2> CompileRegexp(std::string_view pattern) {
  RE2::Options opts;
  opts.set_log_errors(false);
  return std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), opts);
}

// regexp.ReplaceAllString: `$1`, `${1}`, `$name`, `${name}` and `$$` in `repl`.
std::string ReplaceAll(const RE2& re, std::string_view text, std::string_view repl) {
  const int ngroups = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> m(static_cast<size_t>(ngroups));
  const auto& names = re.NamedCapturingGroups();
  re2::StringPiece input(text.data(), text.size());
  std::string out;
  size_t last_end = 0, search = 0;
  auto expand = [&](std::string& dst) {
    for (size_t i = 0; i < repl.size();) {
      if (repl[i] != '$' || i + 1 >= repl.size()) {
        dst += repl[i++];
        continue;
      }
      if (repl[i + 1] == '$') {
        dst += '$';
        i += 2;
        continue;
      }
      std::string_view name;
      size_t next = 0;
      if (repl[i + 1] == '{') {
        const size_t close = repl.find('}', i + 2);
        if (close == std::string_view::npos) {
          dst += repl[i++];
          continue;
        }
        name = repl.substr(i + 2, close - i - 2);
        next = close + 1;
        bool ok = !name.empty();
        for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
        if (!ok) {
          dst += repl[i++];
          continue;
        }
      } else {
        size_t j = i + 1;
        while (j < repl.size() &&
               (std::isalnum(static_cast<unsigned char>(repl[j])) || repl[j] == '_')) {
          ++j;
        }
        if (j == i + 1) {
          dst += repl[i++];
          continue;
        }
        name = repl.substr(i + 1, j - i - 1);
        next = j;
      }
      int group = -1;
      if (std::all_of(name.begin(), name.end(),
                      [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        if (name.size() < 9) {
          std::from_chars(name.data(), name.data() + name.size(), group);
        }
      } else if (auto it = names.find(std::string(name)); it != names.end()) {
        group = it->second;
      }
      if (group >= 0 && group < ngroups && m[static_cast<size_t>(group)].data() != nullptr) {
        dst.append(m[static_cast<size_t>(group)].data(), m[static_cast<size_t>(group)].size());
      }
      i = next;
    }
  };
  while (search <= text.size()) {
    if (!re.Match(input, search, text.size(), RE2::UNANCHORED, m.data(), ngroups)) break;
    const size_t a0 = static_cast<size_t>(m[0].data() - text.data());
    const size_t a1 = a0 + m[0].size();
    out.append(text.substr(last_end, a0 - last_end));
    if (a1 > last_end || a0 == 0) expand(out);
    last_end = a1;
    const size_t width = search < text.size() ? DecodeRune(text, search).second : 1;
    if (search + width > a1) {
      search += width;
    } else if (search + 1 > a1) {
      search += 1;
    } else {
      search = a1;
    }
  }
  if (last_end < text.size()) out.append(text.substr(last_end));
  return out;
}

bool CanBackquote(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '`' || (u < ' ' && c != '\t') || u == 0x7F) return false;
  }
  return IsValidUtf8(s);
}

// prometheus/common model.ParseDuration, in seconds.
Result<double> ParseDuration(std::string_view s) {
  if (s == "0") return 0.0;
  if (s.empty()) return Err("empty duration string");
  const std::string invalid = "not a valid duration string: " + GoQuote(s);
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"y", 365ULL * 24 * 3600 * 1000000000},
      {"w", 7ULL * 24 * 3600 * 1000000000},
      {"d", 24ULL * 3600 * 1000000000},
      {"h", 3600ULL * 1000000000},
      {"m", 60ULL * 1000000000},
      {"s", 1000000000ULL},
      {"ms", 1000000ULL}};
  const std::string_view orig = s;
  uint64_t total = 0;
  int last_unit = -1;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == 0) return Err(invalid);
    uint64_t v = 0;
    auto r = std::from_chars(s.data(), s.data() + i, v);
    if (r.ec != std::errc()) return Err(invalid);
    s.remove_prefix(i);
    i = 0;
    while (i < s.size() && !std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == 0) return Err(invalid);
    const std::string_view unit = s.substr(0, i);
    s.remove_prefix(i);
    int idx = -1;
    for (int k = 0; k < 7; ++k) {
      if (kUnits[k].first == unit) idx = k;
    }
    if (idx < 0) return Err("unknown unit " + GoQuote(unit) + " in duration " + GoQuote(orig));
    if (idx <= last_unit) return Err(invalid);
    last_unit = idx;
    const uint64_t mult = kUnits[idx].second;
    if (v > (1ULL << 63) / mult) return Err("duration out of range");
    total += v * mult;
    if (total > (1ULL << 63) - 1) return Err("duration out of range");
  }
  return static_cast<double>(total) / 1e9;
}

std::string TitleCase(std::string_view s) {
  std::string out(s);
  bool prev_sep = true;
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (prev_sep && u < 0x80) c = static_cast<char>(std::toupper(u));
    prev_sep = u < 0x80 && !std::isalnum(u) && c != '_';
  }
  return out;
}

std::string HtmlEscape(std::string_view s) { return EscapeMarkup(s, true); }

// Go's basicKind for comparisons: 0 invalid, 1 bool, 2 int, 3 float, 4 string.
int BasicKind(const Value& v) {
  switch (v.kind) {
    case Kind::kBool:
      return 1;
    case Kind::kInt:
      return 2;
    case Kind::kFloat:
      return 3;
    case Kind::kString:
    case Kind::kHtml:
      return 4;
    default:
      return 0;
  }
}

constexpr std::string_view kBadComparisonType = "invalid type for comparison";
constexpr std::string_view kBadComparison = "incompatible types for comparison";

Result<Value> Eq(const std::vector<Value>& args) {
  if (args.size() < 2) return Err("missing argument for comparison");
  const Value& a = args[0];
  for (size_t k = 1; k < args.size(); ++k) {
    const Value& b = args[k];
    const int ka = BasicKind(a), kb = BasicKind(b);
    bool truth = false;
    if (ka != kb) {
      if (a.kind != Kind::kInvalid && b.kind != Kind::kInvalid) {
        return Err(std::string(kBadComparison));
      }
    } else {
      switch (ka) {
        case 1:
          truth = a.b == b.b;
          break;
        case 2:
          truth = a.i == b.i;
          break;
        case 3:
          truth = a.f == b.f;
          break;
        case 4:
          truth = a.s == b.s;
          break;
        default:
          if (a.kind == Kind::kInvalid || b.kind == Kind::kInvalid) {
            truth = a.kind == b.kind;
          } else if (a.kind == Kind::kSample && b.kind == Kind::kSample) {
            truth = a.sample == b.sample;
          } else if (a.kind == Kind::kTime && b.kind == Kind::kTime) {
            truth = false;
          } else {
            return Err("non-comparable types " + GoSprint({a}, false) + ": " + TypeName(a) + ", " +
                       TypeName(b) + ": " + GoSprint({b}, false));
          }
      }
    }
    if (truth) return Value::Bool(true);
  }
  return Value::Bool(false);
}

Result<Value> Lt(const Value& a, const Value& b) {
  const int ka = BasicKind(a), kb = BasicKind(b);
  if (ka == 0 || kb == 0) return Err(std::string(kBadComparisonType));
  if (ka != kb) return Err(std::string(kBadComparison));
  switch (ka) {
    case 2:
      return Value::Bool(a.i < b.i);
    case 3:
      return Value::Bool(a.f < b.f);
    case 4:
      return Value::Bool(a.s < b.s);
    default:
      return Err(std::string(kBadComparisonType));
  }
}

Result<Value> Le(const Value& a, const Value& b) {
  PLATOPS_ASSIGN_OR_RETURN(Value lt, Lt(a, b));
  if (lt.b) return lt;
  return Eq({a, b});
}

using FuncTable = std::map<std::string, FuncSpec, std::less<>>;

FuncSpec Fixed(std::vector<Param> params, FuncImpl fn) {
  return FuncSpec{std::move(params), std::nullopt, std::move(fn)};
}

// A function of one value converted with Prometheus's convertToFloat.
FuncSpec FloatFunc(Result<Value> (*f)(double)) {
  return Fixed({Param::kAny},
               [f](const CallContext&, const std::vector<Value>& a) -> Result<Value> {
                 PLATOPS_ASSIGN_OR_RETURN(double v, ConvertToFloat(a[0]));
                 return f(v);
               });
}

Status NilSample() {
  return Err("runtime error: invalid memory address or nil pointer dereference");
}

std::string UrlPath(std::string_view url) {
  const size_t scheme = url.find("://");
  std::string_view rest = url;
  if (scheme != std::string_view::npos) {
    rest = url.substr(scheme + 3);
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return "";
    rest = rest.substr(slash);
  }
  return std::string(rest.substr(0, rest.find_first_of("?#")));
}

// The element of a map (keys in order) or struct with key or field name `key`.
std::optional<size_t> FindKey(const TemplateObject& o, std::string_view key) {
  const size_t n = o.size();
  if (o.shape() == TemplateObject::Shape::kMap) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (o.Key(mid) < key) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    if (lo < n && o.Key(lo) == key) return lo;
    return std::nullopt;
  }
  for (size_t k = 0; k < n; ++k) {
    if (o.Key(k) == key) return k;
  }
  return std::nullopt;
}

// Go's builtin functions (text/template/funcs.go) but js, slice and call.
void AddBuiltins(FuncTable& t) {
  using A = std::vector<Value>;
  using C = CallContext;
  // and/or are evaluated lazily by the executor; these bodies are not used.
  t["and"] = FuncSpec{{Param::kValue}, Param::kValue, nullptr};
  t["or"] = FuncSpec{{Param::kValue}, Param::kValue, nullptr};
  t["not"] = Fixed({Param::kValue}, [](const C&, const A& a) -> Result<Value> {
    return Value::Bool(!IsTrue(a[0]).first);
  });
  t["len"] = Fixed({Param::kValue}, [](const C&, const A& a) -> Result<Value> {
    const Value& v = a[0];
    switch (v.kind) {
      case Kind::kString:
      case Kind::kHtml:
        return Value::Int(static_cast<int64_t>(v.s.size()));
      case Kind::kStringMap:
        return Value::Int(static_cast<int64_t>(v.labels->size()));
      case Kind::kAnyMap:
        return Value::Int(static_cast<int64_t>(v.any_map->size()));
      case Kind::kSamples:
        return Value::Int(static_cast<int64_t>(v.samples->size()));
      case Kind::kSample:
        if (!v.sample) return Err("len of nil pointer");
        return Err("len of type template.sample");
      case Kind::kObject:
        if (v.object->shape() == TemplateObject::Shape::kStruct) {
          std::string type = v.object->TypeName();
          if (type.starts_with('*')) type.erase(0, 1);
          return Err("len of type " + type);
        }
        return Value::Int(static_cast<int64_t>(v.object->size()));
      case Kind::kInvalid:
        return Err("len of untyped nil");
      default:
        return Err("len of type " + TypeName(v));
    }
  });
  t["index"] = FuncSpec{
      {Param::kValue}, Param::kValue, [](const C&, const A& a) -> Result<Value> {
        Value item = a[0];
        if (item.kind == Kind::kInvalid) return Err("index of untyped nil");
        for (size_t k = 1; k < a.size(); ++k) {
          const Value& idx = a[k];
          switch (item.kind) {
            case Kind::kStringMap:
            case Kind::kAnyMap: {
              if (idx.kind == Kind::kInvalid) {
                item = item.kind == Kind::kStringMap ? Value::String("") : Value{};
                continue;
              }
              if (idx.kind != Kind::kString) {
                return Err("value has type " + TypeName(idx) + "; should be string");
              }
              if (item.kind == Kind::kStringMap) {
                auto it = item.labels->find(idx.s);
                item = Value::String(it == item.labels->end() ? "" : it->second);
              } else {
                auto it = item.any_map->find(idx.s);
                item = it == item.any_map->end() ? Value{} : it->second;
              }
              continue;
            }
            case Kind::kSamples:
            case Kind::kString:
            case Kind::kHtml: {
              if (idx.kind != Kind::kInt) {
                if (idx.kind == Kind::kInvalid) return Err("cannot index slice/array with nil");
                return Err("cannot index slice/array with type " + TypeName(idx));
              }
              const int64_t len = static_cast<int64_t>(
                  item.kind == Kind::kSamples ? item.samples->size() : item.s.size());
              if (idx.i < 0 || idx.i >= len)
                return Err(fmt::format("index out of range: {}", idx.i));
              if (item.kind == Kind::kSamples) {
                item = Value{.kind = Kind::kSample,
                             .sample = std::shared_ptr<const TemplateSample>(
                                 item.samples, &(*item.samples)[static_cast<size_t>(idx.i)])};
              } else {
                item = Value::Int(static_cast<unsigned char>(item.s[static_cast<size_t>(idx.i)]));
              }
              continue;
            }
            case Kind::kObject: {
              const TemplateObject& o = *item.object;
              if (o.shape() == TemplateObject::Shape::kMap) {
                if (idx.kind == Kind::kInvalid)
                  return Err("value is nil; should be of type string");
                if (idx.kind != Kind::kString) {
                  return Err("value has type " + TypeName(idx) + "; should be string");
                }
                const std::optional<size_t> at = FindKey(o, idx.s);
                item = FromHost(at ? o.Element(*at) : o.Zero());
                continue;
              }
              if (o.shape() == TemplateObject::Shape::kSlice) {
                if (idx.kind != Kind::kInt) {
                  if (idx.kind == Kind::kInvalid) return Err("cannot index slice/array with nil");
                  return Err("cannot index slice/array with type " + TypeName(idx));
                }
                if (idx.i < 0 || idx.i >= static_cast<int64_t>(o.size())) {
                  return Err(fmt::format("index out of range: {}", idx.i));
                }
                item = FromHost(o.Element(static_cast<size_t>(idx.i)));
                continue;
              }
              std::string type = o.TypeName();
              if (type.starts_with('*')) type.erase(0, 1);
              return Err("can't index item of type " + type);
            }
            case Kind::kInvalid:
              return Err("index of untyped nil");
            default:
              return Err("can't index item of type " + TypeName(item));
          }
        }
        return item;
      }};
  t["eq"] = FuncSpec{
      {Param::kValue}, Param::kValue, [](const C&, const A& a) -> Result<Value> { return Eq(a); }};
  t["ne"] = Fixed({Param::kValue, Param::kValue}, [](const C&, const A& a) -> Result<Value> {
    PLATOPS_ASSIGN_OR_RETURN(Value eq, Eq(a));
    return Value::Bool(!eq.b);
  });
  t["lt"] = Fixed({Param::kValue, Param::kValue},
                  [](const C&, const A& a) -> Result<Value> { return Lt(a[0], a[1]); });
  t["le"] = Fixed({Param::kValue, Param::kValue},
                  [](const C&, const A& a) -> Result<Value> { return Le(a[0], a[1]); });
  t["gt"] = Fixed({Param::kValue, Param::kValue}, [](const C&, const A& a) -> Result<Value> {
    PLATOPS_ASSIGN_OR_RETURN(Value le, Le(a[0], a[1]));
    return Value::Bool(!le.b);
  });
  t["ge"] = Fixed({Param::kValue, Param::kValue}, [](const C&, const A& a) -> Result<Value> {
    PLATOPS_ASSIGN_OR_RETURN(Value lt, Lt(a[0], a[1]));
    return Value::Bool(!lt.b);
  });
  t["print"] = FuncSpec{{}, Param::kAny, [](const C&, const A& a) -> Result<Value> {
                          return Value::String(GoSprint(a, false));
                        }};
  t["println"] = FuncSpec{{}, Param::kAny, [](const C&, const A& a) -> Result<Value> {
                            return Value::String(GoSprint(a, true));
                          }};
  t["printf"] = FuncSpec{{Param::kString}, Param::kAny, [](const C&, const A& a) -> Result<Value> {
                           return Value::String(GoSprintf(a[0].s, A(a.begin() + 1, a.end())));
                         }};
  t["html"] = FuncSpec{
      {}, Param::kAny, [](const C&, const A& a) -> Result<Value> {
        return Value::String(
            HtmlEscape(a.size() == 1 && a[0].kind == Kind::kString ? a[0].s : GoSprint(a, false)));
      }};
  t["urlquery"] = FuncSpec{
      {}, Param::kAny, [](const C&, const A& a) -> Result<Value> {
        return Value::String(
            QueryEscape(a.size() == 1 && a[0].kind == Kind::kString ? a[0].s : GoSprint(a, false)));
      }};
}

// Prometheus's template functions (prometheus/template/template.go) and Go's builtins.
FuncTable BuildFunctions() {
  FuncTable t;
  AddBuiltins(t);
  using A = std::vector<Value>;
  using C = CallContext;
  t["query"] = Fixed({Param::kString}, [](const C& c, const A& a) -> Result<Value> {
    if (!c.data.query) return Err("no PromQL engine is available to this template");
    PLATOPS_ASSIGN_OR_RETURN(Samples s, c.data.query(a[0].s));
    return Value{.kind = Kind::kSamples, .samples = std::make_shared<const Samples>(std::move(s))};
  });
  t["first"] = Fixed({Param::kSamples}, [](const C&, const A& a) -> Result<Value> {
    if (a[0].samples->empty()) return Err("first() called on vector with no elements");
    return Value{
        .kind = Kind::kSample,
        .sample = std::shared_ptr<const TemplateSample>(a[0].samples, &a[0].samples->front())};
  });
  t["label"] = Fixed({Param::kString, Param::kSample}, [](const C&, const A& a) -> Result<Value> {
    if (!a[1].sample) return NilSample();
    auto it = a[1].sample->labels.find(a[0].s);
    return Value::String(it == a[1].sample->labels.end() ? "" : it->second);
  });
  t["value"] = Fixed({Param::kSample}, [](const C&, const A& a) -> Result<Value> {
    if (!a[0].sample) return NilSample();
    return Value::Float(a[0].sample->value);
  });
  t["strvalue"] = Fixed({Param::kSample}, [](const C&, const A& a) -> Result<Value> {
    if (!a[0].sample) return NilSample();
    auto it = a[0].sample->labels.find("__value__");
    return Value::String(it == a[0].sample->labels.end() ? "" : it->second);
  });
  t["sortByLabel"] =
      Fixed({Param::kString, Param::kSamples}, [](const C&, const A& a) -> Result<Value> {
        Samples sorted = *a[1].samples;
        const std::string& by = a[0].s;
        auto label = [&by](const TemplateSample& s) {
          auto it = s.labels.find(by);
          return it == s.labels.end() ? std::string_view() : std::string_view(it->second);
        };
        std::stable_sort(sorted.begin(), sorted.end(),
                         [&](const auto& x, const auto& y) { return label(x) < label(y); });
        return Value{.kind = Kind::kSamples,
                     .samples = std::make_shared<const Samples>(std::move(sorted))};
      });
  t["args"] = FuncSpec{{}, Param::kAny, [](const C&, const A& a) -> Result<Value> {
                         AnyMap m;
                         for (size_t k = 0; k < a.size(); ++k) m[fmt::format("arg{}", k)] = a[k];
                         return Value{.kind = Kind::kAnyMap,
                                      .any_map = std::make_shared<const AnyMap>(std::move(m))};
                       }};
  t["reReplaceAll"] = Fixed(
      {Param::kString, Param::kString, Param::kString}, [](const C&, const A& a) -> Result<Value> {
        auto re = CompileRegexp(a[0].s);
        if (!re->ok()) {
          return Err("regexp: Compile(" +
                     (CanBackquote(a[0].s) ? "`" + a[0].s + "`" : GoQuote(a[0].s)) +
                     "): " + RegexpErrorText(*re));
        }
        return Value::String(ReplaceAll(*re, a[2].s, a[1].s));
      });
  t["safeHtml"] = Fixed({Param::kString}, [](const C&, const A& a) -> Result<Value> {
    return Value{.kind = Kind::kHtml, .s = a[0].s};
  });
  t["match"] = Fixed({Param::kString, Param::kString}, [](const C&, const A& a) -> Result<Value> {
    auto re = CompileRegexp(a[0].s);
    if (!re->ok()) return Err(RegexpErrorText(*re));
    return Value::Bool(RE2::PartialMatch(a[1].s, *re));
  });
  t["title"] = Fixed({Param::kString}, [](const C&, const A& a) -> Result<Value> {
    return Value::String(TitleCase(a[0].s));
  });
  t["toUpper"] = Fixed({Param::kString}, [](const C&, const A& a) -> Result<Value> {
    std::string s = a[0].s;
    for (char& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return Value::String(std::move(s));
  });
  t["toLower"] = Fixed({Param::kString}, [](const C&, const A& a) -> Result<Value> {
    std::string s = a[0].s;
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return Value::String(std::move(s));
  });
  t["graphLink"] = Fixed({Param::kString}, [](const C&, const A& a) -> Result<Value> {
    return Value::String("/graph?g0.expr=" + QueryEscape(a[0].s) + "&g0.tab=0");
  });
  t["tableLink"] = Fixed({Param::kString}, [](const C&, const A& a) -> Result<Value> {
    return Value::String("/graph?g0.expr=" + QueryEscape(a[0].s) + "&g0.tab=1");
  });
  t["urlQueryEscape"] = Fixed({Param::kString}, [](const C&, const A& a) -> Result<Value> {
    return Value::String(QueryEscape(a[0].s));
  });
  t["stripPort"] = Fixed({Param::kString}, [](const C&, const A& a) -> Result<Value> {
    auto hp = SplitHostPort(a[0].s);
    return Value::String(hp ? hp->first : a[0].s);
  });
  t["stripDomain"] = Fixed({Param::kString}, [](const C&, const A& a) -> Result<Value> {
    auto hp = SplitHostPort(a[0].s);
    std::string host = hp ? hp->first : a[0].s;
    if (IsIp(host)) return Value::String(a[0].s);
    host = host.substr(0, host.find('.'));
    if (hp && !hp->second.empty()) return Value::String(JoinHostPort(host, hp->second));
    return Value::String(host);
  });
  t["humanize"] = FloatFunc(Humanize);
  t["humanize1024"] = FloatFunc(Humanize1024);
  t["humanizeDuration"] = FloatFunc(HumanizeDuration);
  t["humanizePercentage"] =
      FloatFunc([](double v) -> Result<Value> { return Value::String(Sprintf4g(v * 100, "%")); });
  t["humanizeTimestamp"] = FloatFunc([](double v) -> Result<Value> {
    if (std::isnan(v) || std::isinf(v)) return Value::String(Sprintf4g(v));
    PLATOPS_ASSIGN_OR_RETURN(Value tm, FloatToTime(v));
    return Value::String(GoTimeString(tm.time));
  });
  t["toTime"] = FloatFunc(FloatToTime);
  t["parseDuration"] = Fixed({Param::kString}, [](const C&, const A& a) -> Result<Value> {
    PLATOPS_ASSIGN_OR_RETURN(double secs, ParseDuration(a[0].s));
    return Value::Float(secs);
  });
  t["externalURL"] = Fixed(
      {}, [](const C& c, const A&) -> Result<Value> { return Value::String(c.data.external_url); });
  t["pathPrefix"] = Fixed({}, [](const C& c, const A&) -> Result<Value> {
    return Value::String(UrlPath(c.data.external_url));
  });
  return t;
}

const FuncTable& Functions() {
  static const FuncTable kTable = BuildFunctions();
  return kTable;
}

// A []string.
class StringSlice final : public TemplateObject {
 public:
  explicit StringSlice(std::vector<std::string> values) : values_(std::move(values)) {}
  Shape shape() const override { return Shape::kSlice; }
  std::string TypeName() const override { return "[]string"; }
  size_t size() const override { return values_.size(); }
  TemplateValue Element(size_t i) const override { return values_[i]; }
  const std::vector<std::string>& values() const { return values_; }

 private:
  std::vector<std::string> values_;
};

// The strings of a value that passed as a []string parameter.
std::vector<std::string> StringsOf(const Value& v) {
  std::vector<std::string> out;
  if (v.kind != Kind::kObject) return out;
  if (const auto* slice = dynamic_cast<const StringSlice*>(v.object.get())) return slice->values();
  for (size_t k = 0; k < v.object->size(); ++k) {
    const TemplateValue e = v.object->Element(k);
    if (const auto* str = std::get_if<std::string>(&e)) out.push_back(*str);
  }
  return out;
}

// strings.TrimSpace: leading and trailing Unicode white space.
std::string TrimSpace(std::string_view s) {
  auto is_space = [](int32_t r) {
    return (r >= '\t' && r <= '\r') || r == ' ' || r == 0x85 || r == 0xA0 || r == 0x1680 ||
           (r >= 0x2000 && r <= 0x200A) || r == 0x2028 || r == 0x2029 || r == 0x202F ||
           r == 0x205F || r == 0x3000;
  };
  size_t begin = 0;
  while (begin < s.size()) {
    auto [r, len] = DecodeRune(s, begin);
    if (!is_space(r)) break;
    begin += len;
  }
  size_t end = s.size();
  while (end > begin) {
    size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    auto [r, len] = DecodeRune(s, start);
    if (start + len != end || !is_space(r)) break;
    end = start;
  }
  return std::string(s.substr(begin, end - begin));
}

// Alertmanager's title, golang.org/x/text/cases.Title: in each word the first cased letter is
// upper case and the others lower case. Words are broken by runes other than letters, digits,
// '_' and the mid-word runes ' . : (two of those in a row break too). ASCII letters only are
// mapped; other runes but Unicode spaces count as letters ("3rd" becomes "3Rd", as in Go).
std::string CasesTitle(std::string_view s) {
  auto is_mid = [](int32_t r) {
    return r == '\'' || r == '.' || r == ':' || r == 0xB7 || r == 0x387 || r == 0x5F4 ||
           r == 0x2018 || r == 0x2019 || r == 0x2024 || r == 0x2027 || r == 0xFE13 || r == 0xFE52 ||
           r == 0xFE55 || r == 0xFF07 || r == 0xFF0E || r == 0xFF1A;
  };
  auto is_break = [&](int32_t r) {
    if (r < 0x80) return !std::isalnum(static_cast<int>(r)) && r != '_' && !is_mid(r);
    return r == 0xA0 || r == 0x1680 || (r >= 0x2000 && r <= 0x200A) || r == 0x2028 || r == 0x2029 ||
           r == 0x202F || r == 0x205F || r == 0x3000;
  };
  std::string out;
  out.reserve(s.size());
  bool mid_word = false, prev_mid = false;
  for (size_t i = 0; i < s.size();) {
    auto [r, len] = DecodeRune(s, i);
    const bool mid = is_mid(r);
    if (prev_mid && mid) mid_word = false;
    const bool ascii_letter = r >= 0 && r < 0x80 && std::isalpha(static_cast<int>(r));
    const bool cased = ascii_letter || (r >= 0x80 && !mid && !is_break(r));
    if (cased) {
      if (ascii_letter) {
        const int c = static_cast<int>(r);
        out += static_cast<char>(mid_word ? std::tolower(c) : std::toupper(c));
      } else {
        out.append(s.substr(i, len));
      }
      mid_word = true;
    } else {
      out.append(s.substr(i, len));
      if (is_break(r)) mid_word = false;
    }
    prev_mid = mid;
    i += len;
  }
  return out;
}

// Alertmanager's template functions (alertmanager/template/template.go DefaultFuncs of 0.25) and
// Go's builtins.
FuncTable BuildAlertmanagerFunctions() {
  FuncTable t;
  AddBuiltins(t);
  using A = std::vector<Value>;
  using C = CallContext;
  const FuncTable& prometheus = Functions();
  for (const char* same : {"toUpper", "toLower", "match", "safeHtml", "reReplaceAll"}) {
    t[same] = prometheus.find(same)->second;
  }
  t["title"] = Fixed({Param::kString}, [](const C&, const A& a) -> Result<Value> {
    return Value::String(CasesTitle(a[0].s));
  });
  t["trimSpace"] = Fixed({Param::kString}, [](const C&, const A& a) -> Result<Value> {
    return Value::String(TrimSpace(a[0].s));
  });
  t["join"] =
      Fixed({Param::kString, Param::kStringSlice}, [](const C&, const A& a) -> Result<Value> {
        return Value::String(Join(StringsOf(a[1]), a[0].s));
      });
  t["stringSlice"] =
      FuncSpec{{}, Param::kString, [](const C&, const A& a) -> Result<Value> {
                 std::vector<std::string> values;
                 values.reserve(a.size());
                 for (const Value& v : a) values.push_back(v.s);
                 return Value{.kind = Kind::kObject, .object = MakeStringSlice(std::move(values))};
               }};
  return t;
}

const FuncTable& AlertmanagerFunctions() {
  static const FuncTable kTable = BuildAlertmanagerFunctions();
  return kTable;
}

// The methods of time.Time (and toTime's *time.Time) that templates may call.
std::optional<FuncSpec> TimeMethod(std::string_view name, GoTime time) {
  using A = std::vector<Value>;
  if (name == "Unix") {
    return Fixed(
        {}, [time](const CallContext&, const A&) -> Result<Value> { return Value::Int(time.sec); });
  }
  if (name == "UnixMilli") {
    return Fixed({}, [time](const CallContext&, const A&) -> Result<Value> {
      return Value::Int(time.sec * 1000 + time.nsec / 1000000);
    });
  }
  if (name == "String") {
    return Fixed({}, [time](const CallContext&, const A&) -> Result<Value> {
      return Value::String(GoTimeString(time));
    });
  }
  if (name == "Format") {
    return Fixed({Param::kString}, [time](const CallContext&, const A& a) -> Result<Value> {
      return Value::String(GoTimeFormat(time, a[0].s));
    });
  }
  if (name == "UTC") {
    return Fixed({}, [time](const CallContext&, const A&) -> Result<Value> {
      return Value{.kind = Kind::kTime, .time = time, .time_value = true};
    });
  }
  if (name == "IsZero") {
    return Fixed({}, [time](const CallContext&, const A&) -> Result<Value> {
      return Value::Bool(time.sec == kGoZeroTime.unix_seconds && time.nsec == 0);
    });
  }
  return std::nullopt;
}

// ------------------------------------------------------------------------------------------------
// Parser (text/template/parse/parse.go).

// Go's parse.IsEmptyTree: only white space text.
bool IsEmptyTree(const Node& n) {
  switch (n.type) {
    case NodeType::kList:
      return std::all_of(n.items.begin(), n.items.end(),
                         [](const auto& child) { return IsEmptyTree(*child); });
    case NodeType::kText:
      return TrimSpace(n.text).empty();
    default:
      return false;
  }
}

using ParsedTrees = std::map<std::string, std::unique_ptr<Node>>;

class Parser {
 public:
  // `templates`: {{define}}, {{template}} and {{block}} are parsed (Alertmanager); otherwise they
  // are refused (Prometheus).
  Parser(std::string name, std::string_view text, const FuncTable& funcs, bool templates)
      : name_(std::move(name)), text_(text), funcs_(funcs), templates_(templates) {}

  // Go's parse.Parse: the templates of the text by name, its top-level text named `name`.
  Result<ParsedTrees> Parse() {
    items_ = Lexer(text_).Run();
    vars_ = {"$"};
    auto root = NewNode(NodeType::kList, 0);
    while (Peek().type != ItemType::kEOF) {
      if (templates_ && Peek().type == ItemType::kLeftDelim) {
        const size_t mark = i_;
        Next();
        if (NextNonSpace().type == ItemType::kDefine) {
          PLATOPS_RETURN_IF_ERROR(Definition());
          continue;
        }
        i_ = mark;
      }
      PLATOPS_ASSIGN_OR_RETURN(std::unique_ptr<Node> n, TextOrAction());
      if (n->type == NodeType::kEnd || n->type == NodeType::kElse) {
        return Errorf("unexpected " + n->String());
      }
      root->items.push_back(std::move(n));
    }
    PLATOPS_RETURN_IF_ERROR(AddTree(name_, std::move(root)));
    return std::move(trees_);
  }

 private:
  // Go's Tree.add: a second non-empty definition of a name in one text is an error.
  Status AddTree(const std::string& name, std::unique_ptr<Node> root) {
    auto it = trees_.find(name);
    if (it == trees_.end() || IsEmptyTree(*it->second)) {
      trees_[name] = std::move(root);
      return Status::Ok();
    }
    if (!IsEmptyTree(*root)) {
      return Errorf("template: multiple definition of template " + GoQuote(name));
    }
    return Status::Ok();
  }

  // The quoted name of {{define}}, {{template}} and {{block}}.
  Result<std::string> TemplateName(const Item& it, std::string_view context) {
    if (it.type != ItemType::kString && it.type != ItemType::kRawString) {
      return Unexpected(it, context);
    }
    auto name = GoUnquote(it.val);
    if (!name) return Errorf("invalid syntax");
    return std::move(*name);
  }

  // The body of a {{define}} or {{block}}, up to its {{end}}, parsed as its own tree (no outer
  // variables, not inside a range).
  Status DefinitionBody(const std::string& name, std::string_view context) {
    std::vector<std::string> outer_vars = std::move(vars_);
    const int outer_range_depth = range_depth_;
    vars_ = {"$"};
    range_depth_ = 0;
    auto body = ItemList();
    vars_ = std::move(outer_vars);
    range_depth_ = outer_range_depth;
    if (!body.ok()) return body.status();
    if (body->second->type != NodeType::kEnd) {
      return Errorf(fmt::format("unexpected {} in {}", body->second->String(), context));
    }
    return AddTree(name, std::move(body->first));
  }

  // {{define "name"}}...{{end}} at the top level, after its keyword.
  Status Definition() {
    constexpr std::string_view kContext = "define clause";
    PLATOPS_ASSIGN_OR_RETURN(std::string name, TemplateName(NextNonSpace(), kContext));
    PLATOPS_RETURN_IF_ERROR(Expect(ItemType::kRightDelim, kContext).status());
    return DefinitionBody(name, kContext);
  }

  // {{template "name" pipeline}}, after its keyword.
  Result<std::unique_ptr<Node>> TemplateControl() {
    constexpr std::string_view kContext = "template clause";
    const Item token = NextNonSpace();
    PLATOPS_ASSIGN_OR_RETURN(std::string name, TemplateName(token, kContext));
    auto n = NewNode(NodeType::kTemplate, token.pos, token.line);
    n->str = std::move(name);
    if (NextNonSpace().type != ItemType::kRightDelim) {
      Backup();
      PLATOPS_ASSIGN_OR_RETURN(n->pipe, Pipeline(kContext, ItemType::kRightDelim));
    }
    return n;
  }

  // {{block "name" pipeline}}...{{end}}: a definition and its {{template}} call.
  Result<std::unique_ptr<Node>> BlockControl() {
    constexpr std::string_view kContext = "block clause";
    const Item token = NextNonSpace();
    PLATOPS_ASSIGN_OR_RETURN(std::string name, TemplateName(token, kContext));
    auto n = NewNode(NodeType::kTemplate, token.pos, token.line);
    n->str = name;
    PLATOPS_ASSIGN_OR_RETURN(n->pipe, Pipeline(kContext, ItemType::kRightDelim));
    PLATOPS_RETURN_IF_ERROR(DefinitionBody(name, kContext));
    return n;
  }

  const Item& Next() {
    const Item& it = items_[std::min(i_, items_.size() - 1)];
    if (i_ < items_.size()) ++i_;
    seen_ = std::max(seen_, i_ - 1);
    return it;
  }
  void Backup(size_t n = 1) { i_ -= n; }
  const Item& Peek() {
    const Item& it = Next();
    Backup();
    return it;
  }
  const Item& NextNonSpace() {
    for (;;) {
      const Item& it = Next();
      if (it.type != ItemType::kSpace) return it;
    }
  }
  const Item& PeekNonSpace() {
    const Item& it = NextNonSpace();
    Backup();
    return it;
  }

  Status Errorf(const std::string& msg) {
    const Item& it = items_[std::min(seen_, items_.size() - 1)];
    return InvalidArgument(fmt::format("template: {}:{}: {}", name_, it.line, msg));
  }
  Status Unexpected(const Item& it, std::string_view context) {
    if (it.type == ItemType::kError) {
      std::string extra;
      if (action_line_ != 0 && action_line_ != it.line) {
        extra = fmt::format(" in action started at {}:{}", name_, action_line_);
        if (it.val.ends_with(" action"))
          extra = extra.substr(std::string_view(" in action").size());
      }
      return Errorf(it.val + extra);
    }
    return Errorf(fmt::format("unexpected {} in {}", ItemString(it), context));
  }
  Result<Item> Expect(ItemType type, std::string_view context) {
    const Item& it = NextNonSpace();
    if (it.type != type) return Unexpected(it, context);
    return it;
  }

  Result<std::unique_ptr<Node>> TextOrAction() {
    const Item& it = NextNonSpace();
    switch (it.type) {
      case ItemType::kText: {
        auto n = NewNode(NodeType::kText, it.pos);
        n->text = it.val;
        return n;
      }
      case ItemType::kLeftDelim: {
        action_line_ = it.line;
        auto n = Action();
        action_line_ = 0;
        return n;
      }
      default:
        return Unexpected(it, "input");
    }
  }

  Result<std::unique_ptr<Node>> Action() {
    const Item& it = NextNonSpace();
    switch (it.type) {
      case ItemType::kBlock:
      case ItemType::kDefine:
      case ItemType::kTemplate:
        if (!templates_) {
          return Errorf(fmt::format("{{{{{}}}}} is not supported in alerting templates", it.val));
        }
        if (it.type == ItemType::kTemplate) return TemplateControl();
        if (it.type == ItemType::kBlock) return BlockControl();
        break;  // {{define}} inside a template: "unexpected <define> in command", as in Go
      case ItemType::kBreak:
      case ItemType::kContinue: {
        const bool is_break = it.type == ItemType::kBreak;
        const int pos = it.pos, line = it.line;
        const Item& close = NextNonSpace();
        if (close.type != ItemType::kRightDelim) {
          return Unexpected(close, is_break ? "{{break}}" : "{{continue}}");
        }
        if (range_depth_ == 0) {
          return Errorf(is_break ? "{{break}} outside {{range}}"
                                 : "{{continue}} outside {{range}}");
        }
        return NewNode(is_break ? NodeType::kBreak : NodeType::kContinue, pos, line);
      }
      case ItemType::kElse:
        return ElseControl();
      case ItemType::kEnd: {
        PLATOPS_ASSIGN_OR_RETURN(Item close, Expect(ItemType::kRightDelim, "end"));
        return NewNode(NodeType::kEnd, close.pos, close.line);
      }
      case ItemType::kIf:
        return Control(NodeType::kIf, "if");
      case ItemType::kRange:
        return Control(NodeType::kRange, "range");
      case ItemType::kWith:
        return Control(NodeType::kWith, "with");
      default:
        break;
    }
    Backup();
    const Item& start = Peek();
    auto n = NewNode(NodeType::kAction, start.pos, start.line);
    PLATOPS_ASSIGN_OR_RETURN(n->pipe, Pipeline("command", ItemType::kRightDelim));
    return n;
  }

  Result<std::unique_ptr<Node>> ElseControl() {
    const Item& peek = PeekNonSpace();
    if (peek.type == ItemType::kIf || peek.type == ItemType::kWith) {
      return NewNode(NodeType::kElse, peek.pos, peek.line);
    }
    PLATOPS_ASSIGN_OR_RETURN(Item close, Expect(ItemType::kRightDelim, "else"));
    return NewNode(NodeType::kElse, close.pos, close.line);
  }

  // {list, terminating {{end}} or {{else}}}.
  Result<std::pair<std::unique_ptr<Node>, std::unique_ptr<Node>>> ItemList() {
    auto list = NewNode(NodeType::kList, PeekNonSpace().pos);
    while (PeekNonSpace().type != ItemType::kEOF) {
      PLATOPS_ASSIGN_OR_RETURN(std::unique_ptr<Node> n, TextOrAction());
      if (n->type == NodeType::kEnd || n->type == NodeType::kElse) {
        return std::make_pair(std::move(list), std::move(n));
      }
      list->items.push_back(std::move(n));
    }
    return Errorf("unexpected EOF");
  }

  Result<std::unique_ptr<Node>> Control(NodeType type, std::string_view context) {
    const size_t vars_mark = vars_.size();
    auto restore = [&] { vars_.resize(vars_mark); };
    auto result = ControlBody(type, context);
    restore();
    return result;
  }

  Result<std::unique_ptr<Node>> ControlBody(NodeType type, std::string_view context) {
    PLATOPS_ASSIGN_OR_RETURN(std::unique_ptr<Node> pipe, Pipeline(context, ItemType::kRightDelim));
    auto n = NewNode(type, pipe->pos, pipe->line);
    n->pipe = std::move(pipe);
    if (type == NodeType::kRange) ++range_depth_;
    auto body = ItemList();
    if (type == NodeType::kRange) --range_depth_;
    if (!body.ok()) return body.status();
    n->list = std::move(body->first);
    std::unique_ptr<Node> next = std::move(body->second);
    if (next->type == NodeType::kElse) {
      const ItemType chained = type == NodeType::kIf ? ItemType::kIf : ItemType::kWith;
      if ((type == NodeType::kIf || type == NodeType::kWith) && Peek().type == chained) {
        Next();
        n->else_list = NewNode(NodeType::kList, next->pos);
        PLATOPS_ASSIGN_OR_RETURN(std::unique_ptr<Node> nested,
                                 Control(type, type == NodeType::kIf ? "if" : "with"));
        n->else_list->items.push_back(std::move(nested));
        return n;
      }
      PLATOPS_ASSIGN_OR_RETURN(auto else_body, ItemList());
      n->else_list = std::move(else_body.first);
      if (else_body.second->type != NodeType::kEnd) {
        return Errorf("expected end; found " + else_body.second->String());
      }
    }
    return n;
  }

  std::unique_ptr<Node> NewVariable(const Item& it) {
    auto v = NewNode(NodeType::kVariable, it.pos);
    v->idents = Split(it.val, '.');
    return v;
  }

  Result<std::unique_ptr<Node>> Pipeline(std::string_view context, ItemType end) {
    const Item& first = PeekNonSpace();
    auto pipe = NewNode(NodeType::kPipe, first.pos, first.line);
    for (;;) {
      if (PeekNonSpace().type != ItemType::kVariable) break;
      const size_t var_index = i_;
      const Item v = Next();
      const Item next = PeekNonSpace();
      if (next.type == ItemType::kAssign || next.type == ItemType::kDeclare) {
        pipe->is_assign = next.type == ItemType::kAssign;
        NextNonSpace();
        pipe->decls.push_back(NewVariable(v));
        vars_.push_back(v.val);
        break;
      }
      if (next.type == ItemType::kChar && next.val == ",") {
        NextNonSpace();
        pipe->decls.push_back(NewVariable(v));
        vars_.push_back(v.val);
        if (context == "range" && pipe->decls.size() < 2) {
          const ItemType t = PeekNonSpace().type;
          if (t == ItemType::kVariable || t == ItemType::kRightDelim ||
              t == ItemType::kRightParen) {
            continue;
          }
          return Errorf("range can only initialize variables");
        }
        return Errorf(fmt::format("too many declarations in {}", context));
      }
      i_ = var_index;
      break;
    }
    for (;;) {
      const Item& it = NextNonSpace();
      if (it.type == end) {
        if (pipe->items.empty()) return Errorf(fmt::format("missing value for {}", context));
        for (size_t k = 1; k < pipe->items.size(); ++k) {
          switch (pipe->items[k]->items[0]->type) {
            case NodeType::kBool:
            case NodeType::kDot:
            case NodeType::kNil:
            case NodeType::kNumber:
            case NodeType::kString:
              return Errorf(fmt::format("non executable command in pipeline stage {}", k + 1));
            default:
              break;
          }
        }
        return pipe;
      }
      switch (it.type) {
        case ItemType::kBool:
        case ItemType::kCharConstant:
        case ItemType::kDot:
        case ItemType::kField:
        case ItemType::kIdentifier:
        case ItemType::kNumber:
        case ItemType::kNil:
        case ItemType::kRawString:
        case ItemType::kString:
        case ItemType::kVariable:
        case ItemType::kLeftParen: {
          Backup();
          PLATOPS_ASSIGN_OR_RETURN(std::unique_ptr<Node> cmd, Command());
          pipe->items.push_back(std::move(cmd));
          break;
        }
        default:
          return Unexpected(it, context);
      }
    }
  }

  Result<std::unique_ptr<Node>> Command() {
    auto cmd = NewNode(NodeType::kCommand, PeekNonSpace().pos);
    for (;;) {
      PeekNonSpace();
      PLATOPS_ASSIGN_OR_RETURN(std::unique_ptr<Node> operand, Operand());
      if (operand) cmd->items.push_back(std::move(operand));
      const Item& it = Next();
      if (it.type == ItemType::kSpace) continue;
      if (it.type == ItemType::kRightDelim || it.type == ItemType::kRightParen) {
        Backup();
      } else if (it.type != ItemType::kPipe) {
        return Unexpected(it, "operand");
      }
      break;
    }
    if (cmd->items.empty()) return Errorf("empty command");
    return cmd;
  }

  Result<std::unique_ptr<Node>> Operand() {
    PLATOPS_ASSIGN_OR_RETURN(std::unique_ptr<Node> node, Term());
    if (!node) return node;
    if (Peek().type == ItemType::kField) {
      auto chain = NewNode(NodeType::kChain, Peek().pos);
      while (Peek().type == ItemType::kField) {
        std::vector<std::string> parts = Split(Next().val.substr(1), '.');
        chain->idents.insert(chain->idents.end(), parts.begin(), parts.end());
      }
      switch (node->type) {
        case NodeType::kField:
        case NodeType::kVariable:
          node->idents.insert(node->idents.end(), chain->idents.begin(), chain->idents.end());
          node->pos = chain->pos;
          return node;
        case NodeType::kBool:
        case NodeType::kString:
        case NodeType::kNumber:
        case NodeType::kNil:
        case NodeType::kDot:
          return Errorf("unexpected . after term " + GoQuote(node->String()));
        default:
          chain->pipe = std::move(node);
          return chain;
      }
    }
    return node;
  }

  Result<std::unique_ptr<Node>> NumberNode(const Item& it) {
    auto n = NewNode(NodeType::kNumber, it.pos);
    n->text = it.val;
    Number& num = n->number;
    const std::string illegal = "illegal number syntax: " + GoQuote(it.val);
    if (it.type == ItemType::kCharConstant) {
      auto s = GoUnquote(it.val);
      if (!s) return Errorf("malformed character constant: " + it.val);
      auto [r, len] = DecodeRune(*s, 0);
      const int64_t rune = r < 0 ? static_cast<unsigned char>((*s)[0]) : r;
      num = Number{true, true, true, rune, static_cast<uint64_t>(rune), static_cast<double>(rune)};
      return n;
    }
    std::string text;
    for (char c : it.val) {
      if (c != '_') text += c;
    }
    if (text.ends_with('i')) return Errorf(illegal);
    // Integer forms: optional sign, then decimal, 0x, 0o, 0b or leading-0 octal.
    std::string_view body = text;
    bool neg = false;
    if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
      neg = body[0] == '-';
      body.remove_prefix(1);
    }
    int base = 10;
    if (body.size() > 1 && body[0] == '0') {
      const char p = static_cast<char>(std::tolower(static_cast<unsigned char>(body[1])));
      if (p == 'x') {
        base = 16, body.remove_prefix(2);
      } else if (p == 'o') {
        base = 8, body.remove_prefix(2);
      } else if (p == 'b') {
        base = 2, body.remove_prefix(2);
      } else if (std::isdigit(static_cast<unsigned char>(p))) {
        base = 8, body.remove_prefix(1);
      }
    }
    uint64_t u = 0;
    auto r = std::from_chars(body.data(), body.data() + body.size(), u, base);
    const bool int_syntax = !body.empty() && r.ptr == body.data() + body.size();
    if (int_syntax && r.ec == std::errc()) {
      if (!neg && text[0] != '+') {
        num.is_uint = true;
        num.u = u;
      }
      if (!neg && u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        num.is_int = true;
        num.i = static_cast<int64_t>(u);
      } else if (neg && u <= (1ULL << 63)) {
        num.is_int = true;
        num.i = u == (1ULL << 63) ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(u);
      }
    }
    if (num.is_int) {
      num.is_float = true;
      num.f = static_cast<double>(num.i);
    } else if (num.is_uint) {
      num.is_float = true;
      num.f = static_cast<double>(num.u);
    } else {
      if (base != 10 && base != 8) return Errorf(illegal);
      auto f = GoParseFloat(text);
      if (f.ok() && std::isfinite(*f) && text.find_first_of("0123456789") != std::string::npos) {
        if (text.find_first_of(".eEpP") == std::string::npos) {
          return Errorf("integer overflow: " + GoQuote(it.val));
        }
        num.is_float = true;
        num.f = *f;
        if (std::fabs(*f) < 9.2e18 && static_cast<double>(static_cast<int64_t>(*f)) == *f) {
          num.is_int = true;
          num.i = static_cast<int64_t>(*f);
        }
        if (*f >= 0 && *f < 1.8e19 && static_cast<double>(static_cast<uint64_t>(*f)) == *f) {
          num.is_uint = true;
          num.u = static_cast<uint64_t>(*f);
        }
      }
    }
    if (!num.is_int && !num.is_uint && !num.is_float) return Errorf(illegal);
    return n;
  }

  Result<std::unique_ptr<Node>> Term() {
    const Item& it = NextNonSpace();
    switch (it.type) {
      case ItemType::kIdentifier: {
        if (funcs_.find(it.val) == funcs_.end()) {
          return Errorf("function " + GoQuote(it.val) + " not defined");
        }
        auto n = NewNode(NodeType::kIdentifier, it.pos);
        n->text = it.val;
        return n;
      }
      case ItemType::kDot:
        return NewNode(NodeType::kDot, it.pos);
      case ItemType::kNil:
        return NewNode(NodeType::kNil, it.pos);
      case ItemType::kVariable: {
        auto v = NewVariable(it);
        if (std::find(vars_.begin(), vars_.end(), v->idents[0]) == vars_.end()) {
          return Errorf("undefined variable " + GoQuote(v->idents[0]));
        }
        return v;
      }
      case ItemType::kField: {
        auto f = NewNode(NodeType::kField, it.pos);
        f->idents = Split(it.val.substr(1), '.');
        return f;
      }
      case ItemType::kBool: {
        auto b = NewNode(NodeType::kBool, it.pos);
        b->truth = it.val == "true";
        return b;
      }
      case ItemType::kCharConstant:
      case ItemType::kNumber:
        return NumberNode(it);
      case ItemType::kLeftParen:
        return Pipeline("parenthesized pipeline", ItemType::kRightParen);
      case ItemType::kString:
      case ItemType::kRawString: {
        auto s = GoUnquote(it.val);
        if (!s) return Errorf("invalid syntax");
        auto n = NewNode(NodeType::kString, it.pos);
        n->text = it.val;
        n->str = std::move(*s);
        return n;
      }
      default:
        Backup();
        return std::unique_ptr<Node>();
    }
  }

  std::string name_;
  std::string_view text_;
  const FuncTable& funcs_;
  const bool templates_;
  std::vector<Item> items_;
  size_t i_ = 0, seen_ = 0;
  std::vector<std::string> vars_;
  int action_line_ = 0;
  int range_depth_ = 0;
  ParsedTrees trees_;
};

constexpr std::string_view kDefinitions =
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
    "{{$externalURL := .ExternalURL}}{{$value := .Value}}";

// One parsed template.
struct Tree {
  std::string name;                         // executing "<name>"
  std::string parse_name;                   // the text it was parsed from, for error locations
  std::shared_ptr<const std::string> text;  // node positions index into it
  std::unique_ptr<Node> root;
};

using TreeMap = std::map<std::string, std::shared_ptr<const Tree>, std::less<>>;

// How deep {{template}} calls may nest: Go allows 100000, but each level here costs native stack.
constexpr int kMaxTemplateDepth = 100;

// html/template's escaping of a value in HTML text.
std::string HtmlTextEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '+') {
      out += "&#43;";
    } else if (c == '<' || c == '>' || c == '&' || c == '\'' || c == '"' || c == '\0') {
      out += HtmlEscape(std::string_view(&c, 1));
    } else {
      out += c;
    }
  }
  return out;
}

// Whether `out` ends where a URL attribute's quoted value starts (`href="`, `src='`, ...): the
// one attribute context html/template's URL filter is applied in here.
bool AtUrlAttributeStart(std::string_view out) {
  if (out.empty() || (out.back() != '"' && out.back() != '\'')) return false;
  out.remove_suffix(1);
  for (std::string_view attr : {"href=", "src=", "action=", "formaction=", "cite=", "poster="}) {
    if (out.size() <= attr.size()) continue;
    const std::string_view tail = out.substr(out.size() - attr.size());
    const char before = out[out.size() - attr.size() - 1];
    if (EqualsIgnoreCase(tail, attr) && (before == ' ' || before == '\t' || before == '\n')) {
      return true;
    }
  }
  return false;
}

// html/template's urlFilter: a URL with a scheme other than http, https or mailto (javascript:,
// data:, vbscript:, ...) becomes "#ZgotmplZ".
std::string FilterUrl(std::string text) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos || text.find_first_of("/?#") < colon) return text;
  const std::string_view scheme = std::string_view(text).substr(0, colon);
  if (EqualsIgnoreCase(scheme, "http") || EqualsIgnoreCase(scheme, "https") ||
      EqualsIgnoreCase(scheme, "mailto")) {
    return text;
  }
  return "#ZgotmplZ";
}

}  // namespace

struct Template::Impl {
  Tree tree;  // its text is kDefinitions + the user's text
};

struct TemplateSet::Impl {
  TreeMap trees;
};

namespace {

// ------------------------------------------------------------------------------------------------
// Execution (text/template/exec.go).

enum class Flow { kNormal, kBreak, kContinue };

class Exec {
 public:
  // `templates`: what {{template}} calls (none for Prometheus). `data`: Prometheus's data for its
  // functions. `html`: actions' output is HTML-escaped.
  Exec(const Tree& tree, const FuncTable& funcs, const TreeMap* templates, const TemplateData& data,
       bool html)
      : tree_(&tree), funcs_(funcs), templates_(templates), ctx_{data}, html_(html) {}

  Result<std::string> Run(const Value& dot) {
    vars_.emplace_back("$", dot);
    auto flow = Walk(dot, *tree_->root);
    if (!flow.ok()) return flow.status();
    return std::move(out_);
  }

 private:
  using Args = std::vector<const Node*>;

  Status Errorf(const std::string& msg) const {
    if (at_ == nullptr) return InvalidArgument(fmt::format("template: {}: {}", tree_->name, msg));
    std::string_view before =
        std::string_view(*tree_->text).substr(0, static_cast<size_t>(at_->pos));
    const int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    const size_t nl = before.rfind('\n');
    const size_t col = nl == std::string_view::npos ? before.size() : before.size() - nl - 1;
    std::string context = at_->String();
    if (context.size() > 20) {
      FmtFlags f;
      f.prec = 20;
      context = Truncate(context, f) + "...";
    }
    return InvalidArgument(fmt::format("template: {}:{}:{}: executing {} at <{}>: {}",
                                       tree_->parse_name, line, col, GoQuote(tree_->name), context,
                                       msg));
  }

  void At(const Node& n) { at_ = &n; }

  Result<Flow> Walk(const Value& dot, const Node& node) {
    At(node);
    switch (node.type) {
      case NodeType::kAction: {
        PLATOPS_ASSIGN_OR_RETURN(Value v, EvalPipeline(dot, *node.pipe));
        if (node.pipe->decls.empty()) {
          At(node);
          if (html_) {
            // html/template: safeHtml's output as is, nil as nothing, the rest escaped.
            if (v.kind == Kind::kHtml) {
              out_ += v.s;
            } else if (v.kind != Kind::kInvalid) {
              std::string text;
              FormatArg(text, v, 'v', FmtFlags{}, true);
              if (AtUrlAttributeStart(out_)) text = FilterUrl(std::move(text));
              out_ += HtmlTextEscape(text);
            }
          } else if (v.kind == Kind::kInvalid) {
            out_ += "<no value>";
          } else {
            FormatArg(out_, v, 'v', FmtFlags{}, true);
          }
        }
        return Flow::kNormal;
      }
      case NodeType::kTemplate:
        return WalkTemplate(dot, node);
      case NodeType::kBreak:
        return Flow::kBreak;
      case NodeType::kContinue:
        return Flow::kContinue;
      case NodeType::kIf:
      case NodeType::kWith:
        return WalkIfOrWith(dot, node);
      case NodeType::kList:
        for (const auto& child : node.items) {
          PLATOPS_ASSIGN_OR_RETURN(Flow f, Walk(dot, *child));
          if (f != Flow::kNormal) return f;
        }
        return Flow::kNormal;
      case NodeType::kRange:
        return WalkRange(dot, node);
      case NodeType::kText:
        out_ += node.text;
        return Flow::kNormal;
      default:
        return Errorf("unknown node: " + node.String());
    }
  }

  // {{template "name" pipeline}}: the named template with the pipeline's value (nil without one)
  // as dot and $, and no other variables.
  Result<Flow> WalkTemplate(const Value& dot, const Node& node) {
    At(node);
    const Tree* callee = nullptr;
    if (templates_ != nullptr) {
      if (auto it = templates_->find(node.str); it != templates_->end()) callee = it->second.get();
    }
    if (callee == nullptr) return Errorf("template " + GoQuote(node.str) + " not defined");
    if (depth_ == kMaxTemplateDepth) {
      return Errorf(fmt::format("exceeded maximum template depth ({})", kMaxTemplateDepth));
    }
    Value callee_dot;
    if (node.pipe) {
      PLATOPS_ASSIGN_OR_RETURN(callee_dot, EvalPipeline(dot, *node.pipe));
    }
    // The pipeline's variables stay in the caller's scope.
    std::vector<std::pair<std::string, Value>> caller_vars = std::move(vars_);
    vars_ = {{"$", callee_dot}};
    const Tree* caller = tree_;
    tree_ = callee;
    ++depth_;
    auto flow = Walk(callee_dot, *callee->root);
    --depth_;
    if (!flow.ok()) return flow.status();
    tree_ = caller;
    vars_ = std::move(caller_vars);
    At(node);
    return Flow::kNormal;
  }

  Result<Flow> WalkIfOrWith(const Value& dot, const Node& node) {
    const size_t mark = vars_.size();
    auto result = [&]() -> Result<Flow> {
      PLATOPS_ASSIGN_OR_RETURN(Value v, EvalPipeline(dot, *node.pipe));
      auto [truth, ok] = IsTrue(v);
      if (!ok) return Errorf("if/with can't use <invalid reflect.Value>");
      if (truth) return Walk(node.type == NodeType::kWith ? v : dot, *node.list);
      if (node.else_list) return Walk(dot, *node.else_list);
      return Flow::kNormal;
    }();
    vars_.resize(mark);
    return result;
  }

  Result<Flow> WalkRange(const Value& dot, const Node& node) {
    At(node);
    const size_t outer_mark = vars_.size();
    auto result = [&]() -> Result<Flow> {
      PLATOPS_ASSIGN_OR_RETURN(Value v, EvalPipeline(dot, *node.pipe));
      const size_t mark = vars_.size();
      const Node& pipe = *node.pipe;
      auto one = [&](const Value& index, const Value& elem) -> Result<bool> {
        if (!pipe.decls.empty()) {
          if (pipe.is_assign) {
            PLATOPS_RETURN_IF_ERROR(
                SetVar(pipe.decls[0]->idents[0], pipe.decls.size() > 1 ? index : elem));
          } else {
            vars_[vars_.size() - 1].second = elem;
          }
        }
        if (pipe.decls.size() > 1) {
          if (pipe.is_assign) {
            PLATOPS_RETURN_IF_ERROR(SetVar(pipe.decls[1]->idents[0], elem));
          } else {
            vars_[vars_.size() - 2].second = index;
          }
        }
        auto flow = Walk(elem, *node.list);
        vars_.resize(mark);
        if (!flow.ok()) return flow.status();
        return *flow != Flow::kBreak;
      };
      bool ran = false;
      switch (v.kind) {
        case Kind::kSamples:
          for (size_t k = 0; k < v.samples->size(); ++k) {
            ran = true;
            Value e{.kind = Kind::kSample,
                    .sample = std::shared_ptr<const TemplateSample>(v.samples, &(*v.samples)[k])};
            PLATOPS_ASSIGN_OR_RETURN(bool go_on, one(Value::Int(static_cast<int64_t>(k)), e));
            if (!go_on) break;
          }
          break;
        case Kind::kStringMap:
          for (const auto& [k, val] : *v.labels) {
            ran = true;
            PLATOPS_ASSIGN_OR_RETURN(bool go_on, one(Value::String(k), Value::String(val)));
            if (!go_on) break;
          }
          break;
        case Kind::kAnyMap:
          for (const auto& [k, val] : *v.any_map) {
            ran = true;
            PLATOPS_ASSIGN_OR_RETURN(bool go_on, one(Value::String(k), val));
            if (!go_on) break;
          }
          break;
        case Kind::kObject: {
          const TemplateObject& o = *v.object;
          if (o.shape() == TemplateObject::Shape::kStruct) {
            std::string shown;
            FormatArg(shown, v, 'v', FmtFlags{}, true);
            return Errorf("range can't iterate over " + shown);
          }
          const bool is_map = o.shape() == TemplateObject::Shape::kMap;
          for (size_t k = 0; k < o.size(); ++k) {
            ran = true;
            const Value index =
                is_map ? Value::String(std::string(o.Key(k))) : Value::Int(static_cast<int64_t>(k));
            PLATOPS_ASSIGN_OR_RETURN(bool go_on, one(index, FromHost(o.Element(k))));
            if (!go_on) break;
          }
          break;
        }
        case Kind::kInt:
          if (pipe.decls.size() > 1) {
            return Errorf(fmt::format("can't use {} to iterate over more than one variable", v.i));
          }
          for (int64_t k = 0; k < v.i; ++k) {
            ran = true;
            PLATOPS_ASSIGN_OR_RETURN(bool go_on, one(Value::Int(k), Value::Int(k)));
            if (!go_on) break;
          }
          break;
        case Kind::kInvalid:
          break;
        default: {
          std::string shown;
          FormatArg(shown, v, 'v', FmtFlags{}, false);
          return Errorf("range can't iterate over " + shown);
        }
      }
      if (!ran && node.else_list) return Walk(dot, *node.else_list);
      return Flow::kNormal;
    }();
    vars_.resize(outer_mark);
    return result;
  }

  Status SetVar(const std::string& name, const Value& v) {
    for (size_t k = vars_.size(); k-- > 0;) {
      if (vars_[k].first == name) {
        vars_[k].second = v;
        return Status::Ok();
      }
    }
    return Errorf("undefined variable: " + name);
  }

  Result<Value> VarValue(const std::string& name) {
    for (size_t k = vars_.size(); k-- > 0;) {
      if (vars_[k].first == name) return vars_[k].second;
    }
    return Errorf("undefined variable: " + name);
  }

  Result<Value> EvalPipeline(const Value& dot, const Node& pipe) {
    At(pipe);
    Value v = Value::Missing();
    for (const auto& cmd : pipe.items) {
      PLATOPS_ASSIGN_OR_RETURN(v, EvalCommand(dot, *cmd, v));
    }
    for (const auto& decl : pipe.decls) {
      if (pipe.is_assign) {
        PLATOPS_RETURN_IF_ERROR(SetVar(decl->idents[0], v));
      } else {
        vars_.emplace_back(decl->idents[0], v);
      }
    }
    return v;
  }

  Status NotAFunction(const Args& args, const Value& final) {
    if (args.size() > 1 || !final.missing()) {
      return Errorf("can't give argument to non-function " + args[0]->String());
    }
    return Status::Ok();
  }

  Result<Value> EvalCommand(const Value& dot, const Node& cmd, const Value& final) {
    const Node& first = *cmd.items[0];
    Args args;
    for (const auto& a : cmd.items) args.push_back(a.get());
    switch (first.type) {
      case NodeType::kField:
        return EvalFieldNode(dot, first, args, final);
      case NodeType::kChain:
        return EvalChainNode(dot, first, args, final);
      case NodeType::kIdentifier:
        return EvalFunction(dot, first, cmd, args, final);
      case NodeType::kPipe:
        PLATOPS_RETURN_IF_ERROR(NotAFunction(args, final));
        return EvalPipeline(dot, first);
      case NodeType::kVariable:
        return EvalVariableNode(dot, first, args, final);
      default:
        break;
    }
    At(first);
    PLATOPS_RETURN_IF_ERROR(NotAFunction(args, final));
    switch (first.type) {
      case NodeType::kBool:
        return Value::Bool(first.truth);
      case NodeType::kDot:
        return dot;
      case NodeType::kNil:
        return Errorf("nil is not a command");
      case NodeType::kNumber:
        return IdealConstant(first);
      case NodeType::kString:
        return Value::String(first.str);
      default:
        return Errorf("can't evaluate command " + GoQuote(first.String()));
    }
  }

  Result<Value> IdealConstant(const Node& n) {
    const Number& num = n.number;
    const bool hex_int = n.text.size() > 2 && n.text[0] == '0' &&
                         (n.text[1] == 'x' || n.text[1] == 'X') &&
                         n.text.find_first_of("pP") == std::string::npos;
    const bool rune_int = !n.text.empty() && n.text[0] == '\'';
    if (num.is_float && !hex_int && !rune_int &&
        n.text.find_first_of(".eEpP") != std::string::npos) {
      return Value::Float(num.f);
    }
    if (num.is_int) return Value::Int(num.i);
    return Errorf(n.text + " overflows int");
  }

  Result<Value> EvalFieldNode(const Value& dot, const Node& field, const Args& args,
                              const Value& final) {
    At(field);
    return EvalFieldChain(dot, dot, field, field.idents, 0, args, final);
  }

  Result<Value> EvalChainNode(const Value& dot, const Node& chain, const Args& args,
                              const Value& final) {
    At(chain);
    if (chain.pipe->type == NodeType::kNil) {
      return Errorf("indirection through explicit nil in " + chain.String());
    }
    PLATOPS_ASSIGN_OR_RETURN(Value pipe, EvalArg(dot, Param::kNone, *chain.pipe));
    return EvalFieldChain(dot, pipe, chain, chain.idents, 0, args, final);
  }

  Result<Value> EvalVariableNode(const Value& dot, const Node& var, const Args& args,
                                 const Value& final) {
    At(var);
    PLATOPS_ASSIGN_OR_RETURN(Value v, VarValue(var.idents[0]));
    if (var.idents.size() == 1) {
      PLATOPS_RETURN_IF_ERROR(NotAFunction(args, final));
      return v;
    }
    return EvalFieldChain(dot, v, var, var.idents, 1, args, final);
  }

  Result<Value> EvalFieldChain(const Value& dot, Value receiver, const Node& node,
                               const std::vector<std::string>& idents, size_t from,
                               const Args& args, const Value& final) {
    for (size_t k = from; k + 1 < idents.size(); ++k) {
      PLATOPS_ASSIGN_OR_RETURN(receiver,
                               EvalField(dot, idents[k], node, {}, Value::Missing(), receiver));
    }
    return EvalField(dot, idents.back(), node, args, final, receiver);
  }

  Result<Value> EvalField(const Value& dot, const std::string& name, const Node& node,
                          const Args& args, const Value& final, const Value& receiver) {
    const bool has_args = args.size() > 1 || !final.missing();
    switch (receiver.kind) {
      case Kind::kInvalid:
      case Kind::kMissing:
        return Value{};
      case Kind::kRoot: {
        Value field;
        if (name == "Labels") {
          field = Value::Labels(receiver.root->labels);
        } else if (name == "ExternalLabels") {
          field = Value::Labels(receiver.root->external_labels);
        } else if (name == "ExternalURL") {
          field = Value::String(receiver.root->external_url);
        } else if (name == "Value") {
          field = Value::Float(receiver.root->value);
        } else {
          break;
        }
        if (has_args) return Errorf(name + " has arguments but cannot be invoked as function");
        return field;
      }
      case Kind::kStringMap: {
        if (has_args) return Errorf(name + " is not a method but has arguments");
        auto it = receiver.labels->find(name);
        return Value::String(it == receiver.labels->end() ? "" : it->second);
      }
      case Kind::kAnyMap: {
        if (has_args) return Errorf(name + " is not a method but has arguments");
        auto it = receiver.any_map->find(name);
        return it == receiver.any_map->end() ? Value{} : it->second;
      }
      case Kind::kSample: {
        if (name != "Labels" && name != "Value") {
          if (!receiver.sample) {
            return Errorf(name + " is not a field of struct type *template.sample");
          }
          break;
        }
        if (!receiver.sample) return Errorf("nil pointer evaluating *template.sample." + name);
        if (has_args) return Errorf(name + " has arguments but cannot be invoked as function");
        if (name == "Value") return Value::Float(receiver.sample->value);
        Value labels;
        labels.kind = Kind::kStringMap;
        labels.labels = std::shared_ptr<const StringMap>(receiver.sample, &receiver.sample->labels);
        return labels;
      }
      case Kind::kTime: {
        if (auto method = TimeMethod(name, receiver.time)) {
          return EvalCall(dot, *method, name, node, args, final);
        }
        break;
      }
      case Kind::kObject: {
        const TemplateObject& o = *receiver.object;
        if (auto method = o.Method(name)) {
          return EvalCall(dot, HostMethod(std::move(*method)), name, node, args, final);
        }
        if (o.shape() == TemplateObject::Shape::kSlice) break;
        const std::optional<size_t> at = FindKey(o, name);
        if (o.shape() == TemplateObject::Shape::kMap) {
          if (has_args) return Errorf(name + " is not a method but has arguments");
          return FromHost(at ? o.Element(*at) : o.Zero());
        }
        if (!at) break;
        if (has_args) return Errorf(name + " has arguments but cannot be invoked as function");
        return FromHost(o.Element(*at));
      }
      default:
        break;
    }
    return Errorf("can't evaluate field " + name + " in type " + TypeName(receiver));
  }

  // A host's method as a function of its arguments.
  static FuncSpec HostMethod(TemplateMethod method) {
    std::vector<Param> params;
    for (TemplateMethod::Param p : method.params) {
      params.push_back(p == TemplateMethod::Param::kString ? Param::kString : Param::kStringSlice);
    }
    return Fixed(std::move(params),
                 [call = std::move(method.call)](const CallContext&,
                                                 const std::vector<Value>& a) -> Result<Value> {
                   std::vector<TemplateValue> host_args;
                   host_args.reserve(a.size());
                   for (const Value& v : a) host_args.push_back(ToHost(v));
                   PLATOPS_ASSIGN_OR_RETURN(TemplateValue result, call(host_args));
                   return FromHost(result);
                 });
  }

  Result<Value> EvalFunction(const Value& dot, const Node& ident, const Node& cmd, const Args& args,
                             const Value& final) {
    At(ident);
    auto it = funcs_.find(ident.text);
    if (it == funcs_.end()) return Errorf(GoQuote(ident.text) + " is not a defined function");
    return EvalCall(dot, it->second, ident.text, cmd, args, final);
  }

  Result<Value> EvalCall(const Value& dot, const FuncSpec& spec, const std::string& name,
                         const Node& node, const Args& all_args, const Value& final) {
    Args args;
    if (!all_args.empty()) args.assign(all_args.begin() + 1, all_args.end());
    const size_t num_in = args.size() + (final.missing() ? 0 : 1);
    const size_t num_fixed = spec.variadic ? spec.params.size() : args.size();
    if (spec.variadic) {
      if (num_in < num_fixed) {
        return Errorf(fmt::format("wrong number of args for {}: want at least {} got {}", name,
                                  spec.params.size(), args.size()));
      }
    } else if (num_in != spec.params.size()) {
      return Errorf(fmt::format("wrong number of args for {}: want {} got {}", name,
                                spec.params.size(), num_in));
    }
    if (name == "and" || name == "or") {
      Value v;
      for (const Node* arg : args) {
        PLATOPS_ASSIGN_OR_RETURN(v, EvalArg(dot, Param::kValue, *arg));
        if (IsTrue(v).first == (name == "or")) return v;
      }
      if (!final.missing()) v = final;
      return v;
    }
    std::vector<Value> argv;
    size_t k = 0;
    for (; k < num_fixed && k < args.size(); ++k) {
      PLATOPS_ASSIGN_OR_RETURN(Value v, EvalArg(dot, spec.params[k], *args[k]));
      argv.push_back(std::move(v));
    }
    for (; k < args.size(); ++k) {
      PLATOPS_ASSIGN_OR_RETURN(Value v, EvalArg(dot, *spec.variadic, *args[k]));
      argv.push_back(std::move(v));
    }
    if (!final.missing()) {
      Param t = spec.params.empty() ? Param::kAny : spec.params.back();
      if (spec.variadic) {
        t = num_in - 1 < num_fixed ? spec.params[num_in - 1] : *spec.variadic;
      }
      PLATOPS_ASSIGN_OR_RETURN(Value v, ValidateType(final, t));
      argv.push_back(std::move(v));
    }
    auto result = spec.fn(ctx_, argv);
    if (!result.ok()) {
      At(node);
      return Errorf("error calling " + name + ": " + result.status().message());
    }
    return std::move(result).value();
  }

  Result<Value> ValidateType(const Value& v, Param p) {
    if (v.kind == Kind::kInvalid) {
      switch (p) {
        case Param::kAny:
        case Param::kValue:
        case Param::kNone:
          return v;
        case Param::kSamples:
          return Value{.kind = Kind::kSamples, .samples = std::make_shared<const Samples>()};
        case Param::kSample:
          return Value{.kind = Kind::kSample};
        case Param::kStringSlice:
          return Value{.kind = Kind::kObject, .object = MakeStringSlice({})};
        default:
          return Errorf("invalid value; expected " + ParamName(p));
      }
    }
    const bool ok =
        p == Param::kAny || p == Param::kValue || p == Param::kNone ||
        (p == Param::kString && v.kind == Kind::kString) ||
        (p == Param::kFloat64 && v.kind == Kind::kFloat) ||
        (p == Param::kSamples && v.kind == Kind::kSamples) ||
        (p == Param::kSample && v.kind == Kind::kSample) ||
        (p == Param::kStringSlice && v.kind == Kind::kObject && v.object->TypeName() == "[]string");
    if (!ok) {
      return Errorf("wrong type for value; expected " + ParamName(p) + "; got " + TypeName(v));
    }
    return v;
  }

  Result<Value> EvalArg(const Value& dot, Param p, const Node& n) {
    At(n);
    switch (n.type) {
      case NodeType::kDot:
        return ValidateType(dot, p);
      case NodeType::kNil:
        if (p == Param::kAny) return Value{};
        if (p == Param::kSamples || p == Param::kSample || p == Param::kStringSlice) {
          return ValidateType(Value{}, p);
        }
        return Errorf("cannot assign nil to " + ParamName(p));
      case NodeType::kField: {
        PLATOPS_ASSIGN_OR_RETURN(Value v, EvalFieldNode(dot, n, {&n}, Value::Missing()));
        return ValidateType(v, p);
      }
      case NodeType::kVariable: {
        PLATOPS_ASSIGN_OR_RETURN(Value v, EvalVariableNode(dot, n, {}, Value::Missing()));
        return ValidateType(v, p);
      }
      case NodeType::kPipe: {
        PLATOPS_ASSIGN_OR_RETURN(Value v, EvalPipeline(dot, n));
        return ValidateType(v, p);
      }
      case NodeType::kIdentifier: {
        PLATOPS_ASSIGN_OR_RETURN(Value v, EvalFunction(dot, n, n, {}, Value::Missing()));
        return ValidateType(v, p);
      }
      case NodeType::kChain: {
        PLATOPS_ASSIGN_OR_RETURN(Value v, EvalChainNode(dot, n, {}, Value::Missing()));
        return ValidateType(v, p);
      }
      default:
        break;
    }
    switch (p) {
      case Param::kString:
        if (n.type == NodeType::kString) return Value::String(n.str);
        return Errorf("expected string; found " + n.String());
      case Param::kFloat64:
        if (n.type == NodeType::kNumber && n.number.is_float) return Value::Float(n.number.f);
        return Errorf("expected float; found " + n.String());
      case Param::kAny:
      case Param::kValue:
      case Param::kNone:
        switch (n.type) {
          case NodeType::kBool:
            return Value::Bool(n.truth);
          case NodeType::kNumber:
            return IdealConstant(n);
          case NodeType::kString:
            return Value::String(n.str);
          default:
            break;
        }
        break;
      default:
        break;
    }
    return Errorf("can't handle " + n.String() + " for arg of type " + ParamName(p));
  }

  const Tree* tree_;  // the template being executed
  const FuncTable& funcs_;
  const TreeMap* templates_;
  CallContext ctx_;
  const bool html_;
  int depth_ = 0;
  const Node* at_ = nullptr;
  std::vector<std::pair<std::string, Value>> vars_;
  std::string out_;
};

}  // namespace

Result<Template> Template::Parse(std::string name, std::string_view text) {
  auto impl = std::make_shared<Impl>();
  Tree& tree = impl->tree;
  tree.name = std::move(name);
  tree.parse_name = tree.name;
  tree.text = std::make_shared<const std::string>(std::string(kDefinitions) + std::string(text));
  PLATOPS_ASSIGN_OR_RETURN(ParsedTrees trees,
                           Parser(tree.name, *tree.text, Functions(), false).Parse());
  tree.root = std::move(trees[tree.name]);
  return Template(std::move(impl));
}

Result<std::string> Template::Expand(const TemplateData& data) const {
  return Exec(impl_->tree, Functions(), nullptr, data, false)
      .Run(Value{.kind = Kind::kRoot, .root = &data});
}

const std::string& Template::name() const { return impl_->tree.name; }

std::shared_ptr<const TemplateObject> MakeStringSlice(std::vector<std::string> values) {
  return std::make_shared<const StringSlice>(std::move(values));
}

TemplateSet::TemplateSet() : impl_(std::make_shared<const Impl>()) {}

Status TemplateSet::Parse(std::string name, std::string_view text) {
  auto shared_text = std::make_shared<const std::string>(text);
  PLATOPS_ASSIGN_OR_RETURN(ParsedTrees parsed,
                           Parser(name, *shared_text, AlertmanagerFunctions(), true).Parse());
  auto impl = std::make_shared<Impl>(*impl_);
  for (auto& [tree_name, root] : parsed) {
    // text/template's associate: an empty template does not replace a non-empty one.
    if (impl->trees.contains(tree_name) && IsEmptyTree(*root)) continue;
    auto tree = std::make_shared<Tree>();
    tree->name = tree_name;
    tree->parse_name = name;
    tree->text = shared_text;
    tree->root = std::move(root);
    impl->trees[tree_name] = std::move(tree);
  }
  impl_ = std::move(impl);
  return Status::Ok();
}

bool TemplateSet::Has(std::string_view name) const { return impl_->trees.contains(name); }

Result<std::string> TemplateSet::Execute(std::string_view name, const TemplateValue& dot,
                                         bool html) const {
  auto it = impl_->trees.find(name);
  if (it == impl_->trees.end()) {
    return InvalidArgument("template: no template " + GoQuote(name) + " in the set");
  }
  static const TemplateData kNoPrometheusData;
  return Exec(*it->second, AlertmanagerFunctions(), &impl_->trees, kNoPrometheusData, html)
      .Run(FromHost(dot));
}

}  // namespace platops::alerting
