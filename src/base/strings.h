#pragma once
// Small string helpers shared by every layer. Thread-safety: pure functions.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace platops {

// True when `s` is well-formed UTF-8 (no overlong forms, no surrogates).
bool IsValidUtf8(std::string_view s);
std::vector<std::string> Split(std::string_view s, char sep);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
bool StartsWith(std::string_view s, std::string_view prefix);
// ASCII case-insensitive equality.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Shortens `s` for error messages: at most `max` bytes, with "..." when cut.
std::string Abbreviate(std::string_view s, size_t max = 64);
// `s` in double quotes with `"` and `\` backslash-escaped, for error messages.
std::string QuoteForMessage(std::string_view s);
// 64-bit FNV-1a: a hash that is the same in every process and release (schedule offsets).
uint64_t Fnv1a64(std::string_view s);
// Appends code point `cp` (<= 0x10FFFF) as UTF-8.
void AppendUtf8(std::string& out, uint32_t cp);

// `s` with the characters markup would read escaped: & < > as &amp; &lt; &gt; (what Slack's
// mrkdwn needs). With `go_html`, as Go's html.EscapeString and text/template's `html` do: also
// ' and " as &#39; and &#34;, and NUL as U+FFFD.
std::string EscapeMarkup(std::string_view s, bool go_html = false);

}  // namespace platops
