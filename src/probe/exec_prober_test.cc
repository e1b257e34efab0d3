#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "probe/probe_test_util.h"
#include "probe/prober.h"

namespace platops::probe {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

class ExecProberTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/exec_prober_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Prober> Make(int max_in_flight = 32) {
    EngineOptions options;
    options.max_exec_in_flight = max_in_flight;
    auto p = NewExecProber(options, clock_);
    p->Start();
    return p;
  }

  static std::shared_ptr<const Spec> Sh(const std::string& script, ExecSpec spec = {}) {
    spec.command = "/bin/sh";
    spec.args = {"-c", script};
    return std::make_shared<const Spec>(std::move(spec));
  }

  static Result RunOne(Prober& p, std::shared_ptr<const Spec> spec,
                       milliseconds timeout = milliseconds(5000)) {
    return RunOneProbe(p, std::move(spec), timeout);
  }

  SystemClock clock_;
  std::string dir_;
};

TEST_F(ExecProberTest, ExitCodesFollowNagiosPluginSemantics) {
  auto p = Make();
  ProbeResults results;
  for (int code = 0; code <= 4; ++code) {
    p->Run(Sh("echo status " + std::to_string(code) + "; exit " + std::to_string(code)),
           milliseconds(5000), results.For(code));
  }
  ASSERT_TRUE(results.WaitFor(5));
  const Outcome expected[] = {Outcome::kOk, Outcome::kWarning, Outcome::kCritical,
                              Outcome::kUnknown, Outcome::kUnknown};
  for (int code = 0; code <= 4; ++code) {
    Result r = results.Get(code);
    EXPECT_EQ(r.outcome, expected[code]) << code;
    EXPECT_EQ(r.exit_code, code);
    EXPECT_EQ(r.message, "status " + std::to_string(code));
    EXPECT_GT(r.duration.count(), 0);
    EXPECT_LE(std::chrono::abs(r.started - clock_.Now()), milliseconds(10000));
    EXPECT_EQ(results.Calls(code), 1);
  }
}

TEST_F(ExecProberTest, EmptyOutputSaysTheExitCode) {
  auto p = Make();
  Result r = RunOne(*p, Sh("exit 1"));
  EXPECT_EQ(r.outcome, Outcome::kWarning);
  EXPECT_EQ(r.message, "exit 1");
}

TEST_F(ExecProberTest, MessageAndPerfdataIncludingLongOutput) {
  // The long-output example of the Nagios plugin API documentation.
  auto p = Make();
  Result r = RunOne(*p, Sh("printf '%s\\n' "
                           "'DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968' "
                           "'/ 15272 MB (77%);' "
                           "'/boot 68 MB (69%); | /boot=68MB;88;93;0;98' "
                           "'/home=69357MB;253404;253409;0;253414'"));
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.message, "DISK OK - free space: / 3326 MB (56%);");
  ASSERT_EQ(r.perfdata.size(), 3u);
  EXPECT_EQ(r.perfdata[0].label, "/");
  EXPECT_EQ(r.perfdata[0].value, 2643);
  EXPECT_EQ(r.perfdata[0].unit, "MB");
  EXPECT_EQ(r.perfdata[0].max, 5968.0);
  EXPECT_EQ(r.perfdata[1].label, "/boot");
  EXPECT_EQ(r.perfdata[2].label, "/home");
  EXPECT_EQ(r.perfdata[2].crit, 253409.0);
}

TEST_F(ExecProberTest, StderrCountsAsOutput) {
  auto p = Make();
  Result r = RunOne(*p, Sh("echo 'CRITICAL - disk gone' >&2; exit 2"));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "CRITICAL - disk gone");
}

TEST_F(ExecProberTest, EnvironmentIsTheSpecsPlusPath) {
  auto p = Make();
  ExecSpec spec;
  spec.env = {{"FOO", "bar baz"}};
  Result r = RunOne(*p, Sh("echo \"foo=$FOO home=${HOME-unset} path=$PATH\"", spec));
  const char* path = std::getenv("PATH");
  EXPECT_EQ(r.message, std::string("foo=bar baz home=unset path=") +
                           (path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin"));

  spec.env = {{"PATH", "/nowhere:/bin"}};
  r = RunOne(*p, Sh("echo \"$PATH\"", spec));
  EXPECT_EQ(r.message, "/nowhere:/bin");
}

TEST_F(ExecProberTest, WorkingDirIsHonoured) {
  auto p = Make();
  ExecSpec spec;
  spec.working_dir = dir_;
  Result r = RunOne(*p, Sh("pwd -P", spec));
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.message, std::filesystem::canonical(dir_).string());

  spec.working_dir = dir_ + "/missing";
  r = RunOne(*p, Sh("pwd", spec));
  EXPECT_EQ(r.outcome, Outcome::kUnknown);
  EXPECT_EQ(r.message, "working_dir " + dir_ + "/missing: No such file or directory");
}

TEST_F(ExecProberTest, StdinIsDevNullAndServerFdsAreNotInherited) {
  // An fd the server forgot to mark close-on-exec.
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(dup2(fd, 100), 100);
  close(fd);
  auto p = Make();
  Result r = RunOne(
      *p, Sh("echo \"$(readlink /proc/$$/fd/0) $([ -e /proc/$$/fd/100 ] && echo leaked || echo "
             "clean)\""));
  close(100);
  EXPECT_EQ(r.message, "/dev/null clean");
}

TEST_F(ExecProberTest, CommandNameIsLookedUpInPath) {
  auto p = Make();
  ExecSpec spec;
  spec.command = "sh";
  spec.args = {"-c", "echo found"};
  Result r = RunOne(*p, std::make_shared<const Spec>(spec));
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.message, "found");
}

TEST_F(ExecProberTest, MissingCommandIsUnknown) {
  auto p = Make();
  ExecSpec spec;
  spec.command = "/nonexistent/check_thing";
  Result r = RunOne(*p, std::make_shared<const Spec>(spec));
  EXPECT_EQ(r.outcome, Outcome::kUnknown);
  EXPECT_EQ(r.message, "exec /nonexistent/check_thing: No such file or directory");
  EXPECT_EQ(r.exit_code, -1);

  spec.command = "no_such_plugin_anywhere";
  r = RunOne(*p, std::make_shared<const Spec>(spec));
  EXPECT_EQ(r.outcome, Outcome::kUnknown);
  EXPECT_EQ(r.message, "exec no_such_plugin_anywhere: No such file or directory (not in PATH)");
}

TEST_F(ExecProberTest, KilledBySignalIsUnknown) {
  auto p = Make();
  Result r = RunOne(*p, Sh("echo partial; kill -9 $$"));
  EXPECT_EQ(r.outcome, Outcome::kUnknown);
  EXPECT_EQ(r.message, "killed by signal 9");
}

TEST_F(ExecProberTest, OutputFloodIsCappedAndEndsAtTheTimeout) {
  auto p = Make();
  ExecSpec spec;
  spec.command = "yes";
  spec.max_output_bytes = 1024;
  auto start = SteadyClock::now();
  Result r = RunOne(*p, std::make_shared<const Spec>(spec), milliseconds(300));
  auto took = SteadyClock::now() - start;
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message,
            "timed out after 300 ms; killed process group (output truncated at 1024 bytes)");
  EXPECT_GE(took, milliseconds(300));
  EXPECT_LT(took, milliseconds(600));
}

TEST_F(ExecProberTest, LongOutputIsTruncatedButTheExitCodeCounts) {
  auto p = Make();
  ExecSpec spec;
  spec.max_output_bytes = 1024;
  Result r = RunOne(*p, Sh("echo 'WARNING - big'; yes | head -c 200000; exit 1", spec));
  EXPECT_EQ(r.outcome, Outcome::kWarning);
  EXPECT_EQ(r.message, "WARNING - big (output truncated at 1024 bytes)");
}

TEST_F(ExecProberTest, TimeoutKillsTheWholeProcessGroup) {
  // Orphans are re-parented to us, so the killed grandchild can be reaped and seen gone.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  auto p = Make();
  ExecSpec spec;
  spec.working_dir = dir_;
  auto start = SteadyClock::now();
  Result r =
      RunOne(*p, Sh("trap '' TERM; sleep 100 & echo $! > pid; wait", spec), milliseconds(300));
  EXPECT_EQ(r.outcome, Outcome::kCritical);
  EXPECT_EQ(r.message, "timed out after 300 ms; killed process group");
  EXPECT_LT(SteadyClock::now() - start, milliseconds(600));

  pid_t grandchild = 0;
  std::ifstream(dir_ + "/pid") >> grandchild;
  ASSERT_GT(grandchild, 0);
  bool gone = false;
  while (SteadyClock::now() - start < milliseconds(300 + 1500)) {
    int status = 0;
    if (waitpid(grandchild, &status, WNOHANG) == grandchild) {
      EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    }
    if (kill(grandchild, 0) == -1 && errno == ESRCH) {
      gone = true;
      break;
    }
    std::this_thread::sleep_for(milliseconds(10));  // polling the kernel, not timing logic
  }
  prctl(PR_SET_CHILD_SUBREAPER, 0);
  EXPECT_TRUE(gone) << "grandchild " << grandchild << " survived the timeout";
}

TEST_F(ExecProberTest, AtMostMaxInFlightChildrenRunAtOnce) {
  auto p = Make(2);
  ProbeResults results;
  auto start = SteadyClock::now();
  for (int i = 0; i < 6; ++i) p->Run(Sh("sleep 0.2"), milliseconds(5000), results.For(i));
  ASSERT_TRUE(results.WaitFor(6));
  auto took = SteadyClock::now() - start;
  EXPECT_GE(took, milliseconds(600));  // three rounds of two
  EXPECT_LT(took, milliseconds(1100));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(results.Get(i).outcome, Outcome::kOk);
}

TEST_F(ExecProberTest, ProbeWaitingLongerThanItsTimeoutFails) {
  auto p = Make(1);
  ProbeResults results;
  p->Run(Sh("sleep 0.4"), milliseconds(5000), results.For(0));
  p->Run(Sh("exit 0"), milliseconds(100), results.For(1));
  ASSERT_TRUE(results.WaitFor(2));
  Result queued = results.Get(1);
  EXPECT_EQ(queued.outcome, Outcome::kCritical);
  EXPECT_EQ(queued.message, "not started within timeout: exec queue full (1 running)");
  EXPECT_EQ(results.Get(0).outcome, Outcome::kOk);
}

TEST_F(ExecProberTest, StopReportsShutdownForRunningAndQueuedProbes) {
  auto p = Make(2);
  ProbeResults results;
  ExecSpec spec;
  spec.working_dir = dir_;
  for (int i = 0; i < 3; ++i) {
    p->Run(Sh("touch started.$$; sleep 100", spec), milliseconds(10000), results.For(i));
  }
  // Two children run and the third waits for a slot.
  auto running = [&] {
    int n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++n;
    return n;
  };
  for (auto until = SteadyClock::now() + milliseconds(3000);
       running() < 2 && SteadyClock::now() < until;) {
    std::this_thread::sleep_for(milliseconds(5));  // polling the file system
  }
  ASSERT_EQ(running(), 2);
  auto start = SteadyClock::now();
  p->Stop();
  EXPECT_LT(SteadyClock::now() - start, milliseconds(1000));
  ASSERT_TRUE(results.WaitFor(3, milliseconds(0)));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(results.Get(i).outcome, Outcome::kUnknown);
    EXPECT_EQ(results.Get(i).message, "platops is shutting down");
    EXPECT_EQ(results.Calls(i), 1);
  }
  p->Run(Sh("exit 0"), milliseconds(1000), results.For(3));
  ASSERT_TRUE(results.WaitFor(4, milliseconds(0)));
  EXPECT_EQ(results.Get(3).message, "platops is shutting down");
}

}  // namespace
}  // namespace platops::probe
