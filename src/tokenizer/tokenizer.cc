// Encode / decode over the loaded Tokenizer::Impl.
#include "tokenizer/tokenizer.h"

#include <limits>

#include "base/error.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode_additions.h"
#include "tokenizer/utf8.h"

namespace dseek {

std::optional<int32_t> Tokenizer::Impl::TokenId(std::string_view token) const {
  // Added tokens first, as HF's token_to_id does.
  if (auto it = added_ids.find(std::string(token)); it != added_ids.end()) return it->second;
  return model->TokenId(token);
}

std::string Tokenizer::Impl::TokenText(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_known.size() || !id_known[id]) return "";
  if (added_index[id] >= 0) return added[added_index[id]].content;
  const std::string* t = model->Token(id);
  return t ? *t : "";
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_special) const {
  const Impl& im = *impl_;
  if (text.size() >= std::numeric_limits<uint32_t>::max()) {
    throw Error("", "text", "inputs of 4 GiB or more are not supported");
  }
  std::string repaired;
  if (!IsValidUtf8(text)) {
    repaired = RepairUtf8(text);
    text = repaired;
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (add_special) ids = im.prefix_ids;

  PreTokenizeScratch scratch;
  scratch.regex.unicode_additions = HasUnicodeAdditions(text);
  std::vector<TextSegment> segments;
  im.matcher->Split(text, &scratch.regex, &segments);
  auto encode_piece = [&](std::string_view piece) { im.model->EncodePiece(piece, &ids); };
  PieceSink sink(encode_piece);
  for (const TextSegment& seg : segments) {
    if (seg.id >= 0) {
      ids.push_back(seg.id);
    } else {
      im.pre_tokenizer->Split(text.substr(seg.begin, seg.end - seg.begin), &scratch, sink);
    }
  }
  if (add_special) ids.insert(ids.end(), im.suffix_ids.begin(), im.suffix_ids.end());
  return ids;
}

std::string Tokenizer::Decode(const std::vector<int32_t>& ids, bool skip_special) const {
  const Impl& im = *impl_;
  std::string bytes;
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= im.id_known.size() || !im.id_known[id]) continue;
    if (skip_special && im.id_special[id]) continue;
    bytes += im.id_bytes[id];
  }
  return IsValidUtf8(bytes) ? bytes : RepairUtf8(bytes);
}

std::string Tokenizer::TokenText(int32_t id) const { return impl_->TokenText(id); }

std::string Tokenizer::TokenBytes(int32_t id) const {
  const Impl& im = *impl_;
  if (id < 0 || static_cast<size_t>(id) >= im.id_known.size()) return "";
  return im.id_bytes[id];
}

std::optional<int32_t> Tokenizer::TokenId(std::string_view token) const {
  return impl_->TokenId(token);
}

bool Tokenizer::IsSpecial(int32_t id) const {
  const Impl& im = *impl_;
  return id >= 0 && static_cast<size_t>(id) < im.id_special.size() && im.id_special[id];
}

int32_t Tokenizer::bos_id() const { return impl_->bos_id; }
int32_t Tokenizer::eos_id() const { return impl_->eos_id; }
const std::string& Tokenizer::bos_token() const { return impl_->bos_token; }
const std::string& Tokenizer::eos_token() const { return impl_->eos_token; }
bool Tokenizer::add_bos() const { return impl_->add_bos; }
bool Tokenizer::add_eos() const { return impl_->add_eos; }
const std::string& Tokenizer::chat_template() const { return impl_->chat_template; }
size_t Tokenizer::vocab_size() const { return impl_->id_known.size(); }

}  // namespace dseek
