// Rotary position tables for the decoupled RoPE part of MLA, with YaRN
// context extension exactly as DeepSeek's reference (HF semantics: YaRN on at
// every position when rope_scaling is set). Immutable after construction.
#pragma once

#include <cstdint>
#include <vector>

namespace dseek {

struct RopeParams {
  int64_t dim = 0;  // rotated dimensions (qk_rope_head_dim)
  double theta = 10000.0;
  bool yarn = false;
  double factor = 1.0;
  int64_t original_max_position = 4096;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 1.0;
  double mscale_all_dim = 0.0;
  // Llama 3 frequency-dependent scaling (rope_type "llama3"); factor and
  // original_max_position are shared with YaRN's fields.
  bool llama3 = false;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  // Per-frequency divisors as GGUF files store Llama 3 scaling
  // (rope_freqs.weight, dim/2 values): inv_freq[i] = base_inv_freq[i] / f[i].
  std::vector<float> freq_factors;
};

// 0.1 * mscale * ln(scale) + 1 for scale > 1, else 1.
double YarnMscale(double scale, double mscale);

class RopeTable {
 public:
  explicit RopeTable(const RopeParams& p);
  int64_t n_pairs() const { return static_cast<int64_t>(inv_freq_.size()); }
  const std::vector<float>& inv_freq() const { return inv_freq_; }
  // cos/sin for one position: n_pairs() values each.
  void Angles(int64_t position, float* cos, float* sin) const;
  // Factor applied to cos/sin (mscale / mscale_all_dim ratio; 1 when equal).
  float cos_sin_scale() const { return cos_sin_scale_; }

 private:
  std::vector<float> inv_freq_;
  float cos_sin_scale_ = 1.0f;
};

// Attention softmax scale: qk_head_dim^-0.5, times mscale(factor,
// mscale_all_dim)^2 under YaRN.
double MlaSoftmaxScale(int64_t qk_head_dim, const RopeParams& p);

}  // namespace dseek
