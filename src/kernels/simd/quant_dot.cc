// Dispatch for the quantized integer dots (see quant_dot.h): picks the best
// x86 kernel table the CPU supports once, else the scalar reference.
#include "kernels/simd/quant_dot.h"

#include <atomic>

#include "base/error.h"
#include "kernels/ref/quant_ref.h"
#include "kernels/simd/quant_dot_internal.h"

namespace dseek::simd {
namespace {

using quant_internal::Kernels;

bool CpuHas(QuantIsa isa) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  switch (isa) {
    case QuantIsa::kScalar: return true;
    case QuantIsa::kAvx2:
      return quant_internal::KernelsAvx2() != nullptr && __builtin_cpu_supports("avx2") &&
             __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case QuantIsa::kAvx512Vnni:
      return quant_internal::KernelsAvx512Vnni() != nullptr && CpuHas(QuantIsa::kAvx2) &&
             __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
  }
  return false;
#else
  return isa == QuantIsa::kScalar;
#endif
}

QuantIsa BestIsa() {
  static const QuantIsa best = [] {
    auto all = SupportedQuantIsas();
    return all.back();
  }();
  return best;
}

// Test-only override (-1: none). Not a configuration knob.
std::atomic<int> g_forced{-1};

const Kernels* Table() {
  switch (ActiveQuantIsa()) {
    case QuantIsa::kAvx2: return quant_internal::KernelsAvx2();
    case QuantIsa::kAvx512Vnni: return quant_internal::KernelsAvx512Vnni();
    default: return nullptr;
  }
}

}  // namespace

const Kernels* quant_internal::ActiveKernels() { return Table(); }

std::vector<QuantIsa> SupportedQuantIsas() {
  std::vector<QuantIsa> out;
  for (QuantIsa isa : {QuantIsa::kScalar, QuantIsa::kAvx2, QuantIsa::kAvx512Vnni})
    if (CpuHas(isa)) out.push_back(isa);
  return out;
}

QuantIsa ActiveQuantIsa() {
  const int f = g_forced.load(std::memory_order_relaxed);
  return f >= 0 ? static_cast<QuantIsa>(f) : BestIsa();
}

const char* QuantIsaName(QuantIsa isa) {
  switch (isa) {
    case QuantIsa::kScalar: return "scalar";
    case QuantIsa::kAvx2: return "avx2";
    case QuantIsa::kAvx512Vnni: return "avx512vnni";
  }
  return "?";
}

void ForceQuantIsaForTest(QuantIsa isa) {
  if (!CpuHas(isa)) throw Error("", QuantIsaName(isa), "not supported by this CPU or build");
  g_forced.store(static_cast<int>(isa), std::memory_order_relaxed);
}
void ResetQuantIsaForTest() { g_forced.store(-1, std::memory_order_relaxed); }

bool HasQuantDot(GgmlType w) {
  switch (w) {
    case GgmlType::kQ8_0:
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_K:
    case GgmlType::kQ6_K: return true;
    default: return false;
  }
}

GgmlType QuantActivationType(GgmlType w) { return ref::ActivationTypeFor(w); }

void QuantizeActivationRow(GgmlType act, const float* x, int64_t n, void* out) {
  const Kernels* k = Table();
  if (k && act == GgmlType::kQ8_0 && n % 32 == 0) return k->quantize_q8_0(x, n, out);
  if (k && act == GgmlType::kQ8_K && n % 256 == 0) return k->quantize_q8_k(x, n, out);
  ref::QuantizeRowGgml(act, x, n, out);
}

namespace {

// The kernel for w's rows of n elements on this CPU, or null (scalar reference).
quant_internal::DotTokensFn DotFn(GgmlType w, int64_t n) {
  const Kernels* k = Table();
  if (!k || n % GgmlBlockSize(w) != 0) return nullptr;
  switch (w) {
    case GgmlType::kQ8_0: return k->dot_q8_0;
    case GgmlType::kQ4_0: return k->dot_q4_0;
    case GgmlType::kQ4_K: return k->dot_q4_k;
    case GgmlType::kQ6_K: return k->dot_q6_k;
    default: return nullptr;
  }
}

}  // namespace

void QuantDotTokens(GgmlType w, const void* w_row, const void* act, size_t act_stride, size_t n_tok, int64_t n,
                    float* y, size_t y_stride) {
  QuantDotRows(w, w_row, 0, 1, act, act_stride, n_tok, n, y, y_stride);
}

void QuantDotRows(GgmlType w, const void* rows, size_t row_bytes, size_t n_rows, const void* act, size_t act_stride,
                  size_t n_tok, int64_t n, float* y, size_t y_stride) {
  const quant_internal::DotTokensFn fn = DotFn(w, n);
  const uint8_t* wr = static_cast<const uint8_t*>(rows);
  const uint8_t* a = static_cast<const uint8_t*>(act);
  for (size_t r = 0; r < n_rows; ++r, wr += row_bytes) {
    if (fn) {
      fn(wr, a, act_stride, n_tok, n, y + r, y_stride);
    } else {
      for (size_t t = 0; t < n_tok; ++t) y[t * y_stride + r] = ref::VecDotQuantized(w, wr, a + t * act_stride, n);
    }
  }
}

float QuantDot(GgmlType w, const void* w_row, const void* act, int64_t n) {
  float y = 0.0f;
  QuantDotTokens(w, w_row, act, 0, 1, n, &y, 1);
  return y;
}

}  // namespace dseek::simd
