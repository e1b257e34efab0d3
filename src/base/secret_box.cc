#include "base/secret_box.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "base/crypto.h"
#include "base/strings.h"

namespace platops {
namespace {

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw std::runtime_error("libsodium failed to initialise");
}

std::string Errno(std::string_view what, const std::string& path) {
  return std::string(what) + " " + QuoteForMessage(path) + ": " + std::strerror(errno);
}

// Closes the descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads the whole key file; nullopt-like NotFound when it does not exist.
Result<std::string> ReadKeyFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return NotFound("no key file " + QuoteForMessage(path));
    return Internal(Errno("opening key file", path));
  }
  std::string out;
  char buf[256];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Internal(Errno("reading key file", path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > 4096) break;  // Far too big already; the size check reports it.
  }
  return out;
}

Status WriteAll(int fd, const unsigned char* data, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Internal(Errno("writing key file", path));
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

// Writes a fresh key to a temporary file beside `path` and links it into place. EEXIST from link
// means another process created the key first; the caller then reads theirs.
Status CreateKeyFile(const std::string& path) {
  const std::string tmp = path + ".tmp-" + RandomHex(8);
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return Internal(Errno("creating key file", tmp));
  std::array<unsigned char, SecretBox::kKeyBytes> key{};
  crypto_secretbox_keygen(key.data());
  Status written = WriteAll(fd.get(), key.data(), key.size(), tmp);
  sodium_memzero(key.data(), key.size());
  // The mode given to open is masked by the umask; make it exactly 0600.
  if (written.ok() && ::fchmod(fd.get(), 0600) != 0) {
    written = Internal(Errno("setting mode of key file", tmp));
  }
  if (written.ok() && ::fsync(fd.get()) != 0) written = Internal(Errno("syncing key file", tmp));
  if (written.ok() && ::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    written = Internal(Errno("linking key file into place as", path));
  }
  ::unlink(tmp.c_str());
  if (!written.ok()) return written;
  // Make the new directory entry durable.
  std::string dir = ".";
  if (auto slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
  }
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());
  return Status::Ok();
}

constexpr size_t kNonceBytes = crypto_secretbox_NONCEBYTES;
constexpr size_t kMacBytes = crypto_secretbox_MACBYTES;
static_assert(crypto_secretbox_KEYBYTES == SecretBox::kKeyBytes);

}  // namespace

Result<SecretBox> SecretBox::FromKey(std::string_view key) {
  if (key.size() != kKeyBytes) {
    return InvalidArgument("a secret box key must be " + std::to_string(kKeyBytes) +
                           " bytes, got " + std::to_string(key.size()));
  }
  EnsureSodium();
  SecretBox box;
  std::memcpy(box.key_.data(), key.data(), kKeyBytes);
  return box;
}

Result<SecretBox> SecretBox::LoadOrCreate(const std::string& path) {
  if (path.empty()) return InvalidArgument("must not be empty", "secret_key_file");
  EnsureSodium();
  Result<std::string> read = ReadKeyFile(path);
  if (!read.ok() && read.status().code() == StatusCode::kNotFound) {
    PLATOPS_RETURN_IF_ERROR(CreateKeyFile(path));
    read = ReadKeyFile(path);
  }
  if (!read.ok()) return read.status();
  std::string key = std::move(read).value();
  if (key.size() != kKeyBytes) {
    const size_t size = key.size();
    sodium_memzero(key.data(), key.size());
    return InvalidArgument("key file " + QuoteForMessage(path) + " must hold exactly " +
                           std::to_string(kKeyBytes) + " bytes, has " +
                           (size > 4096 ? std::string("more than 4096") : std::to_string(size)) +
                           " (not a platops secret key; refusing to use or replace it)");
  }
  Result<SecretBox> box = FromKey(key);
  sodium_memzero(key.data(), key.size());
  return box;
}

SecretBox::~SecretBox() { sodium_memzero(key_.data(), key_.size()); }

std::string SecretBox::Seal(std::string_view plaintext) const {
  std::vector<unsigned char> raw(kNonceBytes + kMacBytes + plaintext.size());
  randombytes_buf(raw.data(), kNonceBytes);
  crypto_secretbox_easy(raw.data() + kNonceBytes,
                        reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                        raw.data(), key_.data());
  return std::string(kPrefix) +
         Base64Encode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

std::string Base64Encode(std::string_view bytes) {
  const int variant = sodium_base64_VARIANT_ORIGINAL;
  std::string b64(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
  sodium_bin2base64(b64.data(), b64.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  b64.resize(b64.size() - 1);  // the terminating NUL
  return b64;
}

Result<std::string> SecretBox::Open(std::string_view sealed) const {
  if (!LooksSealed(sealed)) {
    return InvalidArgument("not a sealed secret (expected the prefix " + std::string(kPrefix) +
                           ")");
  }
  const std::string_view b64 = sealed.substr(kPrefix.size());
  std::vector<unsigned char> raw(b64.size() / 4 * 3 + 3);
  size_t raw_len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(raw.data(), raw.size(), b64.data(), b64.size(), nullptr, &raw_len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != b64.data() + b64.size()) {
    return InvalidArgument("sealed secret is not valid base64");
  }
  if (raw_len < kNonceBytes + kMacBytes) {
    return InvalidArgument("sealed secret is too short (" + std::to_string(raw_len) + " bytes)");
  }
  std::string plain(raw_len - kNonceBytes - kMacBytes, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                 raw.data() + kNonceBytes, raw_len - kNonceBytes, raw.data(),
                                 key_.data()) != 0) {
    return Status(StatusCode::kPermissionDenied,
                  "sealed secret does not open with this key (another key file, or altered data)");
  }
  return plain;
}

}  // namespace platops
