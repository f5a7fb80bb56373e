// A WeightSource that passes every matrix through Backend::PrepareMatrix (the
// CPU backend repacks Q4_0 / Q8_0 rows for its integer dots) and, when the
// backend made its own copy, lets the inner source drop the original bytes so
// the process holds one copy of each weight, not two. The same tensor asked
// for twice (tied embeddings) is prepared once.
//
// Owns the inner source. Not thread-safe (models load on one thread).
#pragma once

#include <map>
#include <memory>
#include <tuple>

#include "backend/backend.h"
#include "tensor/weight_source.h"

namespace dseek {

class PreparedWeightSource final : public WeightSource {
 public:
  PreparedWeightSource(std::unique_ptr<WeightSource> inner, Backend& backend)
      : inner_(std::move(inner)), backend_(backend) {}

  bool Has(const std::string& name) const override { return inner_->Has(name); }
  Matrix GetMatrix(const std::string& name, int64_t rows, int64_t cols) const override {
    const Matrix m = inner_->GetMatrix(name, rows, cols);
    const auto key = std::make_tuple(m.data, m.rows, m.cols);
    if (auto it = done_.find(key); it != done_.end()) return it->second;
    const Matrix p = backend_.PrepareMatrix(m);
    if (p.data != m.data) inner_->DropBytes(m.data, m.bytes());
    done_.emplace(key, p);
    return p;
  }
  const float* GetVectorF32(const std::string& name, int64_t n) const override { return inner_->GetVectorF32(name, n); }

 private:
  std::unique_ptr<WeightSource> inner_;
  Backend& backend_;
  mutable std::map<std::tuple<const void*, int64_t, int64_t>, Matrix> done_;
};

}  // namespace dseek
