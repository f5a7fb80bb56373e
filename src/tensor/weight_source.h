// Where a model's weights come from, by their Hugging Face names: a folder of
// safetensors (WeightStore) or a GGUF file (names and layouts translated).
// Architectures ask for matrices and vectors with the shapes config.json
// implies; a source checks them and returns views that live as long as it.
#pragma once

#include <cstdint>
#include <string>

#include "tensor/tensor.h"

namespace dseek {

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual bool Has(const std::string& name) const = 0;
  // A 2-D weight [rows, cols] in a form the kernels take; dseek::Error
  // naming the file and tensor when missing, misshapen or of a bad type.
  virtual Matrix GetMatrix(const std::string& name, int64_t rows, int64_t cols) const = 0;
  // A 1-D float32 vector of n values (widened into owned storage if needed).
  virtual const float* GetVectorF32(const std::string& name, int64_t n) const = 0;
};

}  // namespace dseek
