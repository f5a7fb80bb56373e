// The byte-level BPE model: vocab, merge ranks and the merge loop.
//
// Merges are looked up by (left id, right id) in an open-addressing table
// and applied lowest rank first, leftmost first on ties, which is the order
// HF's heap-based BPE produces. Short pieces use a linear scan; long ones
// (a run of CJK text is one piece) a heap over a linked list. Results for
// pieces are cached; the cache is guarded by mutexes, everything else is
// immutable after construction, so one model may serve many threads.
#pragma once

#include <array>
#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/byte_level.h"
#include "tokenizer/piece_cache.h"

namespace dseek {

// (left id, right id) -> (rank, merged id), open addressing.
class MergeTable {
 public:
  struct Entry {
    int32_t rank;
    int32_t id;
  };
  void Reserve(size_t n);
  // Returns false when the pair is already present (the first rank wins).
  bool Insert(int32_t left, int32_t right, Entry e);
  const Entry* Find(int32_t left, int32_t right) const {
    uint64_t key = Key(left, right);
    for (size_t i = Slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return &values_[i];
      if (keys_[i] == kEmpty) return nullptr;
    }
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint64_t Key(int32_t l, int32_t r) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
  }
  size_t Slot(uint64_t key) const {
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_) & mask_;
  }
  std::vector<uint64_t> keys_{kEmpty};
  std::vector<Entry> values_{Entry{}};
  size_t mask_ = 0;
  int shift_ = 63;
  size_t size_ = 0;
};

// Applies merges to `symbols` in place. `use_heap` picks the algorithm; both
// give the same result (exposed so tests can check that).
void ApplyMerges(const MergeTable& merges, bool use_heap, std::vector<int32_t>* symbols);

class BpeModel {
 public:
  // Parses tokenizer.json's `model` (type BPE). Throws dseek::Error.
  static std::unique_ptr<BpeModel> FromJson(const nlohmann::json& model,
                                            const std::string& where);

  // Appends the ids of one pre-tokenized piece (raw bytes).
  void EncodePiece(std::string_view bytes, std::vector<int32_t>* out) const;

  std::optional<int32_t> TokenId(std::string_view token) const;
  // The vocab string of `id` ("Ġworld"), or nullptr outside the vocab.
  const std::string* Token(int32_t id) const;
  // One past the highest vocab id.
  size_t id_end() const { return id_to_token_.size(); }
  const ByteLevelAlphabet& alphabet() const { return alphabet_; }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  void EncodeUncached(std::string_view bytes, std::vector<int32_t>* out) const;

  ByteLevelAlphabet alphabet_;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<uint8_t> has_token_;
  std::array<int32_t, 256> byte_id_{};
  MergeTable merges_;
  int32_t unk_id_ = -1;
  bool ignore_merges_ = false;
  mutable PieceCache cache_;
};

}  // namespace dseek
