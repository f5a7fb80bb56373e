// ggml's tensor storage types (the ids GGUF files store) and their block
// geometry: how many elements one block holds and how many bytes it takes.
// The numbers are ggml's ABI (ggml.h `enum ggml_type`, ggml-common.h block
// structs), so they must never be renumbered. Pure constexpr functions, no
// state; shared by format/ (GGUF), tensor/ and kernels/. Depends on std only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace dseek {

enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  // 4 and 5 were Q4_2 / Q4_3, removed from ggml; files using them are rejected.
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  // 31-33 and 36-38 were the Q4_0_x_y / IQ4_NL_x_y repacked layouts, removed.
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
};

// Super-block length of the K-quants (ggml's QK_K).
inline constexpr int64_t kGgmlQK_K = 256;

namespace ggml_internal {
struct TypeTraits {
  int64_t block_size;  // elements per block; 0 = not a known type
  int64_t type_size;   // bytes per block
  std::string_view name;
};

constexpr TypeTraits Traits(uint32_t id) {
  switch (id) {
    case 0: return {1, 4, "F32"};
    case 1: return {1, 2, "F16"};
    case 2: return {32, 18, "Q4_0"};
    case 3: return {32, 20, "Q4_1"};
    case 6: return {32, 22, "Q5_0"};
    case 7: return {32, 24, "Q5_1"};
    case 8: return {32, 34, "Q8_0"};
    case 9: return {32, 36, "Q8_1"};
    case 10: return {256, 84, "Q2_K"};
    case 11: return {256, 110, "Q3_K"};
    case 12: return {256, 144, "Q4_K"};
    case 13: return {256, 176, "Q5_K"};
    case 14: return {256, 210, "Q6_K"};
    case 15: return {256, 292, "Q8_K"};
    case 16: return {256, 66, "IQ2_XXS"};
    case 17: return {256, 74, "IQ2_XS"};
    case 18: return {256, 98, "IQ3_XXS"};
    case 19: return {256, 50, "IQ1_S"};
    case 20: return {32, 18, "IQ4_NL"};
    case 21: return {256, 110, "IQ3_S"};
    case 22: return {256, 82, "IQ2_S"};
    case 23: return {256, 136, "IQ4_XS"};
    case 24: return {1, 1, "I8"};
    case 25: return {1, 2, "I16"};
    case 26: return {1, 4, "I32"};
    case 27: return {1, 8, "I64"};
    case 28: return {1, 8, "F64"};
    case 29: return {256, 56, "IQ1_M"};
    case 30: return {1, 2, "BF16"};
    case 34: return {256, 54, "TQ1_0"};
    case 35: return {256, 66, "TQ2_0"};
    case 39: return {32, 17, "MXFP4"};
    default: return {0, 0, "?"};
  }
}
}  // namespace ggml_internal

// True if `id` is a ggml type this build knows the block geometry of.
constexpr bool IsKnownGgmlType(uint32_t id) { return ggml_internal::Traits(id).block_size != 0; }

// Elements per block (1 for plain scalar types). 0 for an unknown id.
constexpr int64_t GgmlBlockSize(GgmlType t) {
  return ggml_internal::Traits(static_cast<uint32_t>(t)).block_size;
}

// Bytes per block. 0 for an unknown id.
constexpr int64_t GgmlTypeSize(GgmlType t) {
  return ggml_internal::Traits(static_cast<uint32_t>(t)).type_size;
}

// ggml's spelling, upper case ("Q4_K"); "?" for an unknown id.
constexpr std::string_view GgmlTypeName(GgmlType t) {
  return ggml_internal::Traits(static_cast<uint32_t>(t)).name;
}

constexpr bool IsQuantizedGgmlType(GgmlType t) { return GgmlBlockSize(t) > 1; }

// Bytes of one row of `n_cols` elements. Throws dseek::Error when the type is
// unknown, n_cols is negative or not a multiple of the block size (a row never
// ends inside a block), or the size does not fit in int64.
inline int64_t GgmlRowBytes(GgmlType t, int64_t n_cols) {
  const int64_t bs = GgmlBlockSize(t);
  const std::string name(GgmlTypeName(t));
  if (bs == 0) {
    throw Error("", "ggml type " + std::to_string(static_cast<uint32_t>(t)), "unknown ggml type id");
  }
  if (n_cols < 0 || n_cols % bs != 0) {
    throw Error("", name,
                "row length " + std::to_string(n_cols) + " is not a multiple of the block size " +
                    std::to_string(bs));
  }
  const int64_t blocks = n_cols / bs;
  const int64_t ts = GgmlTypeSize(t);
  if (blocks > INT64_MAX / ts) throw Error("", name, "row size overflows int64");
  return blocks * ts;
}

}  // namespace dseek
