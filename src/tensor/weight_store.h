// The weights of a Hugging Face model folder: every tensor of every
// safetensors shard, by name, memory-mapped (no copies). Owns the mappings.
// Immutable after construction; thread-safe for reads.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/safetensors.h"
#include "tensor/weight_source.h"
#include "tensor/tensor.h"

namespace dseek {

class WeightStore final : public WeightSource {
 public:
  // Opens model.safetensors.index.json and its shards if present, otherwise
  // model.safetensors, otherwise every *.safetensors file in the folder.
  static std::unique_ptr<WeightStore> OpenDir(const std::string& dir);

  bool Has(const std::string& name) const override { return index_.count(name) != 0; }
  std::optional<TensorView> Find(const std::string& name) const;
  // Throws dseek::Error naming the tensor (and folder) when missing.
  TensorView Get(const std::string& name) const;
  // Get() plus a shape check against what config.json implies.
  TensorView GetShaped(const std::string& name, const std::vector<int64_t>& shape) const;

  // A 2-D weight in a form the kernels take: F32/F16/BF16 as stored, or F8_E4M3
  // with its `<name>_scale_inv` companion (checked against the block grid).
  Matrix GetMatrix(const std::string& name, int64_t rows, int64_t cols) const override;
  // A 1-D F32 vector: F32 tensors are used in place; BF16/F16 are widened
  // into storage owned by the store (norm weights and biases are tiny).
  const float* GetVectorF32(const std::string& name, int64_t n) const override;

  const std::string& dir() const { return dir_; }
  std::vector<std::string> TensorNames() const;
  size_t TotalBytes() const;
  std::map<DType, size_t> BytesByDType() const;
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }

 private:
  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const SafetensorsEntry*> index_;
  std::map<std::string, const SafetensorsFile*> owner_;
  mutable std::map<std::string, std::vector<float>> widened_;
};

std::string ShapeString(const std::vector<int64_t>& shape);

}  // namespace dseek
