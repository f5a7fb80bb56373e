#include "runtime/engine.h"

#include <algorithm>

#include "base/error.h"
#include "model/registry.h"

namespace dseek {

int32_t ArgMax(const float* v, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (v[i] > v[best]) best = i;
  return static_cast<int32_t>(best);
}

std::unique_ptr<Engine> Engine::Open(const std::string& model_dir, const EngineOptions& opt) {
  auto e = std::make_unique<Engine>();
  e->backend_ = MakeCpuBackend(opt.threads, opt.pin_threads);
  e->model_ = LoadModel(model_dir, *e->backend_, opt.model);
  const int64_t max_ctx = e->model_->facts().max_context;
  e->context_ = opt.context > 0 ? opt.context : std::min<int64_t>(max_ctx, 4096);
  return e;
}

std::vector<float> Engine::Logits(const std::vector<int32_t>& ids, bool incremental) {
  const int64_t V = facts().vocab_size;
  if (ids.empty()) throw Error("", "ids", "no token ids given");
  if (static_cast<int64_t>(ids.size()) > context_)
    throw Error("", "ids", std::to_string(ids.size()) + " tokens exceed the context size " + std::to_string(context_));
  auto cache = model_->NewCache(static_cast<int64_t>(ids.size()));
  std::vector<float> out(ids.size() * V);
  if (incremental) {
    for (size_t i = 0; i < ids.size(); ++i) model_->Forward(&ids[i], 1, *cache, out.data() + i * V, false);
  } else {
    model_->Forward(ids.data(), ids.size(), *cache, out.data(), true);
  }
  return out;
}

std::vector<int32_t> Engine::GenerateGreedy(const std::vector<int32_t>& prompt, int n_new,
                                            const std::function<void(int32_t)>& on_token) {
  const int64_t V = facts().vocab_size;
  if (prompt.empty()) throw Error("", "ids", "no prompt token ids given");
  const int64_t need = static_cast<int64_t>(prompt.size()) + n_new;
  if (need > context_)
    throw Error("", "ids", "prompt of " + std::to_string(prompt.size()) + " plus " + std::to_string(n_new) +
                               " new tokens exceeds the context size " + std::to_string(context_));
  auto cache = model_->NewCache(need);
  std::vector<float> logits(V);
  model_->Forward(prompt.data(), prompt.size(), *cache, logits.data(), false);
  std::vector<int32_t> out;
  for (int i = 0; i < n_new; ++i) {
    int32_t tok = ArgMax(logits.data(), V);
    out.push_back(tok);
    if (on_token) on_token(tok);
    if (i + 1 < n_new) model_->Forward(&tok, 1, *cache, logits.data(), false);
  }
  return out;
}

}  // namespace dseek
