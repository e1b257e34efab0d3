#include "ingest/remote_write.h"

#include "metrics/mem_storage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <snappy.h>

#include <bit>
#include <cmath>
#include <limits>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace platops::ingest {
namespace {

using metrics::AppendError;
using metrics::Label;
using metrics::Labels;
using metrics::Sample;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Hand-built protobuf pieces, so tests control every byte.
std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string Tag(uint32_t field, uint32_t wire_type) { return Varint(field << 3 | wire_type); }
std::string Len(uint32_t field, std::string_view payload) {
  return Tag(field, 2) + Varint(payload.size()) + std::string(payload);
}
std::string Fixed64(double v) {
  uint64_t bits = std::bit_cast<uint64_t>(v);
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(bits >> (8 * i)));
  return out;
}
std::string LabelMsg(std::string_view name, std::string_view value) {
  return Len(1, name) + Len(2, value);
}
std::string SampleMsg(double v, int64_t t) {
  return Tag(1, 1) + Fixed64(v) + Tag(2, 0) + Varint(static_cast<uint64_t>(t));
}
// A TimeSeries field (field 1 of WriteRequest) from already encoded Label / Sample messages.
std::string SeriesField(const std::vector<std::string>& labels,
                        const std::vector<std::string>& samples) {
  std::string body;
  for (const auto& l : labels) body += Len(1, l);
  for (const auto& s : samples) body += Len(2, s);
  return Len(1, body);
}

std::string Snappy(std::string_view proto) {
  std::string out;
  snappy::Compress(proto.data(), proto.size(), &out);
  return out;
}

std::string Unsnappy(std::string_view body) {
  std::string out;
  EXPECT_TRUE(snappy::Uncompress(body.data(), body.size(), &out));
  return out;
}

// A decoded series as plain values, for comparisons.
struct Flat {
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<Sample> samples;
  bool operator==(const Flat&) const = default;
};

void PrintTo(const Flat& f, std::ostream* os) {
  *os << "{";
  for (const auto& [n, v] : f.labels) *os << n << "=" << v << " ";
  for (const auto& s : f.samples) *os << "(" << s.t << "," << s.v << ")";
  *os << "}";
}

std::vector<Flat> Flatten(const WriteRequest& request) {
  std::vector<Flat> out;
  for (const auto& s : request.series()) {
    Flat f;
    for (const auto& l : request.labels(s)) f.labels.emplace_back(l.name, l.value);
    f.samples.assign(request.samples(s).begin(), request.samples(s).end());
    out.push_back(std::move(f));
  }
  return out;
}

Result<WriteRequest> DecodeProto(std::string_view proto, const RemoteWriteLimits& limits = {}) {
  return DecodeWriteRequest(Snappy(proto), limits);
}

std::string DecodeError(std::string_view proto) {
  auto r = DecodeProto(proto);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

// Records every Append; fails the samples whose timestamp is in `errors`; hands out ref 7.
class ScriptedAppender : public metrics::Appender {
 public:
  AppendError Append(metrics::SeriesRef& ref, const Labels& labels, int64_t t, double v) override {
    refs_in.push_back(ref);
    if (auto it = errors.find(t); it != errors.end()) return it->second;
    appended.emplace_back(labels, Sample{t, v});
    ref = 7;
    return AppendError::kNone;
  }
  Status Commit() override { return Status::Ok(); }
  void Rollback() override {}

  std::map<int64_t, AppendError> errors;
  std::vector<metrics::SeriesRef> refs_in;
  std::vector<std::pair<Labels, Sample>> appended;
};

class RemoteWriteTest : public ::testing::Test {
 protected:
  static int64_t Rejected(const AppendSummary& s, AppendError e) {
    return s.rejected[static_cast<size_t>(e)];
  }
};

TEST_F(RemoteWriteTest, RoundTripThroughTheEncoder) {
  const double stale = std::bit_cast<double>(metrics::kStaleNanBits);
  std::vector<std::pair<Labels, std::vector<Sample>>> series = {
      {{{"__name__", "http_requests_total"}, {"code", "200"}, {"job", "api"}},
       {{1700000000000, 1027}, {1700000015000, 1030.5}}},
      // Unsorted labels pass through the decoder as sent.
      {{{"job", "node"}, {"__name__", "temperature_celsius"}, {"city", "Zürich"}},
       {{-5, -0.0},
        {0, 0.0},
        {std::numeric_limits<int64_t>::min(), stale},
        {std::numeric_limits<int64_t>::max(), std::numeric_limits<double>::infinity()},
        {1, std::numeric_limits<double>::denorm_min()}}},
      {{{"__name__", "no_samples"}}, {}},
      {{}, {{3, 3}}},
  };
  auto r = DecodeWriteRequest(EncodeWriteRequest(series));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<Flat> want;
  for (const auto& [labels, samples] : series) {
    Flat f;
    for (const auto& l : labels) f.labels.emplace_back(l.name, l.value);
    f.samples = samples;
    want.push_back(f);
  }
  EXPECT_EQ(Flatten(*r), want);
  EXPECT_EQ(r->num_samples(), 8);
  EXPECT_EQ(r->num_exemplars(), 0);
  EXPECT_EQ(r->num_histograms(), 0);
  EXPECT_EQ(r->num_metadata(), 0);
}

TEST_F(RemoteWriteTest, RoundTripOfManySeriesKeepsEveryValue) {
  std::vector<std::pair<Labels, std::vector<Sample>>> series;
  for (int i = 0; i < 3000; ++i) {
    Labels labels = {{"__name__", "m" + std::to_string(i % 7)},
                     {"instance", "host-" + std::to_string(i) + ":9100"},
                     {"job", std::string(static_cast<size_t>(i % 300), 'x')}};
    std::vector<Sample> samples;
    for (int k = 0; k < i % 4; ++k) samples.push_back({i * 1000LL + k, i * 0.5 - k});
    series.emplace_back(std::move(labels), std::move(samples));
  }
  auto r = DecodeWriteRequest(EncodeWriteRequest(series));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->series().size(), series.size());
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& s = r->series()[i];
    ASSERT_EQ(r->labels(s).size(), 3u);
    EXPECT_EQ(r->labels(s)[1].value, series[i].first[1].value);
    EXPECT_EQ(r->labels(s)[2].value, series[i].first[2].value);
    ASSERT_EQ(r->samples(s).size(), series[i].second.size());
    for (size_t k = 0; k < series[i].second.size(); ++k) {
      EXPECT_EQ(r->samples(s)[k], series[i].second[k]);
    }
  }
}

// Bytes made by the peers' reference encoder (shared/peers/rwproto.py: hand-rolled protobuf in
// literal-only snappy), for series [__name__="http_requests_total", code="200", job="api"]
// (1.5 @1700000000000, -0.25 @1700000015000) and [__name__="up", city="zürich"]
// (1e300 @1700000000000).
constexpr std::string_view kReferenceRequestHex =
    "9501f0940a5e0a1f0a085f5f6e616d655f5f1213687474705f72657175657374735f746f74616c0a"
    "0b0a04636f646512033230300a0a0a036a6f621203617069121009000000000000f83f1080d095ff"
    "bc31121009000000000000d0bf1098c596ffbc310a330a0e0a085f5f6e616d655f5f120275700a0f"
    "0a046369747912077ac3bc726963681210099c7500883ce4377e1080d095ffbc31";

std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

TEST_F(RemoteWriteTest, DecodesTheReferenceEncodersBytes) {
  auto r = DecodeWriteRequest(FromHex(kReferenceRequestHex));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<Flat> want = {
      {{{"__name__", "http_requests_total"}, {"code", "200"}, {"job", "api"}},
       {{1700000000000, 1.5}, {1700000015000, -0.25}}},
      {{{"__name__", "up"}, {"city", "z\xc3\xbcrich"}}, {{1700000000000, 1e300}}},
  };
  EXPECT_EQ(Flatten(*r), want);
}

TEST_F(RemoteWriteTest, EncoderWritesTheSameProtobufAsTheReferenceEncoder) {
  std::vector<std::pair<Labels, std::vector<Sample>>> series = {
      {{{"__name__", "http_requests_total"}, {"code", "200"}, {"job", "api"}},
       {{1700000000000, 1.5}, {1700000015000, -0.25}}},
      {{{"__name__", "up"}, {"city", "z\xc3\xbcrich"}}, {{1700000000000, 1e300}}},
  };
  // The reference body is literal-only snappy: its protobuf starts after the 3-byte header.
  const std::string reference = FromHex(kReferenceRequestHex);
  EXPECT_EQ(Unsnappy(EncodeWriteRequest(series)), Unsnappy(reference));
}

TEST_F(RemoteWriteTest, EncoderOmitsZeroFieldsAsProto3Does) {
  std::vector<std::pair<Labels, std::vector<Sample>>> series = {
      {{{"a", ""}}, {{0, 0.0}, {0, -0.0}}}};
  // TimeSeries{labels: Label{name: "a"}, samples: Sample{}, samples: Sample{value: -0.0}}.
  std::string want = Len(1, Len(1, Len(1, "a")) + Len(2, "") + Len(2, Tag(1, 1) + Fixed64(-0.0)));
  EXPECT_EQ(Unsnappy(EncodeWriteRequest(series)), want);
}

TEST_F(RemoteWriteTest, EmptyRequestIsValid) {
  auto r = DecodeProto("");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->series().empty());
  EXPECT_EQ(EncodeWriteRequest({}), Snappy(""));
}

TEST_F(RemoteWriteTest, RejectsBadSnappy) {
  const std::string good = EncodeWriteRequest({{{{"__name__", "up"}}, {{1, 1}}}});
  for (std::string_view body : {std::string_view(""), std::string_view("\xff\xff\xff\xff\xff\xff"),
                                std::string_view(good).substr(0, good.size() - 1)}) {
    auto r = DecodeWriteRequest(body);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), StartsWith("snappy: corrupt input"));
  }
  // Plain protobuf sent without compression: its first byte claims a 10-byte output.
  auto plain = DecodeWriteRequest(Unsnappy(good));
  ASSERT_FALSE(plain.ok());
  EXPECT_THAT(plain.status().message(), StartsWith("snappy: corrupt input"));
}

TEST_F(RemoteWriteTest, TruncationAtEveryByteIsAnErrorUnlessOnAFieldBoundary) {
  const std::string first = SeriesField({LabelMsg("__name__", "up"), LabelMsg("job", "a")},
                                        {SampleMsg(1, 1000), SampleMsg(-2, -1)});
  const std::string second = SeriesField({LabelMsg("__name__", "x")}, {SampleMsg(3, 3)});
  const std::string proto = first + second;
  for (size_t n = 0; n <= proto.size(); ++n) {
    SCOPED_TRACE("prefix of " + std::to_string(n) + " bytes");
    auto r = DecodeProto(std::string_view(proto).substr(0, n));
    if (n == 0 || n == first.size() || n == proto.size()) {
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->series().size(), n == 0 ? 0u : n == first.size() ? 1u : 2u);
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_THAT(r.status().message(), StartsWith("protobuf: "));
      EXPECT_THAT(r.status().message(), HasSubstr(" at byte "));
    }
  }
}

TEST_F(RemoteWriteTest, ErrorsNameTheFieldAndTheByte) {
  // Sample 1 of series 1 ends inside its timestamp varint.
  const std::string ok_series = SeriesField({LabelMsg("__name__", "up")}, {SampleMsg(1, 1)});
  std::string bad_sample = Tag(1, 1) + Fixed64(2) + Tag(2, 0) + "\x80";
  std::string series_body = Len(1, LabelMsg("__name__", "up")) + Len(2, SampleMsg(1, 1));
  const size_t varint_at = ok_series.size() + 2 + series_body.size() + 2 + 10;
  series_body += Len(2, bad_sample);
  EXPECT_EQ(
      DecodeError(ok_series + Len(1, series_body)),
      "protobuf: timeseries[1].samples[1]: truncated varint at byte " + std::to_string(varint_at));

  // Label name with wire type 0 (varint) instead of 2.
  EXPECT_EQ(DecodeError(Len(1, Len(1, Tag(1, 0) + Varint(5)))),
            "protobuf: timeseries[0].labels[0]: wrong wire type 0 for field 1 at byte 4");
  // Sample value as a varint instead of a fixed64.
  EXPECT_EQ(DecodeError(Len(1, Len(2, Tag(1, 0) + Varint(5)))),
            "protobuf: timeseries[0].samples[0]: wrong wire type 0 for field 1 at byte 4");
  // Sample timestamp as fixed64 instead of a varint.
  EXPECT_EQ(DecodeError(Len(1, Len(2, Tag(2, 1) + Fixed64(1)))),
            "protobuf: timeseries[0].samples[0]: wrong wire type 1 for field 2 at byte 4");
  // TimeSeries as a varint; histograms as a fixed32.
  EXPECT_EQ(DecodeError(Tag(1, 0) + Varint(1)),
            "protobuf: wrong wire type 0 for field 1 at byte 0");
  EXPECT_EQ(DecodeError(Len(1, Tag(4, 5) + "abcd")),
            "protobuf: timeseries[0]: wrong wire type 5 for field 4 at byte 2");
  // Metadata as a fixed64.
  EXPECT_EQ(DecodeError(Tag(3, 1) + Fixed64(0)),
            "protobuf: wrong wire type 1 for field 3 at byte 0");
  // A length running past its message.
  EXPECT_EQ(DecodeError(Len(1, Tag(1, 2) + Varint(9) + "abc")),
            "protobuf: timeseries[0].labels[0]: length 9 exceeds the 3 remaining bytes at byte 3");
  EXPECT_EQ(DecodeError(Tag(1, 2) + Varint(300)),
            "protobuf: timeseries[0]: length 300 exceeds the 0 remaining bytes at byte 1");
  // A truncated fixed64 value.
  EXPECT_EQ(DecodeError(Len(1, Len(2, Tag(1, 1) + "1234"))),
            "protobuf: timeseries[0].samples[0]: truncated fixed64 at byte 5");
  // Wire types 6 and 7 do not exist; field number 0 is invalid.
  EXPECT_EQ(DecodeError(Tag(9, 6)), "protobuf: invalid wire type 6 at byte 0");
  EXPECT_EQ(DecodeError(Len(1, Tag(9, 7))),
            "protobuf: timeseries[0]: invalid wire type 7 at byte 2");
  EXPECT_EQ(DecodeError(std::string("\x00\x01", 2)), "protobuf: invalid field number 0 at byte 0");
  // A varint longer than 64 bits.
  EXPECT_EQ(DecodeError(Tag(9, 0) + std::string(10, '\xff') + "\x01"),
            "protobuf: varint overflows 64 bits at byte 1");
  EXPECT_EQ(DecodeError(Tag(9, 0) + std::string(9, '\xff') + "\x02"),
            "protobuf: varint overflows 64 bits at byte 1");
}

TEST_F(RemoteWriteTest, GroupErrors) {
  EXPECT_EQ(DecodeError(Tag(9, 4)), "protobuf: end-group without a start-group at byte 0");
  EXPECT_EQ(DecodeError(Tag(9, 3) + Tag(10, 0) + Varint(1)),
            "protobuf: unterminated group of field 9 at byte 3");
  EXPECT_EQ(DecodeError(Tag(9, 3) + Tag(10, 4)),
            "protobuf: end-group of field 10 inside a group of field 9 at byte 1");
  std::string deep;
  for (int i = 0; i < 101; ++i) deep += Tag(9, 3);
  for (int i = 0; i < 101; ++i) deep += Tag(9, 4);
  EXPECT_EQ(DecodeError(deep), "protobuf: groups nested too deeply at byte 100");
  std::string ok;
  for (int i = 0; i < 100; ++i) ok += Tag(9, 3);
  for (int i = 0; i < 100; ++i) ok += Tag(9, 4);
  EXPECT_TRUE(DecodeProto(ok).ok());
}

TEST_F(RemoteWriteTest, SkipsUnknownFieldsOfEveryWireTypeAtEveryLevel) {
  // Unknown field 9 in all wire types, a group holding each of them, and a nested group.
  const std::string unknown = Tag(9, 0) + Varint(300) + Tag(9, 1) + Fixed64(1) + Len(9, "xyz") +
                              Tag(9, 5) + "abcd" + Tag(9, 3) + Tag(10, 0) + Varint(1) +
                              Len(11, "q") + Tag(12, 3) + Tag(13, 1) + Fixed64(2) + Tag(12, 4) +
                              Tag(9, 4);
  const std::string label = unknown + Len(1, "__name__") + unknown + Len(2, "up") + unknown;
  const std::string sample =
      unknown + Tag(1, 1) + Fixed64(4.5) + unknown + Tag(2, 0) + Varint(77) + unknown;
  // Exemplars (3) and histograms (4) are counted, not decoded.
  const std::string series = unknown + Len(1, label) + unknown + Len(2, sample) + unknown +
                             Len(3, "anything") + Len(4, "") + Len(4, "\xff") + unknown;
  // Field 2 (reserved, Cortex's source enum) and metadata (3) at the top.
  const std::string proto =
      Tag(2, 0) + Varint(1) + unknown + Len(1, series) + Len(3, "meta") + unknown + Len(1, series);
  auto r = DecodeProto(proto);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Flat want{{{"__name__", "up"}}, {{77, 4.5}}};
  EXPECT_EQ(Flatten(*r), (std::vector<Flat>{want, want}));
  EXPECT_EQ(r->num_exemplars(), 2);
  EXPECT_EQ(r->num_histograms(), 4);
  EXPECT_EQ(r->num_metadata(), 1);
  EXPECT_EQ(r->series()[0].num_histograms, 2u);
  EXPECT_EQ(r->series()[0].num_exemplars, 1u);
}

TEST_F(RemoteWriteTest, LastScalarWinsAndFieldsMayInterleave) {
  const std::string label = Len(1, "a") + Len(2, "1") + Len(1, "__name__") + Len(2, "m");
  const std::string sample =
      Tag(1, 1) + Fixed64(1) + Tag(2, 0) + Varint(5) + Tag(1, 1) + Fixed64(2);
  const std::string series =
      Len(2, sample) + Len(1, label) + Len(2, "") + Len(1, LabelMsg("b", ""));
  auto r = DecodeProto(Len(1, series));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Flatten(*r), (std::vector<Flat>{{{{"__name__", "m"}, {"b", ""}}, {{5, 2}, {0, 0}}}}));
}

TEST_F(RemoteWriteTest, NegativeTimestampsUseTenByteVarints) {
  auto r = DecodeProto(Len(1, Len(2, SampleMsg(1, -1))));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Flatten(*r)[0].samples, (std::vector<Sample>{{-1, 1}}));
}

TEST_F(RemoteWriteTest, DecompressedSizeLimit) {
  const std::string body = Snappy(std::string(1000, '\0'));
  RemoteWriteLimits limits;
  limits.max_decompressed_bytes = 999;
  auto r = DecodeWriteRequest(body, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPayloadTooLarge);
  EXPECT_EQ(r.status().message(),
            "snappy: decompressed size 1000 bytes exceeds the limit of 999 bytes");
  EXPECT_EQ(ReplyForDecodeError(r.status()).http_status, 413);
  limits.max_decompressed_bytes = 1000;
  // Within the limit the zero bytes are read as protobuf: field number 0.
  auto at_limit = DecodeWriteRequest(body, limits);
  ASSERT_FALSE(at_limit.ok());
  EXPECT_EQ(at_limit.status().message(), "protobuf: invalid field number 0 at byte 0");
  EXPECT_EQ(ReplyForDecodeError(at_limit.status()).http_status, 400);
}

TEST_F(RemoteWriteTest, SampleLimitRejectsTheWholeRequest) {
  std::vector<std::pair<Labels, std::vector<Sample>>> series = {
      {{{"__name__", "a"}}, {{1, 1}, {2, 2}}}, {{{"__name__", "b"}}, {{1, 1}}}};
  const std::string body = EncodeWriteRequest(series);
  RemoteWriteLimits limits;
  limits.max_samples = 3;
  EXPECT_TRUE(DecodeWriteRequest(body, limits).ok());
  limits.max_samples = 2;
  auto r = DecodeWriteRequest(body, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPayloadTooLarge);
  EXPECT_EQ(r.status().message(), "limit: the request has more than 2 samples (max_samples)");
  EXPECT_EQ(ReplyForDecodeError(r.status()).http_status, 413);
}

TEST_F(RemoteWriteTest, DecodeReusesTheRequestAndEmptiesItOnError) {
  WriteRequest request;
  const std::string big =
      EncodeWriteRequest({{{{"__name__", "a"}, {"x", std::string(5000, 'x')}}, {{1, 1}}}});
  const std::string small = EncodeWriteRequest({{{{"__name__", "b"}}, {{2, 2}, {3, 3}}}});
  ASSERT_TRUE(request.Decode(big).ok());
  ASSERT_TRUE(request.Decode(small).ok());
  EXPECT_EQ(Flatten(request), (std::vector<Flat>{{{{"__name__", "b"}}, {{2, 2}, {3, 3}}}}));
  EXPECT_FALSE(request.Decode(Snappy(Len(1, Len(1, LabelMsg("__name__", "c"))) + "\xff")).ok());
  EXPECT_TRUE(request.series().empty());
  EXPECT_EQ(request.num_samples(), 0);
  // A moved request keeps its label views valid.
  ASSERT_TRUE(request.Decode(big).ok());
  WriteRequest moved = std::move(request);
  EXPECT_EQ(moved.labels(moved.series()[0])[1].value, std::string(5000, 'x'));
}

TEST_F(RemoteWriteTest, AppendsToMemStorageWithNormalizedLabels) {
  metrics::MemStorage storage;
  // Unsorted labels, an empty value (dropped), two series, one of them twice.
  const std::string body = EncodeWriteRequest({
      {{{"job", "api"}, {"__name__", "up"}, {"zone", ""}}, {{1000, 1}, {2000, 0}}},
      {{{"__name__", "up"}, {"job", "db"}}, {{1000, 1}}},
      {{{"__name__", "up"}, {"job", "api"}}, {{3000, 1}}},
  });
  auto request = DecodeWriteRequest(body);
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  auto appender = storage.NewAppender();
  AppendSummary summary = AppendWriteRequest(*request, *appender);
  ASSERT_TRUE(appender->Commit().ok());
  EXPECT_EQ(summary.series, 3);
  EXPECT_EQ(summary.samples, 4);
  EXPECT_EQ(summary.samples_appended, 4);
  EXPECT_EQ(summary.rejected_total(), 0);
  EXPECT_EQ(summary.first_error, "");

  auto querier = storage.NewQuerier(0, 10000);
  ASSERT_TRUE(querier.ok());
  std::vector<metrics::Matcher> matchers = {{metrics::MatchType::kEqual, "__name__", "up"}};
  auto selected = (*querier)->Select(matchers);
  ASSERT_TRUE(selected.ok());
  ASSERT_EQ(selected->size(), 2u);
  EXPECT_EQ((*selected)[0]->labels(), (Labels{{"__name__", "up"}, {"job", "api"}}));
  EXPECT_EQ((*selected)[1]->labels(), (Labels{{"__name__", "up"}, {"job", "db"}}));
  std::vector<Sample> api;
  for (auto it = (*selected)[0]->Iterator(); it->Next();) api.push_back(it->At());
  EXPECT_EQ(api, (std::vector<Sample>{{1000, 1}, {2000, 0}, {3000, 1}}));
}

TEST_F(RemoteWriteTest, InvalidSeriesAreSkippedAndCounted) {
  struct Case {
    Labels labels;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{{"__name__", "m"}, {"", "v"}}, "timeseries[1].labels[1]: label name is empty"},
      {{{"__name__", "m"}, {"job", "a"}, {"env", "x"}, {"job", "b"}},
       "timeseries[1].labels[3]: duplicate label name \"job\""},
      {{{"job", "a"}}, "timeseries[1]: no __name__ label (metric name)"},
      {{{"__name__", ""}, {"job", "a"}}, "timeseries[1]: no __name__ label (metric name)"},
      {{{"__name__", "m"}, {"__name__", "m"}},
       "timeseries[1].labels[1]: duplicate label name "
       "\"__name__\""},
      {{{"__name__", "m"}, {"b\xff", "v"}},
       "timeseries[1].labels[1]: label name \"b\xff\" is "
       "not valid UTF-8"},
      {{{"__name__", "m"}, {"b", "\xc0\x80"}},
       "timeseries[1].labels[1]: value of label \"b\" is not valid UTF-8"},
      {{{"__name__", "m"}, {"b", "\xed\xa0\x80"}},
       "timeseries[1].labels[1]: value of label \"b\" is not valid UTF-8"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.error);
    const std::string body = EncodeWriteRequest({{{{"__name__", "ok"}}, {{1, 1}}},
                                                 {c.labels, {{1, 1}, {2, 2}}},
                                                 {{{"__name__", "ok2"}}, {{1, 1}}}});
    auto request = DecodeWriteRequest(body);
    ASSERT_TRUE(request.ok()) << request.status().ToString();
    ScriptedAppender appender;
    AppendSummary s = AppendWriteRequest(*request, appender);
    EXPECT_EQ(s.samples, 4);
    EXPECT_EQ(s.samples_appended, 2);
    EXPECT_EQ(Rejected(s, AppendError::kInvalidLabels), 2);
    EXPECT_EQ(s.rejected_total(), 2);
    EXPECT_EQ(s.series_invalid_labels, 1);
    EXPECT_EQ(s.series_over_limit, 0);
    EXPECT_EQ(s.first_error, c.error);
    ASSERT_EQ(appender.appended.size(), 2u);
    EXPECT_EQ(appender.appended[1].first, (Labels{{"__name__", "ok2"}}));
    RemoteWriteReply reply = ReplyForAppend(s, Status::Ok());
    EXPECT_EQ(reply.http_status, 400);
    EXPECT_EQ(reply.message, "2 of 4 samples rejected (invalid_labels: 2); first: " + c.error);
  }
}

TEST_F(RemoteWriteTest, UnicodeNamesAndValuesAreValid) {
  const std::string body =
      EncodeWriteRequest({{{{"__name__", "temp.°C"}, {"städte", "Zürich ☃ 𝄞"}}, {{1, 1}}}});
  auto request = DecodeWriteRequest(body);
  ASSERT_TRUE(request.ok());
  ScriptedAppender appender;
  AppendSummary s = AppendWriteRequest(*request, appender);
  EXPECT_EQ(s.samples_appended, 1);
  EXPECT_EQ(s.first_error, "");
}

TEST_F(RemoteWriteTest, LabelLimits) {
  RemoteWriteLimits limits;
  limits.max_labels_per_series = 3;
  limits.max_label_name_bytes = 8;
  limits.max_label_value_bytes = 5;
  struct Case {
    Labels labels;
    int64_t appended;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{{"__name__", "m"}, {"a", "1"}, {"b", ""}}, 1, ""},
      {{{"__name__", "m"}, {"a", "1"}, {"b", ""}, {"c", "2"}},
       0,
       "timeseries[0]: 4 labels, over the limit of 3"},
      {{{"__name__", "m"}, {"abcd", "12345"}}, 1, ""},
      {{{"__name__", "m"}, {"abcdefghi", "1"}},
       0,
       "timeseries[0].labels[1]: label name is 9 bytes, over the limit of 8"},
      {{{"__name__", "m"}, {"a", "123456"}},
       0,
       "timeseries[0].labels[1]: value of label \"a\" is 6 bytes, over the limit of 5"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.error);
    const std::string body = EncodeWriteRequest({{c.labels, {{1, 1}}}});
    auto request = DecodeWriteRequest(body);
    ASSERT_TRUE(request.ok());
    ScriptedAppender appender;
    AppendSummary s = AppendWriteRequest(*request, appender, limits);
    EXPECT_EQ(s.samples_appended, c.appended);
    EXPECT_EQ(Rejected(s, AppendError::kLimit), 1 - c.appended);
    EXPECT_EQ(s.series_over_limit, 1 - c.appended);
    EXPECT_EQ(s.first_error, c.error);
  }
}

TEST_F(RemoteWriteTest, DefaultLimits) {
  RemoteWriteLimits limits;
  EXPECT_EQ(limits.max_decompressed_bytes, 32u << 20);
  EXPECT_EQ(limits.max_samples, 1'000'000);
  EXPECT_EQ(limits.max_labels_per_series, 64u);
  EXPECT_EQ(limits.max_label_name_bytes, 1024u);
  EXPECT_EQ(limits.max_label_value_bytes, 4096u);
  Labels many = {{"__name__", "m"}};
  for (int i = 0; i < 64; ++i) many.push_back({"l" + std::to_string(100 + i), "v"});
  auto request = DecodeWriteRequest(EncodeWriteRequest(
      {{many, {{1, 1}}}, {{{"__name__", "m"}, {"v", std::string(4097, 'v')}}, {{1, 1}}}}));
  ASSERT_TRUE(request.ok());
  ScriptedAppender appender;
  AppendSummary s = AppendWriteRequest(*request, appender);
  EXPECT_EQ(s.series_over_limit, 2);
  EXPECT_EQ(s.first_error, "timeseries[0]: 65 labels, over the limit of 64");
}

TEST_F(RemoteWriteTest, AppenderErrorsAreCountedAndTheRestAppended) {
  ScriptedAppender appender;
  appender.errors = {{10, AppendError::kOutOfOrder},
                     {11, AppendError::kDuplicate},
                     {12, AppendError::kOutOfOrder},
                     {13, AppendError::kOutOfBounds},
                     {14, AppendError::kLimit}};
  const std::string body = EncodeWriteRequest({
      {{{"__name__", "a"}, {"job", "x"}}, {{1, 1}, {10, 1}, {2, 2}, {11, 1}}},
      {{{"__name__", "b"}}, {{12, 1}, {13, 1}, {14, 1}, {3, 3}}},
  });
  auto request = DecodeWriteRequest(body);
  ASSERT_TRUE(request.ok());
  AppendSummary s = AppendWriteRequest(*request, appender);
  EXPECT_EQ(s.samples, 8);
  EXPECT_EQ(s.samples_appended, 3);
  EXPECT_EQ(Rejected(s, AppendError::kOutOfOrder), 2);
  EXPECT_EQ(Rejected(s, AppendError::kDuplicate), 1);
  EXPECT_EQ(Rejected(s, AppendError::kOutOfBounds), 1);
  EXPECT_EQ(Rejected(s, AppendError::kLimit), 1);
  EXPECT_EQ(Rejected(s, AppendError::kInvalidLabels), 0);
  EXPECT_EQ(s.series_invalid_labels, 0);
  EXPECT_EQ(s.first_error,
            "timeseries[0].samples[1]: out of order sample for a{job=\"x\"} at t=10");
  // The ref the appender handed out is passed back within a series, reset for the next one.
  EXPECT_EQ(appender.refs_in, (std::vector<metrics::SeriesRef>{0, 7, 7, 7, 0, 0, 0, 0}));
  ASSERT_EQ(appender.appended.size(), 3u);
  EXPECT_EQ(appender.appended[2], (std::pair<Labels, Sample>{{{"__name__", "b"}}, {3, 3}}));

  RemoteWriteReply reply = ReplyForAppend(s, Status::Ok());
  EXPECT_EQ(reply.http_status, 400);
  EXPECT_EQ(reply.message,
            "5 of 8 samples rejected (out_of_order: 2, duplicate: 1, out_of_bounds: 1, limit: 1); "
            "first: timeseries[0].samples[1]: out of order sample for a{job=\"x\"} at t=10");
}

TEST_F(RemoteWriteTest, HistogramsExemplarsAndMetadataAreCountedNotFailed) {
  const std::string series =
      Len(1, LabelMsg("__name__", "h")) + Len(2, SampleMsg(1, 1)) + Len(3, "ex") + Len(4, "h1");
  const std::string histogram_only = Len(1, LabelMsg("", "bad")) + Len(4, "h2") + Len(4, "h3");
  auto request = DecodeProto(Len(1, series) + Len(1, histogram_only) + Len(3, "md"));
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  ScriptedAppender appender;
  AppendSummary s = AppendWriteRequest(*request, appender);
  EXPECT_EQ(s.samples_appended, 1);
  // The histogram-only series has no float sample: its labels are not validated.
  EXPECT_EQ(s.rejected_total(), 0);
  EXPECT_EQ(s.histograms_dropped, 3);
  EXPECT_EQ(s.exemplars_ignored, 1);
  EXPECT_EQ(s.metadata_ignored, 1);
  RemoteWriteReply reply = ReplyForAppend(s, Status::Ok());
  EXPECT_EQ(reply.http_status, 200);
  EXPECT_EQ(reply.message,
            "3 native histogram samples dropped: native histograms are not supported");

  s.rejected[static_cast<size_t>(AppendError::kOutOfOrder)] = 1;
  s.first_error = "timeseries[0].samples[0]: out of order sample for h at t=1";
  reply = ReplyForAppend(s, Status::Ok());
  EXPECT_EQ(reply.http_status, 400);
  EXPECT_THAT(reply.message, HasSubstr("; 3 native histogram samples dropped"));
}

TEST_F(RemoteWriteTest, Replies) {
  AppendSummary clean;
  clean.samples = clean.samples_appended = 5;
  RemoteWriteReply ok = ReplyForAppend(clean, Status::Ok());
  EXPECT_EQ(ok.http_status, 204);
  EXPECT_EQ(ok.message, "");
  RemoteWriteReply busy = ReplyForAppend(clean, Unavailable("wal: disk full"));
  EXPECT_EQ(busy.http_status, 503);
  EXPECT_EQ(busy.message, "storing the samples failed: wal: disk full");
  EXPECT_EQ(ReplyForAppend(clean, Internal("boom")).http_status, 500);
  // A failed commit wins over rejected samples: the sender must retry.
  AppendSummary partial = clean;
  partial.rejected[static_cast<size_t>(AppendError::kOutOfOrder)] = 1;
  EXPECT_EQ(ReplyForAppend(partial, Unavailable("x")).http_status, 503);
  RemoteWriteReply bad = ReplyForDecodeError(InvalidArgument("snappy: corrupt input"));
  EXPECT_EQ(bad.http_status, 400);
  EXPECT_EQ(bad.message, "snappy: corrupt input");
}

}  // namespace
}  // namespace platops::ingest
