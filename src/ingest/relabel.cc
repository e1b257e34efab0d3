#include "ingest/relabel.h"

#include <locale.h>
#include <re2/re2.h>
#include <wctype.h>

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include "base/strings.h"

namespace platops::ingest {

namespace json = boost::json;

// A replacement or target_label template, split once into literal text and submatch references
// with Go's regexp Expand rules, so relabeling a sample does no parsing.
struct Template {
  static constexpr int kLiteral = -1;
  static constexpr int kNothing = -2;  // A reference to a group that does not exist.
  struct Piece {
    std::string literal;
    int group = kLiteral;
  };
  std::vector<Piece> pieces;
  int max_group = 0;
  bool has_var = false;  // Contains '$' at all (Prometheus's varInRegexTemplate).
};

struct CompiledRelabel {
  std::unique_ptr<RE2> re;
  Template target;
  Template replacement;
  bool default_regex = false;
  int submatches = 1;  // How many submatch slots expansion needs (group 0 included).
};

namespace {

constexpr std::string_view kDefaultRegex = "(.*)";
constexpr std::string_view kDefaultReplacement = "$1";
constexpr std::string_view kDefaultSeparator = ";";

struct ActionName {
  RelabelAction action;
  std::string_view name;
};
constexpr ActionName kActions[] = {
    {RelabelAction::kReplace, "replace"},     {RelabelAction::kKeep, "keep"},
    {RelabelAction::kDrop, "drop"},           {RelabelAction::kKeepEqual, "keepequal"},
    {RelabelAction::kDropEqual, "dropequal"}, {RelabelAction::kHashMod, "hashmod"},
    {RelabelAction::kLabelMap, "labelmap"},   {RelabelAction::kLabelDrop, "labeldrop"},
    {RelabelAction::kLabelKeep, "labelkeep"}, {RelabelAction::kLowercase, "lowercase"},
    {RelabelAction::kUppercase, "uppercase"},
};

bool IsWordByte(unsigned char c) { return std::isalnum(c) || c == '_'; }

// Go's regexp name rule is Unicode letters, digits and '_'; bytes >= 0x80 are taken as letters.
bool IsTemplateNameByte(unsigned char c) { return IsWordByte(c) || c >= 0x80; }

// Go's regexp.extract: the name after '$' ("1", "name", "{name}"), or false when malformed.
bool ExtractName(std::string_view s, std::string_view& name, std::string_view& rest) {
  if (s.empty()) return false;
  bool brace = s[0] == '{';
  if (brace) s.remove_prefix(1);
  size_t i = 0;
  while (i < s.size() && IsTemplateNameByte(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0) return false;
  name = s.substr(0, i);
  if (brace) {
    if (i >= s.size() || s[i] != '}') return false;
    ++i;
  }
  rest = s.substr(i);
  return true;
}

// Go's group number rule: all digits, no leading zero, below 1e8; -1 otherwise.
int GroupNumber(std::string_view name) {
  long long num = 0;
  for (char c : name) {
    if (c < '0' || c > '9' || num >= 100000000) return -1;
    num = num * 10 + (c - '0');
  }
  if (name.size() > 1 && name[0] == '0') return -1;
  return static_cast<int>(num);
}

Template ParseTemplate(std::string_view t, const RE2& re) {
  Template out;
  out.has_var = t.find('$') != std::string_view::npos;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) out.pieces.push_back({std::move(literal), Template::kLiteral});
    literal.clear();
  };
  while (!t.empty()) {
    size_t dollar = t.find('$');
    if (dollar == std::string_view::npos) break;
    literal.append(t.substr(0, dollar));
    t.remove_prefix(dollar + 1);
    if (!t.empty() && t[0] == '$') {
      literal += '$';
      t.remove_prefix(1);
      continue;
    }
    std::string_view name;
    std::string_view rest;
    if (!ExtractName(t, name, rest)) {
      literal += '$';  // Malformed: the '$' is kept as text.
      continue;
    }
    t = rest;
    flush();
    int group = GroupNumber(name);
    if (group < 0) {
      const auto& named = re.NamedCapturingGroups();
      auto it = named.find(std::string(name));
      group = it == named.end() ? Template::kNothing : it->second;
    } else if (group > re.NumberOfCapturingGroups()) {
      group = Template::kNothing;
    }
    if (group >= 0) out.max_group = std::max(out.max_group, group);
    out.pieces.push_back({{}, group});
  }
  literal.append(t);
  flush();
  return out;
}

void Expand(const Template& t, const re2::StringPiece* sub, int nsub, std::string& out) {
  out.clear();
  for (const auto& p : t.pieces) {
    if (p.group == Template::kLiteral) {
      out += p.literal;
    } else if (p.group >= 0 && p.group < nsub && sub[p.group].data() != nullptr) {
      out.append(sub[p.group].data(), sub[p.group].size());
    }
  }
}

// Go's regexp ReplaceAllString with an Expand template.
void ReplaceAll(const CompiledRelabel& c, std::string_view src, std::string& out) {
  out.clear();
  std::array<re2::StringPiece, 16> stack;
  std::vector<re2::StringPiece> heap;
  re2::StringPiece* sub = stack.data();
  if (c.submatches > static_cast<int>(stack.size())) {
    heap.resize(c.submatches);
    sub = heap.data();
  }
  std::string piece;
  size_t last_end = 0;
  size_t search = 0;
  while (search <= src.size()) {
    if (!c.re->Match(re2::StringPiece(src.data(), src.size()), search, src.size(), RE2::UNANCHORED,
                     sub, c.submatches)) {
      break;
    }
    size_t start = static_cast<size_t>(sub[0].data() - src.data());
    size_t end = start + sub[0].size();
    out.append(src.substr(last_end, start - last_end));
    if (end > last_end || start == 0) {
      Expand(c.replacement, sub, c.submatches, piece);
      out += piece;
    }
    last_end = end;
    // Advance past the match, at least one UTF-8 sequence.
    size_t width = 0;
    if (search < src.size()) {
      unsigned char b = static_cast<unsigned char>(src[search]);
      width = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
      width = std::min(width, src.size() - search);
    }
    if (search + width > end) {
      search += width;
    } else if (search + 1 > end) {
      ++search;
    } else {
      search = end;
    }
  }
  out.append(src.substr(std::min(last_end, src.size())));
}

bool FullMatch(const CompiledRelabel& c, std::string_view text) {
  return c.re->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::UNANCHORED,
                     nullptr, 0);
}

// --- MD5 (RFC 1321), for hashmod: no allocation, no dependency for one 16-byte digest. ---

constexpr uint32_t kMd5K[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};
constexpr int kMd5S[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                           5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                           4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                           6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

void Md5Block(uint32_t h[4], const unsigned char* p) {
  uint32_t m[16];
  for (int i = 0; i < 16; ++i) {
    m[i] = static_cast<uint32_t>(p[4 * i]) | static_cast<uint32_t>(p[4 * i + 1]) << 8 |
           static_cast<uint32_t>(p[4 * i + 2]) << 16 | static_cast<uint32_t>(p[4 * i + 3]) << 24;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
  for (int i = 0; i < 64; ++i) {
    uint32_t f;
    int g;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) % 16;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) % 16;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) % 16;
    }
    f = f + a + kMd5K[i] + m[g];
    a = d;
    d = c;
    c = b;
    b = b + ((f << kMd5S[i]) | (f >> (32 - kMd5S[i])));
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
}

std::array<unsigned char, 16> Md5(std::string_view data) {
  uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  size_t full = n / 64;
  for (size_t i = 0; i < full; ++i) Md5Block(h, p + 64 * i);
  unsigned char tail[128] = {};
  size_t rem = n % 64;
  std::copy(p + 64 * full, p + n, tail);
  tail[rem] = 0x80;
  size_t tail_len = rem < 56 ? 64 : 128;
  uint64_t bits = static_cast<uint64_t>(n) * 8;
  for (int i = 0; i < 8; ++i) tail[tail_len - 8 + i] = static_cast<unsigned char>(bits >> (8 * i));
  for (size_t off = 0; off < tail_len; off += 64) Md5Block(h, tail + off);
  std::array<unsigned char, 16> out;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) out[4 * i + j] = static_cast<unsigned char>(h[i] >> (8 * j));
  return out;
}

// --- Go's strings.ToLower / ToUpper: Unicode simple case mapping; invalid UTF-8 becomes U+FFFD.
// ---

locale_t Utf8Locale() {
  static locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  return loc;
}

// Decodes one UTF-8 sequence; invalid input gives U+FFFD with width 1.
char32_t DecodeRune(std::string_view s, size_t i, size_t& width) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  width = 1;
  if (c < 0x80) return c;
  auto cont = [&](size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF && cont(i + 1)) {
    width = 2;
    return (c & 0x1Fu) << 6 | (b(i + 1) & 0x3Fu);
  }
  if (c >= 0xE0 && c <= 0xEF && cont(i + 1) && cont(i + 2)) {
    char32_t r = (c & 0x0Fu) << 12 | (b(i + 1) & 0x3Fu) << 6 | (b(i + 2) & 0x3Fu);
    if (r >= 0x800 && (r < 0xD800 || r > 0xDFFF)) {
      width = 3;
      return r;
    }
  }
  if (c >= 0xF0 && c <= 0xF4 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
    char32_t r =
        (c & 0x07u) << 18 | (b(i + 1) & 0x3Fu) << 12 | (b(i + 2) & 0x3Fu) << 6 | (b(i + 3) & 0x3Fu);
    if (r >= 0x10000 && r <= 0x10FFFF) {
      width = 4;
      return r;
    }
  }
  return 0xFFFD;
}

void AppendRune(std::string& out, char32_t r) {
  if (r < 0x80) {
    out += static_cast<char>(r);
  } else if (r < 0x800) {
    out += static_cast<char>(0xC0 | (r >> 6));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else if (r < 0x10000) {
    out += static_cast<char>(0xE0 | (r >> 12));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (r >> 18));
    out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  }
}

void ChangeCase(std::string_view in, bool upper, std::string& out) {
  out.clear();
  out.reserve(in.size());
  bool ascii = std::all_of(in.begin(), in.end(), [](char c) { return (c & 0x80) == 0; });
  if (ascii) {
    for (char c : in) {
      if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      out += c;
    }
    return;
  }
  locale_t loc = Utf8Locale();
  for (size_t i = 0; i < in.size();) {
    size_t width = 1;
    char32_t r = DecodeRune(in, i, width);
    if (loc != static_cast<locale_t>(nullptr)) {
      auto w = static_cast<wint_t>(r);
      r = static_cast<char32_t>(upper ? towupper_l(w, loc) : towlower_l(w, loc));
    } else if (r < 0x80) {
      r = static_cast<char32_t>(upper ? std::toupper(static_cast<int>(r))
                                      : std::tolower(static_cast<int>(r)));
    }
    AppendRune(out, r);
    i += width;
  }
}

// --- A sorted label set edited in place. ---

metrics::Labels::iterator LowerBound(metrics::Labels& ls, std::string_view name) {
  return std::lower_bound(ls.begin(), ls.end(), name,
                          [](const metrics::Label& l, std::string_view n) { return l.name < n; });
}

// Sets `name` to `value`; an empty value removes the label, as Prometheus's labels.Builder does.
void SetLabel(metrics::Labels& ls, std::string_view name, std::string_view value) {
  auto it = LowerBound(ls, name);
  bool found = it != ls.end() && it->name == name;
  if (value.empty()) {
    if (found) ls.erase(it);
    return;
  }
  if (found) {
    it->value.assign(value.data(), value.size());
  } else {
    ls.insert(it, metrics::Label{std::string(name), std::string(value)});
  }
}

bool IsNormalized(const metrics::Labels& ls) {
  for (size_t i = 0; i < ls.size(); ++i) {
    if (ls[i].value.empty()) return false;
    if (i > 0 && !(ls[i - 1].name < ls[i].name)) return false;
  }
  return true;
}

std::string_view JoinSources(const RelabelConfig& cfg, const metrics::Labels& ls,
                             std::string& buf) {
  if (cfg.source_labels.size() == 1) return metrics::Get(ls, cfg.source_labels[0]);
  buf.clear();
  for (size_t i = 0; i < cfg.source_labels.size(); ++i) {
    if (i > 0) buf += cfg.separator;
    buf += metrics::Get(ls, cfg.source_labels[i]);
  }
  return buf;
}

bool IsValidRelabelTarget(std::string_view s) {
  static const RE2 kRelabelTarget(R"(^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$)");
  return RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), kRelabelTarget);
}

std::string Quote(std::string_view s) { return QuoteForMessage(s); }

bool NeedsTarget(RelabelAction a) {
  return a == RelabelAction::kReplace || a == RelabelAction::kHashMod ||
         a == RelabelAction::kLowercase || a == RelabelAction::kUppercase ||
         a == RelabelAction::kKeepEqual || a == RelabelAction::kDropEqual;
}

bool IsCaseOrEqual(RelabelAction a) {
  return a == RelabelAction::kLowercase || a == RelabelAction::kUppercase ||
         a == RelabelAction::kKeepEqual || a == RelabelAction::kDropEqual;
}

}  // namespace

std::string_view RelabelActionName(RelabelAction action) {
  for (const auto& a : kActions)
    if (a.action == action) return a.name;
  return "replace";
}

std::optional<RelabelAction> ParseRelabelAction(std::string_view name) {
  for (const auto& a : kActions) {
    if (a.name.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(name[i])) == a.name[i];
    if (same) return a.action;
  }
  return std::nullopt;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  unsigned char first = static_cast<unsigned char>(name[0]);
  if (!(std::isalpha(first) || first == '_') || first >= 0x80) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x80 && IsWordByte(u);
  });
}

std::optional<std::string> ScalarText(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return std::string();
    case json::kind::string:
      return std::string(v.get_string());
    case json::kind::bool_:
      return v.get_bool() ? "true" : "false";
    case json::kind::int64:
      return std::to_string(v.get_int64());
    case json::kind::uint64:
      return std::to_string(v.get_uint64());
    case json::kind::double_: {
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, v.get_double());
      return std::string(buf, r.ptr);
    }
    case json::kind::array:
    case json::kind::object:
      return std::nullopt;
  }
  return std::nullopt;
}

Status RelabelConfig::Compile() {
  compiled.reset();
  const std::string name(RelabelActionName(action));
  for (size_t i = 0; i < source_labels.size(); ++i) {
    if (!IsValidLabelName(source_labels[i]))
      return InvalidArgument(Quote(source_labels[i]) + " is not a valid label name",
                             "source_labels[" + std::to_string(i) + "]");
  }
  if (action == RelabelAction::kHashMod && modulus == 0)
    return InvalidArgument("relabel configuration for hashmod requires non-zero modulus",
                           "modulus");
  if (NeedsTarget(action) && target_label.empty())
    return InvalidArgument(
        "relabel configuration for " + name + " action requires 'target_label' value",
        "target_label");
  bool target_has_var = target_label.find('$') != std::string::npos;
  bool target_ok = true;
  if (action == RelabelAction::kReplace) {
    target_ok =
        target_has_var ? IsValidRelabelTarget(target_label) : IsValidLabelName(target_label);
  } else if (IsCaseOrEqual(action) || action == RelabelAction::kHashMod) {
    target_ok = IsValidLabelName(target_label);
  }
  if (!target_ok)
    return InvalidArgument(
        Quote(target_label) + " is invalid 'target_label' for " + name + " action", "target_label");
  if (IsCaseOrEqual(action) && replacement != kDefaultReplacement)
    return InvalidArgument("'replacement' can not be set for " + name + " action", "replacement");
  if (action == RelabelAction::kLabelMap && !IsValidRelabelTarget(replacement))
    return InvalidArgument(Quote(replacement) + " is invalid 'replacement' for labelmap action",
                           "replacement");
  if (action == RelabelAction::kKeepEqual || action == RelabelAction::kDropEqual) {
    const char* extra = regex != kDefaultRegex               ? "regex"
                        : modulus != 0                       ? "modulus"
                        : separator != kDefaultSeparator     ? "separator"
                        : replacement != kDefaultReplacement ? "replacement"
                                                             : nullptr;
    if (extra)
      return InvalidArgument(
          name + " action requires only 'source_labels' and 'target_label', and no other fields",
          extra);
  }
  if (action == RelabelAction::kLabelDrop || action == RelabelAction::kLabelKeep) {
    const char* extra = !source_labels.empty()               ? "source_labels"
                        : !target_label.empty()              ? "target_label"
                        : modulus != 0                       ? "modulus"
                        : separator != kDefaultSeparator     ? "separator"
                        : replacement != kDefaultReplacement ? "replacement"
                                                             : nullptr;
    if (extra)
      return InvalidArgument(name + " action requires only 'regex', and no other fields", extra);
  }

  auto c = std::make_shared<CompiledRelabel>();
  RE2::Options options;
  options.set_log_errors(false);
  c->re = std::make_unique<RE2>("^(?s:" + regex + ")$", options);
  if (!c->re->ok())
    return InvalidArgument("invalid regular expression " + Quote(regex) + ": " + c->re->error(),
                           "regex");
  c->default_regex = regex == kDefaultRegex;
  if (action == RelabelAction::kReplace) c->target = ParseTemplate(target_label, *c->re);
  if (action == RelabelAction::kReplace || action == RelabelAction::kLabelMap)
    c->replacement = ParseTemplate(replacement, *c->re);
  c->submatches = std::max(c->target.max_group, c->replacement.max_group) + 1;
  compiled = std::move(c);
  return Status::Ok();
}

bool Relabel(std::span<const RelabelConfig> configs, metrics::Labels& labels) {
  if (!IsNormalized(labels)) labels = metrics::Normalize(std::move(labels));
  std::string joined;
  std::string target_buf;
  std::string value_buf;
  std::vector<metrics::Label> pending;
  for (const RelabelConfig& cfg : configs) {
    if (!cfg.compiled) throw std::logic_error("Relabel: RelabelConfig was not compiled");
    const CompiledRelabel& c = *cfg.compiled;
    std::string_view val = JoinSources(cfg, labels, joined);
    switch (cfg.action) {
      case RelabelAction::kDrop:
        if (FullMatch(c, val)) return false;
        break;
      case RelabelAction::kKeep:
        if (!FullMatch(c, val)) return false;
        break;
      case RelabelAction::kDropEqual:
        if (metrics::Get(labels, cfg.target_label) == val) return false;
        break;
      case RelabelAction::kKeepEqual:
        if (metrics::Get(labels, cfg.target_label) != val) return false;
        break;
      case RelabelAction::kReplace: {
        if (val.empty() && c.default_regex && !c.target.has_var && !c.replacement.has_var) {
          SetLabel(labels, cfg.target_label, cfg.replacement);
          break;
        }
        std::array<re2::StringPiece, 16> stack;
        std::vector<re2::StringPiece> heap;
        re2::StringPiece* sub = stack.data();
        if (c.submatches > static_cast<int>(stack.size())) {
          heap.resize(c.submatches);
          sub = heap.data();
        }
        if (!c.re->Match(re2::StringPiece(val.data(), val.size()), 0, val.size(), RE2::UNANCHORED,
                         sub, c.submatches)) {
          break;  // No match: no replacement.
        }
        Expand(c.target, sub, c.submatches, target_buf);
        if (!IsValidLabelName(target_buf)) break;
        Expand(c.replacement, sub, c.submatches, value_buf);
        SetLabel(labels, target_buf, value_buf);
        break;
      }
      case RelabelAction::kLowercase:
      case RelabelAction::kUppercase:
        ChangeCase(val, cfg.action == RelabelAction::kUppercase, value_buf);
        SetLabel(labels, cfg.target_label, value_buf);
        break;
      case RelabelAction::kHashMod: {
        auto digest = Md5(val);
        uint64_t h = 0;
        for (int i = 8; i < 16; ++i) h = h << 8 | digest[i];  // Prometheus uses the last 8 bytes.
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, h % cfg.modulus);
        SetLabel(labels, cfg.target_label, std::string_view(buf, r.ptr - buf));
        break;
      }
      case RelabelAction::kLabelMap:
        pending.clear();
        for (const auto& l : labels) {
          if (!FullMatch(c, l.name)) continue;
          ReplaceAll(c, l.name, target_buf);
          if (!target_buf.empty()) pending.push_back({target_buf, l.value});
        }
        for (const auto& p : pending) SetLabel(labels, p.name, p.value);
        break;
      case RelabelAction::kLabelDrop:
        std::erase_if(labels, [&](const metrics::Label& l) { return FullMatch(c, l.name); });
        break;
      case RelabelAction::kLabelKeep:
        std::erase_if(labels, [&](const metrics::Label& l) { return !FullMatch(c, l.name); });
        break;
    }
  }
  return true;
}

Result<RelabelConfig> ParseRelabelConfig(const json::value& rule, std::string_view path) {
  const std::string base(path);
  if (rule.is_null()) return InvalidArgument("empty or null relabeling rule", base);
  if (!rule.is_object()) return InvalidArgument("must be a mapping of relabel_config fields", base);
  RelabelConfig cfg;
  bool regex_set = false;
  bool source_labels_set = false;
  for (const auto& kv : rule.get_object()) {
    const std::string key(kv.key());
    const json::value& v = kv.value();
    const std::string field = base.empty() ? key : base + "." + key;
    if (key == "source_labels") {
      source_labels_set = !v.is_null();
      cfg.source_labels.clear();
      if (v.is_null()) continue;
      if (!v.is_array()) return InvalidArgument("must be a list of label names", field);
      const auto& arr = v.get_array();
      for (size_t i = 0; i < arr.size(); ++i) {
        auto name = ScalarText(arr[i]);
        std::string item = field + "[" + std::to_string(i) + "]";
        if (!name) return InvalidArgument("must be a label name", item);
        if (!IsValidLabelName(*name))
          return InvalidArgument(Quote(*name) + " is not a valid label name", item);
        cfg.source_labels.push_back(std::move(*name));
      }
      continue;
    }
    if (key == "modulus") {
      cfg.modulus = 0;
      if (v.is_null()) continue;
      if (v.is_uint64()) {
        cfg.modulus = v.get_uint64();
        continue;
      }
      if (v.is_int64() && v.get_int64() >= 0) {
        cfg.modulus = static_cast<uint64_t>(v.get_int64());
        continue;
      }
      auto text =
          v.is_string() ? std::optional<std::string>(std::string(v.get_string())) : std::nullopt;
      uint64_t parsed = 0;
      if (text && !text->empty()) {
        auto r = std::from_chars(text->data(), text->data() + text->size(), parsed);
        if (r.ec == std::errc() && r.ptr == text->data() + text->size()) {
          cfg.modulus = parsed;
          continue;
        }
      }
      return InvalidArgument("must be a non-negative integer", field);
    }
    auto text = ScalarText(v);
    bool known = key == "separator" || key == "regex" || key == "target_label" ||
                 key == "replacement" || key == "action";
    if (!known) return InvalidArgument("unknown field " + Quote(key) + " in relabel_config", field);
    if (!text) return InvalidArgument("must be a string", field);
    if (key == "separator") {
      cfg.separator = std::move(*text);
    } else if (key == "regex") {
      regex_set = true;
      cfg.regex = std::move(*text);
    } else if (key == "target_label") {
      cfg.target_label = std::move(*text);
    } else if (key == "replacement") {
      cfg.replacement = std::move(*text);
    } else {
      if (text->empty()) return InvalidArgument("relabel action cannot be empty", field);
      auto action = ParseRelabelAction(*text);
      if (!action) return InvalidArgument("unknown action " + Quote(*text), field);
      cfg.action = *action;
    }
  }
  // Prometheus rejects an explicit regex (even "(.*)") and explicit source_labels (even []) here.
  const std::string name(RelabelActionName(cfg.action));
  if ((cfg.action == RelabelAction::kKeepEqual || cfg.action == RelabelAction::kDropEqual) &&
      regex_set) {
    return InvalidArgument(
        name + " action requires only 'source_labels' and 'target_label', and no other fields",
        base + ".regex");
  }
  if ((cfg.action == RelabelAction::kLabelDrop || cfg.action == RelabelAction::kLabelKeep) &&
      source_labels_set) {
    return InvalidArgument(name + " action requires only 'regex', and no other fields",
                           base + ".source_labels");
  }
  Status st = cfg.Compile();
  if (!st.ok()) return st.WithFieldPrefix(base);
  return cfg;
}

Result<std::vector<RelabelConfig>> ParseRelabelConfigs(const json::value& rules,
                                                       std::string_view path) {
  std::vector<RelabelConfig> out;
  if (rules.is_null()) return out;
  if (!rules.is_array())
    return InvalidArgument("must be a list of relabel_config", std::string(path));
  const auto& arr = rules.get_array();
  out.reserve(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    PLATOPS_ASSIGN_OR_RETURN(
        auto cfg, ParseRelabelConfig(arr[i], std::string(path) + "[" + std::to_string(i) + "]"));
    out.push_back(std::move(cfg));
  }
  return out;
}

}  // namespace platops::ingest
