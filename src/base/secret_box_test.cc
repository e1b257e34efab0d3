#include "base/secret_box.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "base/crypto.h"

namespace platops {
namespace {

namespace fs = std::filesystem;

class SecretBoxTest : public ::testing::Test {
 protected:
  SecretBoxTest() : dir_(fs::temp_directory_path() / ("secret_box_test-" + RandomHex(8))) {
    fs::create_directories(dir_);
  }
  ~SecretBoxTest() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  static SecretBox Box(char fill) { return SecretBox::FromKey(std::string(32, fill)).value(); }

  fs::path dir_;
};

TEST_F(SecretBoxTest, SealOpenRoundTripWithAFreshNoncePerSeal) {
  SecretBox box = Box('k');
  const std::string secret = "https://hooks.slack.com/services/T000/B000/XXXX";
  std::string a = box.Seal(secret);
  std::string b = box.Seal(secret);
  EXPECT_EQ(a.rfind("sbx1:", 0), 0u) << a;
  EXPECT_EQ(a.find("hooks.slack.com"), std::string::npos);
  EXPECT_NE(a, b);  // random nonce
  ASSERT_TRUE(box.Open(a).ok()) << box.Open(a).status().ToString();
  EXPECT_EQ(*box.Open(a), secret);
  EXPECT_EQ(*box.Open(b), secret);
  // 24-byte nonce + 16-byte tag + plaintext, base64: 4 * ceil(n / 3).
  EXPECT_EQ(a.size(), 5 + 4 * ((24 + 16 + secret.size() + 2) / 3));

  auto empty = box.Open(box.Seal(""));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

TEST_F(SecretBoxTest, TamperedOrMalformedSealedSecretsDoNotOpen) {
  SecretBox box = Box('k');
  std::string sealed = box.Seal("password");
  // Flip one base64 character inside the ciphertext.
  std::string tampered = sealed;
  char& c = tampered[tampered.size() - 6];
  c = c == 'A' ? 'B' : 'A';
  auto bad = box.Open(tampered);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(bad.status().message().find("does not open"), std::string::npos);

  auto plain = box.Open("password");
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(plain.status().message().find("sbx1:"), std::string::npos);

  auto not_b64 = box.Open("sbx1:***");
  ASSERT_FALSE(not_b64.ok());
  EXPECT_EQ(not_b64.status().message(), "sealed secret is not valid base64");

  auto short_one = box.Open("sbx1:AAAA");
  ASSERT_FALSE(short_one.ok());
  EXPECT_EQ(short_one.status().message(), "sealed secret is too short (3 bytes)");
}

TEST_F(SecretBoxTest, AnotherKeyCannotOpen) {
  std::string sealed = Box('a').Seal("password");
  auto opened = Box('b').Open(sealed);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kPermissionDenied);
}

TEST_F(SecretBoxTest, FromKeyRefusesAWrongSize) {
  auto box = SecretBox::FromKey("short");
  ASSERT_FALSE(box.ok());
  EXPECT_EQ(box.status().message(), "a secret box key must be 32 bytes, got 5");
}

TEST_F(SecretBoxTest, LoadOrCreateCreatesA0600KeyOnceAndReloadsIt) {
  const std::string path = Path("secret.key");
  auto first = SecretBox::LoadOrCreate(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  // No temporary file is left beside it.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1);

  // A second load (a restart) reads the same key: what the first sealed, it opens.
  std::string sealed = first->Seal("smtp password");
  auto second = SecretBox::LoadOrCreate(path);
  ASSERT_TRUE(second.ok());
  auto opened = second->Open(sealed);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, "smtp password");

  // Another file is another key.
  auto other = SecretBox::LoadOrCreate(Path("other.key"));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->Open(sealed).ok());
}

TEST_F(SecretBoxTest, LoadOrCreateRefusesAKeyFileOfTheWrongSizeAndLeavesIt) {
  const std::string path = Path("secret.key");
  {
    std::ofstream out(path, std::ios::binary);
    out << "not a key\n";
  }
  auto box = SecretBox::LoadOrCreate(path);
  ASSERT_FALSE(box.ok());
  EXPECT_EQ(box.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(box.status().message(), "key file \"" + path +
                                        "\" must hold exactly 32 bytes, has 10 (not a platops "
                                        "secret key; refusing to use or replace it)");
  std::ifstream in(path, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "not a key\n");
}

TEST_F(SecretBoxTest, LoadOrCreateReportsAnUnwritableDirectory) {
  auto box = SecretBox::LoadOrCreate(Path("missing-dir/secret.key"));
  ASSERT_FALSE(box.ok());
  EXPECT_EQ(box.status().code(), StatusCode::kInternal);
  EXPECT_NE(box.status().message().find("creating key file"), std::string::npos)
      << box.status().message();
}

}  // namespace
}  // namespace platops
