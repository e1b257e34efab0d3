#include "config/yaml_json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "base/json_reader.h"

namespace platops::config {
namespace {

TEST(YamlJsonTest, ScalarsFollowTheCoreSchema) {
  auto docs = YamlToJson(R"(
kind: Service
slug: api
tier: 2
ratio: 0.5
enabled: true
nothing: ~
quoted: "2"
version_text: '1.0'
tags: [a, b]
links: {repo: "https://x"}
---
---
kind: Team
)");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ(JsonToString((*docs)[0]),
            R"({"kind":"Service","slug":"api","tier":2,"ratio":5E-1,"enabled":true,"nothing":null,)"
            R"("quoted":"2","version_text":"1.0","tags":["a","b"],"links":{"repo":"https://x"}})");
}

TEST(YamlJsonTest, ErrorsNameTheLine) {
  auto r = YamlToJson("kind: Service\nslug: [unclosed\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line"), std::string::npos);
  auto dup = YamlToJson("a: 1\na: 2\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("duplicate key"), std::string::npos);
}

TEST(YamlJsonTest, AliasBombIsRefused) {
  std::string yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'j'; ++c, ++prev)
    yaml += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" +
            prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
            ", *" + prev + "]\n";
  auto r = YamlToJson(yaml);  // 10^10 nodes if expanded
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nodes"), std::string::npos) << r.status().ToString();
}

TEST(YamlJsonTest, ExplicitStringTagKeepsAString) {
  auto r = YamlToJson("port: !!str 5\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)[0].at("port").is_string());
}

TEST(YamlJsonTest, RoundTripKeepsTypesAndOrder) {
  auto v = ParseJson(
      R"({"kind":"Service","slug":"api","tier":1,"name":"true","empty":"","tags":[],"links":{},"n":"007"})");
  ASSERT_TRUE(v.ok());
  std::string yaml = JsonToYaml({*v});
  auto back = YamlToJson(yaml);
  ASSERT_TRUE(back.ok()) << yaml;
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0], *v) << yaml;
}

}  // namespace
}  // namespace platops::config
