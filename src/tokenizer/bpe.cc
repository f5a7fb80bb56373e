#include "tokenizer/bpe.h"

#include <climits>
#include <queue>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace dseek {
namespace {

// Pieces up to this many bytes merge by linear scan; longer ones use a heap.
constexpr size_t kLinearMergeMax = 48;

void MergeLinear(const MergeTable& merges, std::vector<int32_t>* symbols) {
  std::vector<int32_t>& s = *symbols;
  if (s.size() < 2) return;
  // rank[i] / merged[i] describe the pair (s[i], s[i + 1]).
  int32_t rank[kLinearMergeMax], merged[kLinearMergeMax];
  size_t n = s.size();
  auto look = [&](size_t i) {
    const MergeTable::Entry* e = merges.Find(s[i], s[i + 1]);
    rank[i] = e ? e->rank : INT32_MAX;
    merged[i] = e ? e->id : -1;
  };
  for (size_t i = 0; i + 1 < n; ++i) look(i);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i) {
      if (rank[i] < rank[best]) best = i;
    }
    if (rank[best] == INT32_MAX) break;
    s[best] = merged[best];
    for (size_t i = best + 1; i + 1 < n; ++i) {
      s[i] = s[i + 1];
      rank[i] = rank[i + 1];
      merged[i] = merged[i + 1];
    }
    --n;
    if (best > 0) look(best - 1);
    if (best + 1 < n) look(best);
  }
  s.resize(n);
}

void MergeHeap(const MergeTable& merges, std::vector<int32_t>* symbols) {
  std::vector<int32_t>& s = *symbols;
  const int32_t n = static_cast<int32_t>(s.size());
  if (n < 2) return;
  std::vector<int32_t> prev(n), next(n);
  std::vector<uint8_t> alive(n, 1);
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Cand {
    int32_t rank, pos, id;
    // std::priority_queue is a max-heap: invert so the lowest rank, then the
    // leftmost position, comes out first.
    bool operator<(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand> heap;
  auto push = [&](int32_t pos) {
    if (pos < 0 || next[pos] < 0) return;
    if (const MergeTable::Entry* e = merges.Find(s[pos], s[next[pos]])) {
      heap.push({e->rank, pos, e->id});
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    Cand c = heap.top();
    heap.pop();
    if (!alive[c.pos] || next[c.pos] < 0) continue;
    int32_t right = next[c.pos];
    // Skip entries made stale by an earlier merge next to them.
    const MergeTable::Entry* e = merges.Find(s[c.pos], s[right]);
    if (e == nullptr || e->id != c.id) continue;
    s[c.pos] = c.id;
    alive[right] = 0;
    next[c.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.pos;
    push(prev[c.pos]);
    push(c.pos);
  }
  size_t w = 0;
  for (int32_t i = 0; i >= 0; i = next[i]) s[w++] = s[i];
  s.resize(w);
}

}  // namespace

void MergeTable::Reserve(size_t n) {
  size_t cap = 16;
  shift_ = 60;
  while (cap < n * 2) {
    cap <<= 1;
    --shift_;
  }
  keys_.assign(cap, kEmpty);
  values_.assign(cap, Entry{});
  mask_ = cap - 1;
  size_ = 0;
}

bool MergeTable::Insert(int32_t left, int32_t right, Entry e) {
  if ((size_ + 1) * 2 > keys_.size()) {
    // Grow: rehash everything into a table twice as large.
    std::vector<uint64_t> old_keys = std::move(keys_);
    std::vector<Entry> old_values = std::move(values_);
    Reserve(old_keys.size());
    for (size_t i = 0; i < old_keys.size(); ++i) {
      if (old_keys[i] == kEmpty) continue;
      size_t j = Slot(old_keys[i]);
      while (keys_[j] != kEmpty) j = (j + 1) & mask_;
      keys_[j] = old_keys[i];
      values_[j] = old_values[i];
      ++size_;
    }
  }
  uint64_t key = Key(left, right);
  size_t i = Slot(key);
  for (; keys_[i] != kEmpty; i = (i + 1) & mask_) {
    if (keys_[i] == key) return false;
  }
  keys_[i] = key;
  values_[i] = e;
  ++size_;
  return true;
}

void ApplyMerges(const MergeTable& merges, bool use_heap, std::vector<int32_t>* symbols) {
  if (use_heap || symbols->size() > kLinearMergeMax) {
    MergeHeap(merges, symbols);
  } else {
    MergeLinear(merges, symbols);
  }
}

std::unique_ptr<BpeModel> BpeModel::FromJson(const nlohmann::json& m, const std::string& where) {
  auto model = std::make_unique<BpeModel>();
  if (!m.is_object()) throw Error(where, "model", "expected an object");
  std::string type = m.value("type", "BPE");
  if (type != "BPE") throw Error(where, "model.type", "unsupported model type \"" + type + "\"");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    auto it = m.find(key);
    if (it != m.end() && !it->is_null() && !(it->is_string() && it->get<std::string>().empty())) {
      throw Error(where, std::string("model.") + key, "not supported for byte-level BPE");
    }
  }
  if (auto it = m.find("dropout"); it != m.end() && !it->is_null() &&
                                   !(it->is_number() && it->get<double>() == 0.0)) {
    throw Error(where, "model.dropout", "BPE dropout is not supported");
  }
  if (auto it = m.find("ignore_merges"); it != m.end() && it->is_boolean()) {
    model->ignore_merges_ = it->get<bool>();
  }

  auto vocab = m.find("vocab");
  if (vocab == m.end() || !vocab->is_object() || vocab->empty()) {
    throw Error(where, "model.vocab", "expected a non-empty object");
  }
  model->vocab_.reserve(vocab->size());
  int64_t max_id = -1;
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() >= INT32_MAX) {
      throw Error(where, "model.vocab[\"" + it.key() + "\"]", "expected a non-negative id");
    }
    int64_t id = it->get<int64_t>();
    model->vocab_.emplace(it.key(), static_cast<int32_t>(id));
    max_id = std::max(max_id, id);
  }
  model->id_to_token_.resize(max_id + 1);
  model->has_token_.assign(max_id + 1, 0);
  for (const auto& [tok, id] : model->vocab_) {
    model->id_to_token_[id] = tok;
    model->has_token_[id] = 1;
  }
  for (int b = 0; b < 256; ++b) {
    auto it = model->vocab_.find(model->alphabet_.CharFor(static_cast<uint8_t>(b)));
    model->byte_id_[b] = it == model->vocab_.end() ? -1 : it->second;
  }
  if (auto it = m.find("unk_token"); it != m.end() && it->is_string()) {
    auto unk = model->vocab_.find(it->get<std::string>());
    if (unk == model->vocab_.end()) throw Error(where, "model.unk_token", "not in the vocab");
    model->unk_id_ = unk->second;
  }

  auto merges = m.find("merges");
  if (merges == m.end() || !merges->is_array()) throw Error(where, "model.merges", "expected an array");
  model->merges_.Reserve(merges->size());
  for (size_t r = 0; r < merges->size(); ++r) {
    const nlohmann::json& e = (*merges)[r];
    std::string left, right;
    // Older files write "a b", newer ones ["a", "b"].
    if (e.is_string()) {
      const std::string& s = e.get_ref<const std::string&>();
      size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
        throw Error(where, "model.merges[" + std::to_string(r) + "]",
                    "expected two tokens separated by one space");
      }
      left = s.substr(0, sp);
      right = s.substr(sp + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      left = e[0].get<std::string>();
      right = e[1].get<std::string>();
    } else {
      throw Error(where, "model.merges[" + std::to_string(r) + "]", "expected a pair of tokens");
    }
    auto l = model->vocab_.find(left), rt = model->vocab_.find(right);
    auto merged = model->vocab_.find(left + right);
    if (l == model->vocab_.end() || rt == model->vocab_.end() || merged == model->vocab_.end()) {
      throw Error(where, "model.merges[" + std::to_string(r) + "]",
                  "merge \"" + left + " " + right + "\" uses a token missing from the vocab");
    }
    model->merges_.Insert(l->second, rt->second,
                          {static_cast<int32_t>(r), static_cast<int32_t>(merged->second)});
  }
  return model;
}

std::optional<int32_t> BpeModel::TokenId(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::Token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || !has_token_[id]) return nullptr;
  return &id_to_token_[id];
}

void BpeModel::EncodeUncached(std::string_view bytes, std::vector<int32_t>* out) const {
  if (ignore_merges_) {
    if (auto id = TokenId(alphabet_.ToChars(bytes))) {
      out->push_back(*id);
      return;
    }
  }
  std::vector<int32_t> symbols;
  symbols.reserve(bytes.size());
  for (unsigned char b : bytes) {
    int32_t id = byte_id_[b];
    if (id < 0) {
      // HF: unknown symbols become unk (consecutive ones fused only with
      // fuse_unk, which byte-level files never set) or vanish.
      if (unk_id_ < 0) continue;
      id = unk_id_;
    }
    symbols.push_back(id);
  }
  ApplyMerges(merges_, false, &symbols);
  out->insert(out->end(), symbols.begin(), symbols.end());
}

void BpeModel::EncodePiece(std::string_view bytes, std::vector<int32_t>* out) const {
  if (bytes.size() == 1 && byte_id_[static_cast<uint8_t>(bytes[0])] >= 0) {
    out->push_back(byte_id_[static_cast<uint8_t>(bytes[0])]);
    return;
  }
  if (bytes.size() > PieceCache::kMaxKeyBytes) {
    EncodeUncached(bytes, out);
    return;
  }
  uint64_t hash = PieceCache::Hash(bytes);
  if (cache_.Lookup(bytes, hash, out)) return;
  size_t start = out->size();
  EncodeUncached(bytes, out);
  cache_.Insert(bytes, hash, out->data() + start, out->size() - start);
}

}  // namespace dseek
