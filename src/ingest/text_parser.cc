#include "ingest/text_parser.h"

#include "base/metrics_registry.h"
#include "base/strings.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <unordered_map>
#include <utility>

namespace platops::ingest {
namespace {

using metrics::Label;
using metrics::Labels;

// OpenMetrics caps an exemplar's label names and values together at 128 UTF-8 characters.
constexpr size_t kMaxExemplarRunes = 128;

enum CharClass : uint8_t { kMetricStart = 1, kMetricChar = 2, kLabelStart = 4, kLabelChar = 8 };

constexpr std::array<uint8_t, 256> kClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    uint8_t v = 0;
    if (alpha || c == ':') v |= kMetricStart | kMetricChar;
    if (digit) v |= kMetricChar | kLabelChar;
    if (alpha) v |= kLabelStart | kLabelChar;
    t[static_cast<size_t>(c)] = v;
  }
  return t;
}();

bool Is(char c, uint8_t cls) { return (kClass[static_cast<unsigned char>(c)] & cls) != 0; }


size_t RuneCount(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// What the parser found where it expected something else, for error messages.
std::string Describe(const char* p, const char* end) {
  if (p >= end) return "end of input";
  unsigned char c = static_cast<unsigned char>(*p);
  if (c == '\n') return "line feed";
  if (c == ' ') return "space";
  if (c == '\t') return "tab";
  if (c < 0x20 || c >= 0x7F) {
    static constexpr char kHex[] = "0123456789abcdef";
    return std::string("byte 0x") + kHex[c >> 4] + kHex[c & 15];
  }
  return std::string("'") + static_cast<char>(c) + "'";
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Sorts labels[0, n) by name (insertion sort: label sets are small), rejects duplicate names,
// drops empty values and trims the vector to the result.
std::optional<std::string> Finish(Labels& labels, size_t n) {
  for (size_t i = 1; i < n; ++i) {
    for (size_t j = i; j > 0 && labels[j].name < labels[j - 1].name; --j) {
      std::swap(labels[j], labels[j - 1]);
    }
  }
  size_t out = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && labels[i].name == labels[i - 1].name) return labels[i].name;
  }
  for (size_t i = 0; i < n; ++i) {
    if (labels[i].value.empty()) continue;
    if (out != i) std::swap(labels[out], labels[i]);
    ++out;
  }
  labels.resize(out);
  return std::nullopt;
}

bool ValidPromType(std::string_view t) {
  return t == "counter" || t == "gauge" || t == "histogram" || t == "summary" || t == "untyped";
}

bool ValidOmType(std::string_view t) {
  return t == "counter" || t == "gauge" || t == "histogram" || t == "gaugehistogram" ||
         t == "summary" || t == "info" || t == "stateset" || t == "unknown";
}

// Whether a sample named `family` + `suffix` is part of a family of type `type` (OpenMetrics).
bool SuffixFits(std::string_view type, std::string_view suffix) {
  if (type == "counter") return suffix == "_total" || suffix == "_created";
  if (type == "histogram") {
    return suffix == "_bucket" || suffix == "_count" || suffix == "_sum" || suffix == "_created";
  }
  if (type == "gaugehistogram")
    return suffix == "_bucket" || suffix == "_gcount" || suffix == "_gsum";
  if (type == "summary") {
    return suffix.empty() || suffix == "_count" || suffix == "_sum" || suffix == "_created";
  }
  if (type == "info") return suffix == "_info";
  return suffix.empty();  // gauge, stateset, unknown
}

class Parser {
 public:
  Parser(Format format, std::string_view body, const SampleCallback& on_sample,
         const MetaCallback& on_meta, const ParseOptions& options)
      : om_(format == Format::kOpenMetrics1),
        p_(body.data()),
        end_(body.data() + body.size()),
        on_sample_(on_sample),
        on_meta_(on_meta),
        options_(options) {}

  Result<ParseStats> Run() {
    while (p_ < end_) {
      ++line_;
      ++stats_.lines;
      if (om_) {
        if (eof_seen_) return Error("unexpected data after # EOF");
        if (*p_ == '#') {
          PLATOPS_RETURN_IF_ERROR(OmComment());
        } else if (*p_ == '\n') {
          return Error("empty line (OpenMetrics allows none)");
        } else {
          PLATOPS_RETURN_IF_ERROR(SampleLine());
        }
      } else {
        SkipBlanks();
        if (p_ == end_) break;
        if (*p_ == '\n') {
          ++p_;
          continue;
        }
        if (*p_ == '#') {
          PLATOPS_RETURN_IF_ERROR(PromComment());
        } else {
          PLATOPS_RETURN_IF_ERROR(SampleLine());
        }
      }
      if (stats_.stopped) return stats_;
    }
    if (om_ && !eof_seen_) {
      if (line_ == 0 || end_[-1] == '\n') ++line_;
      return Error("missing # EOF at the end of the body");
    }
    FlushMeta();
    return stats_;
  }

 private:
  Status Error(std::string message) const {
    return InvalidArgument("line " + std::to_string(line_) + ": " + message);
  }
  std::string Found() const { return Describe(p_, end_); }

  void SkipBlanks() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t')) ++p_;
  }
  void SkipLine() {
    const void* nl = std::memchr(p_, '\n', static_cast<size_t>(end_ - p_));
    p_ = nl ? static_cast<const char*>(nl) + 1 : end_;
  }
  std::string_view ScanMetricName() {
    const char* b = p_;
    if (p_ < end_ && Is(*p_, kMetricStart)) {
      ++p_;
      while (p_ < end_ && Is(*p_, kMetricChar)) ++p_;
    }
    return {b, static_cast<size_t>(p_ - b)};
  }
  std::string_view ScanLabelName() {
    const char* b = p_;
    if (p_ < end_ && Is(*p_, kLabelStart)) {
      ++p_;
      while (p_ < end_ && Is(*p_, kLabelChar)) ++p_;
    }
    return {b, static_cast<size_t>(p_ - b)};
  }
  // The token up to the next space or line feed (and, in 0.0.4, tab or '{').
  std::string_view ScanToken() {
    const char* b = p_;
    if (om_) {
      while (p_ < end_ && *p_ != ' ' && *p_ != '\n') ++p_;
    } else {
      while (p_ < end_ && *p_ != ' ' && *p_ != '\t' && *p_ != '\n' && *p_ != '{') ++p_;
    }
    return {b, static_cast<size_t>(p_ - b)};
  }
  // The rest of a metadata line, consuming its line feed.
  Result<std::string_view> RestOfLine(std::string_view what) {
    const void* nl = std::memchr(p_, '\n', static_cast<size_t>(end_ - p_));
    if (!nl) return Error(std::string(what) + " line must end with a line feed");
    std::string_view text(p_, static_cast<size_t>(static_cast<const char*>(nl) - p_));
    p_ = static_cast<const char*>(nl) + 1;
    return text;
  }

  // HELP escapes: 0.0.4 knows \\ and \n; OpenMetrics also \". Other escapes stay as written.
  Status SetHelp(std::string_view family, std::string_view text) {
    MetricMeta& m = MetaFor(family);
    m.help.clear();
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (c == '\\' && i + 1 < text.size()) {
        char e = text[i + 1];
        if (e == '\\' || e == 'n' || (om_ && e == '"')) {
          m.help += e == 'n' ? '\n' : e;
          ++i;
          continue;
        }
      }
      m.help += c;
    }
    if (!IsValidUtf8(m.help)) return Error("HELP text of " + Quote(family) + " is not valid UTF-8");
    return Status::Ok();
  }

  MetricMeta& MetaFor(std::string_view family) {
    if (meta_pending_ && meta_.family != family) FlushMeta();
    if (!meta_pending_) {
      meta_pending_ = true;
      meta_.family.assign(family);
      meta_.type.assign(om_ ? "unknown" : "untyped");
      meta_.help.clear();
      meta_.unit.clear();
    }
    return meta_;
  }

  void FlushMeta() {
    if (!meta_pending_) return;
    meta_pending_ = false;
    ++stats_.metadata;
    if (on_meta_) on_meta_(std::move(meta_));
  }

  // p_ at '#'. Prometheus treats anything but "# HELP name text" and "# TYPE name type" as a
  // comment.
  Status PromComment() {
    ++p_;
    if (p_ < end_ && (*p_ == ' ' || *p_ == '\t')) {
      SkipBlanks();
      std::string_view rest(p_, static_cast<size_t>(end_ - p_));
      bool help = rest.starts_with("HELP");
      bool type = rest.starts_with("TYPE");
      if ((help || type) && rest.size() > 4 && (rest[4] == ' ' || rest[4] == '\t')) {
        std::string_view what = help ? "HELP" : "TYPE";
        p_ += 4;
        SkipBlanks();
        std::string_view name = ScanMetricName();
        if (name.empty()) {
          return Error("expected metric name after " + std::string(what) + ", got " + Found());
        }
        if (p_ < end_ && (*p_ == ' ' || *p_ == '\t')) {
          ++p_;
        } else if (p_ < end_ && *p_ != '\n') {
          return Error("expected whitespace after metric name " + Quote(name) + " in " +
                       std::string(what) + ", got " + Found());
        }
        PLATOPS_ASSIGN_OR_RETURN(std::string_view text, RestOfLine(what));
        if (help) return SetHelp(name, text);
        if (!ValidPromType(text)) return Error("invalid metric type " + Quote(text));
        MetaFor(name).type.assign(text);
        return Status::Ok();
      }
    }
    SkipLine();
    return Status::Ok();
  }

  // p_ at '#'. OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF.
  Status OmComment() {
    static constexpr const char* kOnly = "OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF";
    if (end_ - p_ < 2 || p_[1] != ' ') return Error(std::string("invalid comment: ") + kOnly);
    p_ += 2;
    std::string_view rest(p_, static_cast<size_t>(end_ - p_));
    if (rest.starts_with("EOF") && (rest.size() == 3 || rest[3] == '\n')) {
      p_ += rest.size() == 3 ? 3 : 4;
      eof_seen_ = true;
      return Status::Ok();
    }
    std::string_view what = rest.substr(0, 4);
    if (rest.size() < 5 || rest[4] != ' ' || (what != "HELP" && what != "TYPE" && what != "UNIT")) {
      return Error(std::string("invalid comment: ") + kOnly);
    }
    p_ += 5;
    std::string_view name = ScanMetricName();
    if (name.empty()) {
      return Error("expected metric family name after " + std::string(what) + ", got " + Found());
    }
    if (p_ >= end_ || *p_ != ' ') {
      return Error("expected a space after metric family name " + Quote(name) + " in " +
                   std::string(what) + ", got " + Found());
    }
    ++p_;
    PLATOPS_ASSIGN_OR_RETURN(std::string_view text, RestOfLine(what));

    if (family_ != name) {
      PLATOPS_RETURN_IF_ERROR(StartFamily(name));
    } else if (family_has_samples_) {
      return Error(std::string(what) + " line for " + Quote(name) + " after its samples");
    }
    bool& seen = what == "HELP" ? has_help_ : what == "TYPE" ? has_type_ : has_unit_;
    if (seen) return Error("second " + std::string(what) + " line for " + Quote(name));
    seen = true;

    if (what == "HELP") return SetHelp(name, text);
    if (what == "TYPE") {
      if (!ValidOmType(text)) return Error("invalid metric type " + Quote(text));
      family_type_.assign(text);
      *seen_type_ = family_type_;
      MetaFor(name).type.assign(text);
      return Status::Ok();
    }
    if (!text.empty() && !(name.size() > text.size() && name.ends_with(text) &&
                           name[name.size() - text.size() - 1] == '_')) {
      return Error("unit " + Quote(text) + " is not a suffix of metric family " + Quote(name));
    }
    MetaFor(name).unit.assign(text);
    return Status::Ok();
  }

  // Begins OpenMetrics family `name`; each family may appear once, its lines together.
  Status StartFamily(std::string_view name) {
    auto [it, inserted] = seen_families_.try_emplace(std::string(name), "unknown");
    if (!inserted) {
      return Error("metric family " + Quote(name) +
                   " appears twice (OpenMetrics families must not be interleaved or repeated)");
    }
    FlushMeta();
    family_.assign(name);
    family_type_.assign("unknown");
    seen_type_ = &it->second;
    has_help_ = has_type_ = has_unit_ = false;
    family_has_samples_ = false;
    last_sample_name_.clear();
    return Status::Ok();
  }

  // Rejects a sample that belongs to a family that ended earlier, e.g. x_count after x_bucket's
  // family was followed by another family.
  Status EarlierFamilyCheck(std::string_view name) const {
    for (std::string_view suffix :
         {"_total", "_created", "_bucket", "_count", "_sum", "_gcount", "_gsum", "_info"}) {
      if (name.size() <= suffix.size() || !name.ends_with(suffix)) continue;
      auto it = seen_families_.find(std::string(name.substr(0, name.size() - suffix.size())));
      if (it != seen_families_.end() && SuffixFits(it->second, suffix)) {
        return Error("sample " + Quote(name) + " of metric family " + Quote(it->first) +
                     " appears after another family (OpenMetrics families must not be "
                     "interleaved)");
      }
    }
    return Status::Ok();
  }

  Label& Slot(Labels& labels, size_t i) {
    if (labels.size() <= i) labels.resize(i + 1);
    return labels[i];
  }

  // p_ just after '{'. Fills labels[n...] and returns the new count; p_ ends after '}'.
  Result<size_t> LabelSet(Labels& labels, size_t n) {
    bool need_name = false;
    for (;;) {
      if (!om_) SkipBlanks();
      if (p_ < end_ && *p_ == '}') {
        if (om_ && need_name) return Error("expected label name after ',', got '}'");
        ++p_;
        return n;
      }
      std::string_view name = ScanLabelName();
      if (name.empty()) return Error("expected label name or '}', got " + Found());
      if (!om_) SkipBlanks();
      if (p_ >= end_ || *p_ != '=') {
        return Error("expected '=' after label name " + Quote(name) + ", got " + Found());
      }
      ++p_;
      if (!om_) SkipBlanks();
      if (p_ >= end_ || *p_ != '"') {
        return Error("expected '\"' to open the value of label " + Quote(name) + ", got " +
                     Found());
      }
      ++p_;
      Label& label = Slot(labels, n);
      label.name.assign(name);
      PLATOPS_RETURN_IF_ERROR(LabelValue(label.value, name));
      ++n;
      if (!om_) SkipBlanks();
      if (p_ < end_ && *p_ == ',') {
        ++p_;
        need_name = true;
        continue;
      }
      if (p_ < end_ && *p_ == '}') {
        ++p_;
        return n;
      }
      return Error("expected ',' or '}' after the value of label " + Quote(name) + ", got " +
                   Found());
    }
  }

  // p_ just after the opening '"'; unescapes \\, \" and \n (others stay as written, as in
  // Prometheus) into `out`; p_ ends after the closing '"'.
  Status LabelValue(std::string& out, std::string_view name) {
    out.clear();
    unsigned char high = 0;
    const char* start = p_;
    while (p_ < end_) {
      char c = *p_;
      if (c == '"') {
        out.append(start, static_cast<size_t>(p_ - start));
        ++p_;
        if ((high & 0x80) && !IsValidUtf8(out)) {
          return Error("invalid UTF-8 in the value of label " + Quote(name));
        }
        return Status::Ok();
      }
      if (c == '\\') {
        out.append(start, static_cast<size_t>(p_ - start));
        if (end_ - p_ < 2 || p_[1] == '\n') break;
        char e = p_[1];
        if (e == 'n') {
          out += '\n';
        } else if (e == '\\' || e == '"') {
          out += e;
        } else {
          out += '\\';
          out += e;
          high |= static_cast<unsigned char>(e);
        }
        p_ += 2;
        start = p_;
        continue;
      }
      if (c == '\n') break;
      high |= static_cast<unsigned char>(c);
      ++p_;
    }
    return Error("unterminated value of label " + Quote(name) +
                 " (a line feed inside must be written \\n)");
  }

  Result<double> Value(std::string_view what) {
    std::string_view token = ScanToken();
    if (token.empty()) return Error("expected " + std::string(what) + ", got " + Found());
    std::optional<double> v = ParseFloatValue(token);
    if (!v) return Error("invalid " + std::string(what) + " " + Quote(token));
    return *v;
  }

  // 0.0.4: integer milliseconds, negative before 1970 (the spec's own example). OpenMetrics:
  // seconds, possibly fractional or with an exponent.
  Result<int64_t> Timestamp() {
    std::string_view token = ScanToken();
    if (token.empty()) return Error("expected timestamp or line feed, got " + Found());
    if (!om_) {
      int64_t ms = 0;
      auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), ms);
      bool digit_first = token[0] >= '0' && token[0] <= '9';
      bool minus_digit = token.size() > 1 && token[0] == '-' && token[1] >= '0' && token[1] <= '9';
      if (!(digit_first || minus_digit) || ec != std::errc() ||
          ptr != token.data() + token.size()) {
        return Error("invalid timestamp " + Quote(token) + " (want integer milliseconds)");
      }
      return ms;
    }
    std::optional<int64_t> ms = OmTimestampMs(token);
    if (!ms) return Error("invalid timestamp " + Quote(token) + " (want seconds)");
    return *ms;
  }

  static std::optional<int64_t> OmTimestampMs(std::string_view s) {
    // Plain decimals are converted exactly; the float path below would turn 1.001 into 1000 ms.
    size_t i = 0;
    bool neg = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    size_t int_begin = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    size_t int_len = i - int_begin;
    size_t frac_begin = i, frac_len = 0;
    if (i < s.size() && s[i] == '.') {
      frac_begin = ++i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
      frac_len = i - frac_begin;
    }
    if (i == s.size() && int_len + frac_len > 0 && int_len <= 15) {
      int64_t ms = 0;
      for (size_t k = 0; k < int_len; ++k) ms = ms * 10 + (s[int_begin + k] - '0');
      for (size_t k = 0; k < 3; ++k) ms = ms * 10 + (k < frac_len ? s[frac_begin + k] - '0' : 0);
      return neg ? -ms : ms;
    }
    std::optional<double> v = ParseFloatValue(s);
    if (!v || !std::isfinite(*v)) return std::nullopt;
    double ms = std::trunc(*v * 1000.0);
    if (!(ms > -9.2e18 && ms < 9.2e18)) return std::nullopt;
    return static_cast<int64_t>(ms);
  }

  // p_ at '#' after a sample's value or timestamp.
  Status ExemplarPart() {
    if (end_ - p_ < 3 || p_[1] != ' ' || p_[2] != '{') {
      return Error("expected \"# {\" to open an exemplar, got " + Found());
    }
    p_ += 3;
    Exemplar& ex = sample_.exemplar;
    PLATOPS_ASSIGN_OR_RETURN(size_t n, LabelSet(ex.labels, 0));
    size_t runes = 0;
    for (size_t i = 0; i < n; ++i) {
      runes += RuneCount(ex.labels[i].name) + RuneCount(ex.labels[i].value);
    }
    if (runes > kMaxExemplarRunes) {
      return Error("exemplar labels have " + std::to_string(runes) + " characters; the limit is " +
                   std::to_string(kMaxExemplarRunes));
    }
    if (auto dup = Finish(ex.labels, n))
      return Error("duplicate exemplar label name " + Quote(*dup));
    if (p_ >= end_ || *p_ != ' ')
      return Error("expected a space after exemplar labels, got " + Found());
    ++p_;
    PLATOPS_ASSIGN_OR_RETURN(ex.value, Value("exemplar value"));
    ex.timestamp_ms.reset();
    if (p_ < end_ && *p_ == ' ') {
      ++p_;
      PLATOPS_ASSIGN_OR_RETURN(int64_t ts, Timestamp());
      ex.timestamp_ms = ts;
    }
    sample_.has_exemplar = true;
    return Status::Ok();
  }

  Status SampleLine() {
    std::string_view name = ScanMetricName();
    if (name.empty()) return Error("expected metric name at the start of a line, got " + Found());
    Labels& labels = sample_.labels;
    Label& first = Slot(labels, 0);
    first.name.assign(metrics::kMetricName);
    first.value.assign(name);
    size_t n = 1;
    if (!om_) SkipBlanks();
    if (p_ < end_ && *p_ == '{') {
      ++p_;
      PLATOPS_ASSIGN_OR_RETURN(n, LabelSet(labels, n));
    }
    if (om_) {
      if (p_ >= end_ || *p_ != ' ') {
        return Error("expected a space and a value after " + Quote(name) + ", got " + Found());
      }
      ++p_;
    } else {
      SkipBlanks();
    }
    PLATOPS_ASSIGN_OR_RETURN(sample_.value, Value("value of " + Quote(name)));
    sample_.timestamp_ms.reset();
    sample_.has_exemplar = false;
    if (om_) {
      if (p_ < end_ && *p_ == ' ') {
        ++p_;
        if (p_ < end_ && *p_ != '#') {
          PLATOPS_ASSIGN_OR_RETURN(int64_t ts, Timestamp());
          sample_.timestamp_ms = ts;
          if (p_ < end_ && *p_ == ' ') {
            ++p_;
            if (p_ >= end_ || *p_ != '#') {
              return Error("expected \"# {\" to open an exemplar, got " + Found());
            }
          }
        }
        if (p_ < end_ && *p_ == '#') PLATOPS_RETURN_IF_ERROR(ExemplarPart());
      }
    } else {
      SkipBlanks();
      if (p_ < end_ && *p_ != '\n') {
        PLATOPS_ASSIGN_OR_RETURN(int64_t ts, Timestamp());
        sample_.timestamp_ms = ts;
        SkipBlanks();
      }
    }
    if (p_ >= end_) {
      return Error(om_ ? "missing # EOF at the end of the body"
                       : "the last line must end with a line feed");
    }
    if (*p_ != '\n') return Error("expected line feed after the sample, got " + Found());
    ++p_;
    if (auto dup = Finish(labels, n)) return Error("duplicate label name " + Quote(*dup));

    bool skip = false;
    if (om_) {
      if (name != last_sample_name_) {
        // A sample named exactly like its family is accepted whatever the type, as Prometheus
        // does: exporters write "# TYPE x_total counter" then "x_total 1".
        bool fits = !family_.empty() && name.starts_with(family_) &&
                    (name.size() == family_.size() ||
                     SuffixFits(family_type_, name.substr(family_.size())));
        if (!fits) {
          PLATOPS_RETURN_IF_ERROR(EarlierFamilyCheck(name));
          PLATOPS_RETURN_IF_ERROR(StartFamily(name));
        }
        family_has_samples_ = true;
        last_sample_name_.assign(name);
        last_is_created_ =
            fits && name.size() > family_.size() && name.substr(family_.size()) == "_created";
      }
      skip = options_.skip_created_series && last_is_created_;
    }
    FlushMeta();
    if (skip) return Status::Ok();
    ++stats_.samples;
    if (sample_.has_exemplar) ++stats_.exemplars;
    if (!on_sample_(std::move(sample_))) stats_.stopped = true;
    return Status::Ok();
  }

  const bool om_;
  const char* p_;
  const char* const end_;
  const SampleCallback& on_sample_;
  const MetaCallback& on_meta_;
  const ParseOptions& options_;
  int64_t line_ = 0;
  ParseStats stats_;
  Sample sample_;
  MetricMeta meta_;
  bool meta_pending_ = false;
  // OpenMetrics family state: the current family, what it has seen, every family so far.
  std::string family_;
  std::string family_type_ = "unknown";
  bool has_help_ = false, has_type_ = false, has_unit_ = false;
  bool family_has_samples_ = false;
  std::string last_sample_name_;
  bool last_is_created_ = false;
  // Every family so far and its type; seen_type_ points at the current family's entry.
  std::unordered_map<std::string, std::string> seen_families_;
  std::string* seen_type_ = nullptr;
  bool eof_seen_ = false;
};

}  // namespace

Format FormatForContentType(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  return EqualsIgnoreCase(media, "application/openmetrics-text") ? Format::kOpenMetrics1
                                                                 : Format::kPrometheus004;
}

std::string_view FormatName(Format format) {
  return format == Format::kOpenMetrics1 ? "openmetrics-1.0" : "prometheus-0.0.4";
}

Result<ParseStats> Parse(Format format, std::string_view body, const SampleCallback& on_sample,
                         const MetaCallback& on_meta, const ParseOptions& options) {
  Parser parser(format, body, on_sample, on_meta, options);
  return parser.Run();
}

std::optional<double> ParseFloatValue(std::string_view text) {
  const char* b = text.data();
  const char* e = b + text.size();
  if (b == e) return std::nullopt;
  bool neg = false, sign = false;
  if (*b == '+' || *b == '-') {
    neg = *b == '-';
    sign = true;
    if (++b == e) return std::nullopt;
  }
  std::string_view rest(b, static_cast<size_t>(e - b));
  if (EqualsIgnoreCase(rest, "inf") || EqualsIgnoreCase(rest, "infinity")) {
    return neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  if (EqualsIgnoreCase(rest, "nan")) {
    if (sign) return std::nullopt;  // Go accepts no sign on NaN.
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (!((*b >= '0' && *b <= '9') || *b == '.')) return std::nullopt;
  if (rest.size() > 1 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X')) return std::nullopt;
  double v = 0;
  auto [ptr, ec] = std::from_chars(b, e, v, std::chars_format::general);
  if (ptr != e) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // Overflow is an error (as in Go); underflow rounds to the nearest subnormal or zero.
    std::string copy(rest);
    v = std::strtod(copy.c_str(), nullptr);
    if (std::isinf(v)) return std::nullopt;
  } else if (ec != std::errc()) {
    return std::nullopt;
  }
  return neg ? -v : v;
}

std::string FormatFloatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, ec == std::errc() ? end : buf);
}

std::string FormatSampleLine(const Sample& sample) {
  std::string out(metrics::Get(sample.labels, metrics::kMetricName));
  bool open = false;
  for (const auto& l : sample.labels) {
    if (l.name == metrics::kMetricName) continue;
    out += open ? ',' : '{';
    open = true;
    out += l.name;
    out += "=\"";
    out += EscapeLabelValue(l.value);
    out += '"';
  }
  if (open) out += '}';
  out += ' ';
  out += FormatFloatValue(sample.value);
  if (sample.timestamp_ms) {
    out += ' ';
    out += std::to_string(*sample.timestamp_ms);
  }
  out += '\n';
  return out;
}

}  // namespace platops::ingest
