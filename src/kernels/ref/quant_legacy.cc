// ggml's 32-element block formats: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1.
// Ported from ggml-quants.c (quantize_row_*_ref, dequantize_row_*) and
// ggml-cpu/quants.c (ggml_vec_dot_*_generic), keeping their arithmetic order.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "kernels/ref/quant_ref.h"

namespace dseek::ref {
namespace {

using ggml_detail::Blocks;
using ggml_detail::H;

template <typename B>
B LoadBlock(const void* base, int64_t i) {
  B b;
  std::memcpy(&b, static_cast<const uint8_t*>(base) + i * static_cast<int64_t>(sizeof(B)), sizeof(B));
  return b;
}

template <typename B>
void StoreBlock(void* base, int64_t i, const B& b) {
  std::memcpy(static_cast<uint8_t*>(base) + i * static_cast<int64_t>(sizeof(B)), &b, sizeof(B));
}

uint32_t LoadQh(const uint8_t qh[4]) {
  uint32_t v;
  std::memcpy(&v, qh, 4);
  return v;
}

// Symmetric 4/5-bit: the value of largest magnitude maps to -2^(bits-1).
float SignedMax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

}  // namespace

// ---------------------------------------------------------------- quantize

void QuantizeQ4_0(const float* x, int64_t n, void* y) {
  const int64_t nb = Blocks(n, 32, "Q4_0");
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    BlockQ4_0 b{};
    const float d = SignedMax(x, 32) / -8;
    const float id = d ? 1.0f / d : 0.0f;
    b.d = F32ToF16(d);
    for (int j = 0; j < 16; ++j) {
      // ggml truncates (x + 8.5) toward zero through int8_t: keep it.
      const uint8_t q0 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
      const uint8_t q1 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j + 16] * id + 8.5f)));
      b.qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
    StoreBlock(y, i, b);
  }
}

void QuantizeQ4_1(const float* x, int64_t n, void* y) {
  const int64_t nb = Blocks(n, 32, "Q4_1");
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    BlockQ4_1 b{};
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < 32; ++j) {
      min = std::min(min, x[j]);
      max = std::max(max, x[j]);
    }
    const float d = (max - min) / 15;
    const float id = d ? 1.0f / d : 0.0f;
    b.d = F32ToF16(d);
    b.m = F32ToF16(min);
    for (int j = 0; j < 16; ++j) {
      const uint8_t q0 = std::min(15, static_cast<int>(static_cast<int8_t>((x[j] - min) * id + 0.5f)));
      const uint8_t q1 = std::min(15, static_cast<int>(static_cast<int8_t>((x[j + 16] - min) * id + 0.5f)));
      b.qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
    StoreBlock(y, i, b);
  }
}

void QuantizeQ5_0(const float* x, int64_t n, void* y) {
  const int64_t nb = Blocks(n, 32, "Q5_0");
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    BlockQ5_0 b{};
    const float d = SignedMax(x, 32) / -16;
    const float id = d ? 1.0f / d : 0.0f;
    b.d = F32ToF16(d);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const uint8_t q0 = std::min(31, static_cast<int>(static_cast<int8_t>(x[j] * id + 16.5f)));
      const uint8_t q1 = std::min(31, static_cast<int>(static_cast<int8_t>(x[j + 16] * id + 16.5f)));
      b.qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= ((q0 & 0x10u) >> 4) << j;
      qh |= ((q1 & 0x10u) >> 4) << (j + 16);
    }
    std::memcpy(b.qh, &qh, 4);
    StoreBlock(y, i, b);
  }
}

void QuantizeQ5_1(const float* x, int64_t n, void* y) {
  const int64_t nb = Blocks(n, 32, "Q5_1");
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    BlockQ5_1 b{};
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < 32; ++j) {
      min = std::min(min, x[j]);
      max = std::max(max, x[j]);
    }
    const float d = (max - min) / 31;
    const float id = d ? 1.0f / d : 0.0f;
    b.d = F32ToF16(d);
    b.m = F32ToF16(min);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const uint8_t q0 = static_cast<uint8_t>((x[j] - min) * id + 0.5f);
      const uint8_t q1 = static_cast<uint8_t>((x[j + 16] - min) * id + 0.5f);
      b.qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= ((q0 & 0x10u) >> 4) << j;
      qh |= ((q1 & 0x10u) >> 4) << (j + 16);
    }
    std::memcpy(b.qh, &qh, 4);
    StoreBlock(y, i, b);
  }
}

void QuantizeQ8_0(const float* x, int64_t n, void* y) {
  const int64_t nb = Blocks(n, 32, "Q8_0");
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    BlockQ8_0 b{};
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d ? 1.0f / d : 0.0f;
    b.d = F32ToF16(d);
    for (int j = 0; j < 32; ++j) b.qs[j] = static_cast<int8_t>(std::round(x[j] * id));
    StoreBlock(y, i, b);
  }
}

void QuantizeQ8_1(const float* x, int64_t n, void* y) {
  const int64_t nb = Blocks(n, 32, "Q8_1");
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    BlockQ8_1 b{};
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d ? 1.0f / d : 0.0f;
    b.d = F32ToF16(d);
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      b.qs[j] = static_cast<int8_t>(std::round(x[j] * id));
      sum += b.qs[j];
    }
    // s holds d * sum in f32 before rounding to f16, with the unrounded d.
    b.s = F32ToF16(sum * d);
    StoreBlock(y, i, b);
  }
}

// ---------------------------------------------------------------- dequantize

void DequantizeQ4_0(const void* x, int64_t n, float* y) {
  const int64_t nb = Blocks(n, 32, "Q4_0");
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const auto b = LoadBlock<BlockQ4_0>(x, i);
    const float d = H(b.d);
    for (int j = 0; j < 16; ++j) {
      y[j] = ((b.qs[j] & 0x0F) - 8) * d;
      y[j + 16] = ((b.qs[j] >> 4) - 8) * d;
    }
  }
}

void DequantizeQ4_1(const void* x, int64_t n, float* y) {
  const int64_t nb = Blocks(n, 32, "Q4_1");
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const auto b = LoadBlock<BlockQ4_1>(x, i);
    const float d = H(b.d), m = H(b.m);
    for (int j = 0; j < 16; ++j) {
      y[j] = (b.qs[j] & 0x0F) * d + m;
      y[j + 16] = (b.qs[j] >> 4) * d + m;
    }
  }
}

void DequantizeQ5_0(const void* x, int64_t n, float* y) {
  const int64_t nb = Blocks(n, 32, "Q5_0");
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const auto b = LoadBlock<BlockQ5_0>(x, i);
    const float d = H(b.d);
    const uint32_t qh = LoadQh(b.qh);
    for (int j = 0; j < 16; ++j) {
      const int h0 = ((qh >> j) << 4) & 0x10;
      const int h1 = (qh >> (j + 12)) & 0x10;
      y[j] = (((b.qs[j] & 0x0F) | h0) - 16) * d;
      y[j + 16] = (((b.qs[j] >> 4) | h1) - 16) * d;
    }
  }
}

void DequantizeQ5_1(const void* x, int64_t n, float* y) {
  const int64_t nb = Blocks(n, 32, "Q5_1");
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const auto b = LoadBlock<BlockQ5_1>(x, i);
    const float d = H(b.d), m = H(b.m);
    const uint32_t qh = LoadQh(b.qh);
    for (int j = 0; j < 16; ++j) {
      const int h0 = ((qh >> j) << 4) & 0x10;
      const int h1 = (qh >> (j + 12)) & 0x10;
      y[j] = ((b.qs[j] & 0x0F) | h0) * d + m;
      y[j + 16] = ((b.qs[j] >> 4) | h1) * d + m;
    }
  }
}

void DequantizeQ8_0(const void* x, int64_t n, float* y) {
  const int64_t nb = Blocks(n, 32, "Q8_0");
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const auto b = LoadBlock<BlockQ8_0>(x, i);
    const float d = H(b.d);
    for (int j = 0; j < 32; ++j) y[j] = b.qs[j] * d;
  }
}

void DequantizeQ8_1(const void* x, int64_t n, float* y) {
  const int64_t nb = Blocks(n, 32, "Q8_1");
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const auto b = LoadBlock<BlockQ8_1>(x, i);
    const float d = H(b.d);
    for (int j = 0; j < 32; ++j) y[j] = b.qs[j] * d;
  }
}

// ---------------------------------------------------------------- dots

float DotQ4_0Q8_0(const void* w, const void* a, int64_t n) {
  const int64_t nb = Blocks(n, 32, "Q4_0");
  float sumf = 0;
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = LoadBlock<BlockQ4_0>(w, i);
    const auto q = LoadBlock<BlockQ8_0>(a, i);
    int sumi0 = 0, sumi1 = 0;
    for (int j = 0; j < 16; ++j) {
      sumi0 += ((x.qs[j] & 0x0F) - 8) * q.qs[j];
      sumi1 += ((x.qs[j] >> 4) - 8) * q.qs[j + 16];
    }
    sumf += (sumi0 + sumi1) * H(x.d) * H(q.d);
  }
  return sumf;
}

float DotQ4_1Q8_1(const void* w, const void* a, int64_t n) {
  const int64_t nb = Blocks(n, 32, "Q4_1");
  float sumf = 0;
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = LoadBlock<BlockQ4_1>(w, i);
    const auto q = LoadBlock<BlockQ8_1>(a, i);
    int sumi0 = 0, sumi1 = 0;
    for (int j = 0; j < 16; ++j) {
      sumi0 += (x.qs[j] & 0x0F) * q.qs[j];
      sumi1 += (x.qs[j] >> 4) * q.qs[j + 16];
    }
    // The min term uses s = d_a * sum(q_a): sum(m * x_a) without a second pass.
    sumf += (H(x.d) * H(q.d)) * (sumi0 + sumi1) + H(x.m) * H(q.s);
  }
  return sumf;
}

float DotQ5_0Q8_0(const void* w, const void* a, int64_t n) {
  const int64_t nb = Blocks(n, 32, "Q5_0");
  float sumf = 0;
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = LoadBlock<BlockQ5_0>(w, i);
    const auto q = LoadBlock<BlockQ8_0>(a, i);
    const uint32_t qh = LoadQh(x.qh);
    int sumi0 = 0, sumi1 = 0;
    for (int j = 0; j < 16; ++j) {
      const int h0 = ((qh >> j) << 4) & 0x10;
      const int h1 = (qh >> (j + 12)) & 0x10;
      sumi0 += (((x.qs[j] & 0x0F) | h0) - 16) * q.qs[j];
      sumi1 += (((x.qs[j] >> 4) | h1) - 16) * q.qs[j + 16];
    }
    sumf += (H(x.d) * H(q.d)) * (sumi0 + sumi1);
  }
  return sumf;
}

float DotQ5_1Q8_1(const void* w, const void* a, int64_t n) {
  const int64_t nb = Blocks(n, 32, "Q5_1");
  float sumf = 0;
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = LoadBlock<BlockQ5_1>(w, i);
    const auto q = LoadBlock<BlockQ8_1>(a, i);
    const uint32_t qh = LoadQh(x.qh);
    int sumi0 = 0, sumi1 = 0;
    for (int j = 0; j < 16; ++j) {
      const int h0 = ((qh >> j) << 4) & 0x10;
      const int h1 = (qh >> (j + 12)) & 0x10;
      sumi0 += ((x.qs[j] & 0x0F) | h0) * q.qs[j];
      sumi1 += ((x.qs[j] >> 4) | h1) * q.qs[j + 16];
    }
    sumf += (H(x.d) * H(q.d)) * (sumi0 + sumi1) + H(x.m) * H(q.s);
  }
  return sumf;
}

float DotQ8_0Q8_0(const void* w, const void* a, int64_t n) {
  const int64_t nb = Blocks(n, 32, "Q8_0");
  float sumf = 0;
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = LoadBlock<BlockQ8_0>(w, i);
    const auto q = LoadBlock<BlockQ8_0>(a, i);
    int sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += x.qs[j] * q.qs[j];
    sumf += sumi * (H(x.d) * H(q.d));
  }
  return sumf;
}

}  // namespace dseek::ref
