// `dseek chat` driven through a pseudo-terminal (forkpty), the way a person
// uses it: readline prompts, slash commands, prefix reuse across turns, save
// and load, Ctrl-C during an answer and at the prompt, multi-line input, and
// Ctrl-D to leave. Runs a random-weight demo model made with `dseek synth`.
// Every wait is bounded; the child is killed at the end whatever happens. The
// whole transcript (ANSI codes stripped) is printed and saved next to the
// test binary as chat_pty_transcript.txt.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>

#include "../format/malformed_files.h"

namespace dseek {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::ReadBytes;
using testing::TempDir;
using Clock = std::chrono::steady_clock;

constexpr double kWaitSeconds = 20;

// Removes CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST) and two-byte escape
// sequences, and carriage returns. An incomplete sequence at the end is
// dropped, so the result for a prefix of the bytes is a prefix of the result
// for all of them.
std::string StripAnsi(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '\x1b') {
      if (i + 1 >= s.size()) break;
      char k = s[i + 1];
      if (k == '[') {
        size_t j = i + 2;
        while (j < s.size() && !(s[j] >= 0x40 && s[j] <= 0x7e)) ++j;
        i = j + 1;
      } else if (k == ']') {
        size_t j = i + 2;
        while (j < s.size() && s[j] != '\x07' && !(s[j] == '\x1b' && j + 1 < s.size() && s[j + 1] == '\\')) ++j;
        i = j < s.size() && s[j] == '\x1b' ? j + 2 : j + 1;
      } else {
        i += 2;
      }
      continue;
    }
    if (c != '\r' && c != '\x07') out += c;
    ++i;
  }
  return out;
}

// A child process on the slave side of a pseudo-terminal.
class PtyChild {
 public:
  ~PtyChild() { Kill(); }

  bool Start(const std::vector<std::string>& args) {
    struct winsize ws {};
    ws.ws_row = 50;
    ws.ws_col = 200;
    pid_ = forkpty(&master_, nullptr, nullptr, &ws);
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      setenv("TERM", "dumb", 1);
      setenv("INPUTRC", "/dev/null", 1);
      std::vector<char*> argv;
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    return true;
  }

  void Send(const std::string& s) {
    size_t done = 0;
    while (done < s.size()) {
      ssize_t n = ::write(master_, s.data() + done, s.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  // Reads what is there for up to `ms` milliseconds.
  void Pump(int ms) {
    auto end = Clock::now() + std::chrono::milliseconds(ms);
    while (!eof_) {
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count());
      if (left <= 0) break;
      ReadOnce(left);
    }
  }

  // Waits until `what` appears after the cursor in the stripped transcript and
  // moves the cursor past it. Returns false after kWaitSeconds or at EOF.
  bool WaitFor(const std::string& what, std::string* before = nullptr) {
    auto end = Clock::now() + std::chrono::milliseconds(static_cast<int>(kWaitSeconds * 1000));
    for (;;) {
      std::string text = Text();
      size_t pos = text.find(what, cursor_);
      if (pos != std::string::npos) {
        if (before != nullptr) *before = text.substr(cursor_, pos - cursor_);
        cursor_ = pos + what.size();
        return true;
      }
      if (eof_ || Clock::now() >= end) {
        last_failure_ = "waited for '" + what + "'";
        return false;
      }
      ReadOnce(100);
    }
  }

  // Waits for the child to exit; returns its wait status or -1.
  int WaitExit(double seconds) {
    auto end = Clock::now() + std::chrono::milliseconds(static_cast<int>(seconds * 1000));
    while (Clock::now() < end) {
      if (!eof_) ReadOnce(50);
      int st = 0;
      pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return st;
      }
      if (eof_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

  void Kill() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      waitpid(pid_, &st, 0);
      pid_ = -1;
    }
    if (master_ >= 0) {
      ::close(master_);
      master_ = -1;
    }
  }

  std::string Text() const { return StripAnsi(raw_); }
  const std::string& last_failure() const { return last_failure_; }

 private:
  void ReadOnce(int timeout_ms) {
    struct pollfd p {
      master_, POLLIN, 0
    };
    int r = ::poll(&p, 1, timeout_ms);
    if (r <= 0) return;
    char buf[4096];
    ssize_t n = ::read(master_, buf, sizeof buf);
    if (n > 0) {
      raw_.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      eof_ = true;  // EIO once the child has closed the terminal
    }
  }

  pid_t pid_ = -1;
  int master_ = -1;
  std::string raw_;
  size_t cursor_ = 0;
  bool eof_ = false;
  std::string last_failure_;
};

// "[30 tokens, 295.2 tok/s | prompt 9 tokens (0 cached), 812.0 tok/s]"
struct Stats {
  long tokens = -1, prompt = -1, cached = -1;
  bool stopped = false;
};

bool ParseStats(const std::string& line, Stats* s) {
  static const std::regex re(R"(\[(\d+) tokens, [0-9.]+ tok/s \| prompt (\d+) tokens \((\d+) cached\), [0-9.]+ tok/s)");
  std::smatch m;
  if (!std::regex_search(line, m, re)) return false;
  s->tokens = std::stol(m[1]);
  s->prompt = std::stol(m[2]);
  s->cached = std::stol(m[3]);
  s->stopped = line.find("| stopped]") != std::string::npos;
  return true;
}

class ChatPty : public ::testing::Test {
 protected:
  void TearDown() override {
    child_.Kill();
    const std::string text = child_.Text();
    const fs::path file = fs::current_path() / "chat_pty_transcript.txt";
    std::ofstream(file, std::ios::binary) << text;
    std::cout << "----- dseek chat transcript (also in " << file.string() << ") -----\n"
              << text << "\n----- end of transcript -----\n";
  }

  // The full stats of the most recent answer, from the transcript.
  Stats LastStats() {
    const std::string text = child_.Text();
    size_t at = text.rfind("tokens, ");
    Stats s;
    if (at == std::string::npos) return s;
    size_t open = text.rfind('[', at);
    size_t close = text.find(']', at);
    if (open == std::string::npos || close == std::string::npos) return s;
    EXPECT_TRUE(ParseStats(text.substr(open, close - open + 1), &s)) << text.substr(open, close - open + 1);
    return s;
  }

  PtyChild child_;
};

TEST_F(ChatPty, ScriptedSession) {
  TempDir tmp;
  const std::string model = tmp / "demo";
  {
    const std::string cmd = std::string("'") + DSEEK_BINARY + "' synth --config deepseek-demo --dtype bf16 --seed 1 --out '" +
                            model + "' --tokenizer '" + DSEEK_TEST_DATA + "/tokenizer/deepseek-v3' >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "dseek synth failed";
  }
  ASSERT_TRUE(child_.Start({DSEEK_BINARY, "chat", model, "-n", "12", "--seed", "3", "-t", "2"}));

  ASSERT_TRUE(child_.WaitFor("weights are random")) << "no synthetic-model note in the banner";
  ASSERT_TRUE(child_.WaitFor(">>> "));

  // First turn: nothing cached yet.
  child_.Send("Hello\n");
  ASSERT_TRUE(child_.WaitFor("tokens, ") && child_.WaitFor("]\n") && child_.WaitFor(">>> ")) << child_.last_failure();
  Stats first = LastStats();
  EXPECT_GE(first.tokens, 0);
  EXPECT_GT(first.prompt, 0);
  EXPECT_EQ(first.cached, 0);

  child_.Send("/set temperature 0.2\n");
  ASSERT_TRUE(child_.WaitFor("temperature = 0.2")) << child_.last_failure();
  ASSERT_TRUE(child_.WaitFor(">>> "));

  // Second turn: the first turn's prompt is a prefix of this one.
  child_.Send("And then?\n");
  ASSERT_TRUE(child_.WaitFor("tokens, ") && child_.WaitFor("]\n") && child_.WaitFor(">>> ")) << child_.last_failure();
  Stats second = LastStats();
  EXPECT_GT(second.cached, 0) << "the second turn should reuse the cached conversation";
  EXPECT_GE(second.cached, first.prompt) << "at least the whole first prompt is a common prefix";
  EXPECT_GT(second.prompt, second.cached);

  const std::string saved = tmp / "conv.json";
  child_.Send("/save " + saved + "\n");
  ASSERT_TRUE(child_.WaitFor("saved 4 messages")) << child_.last_failure();
  ASSERT_TRUE(child_.WaitFor(">>> "));
  {
    auto j = nlohmann::json::parse(ReadBytes(saved));
    ASSERT_TRUE(j.contains("messages"));
    ASSERT_EQ(j["messages"].size(), 4u);
    EXPECT_EQ(j["messages"][0]["role"], "user");
    EXPECT_EQ(j["messages"][0]["content"], "Hello");
    EXPECT_EQ(j["messages"][1]["role"], "assistant");
    EXPECT_EQ(j["messages"][2]["content"], "And then?");
  }

  child_.Send("/reset\n");
  ASSERT_TRUE(child_.WaitFor("conversation cleared")) << child_.last_failure();
  ASSERT_TRUE(child_.WaitFor(">>> "));
  child_.Send("/load " + saved + "\n");
  ASSERT_TRUE(child_.WaitFor("loaded 4 messages")) << child_.last_failure();
  ASSERT_TRUE(child_.WaitFor(">>> "));

  // Ctrl-C during a long answer stops it and brings the prompt back.
  child_.Send("/set max_tokens 5000\n");
  ASSERT_TRUE(child_.WaitFor("max_tokens = 5000")) << child_.last_failure();
  ASSERT_TRUE(child_.WaitFor(">>> "));
  child_.Send("Write a very long essay\n");
  child_.Pump(1000);
  child_.Send("\x03");
  ASSERT_TRUE(child_.WaitFor("| stopped]")) << child_.last_failure();
  ASSERT_TRUE(child_.WaitFor(">>> ")) << "no prompt after the stopped answer";
  Stats stopped = LastStats();
  EXPECT_TRUE(stopped.stopped);
  EXPECT_LT(stopped.tokens, 4000) << "the answer should have been cut short";
  EXPECT_GT(stopped.cached, 0) << "the loaded conversation's prefix is still in the cache";

  // Ctrl-C at the prompt clears the typed text: the next line is a command
  // ("/help"), not "abc/help" sent as a message.
  child_.Send("abc");
  ASSERT_TRUE(child_.WaitFor("abc")) << "typed text not echoed";
  child_.Pump(200);
  child_.Send("\x03");
  child_.Pump(500);
  child_.Send("/help\n");
  std::string help;
  ASSERT_TRUE(child_.WaitFor("Ctrl-C stops an answer.", &help)) << child_.last_failure();
  EXPECT_THAT(help, HasSubstr("commands:"));
  for (const char* cmd : {"/help", "/reset", "/save FILE", "/load FILE", "/set NAME VALUE", "/system", "/exit"})
    EXPECT_THAT(help, HasSubstr(cmd));
  EXPECT_THAT(help, ::testing::Not(HasSubstr("tok/s"))) << "'abc/help' went to the model";
  ASSERT_TRUE(child_.WaitFor(">>> "));

  // A trailing backslash continues the line.
  child_.Send("/set max_tokens 8\n");
  ASSERT_TRUE(child_.WaitFor("max_tokens = 8")) << child_.last_failure();
  ASSERT_TRUE(child_.WaitFor(">>> "));
  child_.Send("line one\\\n");
  ASSERT_TRUE(child_.WaitFor("... ")) << "no continuation prompt";
  child_.Send("line two\n");
  ASSERT_TRUE(child_.WaitFor("tokens, ") && child_.WaitFor("]\n") && child_.WaitFor(">>> ")) << child_.last_failure();
  const std::string saved2 = tmp / "conv2.json";
  child_.Send("/save " + saved2 + "\n");
  ASSERT_TRUE(child_.WaitFor("saved 8 messages")) << child_.last_failure();
  ASSERT_TRUE(child_.WaitFor(">>> "));
  {
    auto j = nlohmann::json::parse(ReadBytes(saved2));
    ASSERT_EQ(j["messages"].size(), 8u);
    EXPECT_EQ(j["messages"][6]["content"], "line one\nline two");
    EXPECT_EQ(j["messages"][4]["content"], "Write a very long essay");
  }

  child_.Send("/foo\n");
  ASSERT_TRUE(child_.WaitFor("unknown command /foo")) << child_.last_failure();
  ASSERT_TRUE(child_.WaitFor(">>> "));
  child_.Send("/set colour red\n");
  ASSERT_TRUE(child_.WaitFor("unknown setting 'colour'")) << child_.last_failure();
  ASSERT_TRUE(child_.WaitFor(">>> "));
  child_.Send("/set temperature -1\n");
  ASSERT_TRUE(child_.WaitFor("error:")) << child_.last_failure();
  ASSERT_TRUE(child_.WaitFor(">>> "));

  // Ctrl-D at an empty prompt leaves with status 0.
  child_.Send("\x04");
  int st = child_.WaitExit(kWaitSeconds);
  ASSERT_NE(st, -1) << "chat did not exit after Ctrl-D";
  EXPECT_TRUE(WIFEXITED(st)) << "status " << st;
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

}  // namespace
}  // namespace dseek
