// Tokenizer throughput: encodes a ~10 MB mixed English / Chinese / code text
// (built deterministically from snippets below) on one thread and prints
// MB/s next to the command and the machine.
//
//   bench_tokenizer [tokenizer_dir] [megabytes]
//
// The first pass starts with an empty BPE cache, later passes reuse it. On a
// shared machine the thread-CPU-time figure is the one to compare.
#include <sys/utsname.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "tokenizer/tokenizer.h"

namespace {

const char* const kEnglish[] = {
    "The quick brown fox jumps over the lazy dog. ",
    "Tokenization is the first step in any language-model pipeline, and it must be exact. ",
    "In 2024, researchers reported a 37.5% improvement on 1,024 benchmark tasks. ",
    "She said, \"I can't believe it's already Thursday!\" and laughed. ",
    "Mixture-of-experts models route each token to a handful of experts.\n",
    "Prices rose from $3.99 to $4.25 (about 6.5%) over the last quarter.\n\n",
};
const char* const kChinese[] = {
    "深度求索发布了新的大语言模型，支持长上下文推理。",
    "今天天气很好，我们去公园散步吧！",
    "机器学习是人工智能的一个分支，它使计算机能够从数据中学习。\n",
    "请用简洁的语言解释一下注意力机制的原理。",
    "日本語のテキストも少し混ぜておきます：こんにちは、世界。",
};
const char* const kCode[] = {
    "def softmax(x):\n    e = np.exp(x - x.max(axis=-1, keepdims=True))\n"
    "    return e / e.sum(axis=-1, keepdims=True)\n\n",
    "for (size_t i = 0; i < n; ++i) {\n  out[i] = a[i] * b[i] + c;\n}\n",
    "const url = `https://api.example.com/v1/items?id=${id}&limit=100`;\n",
    "SELECT name, COUNT(*) AS n FROM users WHERE age >= 18 GROUP BY name;\n",
    "    if err != nil {\n        return fmt.Errorf(\"read %s: %w\", path, err)\n    }\n",
    "{\"role\": \"user\", \"content\": \"Hello!\", \"tokens\": [19923, 3]}\n",
};

template <size_t N>
const char* Pick(const char* const (&arr)[N], uint64_t* state) {
  *state = *state * 6364136223846793005ull + 1442695040888963407ull;
  return arr[(*state >> 33) % N];
}

std::string BuildCorpus(size_t bytes) {
  std::string text;
  text.reserve(bytes + 256);
  uint64_t state = 42;
  while (text.size() < bytes) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    switch ((state >> 33) % 10) {
      case 0: case 1: case 2: case 3: case 4: text += Pick(kEnglish, &state); break;
      case 5: case 6: case 7: text += Pick(kChinese, &state); break;
      default: text += Pick(kCode, &state); break;
    }
    // Numbers that vary keep the BPE cache from seeing only repeats.
    if ((state >> 40) % 7 == 0) text += " #" + std::to_string((state >> 20) % 100000) + " ";
  }
  return text;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// CPU time of this thread: on a shared machine it moves less than wall time.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : DSEEK_TOKENIZER_DIR;
  double mb = argc > 2 ? std::atof(argv[2]) : 10.0;
  std::string cmd;
  for (int i = 0; i < argc; ++i) cmd += (i ? " " : "") + std::string(argv[i]);
  utsname un{};
  uname(&un);
  std::printf("command: %s\n", cmd.c_str());
  std::printf("machine: %s, %u hardware threads, %s %s\n", CpuModel().c_str(),
              std::thread::hardware_concurrency(), un.sysname, un.release);
  std::printf("tokenizer: %s\n", dir.c_str());

  try {
    auto t0 = std::chrono::steady_clock::now();
    dseek::Tokenizer tok = dseek::Tokenizer::FromDir(dir);
    auto t1 = std::chrono::steady_clock::now();
    std::printf("load: %.3f s\n", Seconds(t0, t1));

    std::string text = BuildCorpus(static_cast<size_t>(mb * 1e6));
    const double text_mb = text.size() / 1e6;
    std::printf("corpus: %.2f MB (English / Chinese / code mix), 1 thread\n", text_mb);

    std::vector<int32_t> ids;
    double best_cpu = 1e30;
    for (int pass = 0; pass < 5; ++pass) {
      auto a = std::chrono::steady_clock::now();
      double ca = ThreadCpuSeconds();
      ids = tok.Encode(text, false);
      double cpu = ThreadCpuSeconds() - ca;
      auto b = std::chrono::steady_clock::now();
      if (pass > 0) best_cpu = std::min(best_cpu, cpu);
      std::printf("encode pass %d (%s cache): wall %.3f s = %.1f MB/s, cpu %.3f s = %.1f MB/s, "
                  "%zu tokens (%.2f bytes/token)\n",
                  pass, pass == 0 ? "cold" : "warm", Seconds(a, b), text_mb / Seconds(a, b), cpu,
                  text_mb / cpu, ids.size(), static_cast<double>(text.size()) / ids.size());
    }
    std::printf("encode best warm pass: %.1f MB/s (thread CPU time)\n", text_mb / best_cpu);
    auto a = std::chrono::steady_clock::now();
    std::string back = tok.Decode(ids);
    auto b = std::chrono::steady_clock::now();
    std::printf("decode: %.3f s, %.1f MB/s, round trip %s\n", Seconds(a, b),
                text_mb / Seconds(a, b), back == text ? "exact" : "MISMATCH");
    return back == text ? 0 : 1;
  } catch (const dseek::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
