#include "tokenizer/piece_cache.h"

#include <cstring>

namespace dseek {

PieceCache::PieceCache() {
  for (Shard& s : shards_) s.slots.resize(kSlotsPerShard);
}

uint64_t PieceCache::Hash(std::string_view key) {
  // Eight bytes at a time, multiply-mix; pieces are short, so this beats a
  // byte-wise hash and is good enough for a table that is never attacked
  // by more than its own bound.
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t h = key.size() * kMul;
  size_t i = 0;
  for (; i + 8 <= key.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, key.data() + i, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  if (i < key.size()) {
    uint64_t w = 0;
    std::memcpy(&w, key.data() + i, key.size() - i);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  h ^= h >> 32;
  return h | 1;
}

bool PieceCache::Lookup(std::string_view key, uint64_t hash, std::vector<int32_t>* out) const {
  const Shard& s = shards_[(hash >> 8) % kShards];
  std::lock_guard<std::mutex> lock(s.mu);
  for (size_t i = (hash >> 16) & (kSlotsPerShard - 1);; i = (i + 1) & (kSlotsPerShard - 1)) {
    const Slot& slot = s.slots[i];
    if (slot.hash == 0) return false;
    if (slot.hash == hash && slot.key_len == key.size() &&
        std::memcmp(s.keys.data() + slot.key_off, key.data(), key.size()) == 0) {
      const int32_t* ids = s.ids.data() + slot.ids_off;
      out->insert(out->end(), ids, ids + slot.n_ids);
      return true;
    }
  }
}

void PieceCache::Insert(std::string_view key, uint64_t hash, const int32_t* ids, size_t n) {
  if (key.size() > kMaxKeyBytes || n > 0xFFFF) return;
  Shard& s = shards_[(hash >> 8) % kShards];
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.entries >= kMaxEntriesPerShard) return;
  size_t i = (hash >> 16) & (kSlotsPerShard - 1);
  for (; s.slots[i].hash != 0; i = (i + 1) & (kSlotsPerShard - 1)) {
    const Slot& slot = s.slots[i];
    // Another thread may have added it since our miss.
    if (slot.hash == hash && slot.key_len == key.size() &&
        std::memcmp(s.keys.data() + slot.key_off, key.data(), key.size()) == 0) {
      return;
    }
  }
  Slot& slot = s.slots[i];
  slot.hash = hash;
  slot.key_off = static_cast<uint32_t>(s.keys.size());
  slot.key_len = static_cast<uint16_t>(key.size());
  slot.ids_off = static_cast<uint32_t>(s.ids.size());
  slot.n_ids = static_cast<uint16_t>(n);
  s.keys.append(key);
  s.ids.insert(s.ids.end(), ids, ids + n);
  ++s.entries;
}

}  // namespace dseek
