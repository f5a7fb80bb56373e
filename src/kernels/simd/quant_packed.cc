// Packing, activation layout and the scalar packed dot (quant_packed.h); the
// x86 kernels live in quant_dot_x86.inc and are reached through the same
// table as the plain integer dots.
#include "kernels/simd/quant_packed.h"

#include <cstring>
#include <vector>

#include "base/error.h"
#include "base/numeric.h"
#include "kernels/simd/quant_dot.h"
#include "kernels/simd/quant_dot_internal.h"

namespace dseek::simd {
namespace {

constexpr int64_t kQ40Bytes = 18, kQ80Bytes = 34;

int64_t QuantBytesPerColumn(GgmlType t) { return t == GgmlType::kQ4_0 ? 128 : 256; }
int64_t BlockBytes(GgmlType t) { return t == GgmlType::kQ4_0 ? kQ40Bytes : kQ80Bytes; }

void Check(GgmlType t, int64_t cols) {
  if (!CanPackRows(t) || cols % 32 != 0)
    throw Error("", std::string(GgmlTypeName(t)), "cannot pack rows of " + std::to_string(cols) + " elements");
}

// Plain block b of row i <-> its place in the group: 4-byte pieces move whole.
template <bool kPack>
void Move(GgmlType t, uint8_t* plain_row, uint8_t* group, int64_t nb, int64_t i) {
  const int64_t qb = QuantBytesPerColumn(t), bb = BlockBytes(t), pieces = qb / 32;
  uint8_t* scales = group + nb * qb;
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* blk = plain_row + b * bb;
    for (int64_t c = 0; c < pieces; ++c) {
      uint8_t* g = group + b * qb + 32 * c + 4 * i;
      if (kPack) std::memcpy(g, blk + 2 + 4 * c, 4);
      else std::memcpy(blk + 2 + 4 * c, g, 4);
    }
    if (kPack) std::memcpy(scales + 16 * b + 2 * i, blk, 2);
    else std::memcpy(blk, scales + 16 * b + 2 * i, 2);
  }
}

void ScalarPackedDot(GgmlType w, const uint8_t* group, int64_t cols, const uint8_t* act, size_t act_stride,
                     size_t n_tok, float* y, size_t y_stride) {
  const int64_t nb = cols / 32, qb = QuantBytesPerColumn(w);
  const bool q4 = w == GgmlType::kQ4_0;
  const uint8_t* scales = group + nb * qb;
  for (size_t t = 0; t < n_tok; ++t) {
    const uint8_t* a = act + t * act_stride;
    const int8_t* qa = reinterpret_cast<const int8_t*>(a);
    for (int64_t i = 0; i < kPackRows; ++i) {
      float sum = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        int isum = 0;
        for (int64_t k = 0; k < 32; ++k) {
          int q;
          if (q4) {
            const int64_t c = (k % 16) / 4;
            const uint8_t byte = group[b * qb + 32 * c + 4 * i + k % 4];
            q = (k < 16 ? byte & 0x0F : byte >> 4) - 8;
          } else {
            q = static_cast<int8_t>(group[b * qb + 32 * (k / 4) + 4 * i + k % 4]);
          }
          isum += q * qa[32 * b + k];
        }
        uint16_t dh;
        std::memcpy(&dh, scales + 16 * b + 2 * i, 2);
        float da;
        std::memcpy(&da, a + cols + 4 * b, 4);
        sum += static_cast<float>(isum) * (F16ToF32(dh) * da);
      }
      y[t * y_stride + i] = sum;
    }
  }
}

}  // namespace

bool CanPackRows(GgmlType t) { return t == GgmlType::kQ4_0 || t == GgmlType::kQ8_0; }

void PackRowGroup(GgmlType t, const uint8_t* src, int64_t cols, uint8_t* dst) {
  Check(t, cols);
  const int64_t nb = cols / 32, rb = nb * BlockBytes(t);
  for (int64_t i = 0; i < kPackRows; ++i) Move<true>(t, const_cast<uint8_t*>(src + i * rb), dst, nb, i);
}

void UnpackGroupRow(GgmlType t, const uint8_t* group, int64_t cols, int64_t i, uint8_t* dst) {
  Check(t, cols);
  Move<false>(t, dst, const_cast<uint8_t*>(group), cols / 32, i);
}

size_t PackedActivationBytes(int64_t cols) { return static_cast<size_t>(cols / 32 * 40); }

void QuantizeActivationPacked(GgmlType w, const float* x, int64_t cols, uint8_t* out) {
  Check(w, cols);
  const int64_t nb = cols / 32;
  const int32_t offset = w == GgmlType::kQ4_0 ? 8 : 128;
  // Quantize the row in one call (the SIMD quantizer), then spread it out.
  thread_local std::vector<uint8_t> q8;
  q8.resize(static_cast<size_t>(nb * kQ80Bytes));
  QuantizeActivationRow(GgmlType::kQ8_0, x, cols, q8.data());
  float* d = reinterpret_cast<float*>(out + cols);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* block = q8.data() + b * kQ80Bytes;
    std::memcpy(out + 32 * b, block + 2, 32);
    uint16_t dh;
    std::memcpy(&dh, block, 2);
    const float df = F16ToF32(dh);
    int32_t sum = 0;
    for (int k = 0; k < 32; ++k) sum += static_cast<int8_t>(block[2 + k]);
    sum *= offset;
    std::memcpy(reinterpret_cast<uint8_t*>(d) + 4 * b, &df, 4);
    std::memcpy(out + cols + 4 * nb + 4 * b, &sum, 4);
  }
}

void PackedGroupDot(GgmlType w, const uint8_t* group, int64_t cols, const uint8_t* act, size_t act_stride,
                    size_t n_tok, float* y, size_t y_stride) {
  Check(w, cols);
  const quant_internal::Kernels* k = quant_internal::ActiveKernels();
  if (k) {
    auto fn = w == GgmlType::kQ4_0 ? k->packed_q4_0 : k->packed_q8_0;
    return fn(group, cols, act, act_stride, n_tok, y, y_stride);
  }
  ScalarPackedDot(w, group, cols, act, act_stride, n_tok, y, y_stride);
}

}  // namespace dseek::simd
