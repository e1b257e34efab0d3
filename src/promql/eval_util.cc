// Helpers of the PromQL evaluator: label manipulation, Prometheus-compatible hashing and number
// formatting, quantiles, natural sort, output collection.

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "promql/eval_internal.h"

namespace platops::promql::eval {
namespace {

template <typename L>
auto FindLabel(L& labels, std::string_view name) {
  return std::lower_bound(labels.begin(), labels.end(), name,
                          [](const Label& l, std::string_view n) { return l.name < n; });
}

bool Contains(std::span<const std::string> names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool IsLegacyLabelName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

constexpr uint64_t kP1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kP2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kP3 = 0x165667B19E3779F9ULL;
constexpr uint64_t kP4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t kP5 = 0x27D4EB2F165667C5ULL;

uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
uint64_t Read64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;  // Little-endian hosts only (x86-64, aarch64), as XXH64 specifies.
}
uint32_t Read32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t Round(uint64_t acc, uint64_t input) {
  acc += input * kP2;
  acc = Rotl(acc, 31);
  return acc * kP1;
}
uint64_t MergeRound(uint64_t acc, uint64_t val) {
  acc ^= Round(0, val);
  return acc * kP1 + kP4;
}

}  // namespace

std::string_view GetLabel(const Labels& labels, std::string_view name) {
  auto it = FindLabel(labels, name);
  if (it != labels.end() && it->name == name) return it->value;
  return {};
}

void SetLabel(Labels& labels, std::string_view name, std::string_view value) {
  auto it = FindLabel(labels, name);
  const bool found = it != labels.end() && it->name == name;
  if (value.empty()) {
    if (found) labels.erase(it);
    return;
  }
  if (found) {
    it->value.assign(value);
  } else {
    labels.insert(it, Label{std::string(name), std::string(value)});
  }
}

void DelLabel(Labels& labels, std::string_view name) {
  auto it = FindLabel(labels, name);
  if (it != labels.end() && it->name == name) labels.erase(it);
}

Labels KeepLabels(const Labels& labels, std::span<const std::string> names) {
  Labels out;
  for (const Label& l : labels) {
    if (Contains(names, l.name)) out.push_back(l);
  }
  return out;
}

Labels DropLabels(const Labels& labels, std::span<const std::string> names) {
  Labels out;
  out.reserve(labels.size());
  for (const Label& l : labels) {
    if (!Contains(names, l.name)) out.push_back(l);
  }
  return out;
}

Labels WithoutName(const Labels& labels) {
  Labels out = labels;
  DelLabel(out, metrics::kMetricName);
  return out;
}

std::string LabelsString(const Labels& labels) {
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ", ";
    out += IsLegacyLabelName(labels[i].name) ? labels[i].name : QuoteString(labels[i].name);
    out += '=';
    out += QuoteString(labels[i].value);
  }
  return out + "}";
}

void SignatureKey(const Labels& labels, std::span<const std::string> names, bool on,
                  std::string& out) {
  out.clear();
  for (const Label& l : labels) {
    const bool listed = std::binary_search(names.begin(), names.end(), l.name);
    if (on ? !listed : (listed || l.name == metrics::kMetricName)) continue;
    out += l.name;
    out += '\xff';
    out += l.value;
    out += '\xff';
  }
}

uint64_t XxHash64(std::string_view data, uint64_t seed) {
  const char* p = data.data();
  const char* end = p + data.size();
  uint64_t h;
  if (data.size() >= 32) {
    uint64_t v1 = seed + kP1 + kP2;
    uint64_t v2 = seed + kP2;
    uint64_t v3 = seed;
    uint64_t v4 = seed - kP1;
    const char* limit = end - 32;
    do {
      v1 = Round(v1, Read64(p));
      v2 = Round(v2, Read64(p + 8));
      v3 = Round(v3, Read64(p + 16));
      v4 = Round(v4, Read64(p + 24));
      p += 32;
    } while (p <= limit);
    h = Rotl(v1, 1) + Rotl(v2, 7) + Rotl(v3, 12) + Rotl(v4, 18);
    h = MergeRound(h, v1);
    h = MergeRound(h, v2);
    h = MergeRound(h, v3);
    h = MergeRound(h, v4);
  } else {
    h = seed + kP5;
  }
  h += static_cast<uint64_t>(data.size());
  while (p + 8 <= end) {
    h ^= Round(0, Read64(p));
    h = Rotl(h, 27) * kP1 + kP4;
    p += 8;
  }
  if (p + 4 <= end) {
    h ^= static_cast<uint64_t>(Read32(p)) * kP1;
    h = Rotl(h, 23) * kP2 + kP3;
    p += 4;
  }
  while (p < end) {
    h ^= static_cast<uint64_t>(static_cast<unsigned char>(*p)) * kP5;
    h = Rotl(h, 11) * kP1;
    ++p;
  }
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

uint64_t LabelsHash(const Labels& labels) {
  std::string buf;
  size_t n = 0;
  for (const Label& l : labels) n += l.name.size() + l.value.size() + 2;
  buf.reserve(n);
  for (const Label& l : labels) {
    buf += l.name;
    buf += '\xff';
    buf += l.value;
    buf += '\xff';
  }
  return XxHash64(buf);
}

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    const size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const bool ok = (len == 2 && cp >= 0x80) ||
                    (len == 3 && cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) ||
                    (len == 4 && cp >= 0x10000 && cp <= 0x10FFFF);
    if (!ok) return false;
    i += len;
  }
  return true;
}

bool ValidLabelName(std::string_view name) { return !name.empty() && ValidUtf8(name); }

double Quantile(double q, std::vector<double>& values) {
  if (values.empty() || std::isnan(q)) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  std::sort(values.begin(), values.end(), [](double a, double b) {
    if (std::isnan(a)) return !std::isnan(b);
    return a < b;
  });
  const double n = static_cast<double>(values.size());
  const double rank = q * (n - 1);
  const double lower = std::max(0.0, std::floor(rank));
  const double upper = std::min(n - 1, lower + 1);
  const double weight = rank - std::floor(rank);
  return values[static_cast<size_t>(lower)] * (1 - weight) +
         values[static_cast<size_t>(upper)] * weight;
}

std::string FormatFloatGo(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  return std::string(buf, res.ptr);
}

std::optional<double> ParseFloatGo(std::string_view s) {
  if (s.empty() || s.size() > 256) return std::nullopt;
  const char c0 = s[0];
  if (c0 == ' ' || c0 == '\t' || c0 == '\n' || c0 == '\r' || c0 == '\f' || c0 == '\v') {
    return std::nullopt;
  }
  std::string str(s);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(str.c_str(), &end);
  if (end != str.c_str() + str.size()) return std::nullopt;
  if (errno == ERANGE && std::isinf(v)) return std::nullopt;
  return v;
}

bool NaturalLess(std::string_view a, std::string_view b) {
  auto chunks = [](std::string_view s) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < s.size()) {
      const bool digit = s[i] >= '0' && s[i] <= '9';
      size_t j = i + 1;
      while (j < s.size() && (s[j] >= '0' && s[j] <= '9') == digit) ++j;
      out.push_back(s.substr(i, j - i));
      i = j;
    }
    return out;
  };
  auto to_int = [](std::string_view s) -> std::optional<int64_t> {
    int64_t v = 0;
    if (s.empty() || !(s[0] >= '0' && s[0] <= '9')) return std::nullopt;
    auto res = std::from_chars(s.data(), s.data() + s.size(), v);
    if (res.ec != std::errc() || res.ptr != s.data() + s.size()) return std::nullopt;
    return v;
  };
  const auto ca = chunks(a);
  const auto cb = chunks(b);
  for (size_t i = 0; i < ca.size(); ++i) {
    if (i >= cb.size()) return false;
    const auto ai = to_int(ca[i]);
    const auto bi = to_int(cb[i]);
    if (ai && bi) {
      if (*ai == *bi) {
        if (i == ca.size() - 1) return true;
        if (i == cb.size() - 1) return false;
        continue;
      }
      return *ai < *bi;
    }
    if (ca[i] == cb[i]) {
      if (i == ca.size() - 1) return true;
      if (i == cb.size() - 1) return false;
      continue;
    }
    return ca[i] < cb[i];
  }
  return false;
}

size_t SeriesCollector::Intern(Labels labels, bool drop_name) {
  const uint64_t h = LabelsHash(labels);
  auto& bucket = index_[h];
  for (size_t idx : bucket) {
    if (out_[idx].labels == labels) return idx;
  }
  bucket.push_back(out_.size());
  out_.push_back(EvalSeries{std::move(labels), {}, drop_name});
  return out_.size() - 1;
}

SeriesSet SeriesCollector::Take() {
  SeriesSet out;
  out.reserve(out_.size());
  for (auto& s : out_) {
    if (!s.points.empty()) out.push_back(std::move(s));
  }
  out_.clear();
  index_.clear();
  return out;
}

StepIndex::StepIndex(const SeriesSet& set, const StepRange& r) {
  const size_t steps = r.NumSteps();
  offsets_.assign(steps + 1, 0);
  // Points sit at step times in ascending order: find their steps by walking, not dividing.
  auto for_each_point = [&](auto&& fn) {
    for (size_t i = 0; i < set.size(); ++i) {
      size_t k = 0;
      int64_t step_time = r.start;
      for (const Sample& p : set[i].points) {
        while (step_time < p.t) {
          ++k;
          step_time += r.interval;
        }
        fn(i, k, p.v);
      }
    }
  };
  for_each_point([&](size_t, size_t k, double) { ++offsets_[k + 1]; });
  for (size_t k = 0; k < steps; ++k) offsets_[k + 1] += offsets_[k];
  entries_.resize(offsets_[steps]);
  std::vector<size_t> fill(offsets_.begin(), offsets_.end() - 1);
  for_each_point([&](size_t i, size_t k, double v) {
    entries_[fill[k]++] = Entry{static_cast<uint32_t>(i), v};
  });
}

void Annotations::Warn(std::string msg) {
  if (seen_.insert(msg).second) warnings_.push_back(std::move(msg));
}

void Annotations::Info(std::string msg) {
  if (seen_.insert(msg).second) infos_.push_back(std::move(msg));
}

int64_t TotalPoints(const SeriesSet& set) {
  int64_t n = 0;
  for (const auto& s : set) n += static_cast<int64_t>(s.points.size());
  return n;
}

const Expr& Unparen(const Expr& e) {
  const Expr* p = &e;
  while (p->kind == ExprKind::kParen) p = static_cast<const ParenExpr*>(p)->expr.get();
  return *p;
}

Labels AbsentLabels(const Expr& arg) {
  const Expr& e = Unparen(arg);
  const std::vector<metrics::Matcher>* matchers = nullptr;
  if (e.kind == ExprKind::kVectorSelector) {
    matchers = &static_cast<const VectorSelector&>(e).matchers;
  } else if (e.kind == ExprKind::kMatrixSelector) {
    matchers = &static_cast<const MatrixSelector&>(e).selector->matchers;
  } else {
    return {};
  }
  Labels out;
  std::unordered_set<std::string> has;
  for (const auto& m : *matchers) {
    if (m.name == metrics::kMetricName) continue;
    if (m.type == metrics::MatchType::kEqual && !has.contains(m.name)) {
      SetLabel(out, m.name, m.value);
      has.insert(m.name);
    } else {
      DelLabel(out, m.name);
    }
  }
  return out;
}

}  // namespace platops::promql::eval
