// Q4_0 / Q8_0 weights repacked in groups of 8 rows for the integer dots, the
// layout the CPU backend multiplies (llama.cpp's CPU "repack" idea, our own
// layout). A group takes exactly the bytes of its 8 plain rows, so a packed
// matrix is the size of the file's tensor. Per group, with nb = cols / 32:
//   quants: nb block columns of 8 x 32 weights. Q4_0: four 32-byte chunks;
//           chunk c holds, for row i, bytes [4c, 4c+4) of its block's qs (low
//           nibbles: elements 4c..4c+3, high: 16+4c..). Q8_0: eight 32-byte
//           chunks; chunk g holds, for row i, qs[4g, 4g+4) (signed, as stored).
//   scales: nb x 8 f16 (row 0..7 of each block column).
// Activations for packed dots (PackedActivationBytes per row): the Q8_0
// quantization of x (bit-exact with ref::QuantizeRowGgml) laid out as
// int8 qs[cols], float d[nb], int32 osum[nb] = offset * sum(qs of block),
// where offset is how far the kernels shift weights to make them unsigned
// (8 for Q4_0, 128 for Q8_0).
//
// Results equal ref::VecDotQuantized on the plain rows up to float summation
// order. Stateless; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/ggml_types.h"

namespace dseek::simd {

inline constexpr int64_t kPackRows = 8;

// Q4_0 and Q8_0 rows of `cols` elements (a multiple of 32).
bool CanPackRows(GgmlType t);
// Packs 8 plain rows (src, consecutive) into one group at dst (same byte count; no overlap).
void PackRowGroup(GgmlType t, const uint8_t* src, int64_t cols, uint8_t* dst);
// Rebuilds plain row i (0..7) of a packed group.
void UnpackGroupRow(GgmlType t, const uint8_t* group, int64_t cols, int64_t i, uint8_t* dst);

size_t PackedActivationBytes(int64_t cols);
void QuantizeActivationPacked(GgmlType w, const float* x, int64_t cols, uint8_t* out);
// y[t * y_stride + i] = dot(row i of the group, activation row t), i < 8, t < n_tok.
void PackedGroupDot(GgmlType w, const uint8_t* group, int64_t cols, const uint8_t* act, size_t act_stride,
                    size_t n_tok, float* y, size_t y_stride);

}  // namespace dseek::simd
