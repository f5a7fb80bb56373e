// An engine: one backend (thread pool) and one loaded model, plus the loops
// that drive it (prefill, step-by-step decode). Owns both; one engine serves
// one forward pass at a time. Two engines in one process are independent.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/model.h"

namespace dseek {

struct EngineOptions {
  int threads = 0;  // 0: all cores
  bool pin_threads = false;  // bind worker threads to CPUs, NUMA node by node
  int64_t context = 0;  // 0: min(model max, 4096)
  ModelOptions model;
};

class Engine {
 public:
  static std::unique_ptr<Engine> Open(const std::string& model_dir, const EngineOptions& opt);

  Model& model() { return *model_; }
  Backend& backend() { return *backend_; }
  const ModelFacts& facts() const { return model_->facts(); }
  int64_t context() const { return context_; }

  // Logits for every position of `ids` in one pass ([n, vocab]), or with
  // incremental=true one token at a time through the cache (same result).
  std::vector<float> Logits(const std::vector<int32_t>& ids, bool incremental);

  // Greedy continuation: prefill then n_new argmax steps. on_token (optional)
  // sees each new id as it is produced.
  std::vector<int32_t> GenerateGreedy(const std::vector<int32_t>& prompt, int n_new,
                                      const std::function<void(int32_t)>& on_token = {});

 private:
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Model> model_;
  int64_t context_ = 0;
};

int32_t ArgMax(const float* v, int64_t n);

}  // namespace dseek
