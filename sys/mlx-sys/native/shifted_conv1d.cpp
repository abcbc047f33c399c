// A stride-1, ungrouped conv1d for MLX's CPU backend as K shifted GEMMs.
//
// Channels-last input x [B, T, Ci] and weight w [K, Ci, Co]: output frame t
// is the sum over taps k of x[t + k*d - p] @ w[k], so each tap is one
// cblas_sgemm over the rows where the tap lands inside x, accumulating into
// the output with beta = 1. No padding, im2col or phase copies are made: a
// shifted row range of a row-major [T, C] matrix is a matrix itself. The
// backward is the same shape of work (dx: K GEMMs with w[k] transposed; dw:
// K GEMMs x^T @ dy over the overlapping rows), so all three passes run at
// OpenBLAS's GEMM speed. MLX's own CPU conv and our earlier reformulations
// copied the input once per conv (padding, im2col windows, dilation phases)
// and fell to 10-80 GFLOP/s on the HiFi-GAN decoder's 16-128 channel convs
// (docs/performance.md).
//
// The primitive follows MLX's documented custom-extension pattern (a
// Primitive subclass whose eval_cpu dispatches a task on the stream's
// command encoder) and is compiled against the headers of the MLX wheel that
// provides libmlx.so. It has no GPU kernel: callers use it on the CPU only.

#include <algorithm>
#include <cstring>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "mlx/allocator.h"
#include "mlx/array.h"
#include "mlx/backend/cpu/encoder.h"
#include "mlx/ops.h"
#include "mlx/primitives.h"
#include "mlx/c/private/array.h"
#include "mlx/c/private/stream.h"
#include "primitive_util.h"

extern "C" void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                            const float* a, int lda, const float* b, int ldb, float beta, float* c,
                            int ldc);

namespace sovits {

using namespace mlx::core;

constexpr int kRowMajor = 101;
constexpr int kNoTrans = 111;
constexpr int kTrans = 112;

/// Which of the three products of a conv the primitive computes.
enum class Part { Forward, InputGrad, WeightGrad };

/// The sizes of one conv and the rows tap k covers.
struct Geometry {
  int batch, t_in, t_out, ci, co, k, padding, dilation;

  /// Offset of tap k: output frame t reads input frame t + offset(k).
  int offset(int tap) const { return tap * dilation - padding; }
  /// First output frame where tap k reads inside the input.
  int first(int tap) const { return std::max(0, -offset(tap)); }
  /// One past the last such output frame.
  int last(int tap) const { return std::min(t_out, t_in - offset(tap)); }
  /// A tap whose rows cover the whole output (and so the whole input when
  /// t_in == t_out), or -1.
  int full_tap() const {
    for (int tap = 0; tap < k; ++tap) {
      if (first(tap) == 0 && last(tap) == t_out && offset(tap) == 0 && t_in == t_out) return tap;
    }
    return -1;
  }
};

void gemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
          float beta, float* c, int ldc) {
  cblas_sgemm(kRowMajor, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, m, n, k, 1.0f, a, lda, b,
              ldb, beta, c, ldc);
}

/// y[b] = sum_k x[b][rows + off_k] @ w[k]
void forward(const Geometry& g, const float* x, const float* w, float* y) {
  const int full = g.full_tap();
  for (int b = 0; b < g.batch; ++b) {
    const float* xb = x + size_t(b) * g.t_in * g.ci;
    float* yb = y + size_t(b) * g.t_out * g.co;
    if (full < 0) std::memset(yb, 0, sizeof(float) * size_t(g.t_out) * g.co);
    for (int pass = 0; pass < 2; ++pass) {
      for (int tap = 0; tap < g.k; ++tap) {
        // the full tap first (beta 0 initialises the output), then the rest
        if ((pass == 0) != (tap == full)) continue;
        const int t0 = g.first(tap), t1 = g.last(tap);
        if (t1 <= t0) continue;
        gemm(false, false, t1 - t0, g.co, g.ci, xb + size_t(t0 + g.offset(tap)) * g.ci, g.ci,
             w + size_t(tap) * g.ci * g.co, g.co, tap == full ? 0.0f : 1.0f, yb + size_t(t0) * g.co,
             g.co);
      }
    }
  }
}

/// dx[b][rows + off_k] += dy[b][rows] @ w[k]^T
void input_grad(const Geometry& g, const float* dy, const float* w, float* dx) {
  const int full = g.full_tap();
  for (int b = 0; b < g.batch; ++b) {
    const float* dyb = dy + size_t(b) * g.t_out * g.co;
    float* dxb = dx + size_t(b) * g.t_in * g.ci;
    if (full < 0) std::memset(dxb, 0, sizeof(float) * size_t(g.t_in) * g.ci);
    for (int pass = 0; pass < 2; ++pass) {
      for (int tap = 0; tap < g.k; ++tap) {
        if ((pass == 0) != (tap == full)) continue;
        const int t0 = g.first(tap), t1 = g.last(tap);
        if (t1 <= t0) continue;
        gemm(false, true, t1 - t0, g.ci, g.co, dyb + size_t(t0) * g.co, g.co,
             w + size_t(tap) * g.ci * g.co, g.co, tap == full ? 0.0f : 1.0f,
             dxb + size_t(t0 + g.offset(tap)) * g.ci, g.ci);
      }
    }
  }
}

/// dw[k] = sum_b x[b][rows + off_k]^T @ dy[b][rows]
void weight_grad(const Geometry& g, const float* x, const float* dy, float* dw) {
  std::memset(dw, 0, sizeof(float) * size_t(g.k) * g.ci * g.co);
  for (int b = 0; b < g.batch; ++b) {
    const float* xb = x + size_t(b) * g.t_in * g.ci;
    const float* dyb = dy + size_t(b) * g.t_out * g.co;
    for (int tap = 0; tap < g.k; ++tap) {
      const int t0 = g.first(tap), t1 = g.last(tap);
      if (t1 <= t0) continue;
      gemm(true, false, g.ci, g.co, t1 - t0, xb + size_t(t0 + g.offset(tap)) * g.ci, g.ci,
           dyb + size_t(t0) * g.co, g.co, 1.0f, dw + size_t(tap) * g.ci * g.co, g.co);
    }
  }
}

/// One of the three products of a shifted-GEMM conv1d (see the file comment).
class ShiftedConv1d : public UnaryPrimitive {
 public:
  ShiftedConv1d(Stream stream, Part part, int padding, int dilation)
      : UnaryPrimitive(stream), part_(part), padding_(padding), dilation_(dilation) {}

  /// Inputs by part: Forward (x [B,T,Ci], w [K,Ci,Co]); InputGrad (dy
  /// [B,To,Co], w); WeightGrad (x, dy). Every input row-contiguous float32.
  void eval_cpu(const std::vector<array>& inputs, array& out) override {
    const Geometry g = geometry(inputs, out);
    const Part part = part_;
    dispatch_two_inputs(stream(), inputs, out, "ShiftedConv1d", [g, part](const float* a, const float* b, float* o) {
      switch (part) {
        case Part::Forward: forward(g, a, b, o); break;
        case Part::InputGrad: input_grad(g, a, b, o); break;
        case Part::WeightGrad: weight_grad(g, a, b, o); break;
      }
    });
  }

  void eval_gpu(const std::vector<array>&, array&) override {
    throw std::runtime_error("ShiftedConv1d has no GPU kernel; use MLX's conv1d on a GPU");
  }

  std::vector<array> vjp(const std::vector<array>& primals, const std::vector<array>& cotangents,
                         const std::vector<int>& argnums, const std::vector<array>&) override {
    if (part_ != Part::Forward) {
      throw std::runtime_error("ShiftedConv1d: the gradient of its backward is not implemented");
    }
    const array& x = primals[0];
    const array& w = primals[1];
    const array dy = contiguous(cotangents[0], false, stream());
    std::vector<array> grads;
    for (int arg : argnums) {
      if (arg == 0) {
        grads.push_back(array(x.shape(), float32,
                              std::make_shared<ShiftedConv1d>(stream(), Part::InputGrad, padding_, dilation_),
                              {dy, w}));
      } else {
        grads.push_back(array(w.shape(), float32,
                              std::make_shared<ShiftedConv1d>(stream(), Part::WeightGrad, padding_, dilation_),
                              {x, dy}));
      }
    }
    return grads;
  }

  const char* name() const override { return "SovitsShiftedConv1d"; }

  bool is_equivalent(const Primitive& other) const override {
    auto* o = dynamic_cast<const ShiftedConv1d*>(&other);
    return o && o->part_ == part_ && o->padding_ == padding_ && o->dilation_ == dilation_;
  }

 private:
  Geometry geometry(const std::vector<array>& in, const array& out) const {
    Geometry g{};
    g.padding = padding_;
    g.dilation = dilation_;
    switch (part_) {
      case Part::Forward:  // x [B,T,Ci], w [K,Ci,Co] -> [B,To,Co]
        g.batch = in[0].shape(0), g.t_in = in[0].shape(1), g.ci = in[0].shape(2);
        g.k = in[1].shape(0), g.co = in[1].shape(2), g.t_out = out.shape(1);
        break;
      case Part::InputGrad:  // dy [B,To,Co], w [K,Ci,Co] -> [B,T,Ci]
        g.batch = in[0].shape(0), g.t_out = in[0].shape(1), g.co = in[0].shape(2);
        g.k = in[1].shape(0), g.ci = in[1].shape(1), g.t_in = out.shape(1);
        break;
      case Part::WeightGrad:  // x [B,T,Ci], dy [B,To,Co] -> [K,Ci,Co]
        g.batch = in[0].shape(0), g.t_in = in[0].shape(1), g.ci = in[0].shape(2);
        g.t_out = in[1].shape(1), g.co = in[1].shape(2), g.k = out.shape(0);
        break;
    }
    return g;
  }

  Part part_;
  int padding_;
  int dilation_;
};

}  // namespace sovits

/// Builds `conv1d(x, w)` (stride 1, groups 1, `padding` zero frames on each
/// side, `dilation`) as a lazy MLX array on stream `s`: x [B, T, Ci] and w
/// [K, Ci, Co] float32 (any layout; made row-contiguous in the graph) give
/// [B, T + 2*padding - dilation*(K-1), Co]. Returns 0 and sets `*res`, or 1
/// with a message in `err` (at most `err_len` bytes, NUL-terminated).
extern "C" int sovits_shifted_conv1d(mlx_array* res, mlx_array x, mlx_array w, int padding,
                                     int dilation, mlx_stream s, char* err, size_t err_len) {
  using namespace mlx::core;
  return sovits::build_into(res, err, err_len, "shifted conv1d", [&]() {
    const array& xa = mlx_array_get_(x);
    const array& wa = mlx_array_get_(w);
    const Stream stream = mlx_stream_get_(s);
    sovits::check_conv_inputs(xa, wa, 3, "[K, Ci, Co]");
    std::ostringstream problem;
    if (wa.shape(1) != xa.shape(2)) {
      problem << "w has " << wa.shape(1) << " input channels, x has " << xa.shape(2);
    } else if (padding < 0 || dilation < 1) {
      problem << "padding must be >= 0 and dilation >= 1; found " << padding << ", " << dilation;
    } else if (xa.shape(1) + 2 * padding - dilation * (wa.shape(0) - 1) < 1) {
      problem << "the padded input (" << xa.shape(1) << " + 2*" << padding << " frames) is shorter than the kernel span";
    }
    if (!problem.str().empty()) throw std::invalid_argument(problem.str());
    const int t_out = xa.shape(1) + 2 * padding - dilation * (wa.shape(0) - 1);
    return array({xa.shape(0), t_out, wa.shape(2)}, float32,
                 std::make_shared<sovits::ShiftedConv1d>(stream, sovits::Part::Forward, padding, dilation),
                 {contiguous(xa, false, stream), contiguous(wa, false, stream)});
  });
}
