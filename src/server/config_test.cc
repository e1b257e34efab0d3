#include "server/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "testing/temp_store.h"

namespace platops::server {
namespace {

using namespace std::chrono_literals;

std::string Write(const testing::TempDir& dir, const std::string& text) {
  std::string path = (dir.path() / "platops.yaml").string();
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, DefaultsAreDocumented) {
  ServerConfig c;
  EXPECT_EQ(c.data_dir, "./data");
  EXPECT_EQ(c.listen, "127.0.0.1:9470");
  EXPECT_EQ(c.http.max_body_bytes, 8u * 1024 * 1024);
  // The commented default file loads and gives the same values.
  testing::TempDir dir;
  auto loaded = LoadConfigFile(Write(dir, DefaultConfigYaml()));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->listen, c.listen);
  EXPECT_EQ(loaded->http.read_timeout, c.http.read_timeout);
  EXPECT_EQ(loaded->store.sync_full, c.store.sync_full);
  EXPECT_TRUE(Validate(*loaded).ok());
}

TEST(ConfigTest, ShippedExampleIsTheDefaultFile) {
  const char* src = std::getenv("PLATOPS_SOURCE_DIR");
  std::ifstream in(std::string(src ? src : ".") + "/examples/platops.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), DefaultConfigYaml())
      << "regenerate with: platops config default > examples/platops.yaml";
}

TEST(ConfigTest, FileThenEnvironment) {
  testing::TempDir dir;
  auto c = LoadConfigFile(Write(dir,
                                "listen: 0.0.0.0:8080\nhttp:\n  read_timeout: 5s\n"
                                "store:\n  readers: 8\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen, "0.0.0.0:8080");
  EXPECT_EQ(c->http.read_timeout, 5s);
  EXPECT_EQ(c->store.readers, 8);
  ASSERT_TRUE(ApplyEnvironment({{"PLATOPS_LISTEN", "127.0.0.1:9999"},
                                {"PLATOPS_STORE_SYNC_FULL", "false"},
                                {"PLATOPS_BOOTSTRAP_TOKEN", "0123456789abcdef"}},
                               *c)
                  .ok());
  EXPECT_EQ(c->listen, "127.0.0.1:9999");
  EXPECT_FALSE(c->store.sync_full);
  EXPECT_EQ(c->bootstrap_token, "0123456789abcdef");
}

TEST(ConfigTest, ErrorsNameTheOption) {
  testing::TempDir dir;
  auto unknown = LoadConfigFile(Write(dir, "http:\n  max_body: 5\n"));
  EXPECT_EQ(unknown.status().field(), "http.max_body");
  auto bad = LoadConfigFile(Write(dir, "store:\n  readers: 500\n"));
  EXPECT_EQ(bad.status().field(), "store.readers");
  auto secret = LoadConfigFile(Write(dir, "bootstrap_token: abc\n"));
  EXPECT_EQ(secret.status().field(), "bootstrap_token");
  ServerConfig c;
  EXPECT_EQ(ApplyEnvironment({{"PLATOPS_HTTP_READ_TIMEOUT", "soon"}}, c).field(),
            "PLATOPS_HTTP_READ_TIMEOUT");
  c.listen = "nowhere";
  EXPECT_EQ(Validate(c).field(), "listen");
  c = {};
  c.tls.cert_file = "/nonexistent.pem";
  EXPECT_EQ(Validate(c).field(), "tls");
}

TEST(ConfigTest, ParseListen) {
  auto v4 = ParseListen("127.0.0.1:9470");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->first, "127.0.0.1");
  EXPECT_EQ(v4->second, 9470);
  auto v6 = ParseListen("[::1]:80");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->first, "::1");
  EXPECT_FALSE(ParseListen("host:99999").ok());
}

}  // namespace
}  // namespace platops::server
