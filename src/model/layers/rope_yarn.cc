#include "model/layers/rope_yarn.h"

#include <algorithm>
#include <cmath>

namespace dseek {

double YarnMscale(double scale, double mscale) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

namespace {
// Dimension index whose wavelength completes `rotations` turns over the
// original context (inverse of the RoPE wavelength formula).
double CorrectionDim(double rotations, int64_t dim, double base, int64_t max_pos) {
  return dim * std::log(max_pos / (rotations * 2.0 * M_PI)) / (2.0 * std::log(base));
}
}  // namespace

RopeTable::RopeTable(const RopeParams& p) {
  const int64_t half = p.dim / 2;
  inv_freq_.resize(half);
  // float32 like the reference (torch.arange(0, dim, 2, dtype=float32) / dim).
  std::vector<float> freq(half);
  for (int64_t i = 0; i < half; ++i)
    freq[i] = 1.0f / std::pow(static_cast<float>(p.theta), static_cast<float>(2 * i) / static_cast<float>(p.dim));
  if (!p.freq_factors.empty()) {
    for (int64_t i = 0; i < half; ++i) inv_freq_[i] = freq[i] / p.freq_factors[i];
    return;
  }
  if (p.llama3) {
    // Long wavelengths are slowed by `factor`, short ones kept, a smooth blend between.
    const double low_wavelen = p.original_max_position / p.low_freq_factor;
    const double high_wavelen = p.original_max_position / p.high_freq_factor;
    for (int64_t i = 0; i < half; ++i) {
      const double f = freq[i], wavelen = 2.0 * M_PI / f;
      double out;
      if (wavelen < high_wavelen) {
        out = f;
      } else if (wavelen > low_wavelen) {
        out = f / p.factor;
      } else {
        double smooth = (p.original_max_position / wavelen - p.low_freq_factor) / (p.high_freq_factor - p.low_freq_factor);
        out = (1.0 - smooth) * f / p.factor + smooth * f;
      }
      inv_freq_[i] = static_cast<float>(out);
    }
    return;
  }
  if (!p.yarn) {
    inv_freq_ = freq;
    return;
  }
  double low = std::floor(CorrectionDim(p.beta_fast, p.dim, p.theta, p.original_max_position));
  double high = std::ceil(CorrectionDim(p.beta_slow, p.dim, p.theta, p.original_max_position));
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(p.dim - 1));
  if (low == high) high += 0.001;  // avoid a zero-width ramp
  for (int64_t i = 0; i < half; ++i) {
    float ramp = static_cast<float>((static_cast<double>(i) - low) / (high - low));
    ramp = std::clamp(ramp, 0.0f, 1.0f);
    float smooth = 1.0f - ramp;
    inv_freq_[i] = freq[i] / static_cast<float>(p.factor) * (1.0f - smooth) + freq[i] * smooth;
  }
  cos_sin_scale_ = static_cast<float>(YarnMscale(p.factor, p.mscale) / YarnMscale(p.factor, p.mscale_all_dim));
}

void RopeTable::Angles(int64_t position, float* cos, float* sin) const {
  const float t = static_cast<float>(position);
  for (size_t i = 0; i < inv_freq_.size(); ++i) {
    float a = t * inv_freq_[i];
    cos[i] = std::cos(a) * cos_sin_scale_;
    sin[i] = std::sin(a) * cos_sin_scale_;
  }
}

double MlaSoftmaxScale(int64_t qk_head_dim, const RopeParams& p) {
  double s = 1.0 / std::sqrt(static_cast<double>(qk_head_dim));
  if (p.yarn && p.mscale_all_dim != 0.0) {
    double m = YarnMscale(p.factor, p.mscale_all_dim);
    s *= m * m;
  }
  return s;
}

}  // namespace dseek
