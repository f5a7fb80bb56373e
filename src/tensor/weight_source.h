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
  // The caller has its own copy of these bytes (a matrix repacked by the
  // backend): a source that maps a file may give the pages back so they stop
  // counting against the process. They stay readable (the kernel pages them
  // in again from the file if asked); anything else is left alone.
  virtual void DropBytes(const void* data, size_t n) const {}
};

}  // namespace dseek
