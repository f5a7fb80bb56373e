// A bounded cache from a pre-tokenized piece (bytes) to its BPE ids, so the
// words that make up most text are merged once. Open addressing over flat
// arrays: a lookup is one hash, one probe run and one memcmp, with no
// per-entry allocation. Like HF's BPE cache it stops taking entries when
// full instead of evicting.
//
// Thread-safe: the table is split into shards, each behind its own mutex.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace dseek {

class PieceCache {
 public:
  static constexpr size_t kMaxKeyBytes = 64;

  PieceCache();

  static uint64_t Hash(std::string_view key);

  // Appends the cached ids of `key` to `out`; false on a miss.
  bool Lookup(std::string_view key, uint64_t hash, std::vector<int32_t>* out) const;
  // Remembers `ids` for `key` (no-op when the shard is full or key too long).
  void Insert(std::string_view key, uint64_t hash, const int32_t* ids, size_t n);

 private:
  static constexpr size_t kShards = 16;
  static constexpr size_t kSlotsPerShard = 16384;  // power of two
  static constexpr size_t kMaxEntriesPerShard = kSlotsPerShard / 2;

  struct Slot {
    uint64_t hash = 0;  // 0 marks an empty slot; real hashes have bit 0 set
    uint32_t key_off = 0;
    uint32_t ids_off = 0;
    uint16_t key_len = 0;
    uint16_t n_ids = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::vector<Slot> slots;
    std::string keys;
    std::vector<int32_t> ids;
    size_t entries = 0;
  };
  std::array<Shard, kShards> shards_;
};

}  // namespace dseek
