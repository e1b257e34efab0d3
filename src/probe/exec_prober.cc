// Exec probes: Nagios plugins run through posix_spawn, no shell, on one dispatcher thread that
// watches every child's output pipe and pidfd in one epoll set.
// Each child gets its own process group, so a timeout kills whatever the plugin forked too.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/strings.h"
#include "probe/event_loop_prober.h"

namespace platops::probe {

namespace {

using std::chrono::milliseconds;

constexpr std::string_view kDefaultPath = "/usr/local/bin:/usr/bin:/bin";
constexpr size_t kReadChunk = 64 * 1024;

// epoll tags: the probe id (from 1) shifted left, the kind in the low bits; 0 is the eventfd.
enum Tag : uint64_t { kTagOutput = 1, kTagPidfd = 2 };
constexpr uint64_t MakeTag(uint64_t id, Tag kind) { return (id << 2) | kind; }

std::string ErrnoText(int err) {
  const char* text = strerrordesc_np(err);
  return text != nullptr ? text : "error " + std::to_string(err);
}

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// Control characters would break the one-line message; tabs become spaces too.
std::string OneLine(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (!IsValidUtf8(out)) {
    for (char& c : out) {
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    }
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

// The Nagios plugin API: the first line is "message | perfdata"; in the long output (later lines)
// everything after the first '|' is perfdata too.
std::pair<std::string, std::string> SplitPluginOutput(std::string_view out) {
  size_t nl = out.find('\n');
  std::string_view first = out.substr(0, nl);
  std::string_view rest = nl == std::string_view::npos ? std::string_view() : out.substr(nl + 1);
  size_t bar = first.find('|');
  std::string message(Trim(first.substr(0, bar)));
  std::string perf;
  if (bar != std::string_view::npos) perf = first.substr(bar + 1);
  if (size_t rest_bar = rest.find('|'); rest_bar != std::string_view::npos) {
    perf += ' ';
    perf += rest.substr(rest_bar + 1);
  }
  return {OneLine(message), std::move(perf)};
}

// The directory holding `command` in `path` (":"-separated), like execvp; empty when none.
std::string FindInPath(const std::string& command, std::string_view path) {
  for (const std::string& dir : Split(path, ':')) {
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + command;
    struct stat st {};
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return {};
}

// posix_spawn's attribute and file-action objects, destroyed on every path.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawnattr_init(&attr_);
    posix_spawn_file_actions_init(&actions_);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  posix_spawnattr_t* attr() { return &attr_; }
  posix_spawn_file_actions_t* actions() { return &actions_; }

 private:
  posix_spawnattr_t attr_;
  posix_spawn_file_actions_t actions_;
};

// Thread-safety: Run, Start and Stop from any thread; the rest runs on the dispatcher thread.
class ExecProber final : public EventLoopProber {
 public:
  ExecProber(const EngineOptions& options, const Clock& clock)
      : EventLoopProber(clock, MaxInFlight(options),
                        "exec queue full (" + std::to_string(MaxInFlight(options)) + " running)",
                        64) {
    const char* path = std::getenv("PATH");
    server_path_ = path != nullptr && *path != '\0' ? path : std::string(kDefaultPath);
    if (init_errno() != 0) {
      init_error_ = "exec prober: cannot create its epoll set: " + ErrnoText(init_errno());
    }
  }

  ~ExecProber() override { Stop(); }

 private:
  // A running child. It keeps its slot until the leader is reaped.
  struct Child {
    uint64_t id = 0;
    Callback done;  // empty once the result is reported
    milliseconds timeout{0};
    Timestamp started{};
    SteadyTime start{};
    SteadyTime deadline{};
    int64_t max_output = 0;
    pid_t pid = -1;   // also the process group id
    int pidfd = -1;   // readable once the leader has exited
    int out_fd = -1;  // read end of the stdout+stderr pipe; -1 after EOF
    bool leader_exited = false;
    std::string output;
    bool truncated = false;
  };

  static size_t MaxInFlight(const EngineOptions& options) {
    return static_cast<size_t>(std::clamp(options.max_exec_in_flight, 1, 1024));
  }

  void HandleEvent(const epoll_event& ev) override {
    uint64_t id = ev.data.u64 >> 2;
    switch (ev.data.u64 & 3) {
      case kTagOutput:
        if (auto it = children_.find(id); it != children_.end()) ReadOutput(*it->second);
        break;
      case kTagPidfd:
        if (auto it = children_.find(id); it != children_.end()) LeaderExited(*it->second);
        break;
    }
  }

  std::optional<SteadyTime> NextRunningDeadline() override {
    if (child_deadlines_.empty()) return std::nullopt;
    return child_deadlines_.begin()->first;
  }

  size_t InFlight() const override { return children_.size(); }

  // Kills the group of every child past its deadline and reports the timeout at once; the slot
  // is freed when the leader is reaped.
  void ExpireRunning(SteadyTime now) override {
    while (!child_deadlines_.empty() && child_deadlines_.begin()->first <= now) {
      uint64_t id = child_deadlines_.begin()->second;
      child_deadlines_.erase(child_deadlines_.begin());
      Child& c = *children_.at(id);
      // The leader is not reaped yet (at most a zombie), so its pid still names our group.
      kill(-c.pid, SIGKILL);
      CloseOutput(c);
      std::string message =
          "timed out after " + std::to_string(c.timeout.count()) + " ms; killed process group";
      if (c.truncated) message += TruncatedNote(c);
      Report(c, Outcome::kCritical, std::move(message), -1, {});
      if (c.leader_exited) Reap(c);
    }
  }

  static std::string TruncatedNote(const Child& c) {
    return " (output truncated at " + std::to_string(c.max_output) + " bytes)";
  }

  void StartProbe(Waiting w) override {
    const auto& spec = std::get<ExecSpec>(*w.spec);
    auto child = std::make_unique<Child>();
    child->id = w.id;
    child->done = std::move(w.done);
    child->timeout = w.timeout;
    child->max_output = std::max<int64_t>(spec.max_output_bytes, 1);
    child->started = clock().Now();
    child->start = SteadyClock::now();
    child->deadline = child->start + w.timeout;
    if (!init_error_.empty()) return Report(*child, Outcome::kUnknown, init_error_, -1, {});

    std::vector<std::string> env_storage;
    bool has_path = false;
    for (const auto& [name, value] : spec.env) {
      env_storage.push_back(name + "=" + value);
      if (name == "PATH") has_path = true;
    }
    if (!has_path) env_storage.push_back("PATH=" + server_path_);
    std::string_view path = has_path ? std::string_view(spec.env.at("PATH")) : server_path_;

    std::string program = spec.command;
    if (program.find('/') == std::string::npos) {
      program = FindInPath(spec.command, path);
      if (program.empty()) {
        return Report(*child, Outcome::kUnknown,
                      "exec " + spec.command + ": " + ErrnoText(ENOENT) + " (not in PATH)", -1, {});
      }
    }
    if (!spec.working_dir.empty()) {
      struct stat st {};
      int err = stat(spec.working_dir.c_str(), &st) != 0 ? errno
                : S_ISDIR(st.st_mode)                    ? 0
                                                         : ENOTDIR;
      if (err != 0) {
        return Report(*child, Outcome::kUnknown,
                      "working_dir " + spec.working_dir + ": " + ErrnoText(err), -1, {});
      }
    }

    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
      return Report(*child, Outcome::kUnknown, "exec: pipe: " + ErrnoText(errno), -1, {});
    }
    // Only our end is non-blocking: the child's stdout must block like any other pipe.
    fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);

    std::vector<std::string> argv_storage;
    argv_storage.reserve(spec.args.size() + 1);
    argv_storage.push_back(spec.command);
    argv_storage.insert(argv_storage.end(), spec.args.begin(), spec.args.end());
    std::vector<char*> argv, envp;
    for (std::string& s : argv_storage) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (std::string& s : env_storage) envp.push_back(s.data());
    envp.push_back(nullptr);

    SpawnSetup setup;
    // A fresh process group (killed as a whole), no blocked signals and default dispositions:
    // the server's signal set-up must not leak into plugins.
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setflags(
        setup.attr(), POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(setup.attr(), 0);
    posix_spawnattr_setsigmask(setup.attr(), &none);
    posix_spawnattr_setsigdefault(setup.attr(), &all);
    posix_spawn_file_actions_addopen(setup.actions(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(setup.actions(), pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(setup.actions(), pipe_fds[1], STDERR_FILENO);
    if (!spec.working_dir.empty()) {
      posix_spawn_file_actions_addchdir_np(setup.actions(), spec.working_dir.c_str());
    }
    // Whatever else the server has open, with or without O_CLOEXEC, stays out of the child.
    posix_spawn_file_actions_addclosefrom_np(setup.actions(), STDERR_FILENO + 1);

    pid_t pid = -1;
    int rc =
        posix_spawn(&pid, program.c_str(), setup.actions(), setup.attr(), argv.data(), envp.data());
    close(pipe_fds[1]);
    if (rc != 0) {
      close(pipe_fds[0]);
      return Report(*child, Outcome::kUnknown, "exec " + spec.command + ": " + ErrnoText(rc), -1,
                    {});
    }
    child->pid = pid;
    child->out_fd = pipe_fds[0];
    child->pidfd = PidfdOpen(pid);
    if (child->pidfd < 0) {
      int err = errno;
      kill(-pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      close(child->out_fd);
      return Report(*child, Outcome::kUnknown, "exec: pidfd_open: " + ErrnoText(err), -1, {});
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = MakeTag(child->id, kTagOutput);
    epoll_ctl(epoll_fd(), EPOLL_CTL_ADD, child->out_fd, &ev);
    ev.data.u64 = MakeTag(child->id, kTagPidfd);
    epoll_ctl(epoll_fd(), EPOLL_CTL_ADD, child->pidfd, &ev);
    child_deadlines_.emplace(child->deadline, child->id);
    children_.emplace(child->id, std::move(child));
  }

  // Reads what is there; past the cap the output is read and dropped so the child never blocks.
  void ReadOutput(Child& c) {
    char buf[kReadChunk];
    while (c.out_fd >= 0) {
      ssize_t n = read(c.out_fd, buf, sizeof buf);
      if (n > 0) {
        size_t room = static_cast<size_t>(c.max_output) - c.output.size();
        if (static_cast<size_t>(n) > room) c.truncated = true;
        c.output.append(buf, std::min(room, static_cast<size_t>(n)));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      CloseOutput(c);  // EOF (or a read error, which no pipe gives)
    }
    if (c.leader_exited) Finish(c);
  }

  void CloseOutput(Child& c) {
    if (c.out_fd < 0) return;
    CloseWatched(c.out_fd);
    c.out_fd = -1;
  }

  // The leader is a zombie now; it stays one until the output is done, which keeps its pid (our
  // process group id) from being reused while we may still signal the group.
  void LeaderExited(Child& c) {
    c.leader_exited = true;
    epoll_ctl(epoll_fd(), EPOLL_CTL_DEL, c.pidfd, nullptr);
    if (c.out_fd < 0) Finish(c);
  }

  void Finish(Child& c) {
    siginfo_t info{};
    int rc = waitid(P_PIDFD, static_cast<id_t>(c.pidfd), &info, WEXITED);
    if (!c.done) return Reap(c);
    if (rc != 0) {
      Report(c, Outcome::kUnknown, "exec: waitid: " + ErrnoText(errno), -1, {});
    } else if (info.si_code == CLD_EXITED) {
      int code = info.si_status;
      Outcome outcome = code == 0   ? Outcome::kOk
                        : code == 1 ? Outcome::kWarning
                        : code == 2 ? Outcome::kCritical
                                    : Outcome::kUnknown;
      auto [message, perf] = SplitPluginOutput(c.output);
      if (message.empty()) message = "exit " + std::to_string(code);
      if (c.truncated) message += TruncatedNote(c);
      Report(c, outcome, std::move(message), code, ParsePerfData(perf).first);
    } else {
      Report(c, Outcome::kUnknown, "killed by signal " + std::to_string(info.si_status), -1, {});
    }
    Reap(c);
  }

  // Drops a child whose leader has exited; reaps it first if Finish did not.
  void Reap(Child& c) {
    if (c.pidfd >= 0) {
      siginfo_t info{};
      waitid(P_PIDFD, static_cast<id_t>(c.pidfd), &info, WEXITED | WNOHANG);
      close(c.pidfd);
      c.pidfd = -1;
    }
    CloseOutput(c);
    uint64_t id = c.id;
    child_deadlines_.erase({c.deadline, id});
    children_.erase(id);  // destroys `c`
  }

  void Report(Child& c, Outcome outcome, std::string message, int exit_code,
              std::vector<PerfDatum> perfdata) {
    if (!c.done) return;
    Result r = MakeResult(outcome, std::move(message), c.started, c.start);
    r.exit_code = exit_code;
    r.perfdata = std::move(perfdata);
    Callback done = std::move(c.done);
    c.done = nullptr;
    done(std::move(r));
  }

  void ShutdownRunning() override {
    for (auto& [id, c] : children_) {
      kill(-c->pid, SIGKILL);
      Report(*c, Outcome::kUnknown, std::string(kShuttingDown), -1, {});
      CloseOutput(*c);
      siginfo_t info{};
      waitid(P_PIDFD, static_cast<id_t>(c->pidfd), &info, WEXITED);
      close(c->pidfd);
    }
    children_.clear();
    child_deadlines_.clear();
  }

  std::string server_path_;
  std::string init_error_;  // set when the epoll set could not be made; every probe reports it

  // Dispatcher thread only.
  std::map<uint64_t, std::unique_ptr<Child>> children_;
  std::set<std::pair<SteadyTime, uint64_t>> child_deadlines_;
};

}  // namespace

std::unique_ptr<Prober> NewExecProber(const EngineOptions& options, const Clock& clock) {
  return std::make_unique<ExecProber>(options, clock);
}

}  // namespace platops::probe
