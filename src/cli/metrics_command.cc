// metrics import: backfills an OpenMetrics text file into a data directory's metrics store, offline
// (metrics/backfill.h).

#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/logging.h"
#include "base/time_util.h"
#include "cli/command.h"
#include "metrics/backfill.h"

namespace platops::cli {

namespace json = boost::json;

namespace {

// A whole file mapped read-only (inputs can be far larger than memory is comfortable with).
class MappedInput {
 public:
  static Result<std::unique_ptr<MappedInput>> Open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return InvalidArgument("cannot open " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return InvalidArgument(path + " is not a regular file");
    }
    auto in = std::unique_ptr<MappedInput>(new MappedInput());
    in->size_ = static_cast<size_t>(st.st_size);
    if (in->size_ > 0) {
      void* p = ::mmap(nullptr, in->size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        Status s = InvalidArgument("cannot map " + path + ": " + std::strerror(errno));
        ::close(fd);
        return s;
      }
      in->data_ = static_cast<const char*>(p);
    }
    ::close(fd);
    return in;
  }
  ~MappedInput() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  }
  std::string_view text() const { return {data_, size_}; }

 private:
  MappedInput() = default;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

std::string TimeText(int64_t t) { return FormatRfc3339(Timestamp(std::chrono::milliseconds(t))); }

json::object ReportJson(const metrics::BackfillReport& r) {
  json::array blocks;
  for (const auto& b : r.blocks) {
    blocks.push_back({{"id", b.id},
                      {"min_time", b.min_time},
                      {"max_time", b.max_time},
                      {"num_series", b.num_series},
                      {"num_samples", b.num_samples},
                      {"num_chunks", b.num_chunks}});
  }
  json::array errors;
  for (const auto& e : r.errors) errors.push_back({{"line", e.line}, {"message", e.message}});
  return {{"samples", r.samples},       {"series", r.series},     {"duplicates", r.duplicates},
          {"min_time", r.min_time},     {"max_time", r.max_time}, {"blocks", std::move(blocks)},
          {"errors", std::move(errors)}};
}

struct ImportFlags {
  std::string file;
  std::string data_dir;
  std::string block_duration = "18h";
  uint64_t max_samples_in_memory = metrics::BackfillOptions{}.max_samples_in_memory;
};

// Exit 0 when every sample was imported; 1 with nothing imported on any input error (each printed
// as FILE:LINE: message) or when the store is locked or unwritable; 2 on bad flags.
int RunImport(CommandContext& ctx, const ImportFlags& f) {
  auto duration = ParseDuration(f.block_duration);
  if (!duration.ok()) return ctx.UsageError("--block-duration: " + duration.status().message());
  metrics::BackfillOptions options;
  options.block_duration_ms = duration.value().count();
  options.max_samples_in_memory = f.max_samples_in_memory;
  SystemClock clock;
  options.now_ms = clock.Now().time_since_epoch().count();

  auto input = MappedInput::Open(f.file);
  if (!input.ok()) return ctx.Fail(input.status());
  // Db::Open's start-up chatter would mix with the command's output.
  SetupLogging(LogFormat::kText, "warn");
  const std::filesystem::path dir(f.data_dir);
  std::error_code ec;
  if (std::filesystem::exists(dir / "wal", ec) && std::filesystem::exists(dir / "blocks", ec) &&
      !std::filesystem::exists(dir / "metrics", ec)) {
    return ctx.UsageError("--data-dir: " + f.data_dir +
                          " is a metrics store itself; pass the data directory that holds it");
  }
  const std::string store = (dir / "metrics").string();
  auto report = metrics::Backfill(input.value()->text(), store, options);
  if (!report.ok()) {
    if (report.status().code() == StatusCode::kInvalidArgument) {
      return ctx.UsageError(report.status().message());
    }
    return ctx.Fail(report.status());
  }
  const metrics::BackfillReport& r = report.value();
  if (ctx.format() != OutputFormat::kTable) {
    PrintData(ReportJson(r), ctx.format(), ctx.out());
  } else if (r.errors.empty()) {
    ctx.out() << "imported " << r.samples << " samples of " << r.series << " series into "
              << r.blocks.size() << (r.blocks.size() == 1 ? " block" : " blocks") << " in "
              << store;
    if (!r.blocks.empty()) {
      ctx.out() << " (" << TimeText(r.min_time) << " to " << TimeText(r.max_time) << ")";
    }
    ctx.out() << '\n';
    if (r.duplicates > 0) ctx.out() << "dropped " << r.duplicates << " repeated samples\n";
    for (const auto& b : r.blocks) {
      ctx.out() << "  " << b.id << "  " << b.num_series << " series, " << b.num_samples
                << " samples\n";
    }
  }
  if (r.errors.empty()) return kExitOk;
  for (const auto& e : r.errors) {
    ctx.err() << f.file;
    if (e.line > 0) ctx.err() << ':' << e.line;
    ctx.err() << ": " << e.message << '\n';
  }
  ctx.err() << "error: nothing imported: " << r.errors.size()
            << (r.errors.size() == 1 ? " error" : " errors") << " in " << f.file;
  if (r.errors.size() >= metrics::BackfillOptions{}.max_errors) ctx.err() << " (reading stopped)";
  ctx.err() << '\n';
  return kExitFailure;
}

Command AddImport(CLI::App& noun, CommandContext& ctx) {
  auto f = std::make_shared<ImportFlags>();
  CLI::App* app = noun.add_subcommand(
      "import",
      "Backfill an OpenMetrics text file into the metrics store of a data directory, offline: "
      "every "
      "sample needs a timestamp, each family's lines stay together (in any order), the file ends "
      "with # EOF; nothing is imported unless every line is valid");
  app->add_option("file", f->file, "OpenMetrics text file")->required();
  app->add_option("--data-dir", f->data_dir,
                  "The server's data directory; blocks go to DIR/metrics/blocks. Refused while a "
                  "running platops has it open")
      ->required();
  app->add_option("--block-duration", f->block_duration,
                  "Time range of one block: 2h, 6h, 18h, 54h, 162h or 486h")
      ->capture_default_str();
  app->add_option(
         "--max-samples-in-memory", f->max_samples_in_memory,
         "Samples held at once (16-32 bytes each); larger files are read in several passes")
      ->capture_default_str();
  return {app, [&ctx, f] { return RunImport(ctx, *f); }};
}

}  // namespace

std::vector<Command> AddMetricsCommands(CLI::App& root, CommandContext& ctx) {
  std::vector<Command> commands;
  CLI::App* metrics = root.add_subcommand("metrics", "Metrics store tools");
  metrics->require_subcommand(1);
  commands.push_back(AddImport(*metrics, ctx));
  return commands;
}

}  // namespace platops::cli
