#pragma once
// Alert label sets as Alertmanager sees them (prometheus/common model.LabelSet): unique names,
// kept sorted by name, an absent label reading as "". Also the fingerprint that identifies an
// alert, the log form of a set and the validation Alertmanager applies to posted alerts.
// Thread-safety: value types; const use from many threads is safe.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace platops::alerting {

struct Label {
  std::string name;
  std::string value;
  bool operator==(const Label&) const = default;
};

// A set of labels with unique names, stored as one vector sorted by name (byte order), so that a
// set costs 24 bytes plus 64 per label (strings of up to 15 bytes stay inline).
class LabelSet {
 public:
  using const_iterator = std::vector<Label>::const_iterator;

  LabelSet() = default;
  // For literals: labels in any order; a name given twice keeps its last value.
  LabelSet(std::initializer_list<Label> labels);

  // Builds a set from labels in any order. A name that appears twice is an InvalidArgument
  // ("duplicate label name \"job\"").
  static Result<LabelSet> FromPairs(std::vector<Label> labels);

  // The value of `name`, or "" when the set has no such label (Alertmanager's reading).
  // The view is valid until the set is next modified.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const;
  // Adds the label or replaces the value of an existing one.
  void Set(std::string name, std::string value);
  // Removes `name`; returns whether it was present.
  bool Erase(std::string_view name);

  size_t size() const { return labels_.size(); }
  bool empty() const { return labels_.empty(); }
  const_iterator begin() const { return labels_.begin(); }
  const_iterator end() const { return labels_.end(); }
  const std::vector<Label>& labels() const { return labels_; }

  bool operator==(const LabelSet&) const = default;

 private:
  std::vector<Label>::iterator LowerBound(std::string_view name);
  std::vector<Label>::const_iterator LowerBound(std::string_view name) const;

  std::vector<Label> labels_;  // sorted by name, names unique
};

// model.LabelSet.Fingerprint(): 64-bit FNV-1a over name, 0xff, value, 0xff for each label in name
// order; the empty set hashes to the FNV offset basis 0xcbf29ce484222325.
uint64_t Fingerprint(const LabelSet& labels);
// A fingerprint as Alertmanager prints it: 16 lower-case hex digits ("%016x").
std::string FingerprintString(uint64_t fingerprint);

// model.LabelSet.String(): `{alertname="Down", job="node"}`, values quoted as Go's %q does.
std::string ToString(const LabelSet& labels);

// `s` as Go's strconv.Quote renders it: in double quotes; `"` and `\` backslash-escaped; \a \b
// \f \n \r \t \v; other non-printable code points as \xNN, \uNNNN or \UNNNNNNNN; each byte of an
// invalid UTF-8 sequence as \xNN. Printable means Unicode categories L, M, N, P, S or U+0020
// (tables of Unicode 14.0).
// With quote '\'' it is strconv.QuoteRune's escaping of a string.
std::string GoQuote(std::string_view s, char quote = '"');

// unicode.IsPrint (tables of Unicode 14.0).
bool IsGoPrint(char32_t r);

// Decodes the code point starting at byte `pos` (REQUIRES: pos < s.size()) as Go's
// utf8.DecodeRuneInString: returns {code point, byte length}; an invalid, overlong, surrogate or
// truncated sequence yields {U+FFFD, 1}.
std::pair<char32_t, size_t> DecodeRune(std::string_view s, size_t pos);

// model.LabelName.IsValid with the classic rules: `^[a-zA-Z_][a-zA-Z0-9_]*$`.
bool IsValidLabelName(std::string_view name);

// The label checks of Alertmanager's alert validation (model.Alert.Validate), with its wording:
// names must be valid (`invalid label set: invalid name "0x"`), values valid UTF-8
// (`invalid label set: invalid value "\xff"`), and the set non-empty
// (`at least one label pair required`). Labels are checked in name order; the first bad one is
// reported. Empty values are accepted (the API drops them before validating).
Status Validate(const LabelSet& labels);

}  // namespace platops::alerting
