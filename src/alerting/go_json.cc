#include "alerting/go_json.h"

#include <cstdio>

namespace platops::alerting {

namespace {

// Printable ASCII that Go's encoder writes as is.
constexpr bool Plain(unsigned char c) {
  return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
}

void AppendUnicodeEscape(std::string& out, unsigned char c) {
  constexpr char kHex[] = "0123456789abcdef";
  const char buf[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
  out.append(buf, 6);
}

}  // namespace

void AppendGoJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    // Runs of plain bytes in one append: label values are nearly always all plain.
    size_t run = i;
    while (run < s.size() && Plain(static_cast<unsigned char>(s[run]))) ++run;
    if (run > i) {
      out.append(s.data() + i, run - i);
      i = run;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '<':
        case '>':
        case '&':
          AppendUnicodeEscape(out, c);
          break;
        default:
          if (c < 0x20) {
            AppendUnicodeEscape(out, c);
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // Invalid UTF-8 becomes U+FFFD; U+2028 and U+2029 are escaped (they end lines in JavaScript).
    const auto [rune, len] = DecodeRune(s, i);
    if (rune == 0xFFFD && len == 1) {
      out += "\\ufffd";
    } else if (rune == 0x2028 || rune == 0x2029) {
      out += rune == 0x2028 ? "\\u2028" : "\\u2029";
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  out += '"';
}

void AppendLabelSetJson(std::string& out, const LabelSet& labels) {
  out += '{';
  bool first = true;
  for (const auto& l : labels) {
    if (!first) out += ',';
    first = false;
    AppendGoJsonString(out, l.name);
    out += ':';
    AppendGoJsonString(out, l.value);
  }
  out += '}';
}

}  // namespace platops::alerting
