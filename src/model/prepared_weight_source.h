// A WeightSource that passes every matrix through Backend::PrepareMatrix (the
// CPU backend repacks Q4_0 / Q8_0 rows for its integer dots) and, when the
// backend made its own copy, lets the inner source drop the original bytes so
// the process holds one copy of each weight, not two. The same tensor asked
// for twice (tied embeddings) is prepared once.
//
// Repack cache (only on request): the prepared matrices can be written to a
// file next to the model, "<model>.dseek-repack", and mapped from there on
// later starts, which then skip the repacking (seconds for a 9 GB model) and
// read the model file only for what was not prepared. The cache records the
// backend's layout tag and the model file's size and modification time; a
// cache that does not match, or is damaged, is ignored and rewritten.
//
// Owns the inner source. Not thread-safe (models load on one thread).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "backend/backend.h"
#include "base/mapped_file.h"
#include "tensor/weight_source.h"

namespace dseek {

class PreparedWeightSource final : public WeightSource {
 public:
  // cache_path: "" for no cache. If it names a cache that matches model_path
  // and this backend, matrices come from it.
  PreparedWeightSource(std::unique_ptr<WeightSource> inner, Backend& backend, const std::string& cache_path = "",
                       const std::string& model_path = "");

  // Whether `cache_path` holds a usable cache for model_path on this backend
  // (cheap: reads the header only).
  static bool CacheMatches(const std::string& cache_path, const std::string& model_path, const Backend& backend);
  static std::string CachePathFor(const std::string& model_path) { return model_path + ".dseek-repack"; }

  bool Has(const std::string& name) const override { return inner_->Has(name); }
  Matrix GetMatrix(const std::string& name, int64_t rows, int64_t cols) const override;
  const float* GetVectorF32(const std::string& name, int64_t n) const override { return inner_->GetVectorF32(name, n); }

  bool from_cache() const { return cache_ != nullptr; }
  // Writes every matrix prepared so far to the cache path (through a
  // temporary file renamed into place). Throws dseek::Error on I/O failure.
  void WriteCache() const;

 public:
  struct Stamp {  // the model file as loaded
    uint64_t size = 0;
    int64_t mtime_ns = 0;
  };

 private:
  struct Entry {
    Matrix m;       // data: offset into the cache mapping until resolved
    uint64_t offset = 0;
  };

  std::unique_ptr<WeightSource> inner_;
  Backend& backend_;
  std::string cache_path_, model_path_;
  Stamp stamp_;
  std::unique_ptr<MappedFile> cache_;
  std::map<std::string, Entry> cached_;
  mutable std::map<std::tuple<const void*, int64_t, int64_t>, Matrix> done_;
  mutable std::vector<std::pair<std::string, Matrix>> prepared_;  // in load order, for WriteCache
};

}  // namespace dseek
