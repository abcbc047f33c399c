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
#include "mlx/c/private/array.h"

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

/// The common body of our C entry points: `build()` returns the new lazy
/// array, or throws with the problem (`std::invalid_argument` for bad
/// inputs); the array goes to `*res` and 0 is returned, or 1 with
/// "`label`: problem" in `err`.
template <class Build>
int build_into(mlx_array* res, char* err, size_t err_len, const char* label, Build build) {
  try {
    mlx_array_set_(*res, build());
    return 0;
  } catch (const std::exception& e) {
    write_error(err, err_len, std::string(label) + ": " + e.what());
    return 1;
  }
}

/// Throws `std::invalid_argument` unless `x` is a 3-d and `w` an `w_ndim`-d
/// float32 array (`w_layout` names the expected weight layout).
inline void check_conv_inputs(const mlx::core::array& x, const mlx::core::array& w, int w_ndim, const char* w_layout) {
  if (x.ndim() != 3 || w.ndim() != size_t(w_ndim)) {
    throw std::invalid_argument("x must be [B, T, Ci] and w " + std::string(w_layout) + "; found " +
                                std::to_string(x.ndim()) + "-d and " + std::to_string(w.ndim()) + "-d");
  }
  if (x.dtype() != mlx::core::float32 || w.dtype() != mlx::core::float32) {
    throw std::invalid_argument("x and w must be float32");
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
