#include "ingest/remote_write.h"

#include "base/metrics_registry.h"
#include "base/strings.h"

#include <snappy.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>

namespace platops::ingest {

// Field numbers and wire types of prometheus.WriteRequest 1.0 (prompb/remote.proto, types.proto):
// WriteRequest { repeated TimeSeries timeseries = 1; reserved 2; repeated MetricMetadata
// metadata = 3; } TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; repeated
// Exemplar exemplars = 3; repeated Histogram histograms = 4; } Label { string name = 1; string
// value = 2; } Sample { double value = 1; int64 timestamp = 2; }
namespace {

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

constexpr uint32_t Tag(uint32_t field, WireType type) { return (field << 3) | type; }

constexpr uint32_t kTimeseriesTag = Tag(1, kLengthDelimited);
constexpr uint32_t kMetadataTag = Tag(3, kLengthDelimited);
constexpr uint32_t kLabelsTag = Tag(1, kLengthDelimited);
constexpr uint32_t kSamplesTag = Tag(2, kLengthDelimited);
constexpr uint32_t kExemplarsTag = Tag(3, kLengthDelimited);
constexpr uint32_t kHistogramsTag = Tag(4, kLengthDelimited);
constexpr uint32_t kNameTag = Tag(1, kLengthDelimited);
constexpr uint32_t kValueTag = Tag(2, kLengthDelimited);
constexpr uint32_t kSampleValueTag = Tag(1, kFixed64);
constexpr uint32_t kSampleTimestampTag = Tag(2, kVarint);

constexpr uint32_t kMaxFieldNumber = (1u << 29) - 1;
// As protobuf's default recursion limit; only unknown groups nest here.
constexpr int kMaxGroupDepth = 100;
// Keeps every count and offset in 32 bits (each entry takes at least two bytes).
constexpr size_t kMaxBuffer = size_t{1} << 31;

uint64_t LoadLittle64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

}  // namespace

// Reads one decompressed WriteRequest into a WriteRequest. Each Parse* function takes the bytes
// of one message and returns false after recording the first error. The fast paths (one-byte tags
// and lengths) are forced inline; every error goes through the cold Fail, which builds no string.
class WriteRequestParser {
 public:
  WriteRequestParser(WriteRequest& out, const char* base, int64_t max_samples)
      : out_(out), base_(base), max_samples_(max_samples) {}

  bool ParseWriteRequest(const char* p, const char* end) {
    while (p < end) {
      const char* tag_at = p;
      uint32_t tag;
      if (!ReadTag(p, end, tag)) return false;
      const char* body;
      if (tag == kTimeseriesTag) {
        in_series_ = true;
        part_ = nullptr;
        if (!ReadLength(p, end, body) || !ParseTimeSeries(body, p)) return false;
        in_series_ = false;
        ++series_index_;
      } else if (tag == kMetadataTag) {
        if (!ReadLength(p, end, body)) return false;
        ++out_.num_metadata_;
      } else if (!SkipUnknown(tag, tag_at, p, end, /*known_fields=*/0b1010)) {
        return false;
      }
    }
    return true;
  }

  Status error() const {
    if (problem_ == Problem::kTooManySamples) {
      return {StatusCode::kPayloadTooLarge, "limit: the request has more than " +
                                                std::to_string(max_samples_) +
                                                " samples (max_samples)"};
    }
    std::string msg = "protobuf: ";
    if (in_series_) {
      msg += "timeseries[" + std::to_string(series_index_) + "]";
      if (part_ != nullptr) {
        msg += std::string(".") + part_ + "[" + std::to_string(part_index_) + "]";
      }
      msg += ": ";
    }
    const std::string a = std::to_string(arg_a_), b = std::to_string(arg_b_);
    switch (problem_) {
      case Problem::kTruncatedVarint:
        msg += "truncated varint";
        break;
      case Problem::kVarintOverflow:
        msg += "varint overflows 64 bits";
        break;
      case Problem::kFieldNumber:
        msg += "invalid field number " + a;
        break;
      case Problem::kLength:
        msg += "length " + a + " exceeds the " + b + " remaining bytes";
        break;
      case Problem::kWrongWireType:
        msg += "wrong wire type " + a + " for field " + b;
        break;
      case Problem::kTruncatedFixed64:
        msg += "truncated fixed64";
        break;
      case Problem::kTruncatedFixed32:
        msg += "truncated fixed32";
        break;
      case Problem::kInvalidWireType:
        msg += "invalid wire type " + a;
        break;
      case Problem::kStrayEndGroup:
        msg += "end-group without a start-group";
        break;
      case Problem::kUnterminatedGroup:
        msg += "unterminated group of field " + a;
        break;
      case Problem::kMismatchedEndGroup:
        msg += "end-group of field " + a + " inside a group of field " + b;
        break;
      case Problem::kGroupsTooDeep:
        msg += "groups nested too deeply";
        break;
      case Problem::kNone:
      case Problem::kTooManySamples:
        break;
    }
    msg += " at byte " + std::to_string(error_at_);
    return InvalidArgument(std::move(msg));
  }

 private:
  enum class Problem {
    kNone,
    kTooManySamples,
    kTruncatedVarint,
    kVarintOverflow,
    kFieldNumber,
    kLength,
    kWrongWireType,
    kTruncatedFixed64,
    kTruncatedFixed32,
    kInvalidWireType,
    kStrayEndGroup,
    kUnterminatedGroup,
    kMismatchedEndGroup,
    kGroupsTooDeep,
  };

  [[gnu::cold, gnu::noinline]] bool Fail(Problem problem, const char* at, uint64_t a = 0,
                                         uint64_t b = 0) {
    problem_ = problem;
    error_at_ = at - base_;
    arg_a_ = a;
    arg_b_ = b;
    return false;
  }

  [[gnu::always_inline]] bool ReadVarint(const char*& p, const char* end, uint64_t& v) {
    if (p < end && static_cast<unsigned char>(*p) < 0x80) {
      v = static_cast<unsigned char>(*p++);
      return true;
    }
    if (end - p >= 2 && static_cast<unsigned char>(p[1]) < 0x80) {
      v = (static_cast<unsigned char>(p[0]) & 0x7fu) | uint64_t{static_cast<unsigned char>(p[1])}
                                                           << 7;
      p += 2;
      return true;
    }
    return ReadLongVarint(p, end, v);
  }

  [[gnu::noinline]] bool ReadLongVarint(const char*& p, const char* end, uint64_t& v) {
    const char* start = p;
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) return Fail(Problem::kTruncatedVarint, start);
      const uint64_t byte = static_cast<unsigned char>(*p++);
      if (shift == 63 && byte > 1) return Fail(Problem::kVarintOverflow, start);
      result |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        v = result;
        return true;
      }
    }
    return Fail(Problem::kVarintOverflow, start);
  }

  [[gnu::always_inline]] bool ReadTag(const char*& p, const char* end, uint32_t& tag) {
    if (p < end && static_cast<unsigned char>(*p) < 0x80 && *p >= 8) {
      tag = static_cast<unsigned char>(*p++);
      return true;
    }
    return ReadLongTag(p, end, tag);
  }

  [[gnu::noinline]] bool ReadLongTag(const char*& p, const char* end, uint32_t& tag) {
    const char* start = p;
    uint64_t v;
    if (!ReadVarint(p, end, v)) return false;
    if ((v >> 3) == 0 || (v >> 3) > kMaxFieldNumber) {
      return Fail(Problem::kFieldNumber, start, v >> 3);
    }
    tag = static_cast<uint32_t>(v);
    return true;
  }

  // Reads a length prefix; `body` gets the field's bytes and `p` the byte after them.
  [[gnu::always_inline]] bool ReadLength(const char*& p, const char* end, const char*& body) {
    const char* start = p;
    uint64_t len;
    if (!ReadVarint(p, end, len)) return false;
    if (len > static_cast<uint64_t>(end - p)) {
      return Fail(Problem::kLength, start, len, static_cast<uint64_t>(end - p));
    }
    body = p;
    p += len;
    return true;
  }

  // Skips a field this parser does not read. `known_fields` has bit N set for the field numbers
  // of this message (below 32) that it does read: those with another wire type are errors.
  [[gnu::noinline]] bool SkipUnknown(uint32_t tag, const char* tag_at, const char*& p,
                                     const char* end, uint32_t known_fields) {
    const uint32_t field = tag >> 3;
    if (field < 32 && (known_fields >> field & 1) != 0) {
      return Fail(Problem::kWrongWireType, tag_at, tag & 7, field);
    }
    return SkipField(tag, tag_at, p, end, 0);
  }

  // Skips the value of a field whose tag, at `tag_at`, has been read.
  bool SkipField(uint32_t tag, const char* tag_at, const char*& p, const char* end, int depth) {
    switch (tag & 7) {
      case kVarint: {
        uint64_t v;
        return ReadVarint(p, end, v);
      }
      case kFixed64:
        if (end - p < 8) return Fail(Problem::kTruncatedFixed64, p);
        p += 8;
        return true;
      case kLengthDelimited: {
        const char* body;
        return ReadLength(p, end, body);
      }
      case kFixed32:
        if (end - p < 4) return Fail(Problem::kTruncatedFixed32, p);
        p += 4;
        return true;
      case kStartGroup: {
        if (depth >= kMaxGroupDepth) return Fail(Problem::kGroupsTooDeep, tag_at);
        while (true) {
          if (p >= end) return Fail(Problem::kUnterminatedGroup, p, tag >> 3);
          const char* inner_at = p;
          uint32_t inner;
          if (!ReadTag(p, end, inner)) return false;
          if ((inner & 7) == kEndGroup) {
            if ((inner >> 3) != (tag >> 3)) {
              return Fail(Problem::kMismatchedEndGroup, inner_at, inner >> 3, tag >> 3);
            }
            return true;
          }
          if (!SkipField(inner, inner_at, p, end, depth + 1)) return false;
        }
      }
      case kEndGroup:
        return Fail(Problem::kStrayEndGroup, tag_at);
      default:
        return Fail(Problem::kInvalidWireType, tag_at, tag & 7);
    }
  }

  // Flattened: everything but the cold and slow paths is inlined, push_back included.
  [[gnu::flatten]] bool ParseTimeSeries(const char* p, const char* end) {
    RemoteSeries s;
    s.labels_begin = static_cast<uint32_t>(out_.labels_.size());
    s.samples_begin = static_cast<uint32_t>(out_.samples_.size());
    while (p < end) {
      const char* tag_at = p;
      part_ = nullptr;
      uint32_t tag;
      if (!ReadTag(p, end, tag)) return false;
      const char* body;
      if (tag == kLabelsTag) {
        part_ = "labels";
        part_index_ = s.num_labels;
        if (!ReadLength(p, end, body) || !ParseLabel(body, p)) return false;
        ++s.num_labels;
      } else if (tag == kSamplesTag) {
        part_ = "samples";
        part_index_ = s.num_samples;
        if (!ReadLength(p, end, body) || !ParseSample(body, p)) return false;
        ++s.num_samples;
      } else if (tag == kExemplarsTag) {
        part_ = "exemplars";
        part_index_ = s.num_exemplars;
        if (!ReadLength(p, end, body)) return false;
        ++s.num_exemplars;
      } else if (tag == kHistogramsTag) {
        part_ = "histograms";
        part_index_ = s.num_histograms;
        if (!ReadLength(p, end, body)) return false;
        ++s.num_histograms;
      } else if (!SkipUnknown(tag, tag_at, p, end, 0b11110)) {
        return false;
      }
    }
    out_.num_exemplars_ += s.num_exemplars;
    out_.num_histograms_ += s.num_histograms;
    Push(out_.series_, s);
    return true;
  }

  // Label bodies are nearly always `0a <n> name 12 <m> value` with one-byte lengths, or just the
  // name (proto3 omits an empty value): those are read at once, the rest by the general loop.
  [[gnu::always_inline]] bool ParseLabel(const char* p, const char* end) {
    const size_t size = static_cast<size_t>(end - p);
    if (size >= 2 && p[0] == static_cast<char>(kNameTag) && static_cast<signed char>(p[1]) >= 0 &&
        static_cast<size_t>(p[1]) <= size - 2) {
      const std::string_view name(p + 2, static_cast<size_t>(p[1]));
      const char* v = name.data() + name.size();
      const size_t rest = static_cast<size_t>(end - v);
      if (rest == 0) {
        Push(out_.labels_, RemoteLabel{name, {}});
        return true;
      }
      if (rest >= 2 && v[0] == static_cast<char>(kValueTag) &&
          static_cast<signed char>(v[1]) >= 0 && static_cast<size_t>(v[1]) == rest - 2) {
        Push(out_.labels_, RemoteLabel{name, std::string_view(v + 2, rest - 2)});
        return true;
      }
    }
    return ParseLabelSlow(p, end);
  }

  [[gnu::noinline]] bool ParseLabelSlow(const char* p, const char* end) {
    RemoteLabel label;
    while (p < end) {
      const char* tag_at = p;
      uint32_t tag;
      if (!ReadTag(p, end, tag)) return false;
      const char* body;
      if (tag == kNameTag) {
        if (!ReadLength(p, end, body)) return false;
        label.name = std::string_view(body, static_cast<size_t>(p - body));
      } else if (tag == kValueTag) {
        if (!ReadLength(p, end, body)) return false;
        label.value = std::string_view(body, static_cast<size_t>(p - body));
      } else if (!SkipUnknown(tag, tag_at, p, end, 0b110)) {
        return false;
      }
    }
    Push(out_.labels_, label);
    return true;
  }

  // Sample bodies are nearly always `09 <8 bytes> 10 <varint>`: read at once when so.
  [[gnu::always_inline]] bool ParseSample(const char* p, const char* end) {
    if (static_cast<int64_t>(out_.samples_.size()) >= max_samples_) [[unlikely]] {
      return Fail(Problem::kTooManySamples, p);
    }
    // A timestamp of 1..9 bytes (any non-negative int64 below 2^63) ending the body.
    if (end - p >= 11 && end - p <= 19 && p[0] == static_cast<char>(kSampleValueTag) &&
        p[9] == static_cast<char>(kSampleTimestampTag)) {
      uint64_t t = 0;
      int shift = 0;
      const char* q = p + 10;
      for (; q < end - 1 && static_cast<signed char>(*q) < 0; ++q, shift += 7) {
        t |= uint64_t{static_cast<unsigned char>(*q) & 0x7fu} << shift;
      }
      if (q == end - 1 && static_cast<signed char>(*q) >= 0) {
        t |= uint64_t{static_cast<unsigned char>(*q)} << shift;
        Push(out_.samples_,
             metrics::Sample{static_cast<int64_t>(t), std::bit_cast<double>(LoadLittle64(p + 1))});
        return true;
      }
    }
    return ParseSampleSlow(p, end);
  }

  [[gnu::noinline]] bool ParseSampleSlow(const char* p, const char* end) {
    metrics::Sample sample;
    while (p < end) {
      const char* tag_at = p;
      uint32_t tag;
      if (!ReadTag(p, end, tag)) return false;
      if (tag == kSampleValueTag) {
        if (end - p < 8) return Fail(Problem::kTruncatedFixed64, p);
        sample.v = std::bit_cast<double>(LoadLittle64(p));
        p += 8;
      } else if (tag == kSampleTimestampTag) {
        uint64_t t;
        if (!ReadVarint(p, end, t)) return false;
        sample.t = static_cast<int64_t>(t);
      } else if (!SkipUnknown(tag, tag_at, p, end, 0b110)) {
        return false;
      }
    }
    Push(out_.samples_, sample);
    return true;
  }

  // push_back with the growth out of line, so that the hot loops stay small enough to inline it.
  template <typename T>
  [[gnu::always_inline]] static void Push(std::vector<T>& v, const T& x) {
    if (v.size() == v.capacity()) [[unlikely]]
      Grow(v);
    v.push_back(x);
  }
  template <typename T>
  [[gnu::noinline]] static void Grow(std::vector<T>& v) {
    v.reserve(std::max<size_t>(256, v.capacity() * 2));
  }

  WriteRequest& out_;
  const char* base_;
  const int64_t max_samples_;
  // Where the parser is, for error messages.
  int64_t series_index_ = 0;
  bool in_series_ = false;
  const char* part_ = nullptr;  // The repeated field of the series being read, or null.
  uint32_t part_index_ = 0;
  // The first error.
  Problem problem_ = Problem::kNone;
  int64_t error_at_ = 0;
  uint64_t arg_a_ = 0;
  uint64_t arg_b_ = 0;
};

Status WriteRequest::Decode(std::string_view snappy_body, const RemoteWriteLimits& limits) {
  series_.clear();
  labels_.clear();
  samples_.clear();
  num_exemplars_ = num_histograms_ = num_metadata_ = 0;

  size_t size = 0;
  if (!snappy::GetUncompressedLength(snappy_body.data(), snappy_body.size(), &size)) {
    return InvalidArgument("snappy: corrupt input (bad length header)");
  }
  const size_t max_size = std::min(limits.max_decompressed_bytes, kMaxBuffer);
  if (size > max_size) {
    return {StatusCode::kPayloadTooLarge, "snappy: decompressed size " + std::to_string(size) +
                                              " bytes exceeds the limit of " +
                                              std::to_string(max_size) + " bytes"};
  }
  if (size > buffer_capacity_ || buffer_ == nullptr) {
    buffer_ = std::make_unique_for_overwrite<char[]>(std::max<size_t>(size, 1));
    buffer_capacity_ = std::max<size_t>(size, 1);
  }
  if (!snappy::RawUncompress(snappy_body.data(), snappy_body.size(), buffer_.get())) {
    return InvalidArgument("snappy: corrupt input");
  }
  WriteRequestParser parser(*this, buffer_.get(), limits.max_samples);
  if (!parser.ParseWriteRequest(buffer_.get(), buffer_.get() + size)) {
    series_.clear();
    labels_.clear();
    samples_.clear();
    num_exemplars_ = num_histograms_ = num_metadata_ = 0;
    return parser.error();
  }
  return Status::Ok();
}

Result<WriteRequest> DecodeWriteRequest(std::string_view snappy_body,
                                        const RemoteWriteLimits& limits) {
  WriteRequest request;
  PLATOPS_RETURN_IF_ERROR(request.Decode(snappy_body, limits));
  return request;
}

// ---------------------------------------------------------------------------------------------
// Appending.

int64_t AppendSummary::rejected_total() const {
  return std::accumulate(rejected.begin(), rejected.end(), int64_t{0});
}

namespace {

constexpr size_t kMaxLabelsInMessage = 200;

// The OR of every byte of `s` masked to its top bit: zero when `s` is ASCII.
[[gnu::always_inline]] inline uint64_t NonAsciiBits(std::string_view s) {
  uint64_t bits = 0;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    bits |= w;
  }
  for (; i < s.size(); ++i) bits |= static_cast<unsigned char>(s[i]);
  return bits & 0x8080808080808080ULL;
}

bool ValidUtf8(std::string_view s) { return NonAsciiBits(s) == 0 || IsValidUtf8(s); }

// a < b for label names; most adjacent names differ in their first byte.
[[gnu::always_inline]] inline bool NameLess(std::string_view a, std::string_view b) {
  if (!a.empty() && !b.empty() && a[0] != b[0]) {
    return static_cast<unsigned char>(a[0]) < static_cast<unsigned char>(b[0]);
  }
  return a < b;
}

// Assigns unless equal: consecutive series mostly share label names and many values.
[[gnu::always_inline]] inline void AssignIfDifferent(std::string& to, std::string_view from) {
  if (to.size() != from.size() || std::memcmp(to.data(), from.data(), from.size()) != 0) {
    to.assign(from);
  }
}

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  out += EscapeLabelValue(Abbreviate(s, 64));
  out += '"';
  return out;
}

std::string_view AppendErrorText(metrics::AppendError error) {
  switch (error) {
    case metrics::AppendError::kNone:
      return "appended";
    case metrics::AppendError::kOutOfOrder:
      return "out of order sample";
    case metrics::AppendError::kDuplicate:
      return "duplicate sample for timestamp";
    case metrics::AppendError::kOutOfBounds:
      return "out of bounds (older than the head)";
    case metrics::AppendError::kInvalidLabels:
      return "invalid labels";
    case metrics::AppendError::kLimit:
      return "storage limit reached";
  }
  return "unknown error";
}

struct SortedLabel {
  std::string_view name;
  std::string_view value;
  uint32_t wire_index;
};

// Validates one series' labels and fills `labels` (Normalize()d) from them. One pass over the
// labels as sent; sorting and the duplicate scan only when they are not strictly increasing.
class SeriesValidator {
 public:
  explicit SeriesValidator(const RemoteWriteLimits& limits) : limits_(limits) {}

  // Returns kNone, or kInvalidLabels / kLimit with `error` naming the series and the label.
  metrics::AppendError Build(std::span<const RemoteLabel> wire, size_t series_index,
                             metrics::Labels& labels, std::string& error) {
    if (wire.size() > limits_.max_labels_per_series) {
      error = Where(series_index) + ": " + std::to_string(wire.size()) +
              " labels, over the limit of " + std::to_string(limits_.max_labels_per_series);
      return metrics::AppendError::kLimit;
    }
    sorted_.clear();
    bool increasing = true;
    bool has_name = false;
    for (size_t i = 0; i < wire.size(); ++i) {
      const RemoteLabel& l = wire[i];
      if (l.name.size() > limits_.max_label_name_bytes ||
          l.value.size() > limits_.max_label_value_bytes || l.name.empty() ||
          (NonAsciiBits(l.name) | NonAsciiBits(l.value)) != 0) [[unlikely]] {
        if (l.name.size() > limits_.max_label_name_bytes ||
            l.value.size() > limits_.max_label_value_bytes || l.name.empty() ||
            !IsValidUtf8(l.name) || !IsValidUtf8(l.value)) {
          return Reject(wire, series_index, i, error);
        }
      }
      if (i > 0 && !NameLess(wire[i - 1].name, l.name)) increasing = false;
      if (l.value.empty()) continue;
      has_name |= l.name == metrics::kMetricName;
      sorted_.push_back({l.name, l.value, static_cast<uint32_t>(i)});
    }
    if (!increasing) {
      // Duplicates are looked for among all labels, empty values included.
      for (size_t i = 0; i < wire.size(); ++i) {
        if (wire[i].value.empty()) sorted_.push_back({wire[i].name, {}, static_cast<uint32_t>(i)});
      }
      auto by_name = [](const SortedLabel& x, const SortedLabel& y) {
        return x.name < y.name || (x.name == y.name && x.wire_index < y.wire_index);
      };
      std::sort(sorted_.begin(), sorted_.end(), by_name);
      for (size_t i = 1; i < sorted_.size(); ++i) {
        if (sorted_[i].name == sorted_[i - 1].name) {
          error = Where(series_index) + ".labels[" + std::to_string(sorted_[i].wire_index) +
                  "]: duplicate label name " + Quoted(sorted_[i].name);
          return metrics::AppendError::kInvalidLabels;
        }
      }
      std::erase_if(sorted_, [](const SortedLabel& l) { return l.value.empty(); });
    }
    if (!has_name) {
      error = Where(series_index) + ": no " + std::string(metrics::kMetricName) +
              " label (metric name)";
      return metrics::AppendError::kInvalidLabels;
    }
    labels.resize(sorted_.size());
    for (size_t i = 0; i < sorted_.size(); ++i) {
      AssignIfDifferent(labels[i].name, sorted_[i].name);
      AssignIfDifferent(labels[i].value, sorted_[i].value);
    }
    return metrics::AppendError::kNone;
  }

 private:
  static std::string Where(size_t series_index) {
    return "timeseries[" + std::to_string(series_index) + "]";
  }

  // The error of label `i`, which failed a check in Build.
  [[gnu::noinline]] metrics::AppendError Reject(std::span<const RemoteLabel> wire,
                                                size_t series_index, size_t i,
                                                std::string& error) const {
    const RemoteLabel& l = wire[i];
    error = Where(series_index) + ".labels[" + std::to_string(i) + "]: ";
    if (l.name.size() > limits_.max_label_name_bytes) {
      error += "label name is " + std::to_string(l.name.size()) + " bytes, over the limit of " +
               std::to_string(limits_.max_label_name_bytes);
      return metrics::AppendError::kLimit;
    }
    if (l.value.size() > limits_.max_label_value_bytes) {
      error += "value of label " + Quoted(l.name) + " is " + std::to_string(l.value.size()) +
               " bytes, over the limit of " + std::to_string(limits_.max_label_value_bytes);
      return metrics::AppendError::kLimit;
    }
    if (l.name.empty()) {
      error += "label name is empty";
    } else if (!ValidUtf8(l.name)) {
      error += "label name " + Quoted(l.name) + " is not valid UTF-8";
    } else {
      error += "value of label " + Quoted(l.name) + " is not valid UTF-8";
    }
    return metrics::AppendError::kInvalidLabels;
  }

  const RemoteWriteLimits& limits_;
  std::vector<SortedLabel> sorted_;
};

}  // namespace

AppendSummary AppendWriteRequest(const WriteRequest& request, metrics::Appender& appender,
                                 const RemoteWriteLimits& limits) {
  AppendSummary summary;
  summary.series = static_cast<int64_t>(request.series().size());
  summary.samples = request.num_samples();
  summary.histograms_dropped = request.num_histograms();
  summary.exemplars_ignored = request.num_exemplars();
  summary.metadata_ignored = request.num_metadata();

  SeriesValidator validator(limits);
  metrics::Labels labels;
  std::string error;
  const auto series = request.series();
  for (size_t i = 0; i < series.size(); ++i) {
    const auto samples = request.samples(series[i]);
    if (samples.empty()) continue;
    const metrics::AppendError verdict =
        validator.Build(request.labels(series[i]), i, labels, error);
    if (verdict != metrics::AppendError::kNone) {
      summary.rejected[static_cast<size_t>(verdict)] += static_cast<int64_t>(samples.size());
      if (verdict == metrics::AppendError::kLimit) {
        ++summary.series_over_limit;
      } else {
        ++summary.series_invalid_labels;
      }
      if (summary.first_error.empty()) summary.first_error = std::move(error);
      continue;
    }
    metrics::SeriesRef ref = 0;
    for (size_t k = 0; k < samples.size(); ++k) {
      const metrics::AppendError e = appender.Append(ref, labels, samples[k].t, samples[k].v);
      if (e == metrics::AppendError::kNone) {
        ++summary.samples_appended;
        continue;
      }
      ++summary.rejected[static_cast<size_t>(e)];
      if (summary.first_error.empty()) {
        summary.first_error = "timeseries[" + std::to_string(i) + "].samples[" + std::to_string(k) +
                              "]: " + std::string(AppendErrorText(e)) + " for " +
                              Abbreviate(metrics::ToString(labels), kMaxLabelsInMessage) +
                              " at t=" + std::to_string(samples[k].t);
      }
    }
  }
  return summary;
}

RemoteWriteReply ReplyForDecodeError(const Status& status) {
  return {status.code() == StatusCode::kPayloadTooLarge ? 413 : 400, status.message()};
}

RemoteWriteReply ReplyForAppend(const AppendSummary& summary, const Status& commit) {
  if (!commit.ok()) {
    return {commit.code() == StatusCode::kUnavailable ? 503 : 500,
            "storing the samples failed: " + commit.message()};
  }
  std::string histograms;
  if (summary.histograms_dropped > 0) {
    histograms = std::to_string(summary.histograms_dropped) +
                 " native histogram samples dropped: native histograms are not supported";
  }
  const int64_t rejected = summary.rejected_total();
  if (rejected == 0) {
    if (histograms.empty()) return {204, ""};
    return {200, histograms};
  }
  std::string msg =
      std::to_string(rejected) + " of " + std::to_string(summary.samples) + " samples rejected (";
  bool first = true;
  for (size_t i = 1; i < summary.rejected.size(); ++i) {
    if (summary.rejected[i] == 0) continue;
    if (!first) msg += ", ";
    first = false;
    msg += metrics::AppendErrorName(static_cast<metrics::AppendError>(i));
    msg += ": " + std::to_string(summary.rejected[i]);
  }
  msg += "); first: " + summary.first_error;
  if (!histograms.empty()) msg += "; " + histograms;
  return {400, std::move(msg)};
}

// ---------------------------------------------------------------------------------------------
// Encoding.

namespace {

size_t VarintSize(uint64_t v) { return v < 0x80 ? 1 : 1 + VarintSize(v >> 7); }

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

size_t FieldSize(size_t payload) { return 1 + VarintSize(payload) + payload; }

size_t LabelSize(const metrics::Label& l) {
  return (l.name.empty() ? 0 : FieldSize(l.name.size())) +
         (l.value.empty() ? 0 : FieldSize(l.value.size()));
}

size_t SampleSize(const metrics::Sample& s) {
  return (std::bit_cast<uint64_t>(s.v) == 0 ? 0 : 9) +
         (s.t == 0 ? 0 : 1 + VarintSize(static_cast<uint64_t>(s.t)));
}

void PutString(std::string& out, uint32_t tag, std::string_view s) {
  if (s.empty()) return;
  out.push_back(static_cast<char>(tag));
  PutVarint(out, s.size());
  out.append(s);
}

}  // namespace

std::string EncodeWriteRequest(
    const std::vector<std::pair<metrics::Labels, std::vector<metrics::Sample>>>& series) {
  std::string proto;
  for (const auto& [labels, samples] : series) {
    size_t size = 0;
    for (const auto& l : labels) size += FieldSize(LabelSize(l));
    for (const auto& s : samples) size += FieldSize(SampleSize(s));
    proto.push_back(static_cast<char>(kTimeseriesTag));
    PutVarint(proto, size);
    for (const auto& l : labels) {
      proto.push_back(static_cast<char>(kLabelsTag));
      PutVarint(proto, LabelSize(l));
      PutString(proto, kNameTag, l.name);
      PutString(proto, kValueTag, l.value);
    }
    for (const auto& s : samples) {
      proto.push_back(static_cast<char>(kSamplesTag));
      PutVarint(proto, SampleSize(s));
      const uint64_t bits = std::bit_cast<uint64_t>(s.v);
      if (bits != 0) {
        proto.push_back(static_cast<char>(kSampleValueTag));
        for (int b = 0; b < 8; ++b) proto.push_back(static_cast<char>(bits >> (8 * b)));
      }
      if (s.t != 0) {
        proto.push_back(static_cast<char>(kSampleTimestampTag));
        PutVarint(proto, static_cast<uint64_t>(s.t));
      }
    }
  }
  std::string compressed;
  snappy::Compress(proto.data(), proto.size(), &compressed);
  return compressed;
}

}  // namespace platops::ingest
