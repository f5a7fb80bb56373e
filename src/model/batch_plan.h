// Flattens a batch of sequences into one stack of token rows, checks every id
// and cache capacity up front (so a bad request changes no cache), and
// records which rows need logits. Reused across calls without reallocating.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <algorithm>

#include "backend/backend.h"
#include "base/error.h"
#include "kernels/ref/ref_ops.h"
#include "model/model.h"

namespace dseek {

struct BatchPlan {
  std::vector<int32_t> tokens;        // [n] stacked
  std::vector<SeqSpan> spans;         // one per sequence
  std::vector<size_t> logit_rows;     // stacked rows whose logits are wanted
  std::vector<float*> logit_dest;     // where each of those goes ([vocab] each)

  size_t n() const { return tokens.size(); }

  // After the layers: advances every cache, then the final norm and LM head
  // for the rows whose logits were asked for, delivered to their sequences.
  // h: [n, hidden] residual stream; xn and logits are reusable buffers.
  void Finish(Backend& be, const float* h, int64_t hidden, const float* norm, float eps, const Matrix& lm_head,
              std::vector<float>& xn, std::vector<float>& logits) const {
    for (const SeqSpan& sp : spans) sp.cache->Advance(static_cast<int64_t>(sp.n));
    const size_t rows = logit_rows.size();
    const int64_t vocab = lm_head.rows;
    if (xn.size() < rows * hidden) xn.resize(rows * hidden);
    if (logits.size() < rows * vocab) logits.resize(rows * vocab);
    for (size_t r = 0; r < rows; ++r) ref::RmsNorm(h + logit_rows[r] * hidden, norm, hidden, eps, xn.data() + r * hidden);
    be.MatMul(lm_head, xn.data(), rows, logits.data());
    for (size_t r = 0; r < rows; ++r) std::copy_n(logits.data() + r * vocab, vocab, logit_dest[r]);
  }

  void Build(std::span<const BatchSeq> batch, int64_t vocab, int64_t vocab_size_for_logits) {
    tokens.clear();
    spans.clear();
    logit_rows.clear();
    logit_dest.clear();
    for (const BatchSeq& s : batch) {
      if (s.n == 0) throw Error("", "tokens", "empty input");
      if (s.cache->length() + static_cast<int64_t>(s.n) > s.cache->capacity())
        throw Error("", "context", "sequence of " + std::to_string(s.cache->length() + s.n) +
                                       " tokens exceeds the context size " + std::to_string(s.cache->capacity()));
      for (size_t i = 0; i < s.n; ++i)
        if (s.tokens[i] < 0 || s.tokens[i] >= vocab)
          throw Error("", "token id", std::to_string(s.tokens[i]) + " is outside the vocabulary (0.." +
                                          std::to_string(vocab - 1) + ")");
      // The same cache twice in one batch would write the same positions.
      for (const SeqSpan& other : spans)
        if (other.cache == s.cache) throw Error("", "batch", "a sequence appears twice in one batch");
      const size_t begin = tokens.size();
      tokens.insert(tokens.end(), s.tokens, s.tokens + s.n);
      spans.push_back(SeqSpan{s.cache, begin, s.n});
      for (size_t i = s.all_logits ? 0 : s.n - 1; i < s.n; ++i) {
        logit_rows.push_back(begin + i);
        const size_t out_row = s.all_logits ? i : 0;
        logit_dest.push_back(s.logits + out_row * vocab_size_for_logits);
      }
    }
  }
};

}  // namespace dseek
