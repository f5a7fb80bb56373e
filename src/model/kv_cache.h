// Per-sequence attention cache: for each layer, `width` floats per token
// (for MLA the compressed latent plus the shared RoPE key: kv_lora_rank +
// qk_rope_head_dim). Capacity is fixed at creation so no allocation happens
// while generating. Owned by one session; not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "base/error.h"

namespace dseek {

class KvCache {
 public:
  KvCache(int64_t n_layers, int64_t width, int64_t capacity)
      : width_(width), capacity_(capacity), layers_(n_layers, std::vector<float>(width * capacity)) {}

  int64_t width() const { return width_; }
  int64_t capacity() const { return capacity_; }
  int64_t length() const { return length_; }
  int64_t n_layers() const { return static_cast<int64_t>(layers_.size()); }
  float* Row(int64_t layer, int64_t pos) { return layers_[layer].data() + pos * width_; }
  const float* Row(int64_t layer, int64_t pos) const { return layers_[layer].data() + pos * width_; }
  size_t Bytes() const { return layers_.size() * static_cast<size_t>(width_ * capacity_) * sizeof(float); }

  // The model appends n tokens after it has written their rows.
  void Advance(int64_t n) { length_ += n; }
  // Drops everything after `length` tokens (a rewind; rows stay allocated).
  void Truncate(int64_t length) {
    if (length < 0 || length > length_) throw Error("", "kv cache", "cannot truncate to " + std::to_string(length));
    length_ = length;
  }

 private:
  int64_t width_;
  int64_t capacity_;
  int64_t length_ = 0;
  std::vector<std::vector<float>> layers_;
};

// One sequence's run of consecutive tokens inside a batch: rows
// [begin, begin + n) of the batch, at positions cache->length() + 0..n-1.
struct SeqSpan {
  KvCache* cache = nullptr;
  size_t begin = 0;
  size_t n = 0;
};

}  // namespace dseek
