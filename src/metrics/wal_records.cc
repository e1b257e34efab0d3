#include "metrics/wal_records.h"

#include <algorithm>
#include <cstring>

#include "metrics/varint.h"

namespace platops::metrics {
namespace {

// The most bytes one encoded sample takes: two 10-byte varints and the 8 value bytes.
constexpr size_t kMaxSampleBytes = 28;
// The fewest: two 1-byte varints and the value.
constexpr size_t kMinSampleBytes = 10;

inline bool GetString(const char*& p, const char* end, std::string_view& s) {
  uint64_t len;
  if (!GetUvarint(p, end, len) || len > static_cast<uint64_t>(end - p)) return false;
  s = std::string_view(p, len);
  p += len;
  return true;
}

inline void StoreLittleEndian64(char* p, uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(p, &v, 8);
  } else {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
  }
}

inline uint64_t LoadLittleEndian64(const char* p) {
  if constexpr (std::endian::native == std::endian::little) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  } else {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(p[i])} << (8 * i);
    return v;
  }
}

Status CheckType(std::string_view record, WalRecordType want, std::string_view what) {
  if (record.empty()) return InvalidArgument("wal " + std::string(what) + " record: empty");
  if (static_cast<uint8_t>(record[0]) != static_cast<uint8_t>(want)) {
    return InvalidArgument("wal " + std::string(what) + " record: type byte " +
                           std::to_string(static_cast<uint8_t>(record[0])) + ", want " +
                           std::to_string(static_cast<uint8_t>(want)));
  }
  return Status::Ok();
}

Status SeriesError(size_t entry, const char* p, std::string_view record, std::string_view what) {
  return InvalidArgument("wal series record: series " + std::to_string(entry) + " at byte " +
                         std::to_string(p - record.data()) + ": " + std::string(what));
}

Status SampleError(size_t index, const char* p, std::string_view record, std::string_view what) {
  return InvalidArgument("wal samples record: sample " + std::to_string(index) + " at byte " +
                         std::to_string(p - record.data()) + ": " + std::string(what));
}

}  // namespace

Result<WalRecordType> GetWalRecordType(std::string_view record) {
  if (record.empty()) return InvalidArgument("wal record: empty");
  const auto type = static_cast<uint8_t>(record[0]);
  if (type == static_cast<uint8_t>(WalRecordType::kSeries)) return WalRecordType::kSeries;
  if (type == static_cast<uint8_t>(WalRecordType::kSamples)) return WalRecordType::kSamples;
  return InvalidArgument("wal record: unknown type byte " + std::to_string(type));
}

void BeginSeriesRecord(std::string& out) {
  out.clear();
  out.push_back(static_cast<char>(WalRecordType::kSeries));
}

void AppendSeriesEntry(SeriesRef ref, const Labels& labels, std::string& out) {
  AppendUvarint(out, ref);
  AppendUvarint(out, labels.size());
  for (const Label& l : labels) {
    AppendUvarint(out, l.name.size());
    out.append(l.name);
    AppendUvarint(out, l.value.size());
    out.append(l.value);
  }
}

void EncodeSeriesRecordInto(std::span<const WalSeries> series, std::string& out) {
  BeginSeriesRecord(out);
  for (const WalSeries& s : series) AppendSeriesEntry(s.ref, s.labels, out);
}

std::string EncodeSeriesRecord(std::span<const WalSeries> series) {
  std::string out;
  EncodeSeriesRecordInto(series, out);
  return out;
}

Status DecodeSeriesRecordInto(std::string_view record, std::vector<WalSeries>& out) {
  PLATOPS_RETURN_IF_ERROR(CheckType(record, WalRecordType::kSeries, "series"));
  const char* p = record.data() + 1;
  const char* const end = record.data() + record.size();
  size_t n = 0;
  while (p < end) {
    uint64_t ref;
    uint64_t count;
    if (!GetUvarint(p, end, ref)) return SeriesError(n, p, record, "truncated or overlong ref");
    if (!GetUvarint(p, end, count)) {
      return SeriesError(n, p, record, "truncated or overlong label count");
    }
    // Every label takes at least two length bytes: bounds what a corrupt count can allocate.
    if (count > static_cast<uint64_t>(end - p) / 2) {
      return SeriesError(n, p, record,
                         "label count " + std::to_string(count) + " exceeds the record");
    }
    if (n == out.size()) out.emplace_back();
    WalSeries& s = out[n];
    s.ref = ref;
    s.labels.resize(count);
    for (uint64_t j = 0; j < count; ++j) {
      std::string_view name;
      std::string_view value;
      if (!GetString(p, end, name)) return SeriesError(n, p, record, "truncated label name");
      if (!GetString(p, end, value)) return SeriesError(n, p, record, "truncated label value");
      if (name.empty()) return SeriesError(n, p, record, "empty label name");
      if (j > 0 && name <= std::string_view(s.labels[j - 1].name)) {
        return SeriesError(n, p, record, "label names not sorted or not unique");
      }
      s.labels[j].name.assign(name);
      s.labels[j].value.assign(value);
    }
    ++n;
  }
  out.resize(n);
  return Status::Ok();
}

Result<std::vector<WalSeries>> DecodeSeriesRecord(std::string_view record) {
  std::vector<WalSeries> out;
  PLATOPS_RETURN_IF_ERROR(DecodeSeriesRecordInto(record, out));
  return out;
}

void EncodeSamplesRecordInto(std::span<const WalSample> samples, std::string& out) {
  out.clear();
  out.reserve(1 + samples.size() * kMinSampleBytes);
  out.push_back(static_cast<char>(WalRecordType::kSamples));
  // Encodes into a stack buffer and appends it in chunks: resizing `out` to the worst case first
  // would zero-fill 28 bytes per sample, more than the encoding itself costs.
  constexpr size_t kChunkSamples = 256;
  char buf[kChunkSamples * kMaxSampleBytes];
  uint64_t prev_ref = 0;
  uint64_t prev_t = 0;
  for (size_t start = 0; start < samples.size(); start += kChunkSamples) {
    const size_t stop = std::min(samples.size(), start + kChunkSamples);
    char* p = buf;
    for (size_t i = start; i < stop; ++i) {
      const WalSample& s = samples[i];
      // Wrapping differences: any pair of refs or timestamps encodes.
      p = PutUvarint(p, ZigZag(static_cast<int64_t>(s.ref - prev_ref)));
      p = PutUvarint(p, ZigZag(static_cast<int64_t>(static_cast<uint64_t>(s.t) - prev_t)));
      StoreLittleEndian64(p, std::bit_cast<uint64_t>(s.v));
      p += 8;
      prev_ref = s.ref;
      prev_t = static_cast<uint64_t>(s.t);
    }
    out.append(buf, p - buf);
  }
}

std::string EncodeSamplesRecord(std::span<const WalSample> samples) {
  std::string out;
  EncodeSamplesRecordInto(samples, out);
  return out;
}

Status DecodeSamplesRecordInto(std::string_view record, std::vector<WalSample>& out) {
  out.clear();
  PLATOPS_RETURN_IF_ERROR(CheckType(record, WalRecordType::kSamples, "samples"));
  const char* p = record.data() + 1;
  const char* const end = record.data() + record.size();
  out.reserve((end - p) / kMinSampleBytes);
  uint64_t ref = 0;
  uint64_t t = 0;
  while (p < end) {
    uint64_t ref_delta;
    uint64_t t_delta;
    if (!GetUvarint(p, end, ref_delta)) {
      return SampleError(out.size(), p, record, "truncated or overlong ref delta");
    }
    if (!GetUvarint(p, end, t_delta)) {
      return SampleError(out.size(), p, record, "truncated or overlong time delta");
    }
    if (end - p < 8) return SampleError(out.size(), p, record, "truncated value");
    ref += static_cast<uint64_t>(UnZigZag(ref_delta));
    t += static_cast<uint64_t>(UnZigZag(t_delta));
    out.push_back(WalSample{.ref = ref,
                            .t = static_cast<int64_t>(t),
                            .v = std::bit_cast<double>(LoadLittleEndian64(p))});
    p += 8;
  }
  return Status::Ok();
}

Result<std::vector<WalSample>> DecodeSamplesRecord(std::string_view record) {
  std::vector<WalSample> out;
  PLATOPS_RETURN_IF_ERROR(DecodeSamplesRecordInto(record, out));
  return out;
}

}  // namespace platops::metrics
