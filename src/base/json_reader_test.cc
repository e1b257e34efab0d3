#include "base/json_reader.h"

#include <gtest/gtest.h>

namespace platops {
namespace {

TEST(JsonReaderTest, ReadsKnownFieldsAndRejectsUnknown) {
  auto v = ParseJson(R"({"slug":"api","tier":2,"tags":["a","b"],"links":{"repo":"x"},"extra":1})");
  ASSERT_TRUE(v.ok());
  JsonReader r(*v);
  EXPECT_EQ(*r.String("slug", true), "api");
  EXPECT_EQ(*r.Int("tier"), 2);
  EXPECT_EQ(r.StringList("tags")->size(), 2u);
  EXPECT_EQ(r.StringMap("links")->at("repo"), "x");
  Status st = r.Finish();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.field(), "extra");
  EXPECT_EQ(st.message(), "unknown field");
}

TEST(JsonReaderTest, TypeErrorsNameTheField) {
  auto v = ParseJson(R"({"tier":"two","deps":[{"service":"a"},{"service":5}]})");
  ASSERT_TRUE(v.ok());
  {
    JsonReader r(*v);
    r.Int("tier");
    r.Ignore("deps");
    EXPECT_EQ(r.Finish().field(), "tier");
  }
  {
    JsonReader r(*v, "services[3]");
    r.Ignore("tier");
    r.ObjectList("deps", [](JsonReader& item, size_t) { item.String("service", true); });
    Status st = r.Finish();
    EXPECT_EQ(st.field(), "services[3].deps[1].service");
    EXPECT_EQ(st.message(), "must be a string");
  }
}

TEST(JsonReaderTest, RequiredAndNull) {
  auto v = ParseJson(R"({"name":null})");
  JsonReader r(*v);
  EXPECT_FALSE(r.String("name", true).has_value());
  EXPECT_EQ(r.Finish().ToString(), "validation_failed: name: is required");
}

TEST(JsonReaderTest, ParseErrors) {
  EXPECT_FALSE(ParseJson("{").ok());
  EXPECT_FALSE(ParseJson("{} x").ok());
  EXPECT_FALSE(ParseJson("\"\xC3\"").ok());
  EXPECT_FALSE(JsonReader(*ParseJson("[1]")).ok());
  std::string deep(100, '[');
  EXPECT_FALSE(ParseJson(deep + std::string(100, ']')).ok());
}

}  // namespace
}  // namespace platops
