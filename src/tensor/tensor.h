// Views of weight tensors that live in a file mapping (no copies), and the
// matrix description the kernels consume. A view does not own its memory: the
// WeightStore that produced it must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "base/error.h"
#include "base/ggml_types.h"

namespace dseek {

struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// FP8 block-quantised weights (DeepSeek-V3 native): value = fp8 * scale_inv
// of the 128x128 block holding it; the last block in each direction may be
// ragged.
constexpr int64_t kFp8Block = 128;

// A 2-D weight [rows, cols] (PyTorch Linear layout: out_features x
// in_features), row-major, in its storage type. For kF8E4M3, `scale_inv` is
// the [ceil(rows/128), ceil(cols/128)] float32 block-scale grid. For kGgml
// (weights from a GGUF file) each row is GgmlRowBytes(ggml, cols) bytes of
// ggml blocks; cols is a multiple of the block size (the source checks).
struct Matrix {
  DType dtype = DType::kF32;
  GgmlType ggml = GgmlType::kF32;  // block type when dtype == kGgml
  int64_t rows = 0;
  int64_t cols = 0;
  const void* data = nullptr;
  const float* scale_inv = nullptr;  // the whole tensor's grid, even for a slice
  int64_t scale_cols = 0;            // columns of the scale grid
  int64_t row_base = 0;              // absolute row of row 0 (slices of FP8 weights)
  // Q4_0/Q8_0 rows repacked by the CPU backend in groups of 8
  // (kernels/simd/quant_packed.h): row(r) is then not a plain row; read rows
  // through simd::WidenRow, which knows the layout. Sliced only at whole groups.
  bool packed8 = false;

  size_t row_bytes() const {
    if (dtype == DType::kGgml) return static_cast<size_t>(cols / GgmlBlockSize(ggml) * GgmlTypeSize(ggml));
    return static_cast<size_t>(cols) * DTypeSize(dtype);
  }
  const uint8_t* row(int64_t r) const { return static_cast<const uint8_t*>(data) + r * row_bytes(); }
  // Rows [begin, begin+count) as a matrix of their own (no copy).
  Matrix RowSlice(int64_t begin, int64_t count) const;
  // Block scales of row r: scale_cols floats, one per 128 columns.
  const float* row_scales(int64_t r) const { return scale_inv + ((row_base + r) / kFp8Block) * scale_cols; }
  size_t bytes() const { return static_cast<size_t>(rows) * row_bytes(); }
};

inline Matrix Matrix::RowSlice(int64_t begin, int64_t count) const {
  if (packed8 && (begin % 8 != 0 || count % 8 != 0))  // whole groups (kernels/simd/quant_packed.h)
    throw Error("", "matrix", "a packed matrix can only be sliced at groups of 8 rows");
  Matrix m = *this;
  m.rows = count;
  m.data = row(begin);
  m.row_base = row_base + begin;
  return m;
}

}  // namespace dseek
