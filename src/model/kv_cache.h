// Per-sequence attention cache: for each layer, `width` values per token
// (for MLA the compressed latent plus the shared RoPE key: kv_lora_rank +
// qk_rope_head_dim). Stored as float32, or as bfloat16 to halve its memory
// and the bytes each decode step reads (values rounded to nearest even when
// written; readers widen rows back to float32). Capacity is fixed at
// creation so no allocation happens while generating. Owned by one session;
// not thread-safe for writes (concurrent reads are fine).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"

namespace dseek {

enum class KvType { kF32, kBF16 };

// "f32" / "bf16"; dseek::Error naming the accepted values otherwise.
KvType ParseKvType(const std::string& name);
const char* KvTypeName(KvType t);

class KvCache {
 public:
  KvCache(int64_t n_layers, int64_t width, int64_t capacity, KvType type = KvType::kF32);

  int64_t width() const { return width_; }
  int64_t capacity() const { return capacity_; }
  int64_t length() const { return length_; }
  KvType type() const { return type_; }
  int64_t n_layers() const { return n_layers_; }
  size_t Bytes() const;

  // Stores one row (width values) at `pos`.
  void WriteRow(int64_t layer, int64_t pos, const float* row);
  // Rows [p0, p0 + count) as float32: the cache's own memory for kF32, else
  // widened into `scratch` (resized as needed) and returned from there.
  const float* Rows(int64_t layer, int64_t p0, int64_t count, std::vector<float>& scratch) const;

  // The model appends n tokens after it has written their rows.
  void Advance(int64_t n) { length_ += n; }
  // Drops everything after `length` tokens (a rewind; rows stay allocated).
  void Truncate(int64_t length) {
    if (length < 0 || length > length_) throw Error("", "kv cache", "cannot truncate to " + std::to_string(length));
    length_ = length;
  }

 private:
  int64_t n_layers_;
  int64_t width_;
  int64_t capacity_;
  KvType type_;
  int64_t length_ = 0;
  std::vector<std::vector<float>> f32_;
  std::vector<std::vector<uint16_t>> bf16_;
};

// One sequence's run of consecutive tokens inside a batch: rows
// [begin, begin + n) of the batch, at positions cache->length() + 0..n-1.
struct SeqSpan {
  KvCache* cache = nullptr;
  size_t begin = 0;
  size_t n = 0;
};

}  // namespace dseek
