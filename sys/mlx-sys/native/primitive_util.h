// Helpers shared by our MLX CPU primitives (shifted_conv1d.cpp,
// grouped_conv1d.cpp).
#pragma once

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "mlx/allocator.h"
#include "mlx/array.h"
#include "mlx/backend/cpu/encoder.h"

// Kernels with loops the compiler vectorizes get one clone per x86 vector
// width, picked at load time by the CPU (the build stays portable: no
// -march flag).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SOVITS_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SOVITS_VECTOR_CLONES
#endif

namespace sovits {

/// Copies `message` into the caller's buffer, truncated and NUL-terminated.
inline void write_error(char* err, size_t err_len, const std::string& message) {
  if (err == nullptr || err_len == 0) return;
  const size_t n = std::min(err_len - 1, message.size());
  std::memcpy(err, message.data(), n);
  err[n] = '\0';
}

/// Throws unless every input is row-contiguous float32 (the frontends make
/// them so in the graph; this guards the raw-pointer kernels).
inline void check_row_contiguous_f32(const std::vector<mlx::core::array>& inputs, const char* who) {
  for (auto& in : inputs) {
    if (in.dtype() != mlx::core::float32 || !in.flags().row_contiguous) {
      throw std::runtime_error(std::string(who) + ": inputs must be row-contiguous float32");
    }
  }
}

/// The common `eval_cpu` of a two-input float32 primitive: checks the inputs,
/// allocates `out`, and queues `kernel(a, b, out)` (the raw data of inputs 0
/// and 1 and of `out`) on `stream`'s CPU command encoder.
template <class Kernel>
void dispatch_two_inputs(mlx::core::Stream stream, const std::vector<mlx::core::array>& inputs,
                         mlx::core::array& out, const char* who, Kernel kernel) {
  check_row_contiguous_f32(inputs, who);
  out.set_data(mlx::core::allocator::malloc(out.nbytes()));
  auto& encoder = mlx::core::cpu::get_command_encoder(stream);
  for (auto& in : inputs) encoder.set_input_array(in);
  encoder.set_output_array(out);
  const float* a = inputs[0].data<float>();
  const float* b = inputs[1].data<float>();
  float* o = out.data<float>();
  encoder.dispatch([kernel, a, b, o]() { kernel(a, b, o); });
}

}  // namespace sovits
