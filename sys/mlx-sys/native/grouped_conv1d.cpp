// A grouped, strided conv1d for MLX's CPU backend as direct loops.
//
// DiscriminatorS's convs have 41 taps, stride 4 and 4 input channels per
// group (16 -> 64 in 4 groups up to 1024 -> 1024 in 256). Every GEMM
// formulation multiplies over 4*41 inner products per group after an im2col
// that copies the input ~10x (41 taps / stride 4): 40-49 ms fwd + bwd per
// conv at 2-8 GFLOP/s (docs/performance.md). Here each output frame
// accumulates, for each tap, a vector of the group's output channels scaled
// by each input value, straight from the input rows: no copies at all.
//
// Layouts: x [B, T, Ci] (channels last), w [K, G, Ci/G, Co/G] (tap, group,
// input channel of the group, output channel of the group), y [B, To, Co]
// with To = (T + 2p - K) / s + 1 and dilation 1. Same custom-extension
// pattern as shifted_conv1d.cpp; CPU only.

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

namespace sovits {

using namespace mlx::core;

namespace {

/// Which of the three products of a conv the primitive computes.
enum class GroupedPart { Forward, InputGrad, WeightGrad };

/// The sizes of one grouped conv.
struct GroupedGeometry {
  int batch, t_in, t_out, ci, co, k, stride, padding, groups;
  int cig() const { return ci / groups; }
  int cog() const { return co / groups; }
  /// Input frame tap `tap` of output frame `t` reads (may be outside).
  int source(int t, int tap) const { return t * stride + tap - padding; }
};

/// The taps of output frame `t` that read inside the input: [lo, hi).
inline void tap_range(const GroupedGeometry& g, int t, int& lo, int& hi) {
  lo = std::max(0, g.padding - t * g.stride);
  hi = std::min(g.k, g.t_in + g.padding - t * g.stride);
}

// The kernels below are templated on the group's channel counts so the
// accumulators live in vector registers (DiscriminatorS: 4 -> 16 and 4 -> 4
// per group); `dispatch_group_sizes` falls back to the generic loops. They
// use GCC/Clang vector types (one vector = a group's output channels), which
// the compiler lowers to whatever width the target has; plain loops were
// vectorised across the wrong axis (shuffles and spills, 7 GFLOP/s).

/// COG floats as one vector value.
template <int COG>
struct Lanes {
  typedef float type __attribute__((vector_size(COG * sizeof(float))));
};

template <int COG>
inline typename Lanes<COG>::type load(const float* p) {
  typename Lanes<COG>::type v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

/// y[b, t, g*COG + o] = sum_k sum_i x[b, s*t + k - p, g*CIG + i] * w[k, g, i, o]
template <int CIG, int COG>
SOVITS_VECTOR_CLONES void grouped_forward(const GroupedGeometry& g, const float* x, const float* w, float* y) {
  for (int b = 0; b < g.batch; ++b) {
    for (int t = 0; t < g.t_out; ++t) {
      int lo, hi;
      tap_range(g, t, lo, hi);
      float* yrow = y + (size_t(b) * g.t_out + t) * g.co;
      for (int grp = 0; grp < g.groups; ++grp) {
        typename Lanes<COG>::type acc = {};
        for (int tap = lo; tap < hi; ++tap) {
          const float* xv = x + (size_t(b) * g.t_in + g.source(t, tap)) * g.ci + size_t(grp) * CIG;
          const float* wv = w + (size_t(tap) * g.groups + grp) * CIG * COG;
          for (int i = 0; i < CIG; ++i) acc += xv[i] * load<COG>(wv + i * COG);
        }
        std::memcpy(yrow + size_t(grp) * COG, &acc, sizeof(acc));
      }
    }
  }
}

/// dx[b, u, g*CIG + i] = sum over (t, k) with s*t + k - p = u of
/// sum_o dy[b, t, g*COG + o] * w[k, g, i, o] (gathered per input frame, so
/// every dx element is written once).
template <int CIG, int COG>
SOVITS_VECTOR_CLONES void grouped_input_grad(const GroupedGeometry& g, const float* dy, const float* w, float* dx) {
  for (int b = 0; b < g.batch; ++b) {
    for (int u = 0; u < g.t_in; ++u) {
      float* dxrow = dx + (size_t(b) * g.t_in + u) * g.ci;
      // taps k with (u + p - k) % s == 0 and 0 <= t = (u + p - k) / s < To
      const int first = (u + g.padding) % g.stride;
      for (int grp = 0; grp < g.groups; ++grp) {
        typename Lanes<COG>::type acc[CIG] = {};
        for (int tap = first; tap < g.k; tap += g.stride) {
          const int t = (u + g.padding - tap) / g.stride;
          if (t < 0) break;
          if (t >= g.t_out) continue;
          const auto d = load<COG>(dy + (size_t(b) * g.t_out + t) * g.co + size_t(grp) * COG);
          const float* wv = w + (size_t(tap) * g.groups + grp) * CIG * COG;
          for (int i = 0; i < CIG; ++i) acc[i] += d * load<COG>(wv + i * COG);
        }
        for (int i = 0; i < CIG; ++i) {
          float sum = 0.0f;
          for (int o = 0; o < COG; ++o) sum += acc[i][o];
          dxrow[grp * CIG + i] = sum;
        }
      }
    }
  }
}

/// dw[k, g, i, o] = sum_b sum_t x[b, s*t + k - p, g*CIG + i] * dy[b, t, g*COG + o]
template <int CIG, int COG>
SOVITS_VECTOR_CLONES void grouped_weight_grad(const GroupedGeometry& g, const float* x, const float* dy, float* dw) {
  for (int grp = 0; grp < g.groups; ++grp) {
    for (int tap = 0; tap < g.k; ++tap) {
      typename Lanes<COG>::type acc[CIG] = {};
      // output frames whose tap `tap` reads inside the input
      const int t_lo = std::max(0, (g.padding - tap + g.stride - 1) / g.stride);
      const int t_hi = std::min(g.t_out, (g.t_in + g.padding - tap + g.stride - 1) / g.stride);
      for (int b = 0; b < g.batch; ++b) {
        for (int t = t_lo; t < t_hi; ++t) {
          const float* xv = x + (size_t(b) * g.t_in + g.source(t, tap)) * g.ci + size_t(grp) * CIG;
          const auto d = load<COG>(dy + (size_t(b) * g.t_out + t) * g.co + size_t(grp) * COG);
          for (int i = 0; i < CIG; ++i) acc[i] += xv[i] * d;
        }
      }
      std::memcpy(dw + (size_t(tap) * g.groups + grp) * CIG * COG, acc, sizeof(acc));
    }
  }
}

/// Generic loops for group sizes without a specialisation (any CIG, COG).
void grouped_generic(GroupedPart part, const GroupedGeometry& g, const float* a, const float* b, float* out) {
  const int cig = g.cig(), cog = g.cog();
  const size_t out_size = part == GroupedPart::Forward     ? size_t(g.batch) * g.t_out * g.co
                          : part == GroupedPart::InputGrad ? size_t(g.batch) * g.t_in * g.ci
                                                           : size_t(g.k) * g.ci * cog;
  std::memset(out, 0, sizeof(float) * out_size);
  for (int n = 0; n < g.batch; ++n) {
    for (int t = 0; t < g.t_out; ++t) {
      int lo, hi;
      tap_range(g, t, lo, hi);
      for (int tap = lo; tap < hi; ++tap) {
        const size_t in_row = (size_t(n) * g.t_in + g.source(t, tap)) * g.ci;
        const size_t out_row = (size_t(n) * g.t_out + t) * g.co;
        for (int grp = 0; grp < g.groups; ++grp) {
          for (int i = 0; i < cig; ++i) {
            const size_t wi = (size_t(tap) * g.groups + grp) * cig * cog + size_t(i) * cog;
            const size_t ci = in_row + grp * cig + i;
            for (int o = 0; o < cog; ++o) {
              const size_t co = out_row + size_t(grp) * cog + o;
              switch (part) {
                case GroupedPart::Forward: out[co] += a[ci] * b[wi + o]; break;       // a = x, b = w
                case GroupedPart::InputGrad: out[ci] += a[co] * b[wi + o]; break;     // a = dy, b = w
                case GroupedPart::WeightGrad: out[wi + o] += a[ci] * b[co]; break;    // a = x, b = dy
              }
            }
          }
        }
      }
    }
  }
}

template <int CIG, int COG>
void run_specialised(GroupedPart part, const GroupedGeometry& g, const float* a, const float* b, float* out) {
  switch (part) {
    case GroupedPart::Forward: grouped_forward<CIG, COG>(g, a, b, out); break;
    case GroupedPart::InputGrad: grouped_input_grad<CIG, COG>(g, a, b, out); break;
    case GroupedPart::WeightGrad: grouped_weight_grad<CIG, COG>(g, a, b, out); break;
  }
}

/// Runs `part` with the kernels specialised for the group's sizes, if any.
void dispatch_group_sizes(GroupedPart part, const GroupedGeometry& g, const float* a, const float* b, float* out) {
  if (g.cig() == 4 && g.cog() == 16) return run_specialised<4, 16>(part, g, a, b, out);
  if (g.cig() == 4 && g.cog() == 4) return run_specialised<4, 4>(part, g, a, b, out);
  grouped_generic(part, g, a, b, out);
}

/// One of the three products of a direct grouped conv1d (file comment).
class GroupedConv1d : public UnaryPrimitive {
 public:
  GroupedConv1d(Stream stream, GroupedPart part, int stride, int padding, int groups)
      : UnaryPrimitive(stream), part_(part), stride_(stride), padding_(padding), groups_(groups) {}

  /// Inputs by part: Forward (x [B,T,Ci], w [K,G,Ci/G,Co/G]); InputGrad (dy
  /// [B,To,Co], w); WeightGrad (x, dy). Every input row-contiguous float32.
  void eval_cpu(const std::vector<array>& inputs, array& out) override {
    const GroupedGeometry g = geometry(inputs, out);
    const GroupedPart part = part_;
    dispatch_two_inputs(stream(), inputs, out, "GroupedConv1d",
                        [g, part](const float* a, const float* b, float* o) { dispatch_group_sizes(part, g, a, b, o); });
  }

  void eval_gpu(const std::vector<array>&, array&) override {
    throw std::runtime_error("GroupedConv1d has no GPU kernel; use MLX's conv1d on a GPU");
  }

  std::vector<array> vjp(const std::vector<array>& primals, const std::vector<array>& cotangents,
                         const std::vector<int>& argnums, const std::vector<array>&) override {
    if (part_ != GroupedPart::Forward) {
      throw std::runtime_error("GroupedConv1d: the gradient of its backward is not implemented");
    }
    const array dy = contiguous(cotangents[0], false, stream());
    std::vector<array> grads;
    for (int arg : argnums) {
      const GroupedPart part = arg == 0 ? GroupedPart::InputGrad : GroupedPart::WeightGrad;
      auto prim = std::make_shared<GroupedConv1d>(stream(), part, stride_, padding_, groups_);
      grads.push_back(arg == 0 ? array(primals[0].shape(), float32, prim, {dy, primals[1]})
                               : array(primals[1].shape(), float32, prim, {primals[0], dy}));
    }
    return grads;
  }

  const char* name() const override { return "SovitsGroupedConv1d"; }

  bool is_equivalent(const Primitive& other) const override {
    auto* o = dynamic_cast<const GroupedConv1d*>(&other);
    return o && o->part_ == part_ && o->stride_ == stride_ && o->padding_ == padding_ && o->groups_ == groups_;
  }

 private:
  GroupedGeometry geometry(const std::vector<array>& in, const array& out) const {
    GroupedGeometry g{};
    g.stride = stride_, g.padding = padding_, g.groups = groups_;
    switch (part_) {
      case GroupedPart::Forward:  // x [B,T,Ci], w [K,G,cig,cog] -> [B,To,Co]
        g.batch = in[0].shape(0), g.t_in = in[0].shape(1), g.ci = in[0].shape(2);
        g.k = in[1].shape(0), g.co = groups_ * in[1].shape(3), g.t_out = out.shape(1);
        break;
      case GroupedPart::InputGrad:  // dy [B,To,Co], w -> [B,T,Ci]
        g.batch = in[0].shape(0), g.t_out = in[0].shape(1), g.co = in[0].shape(2);
        g.k = in[1].shape(0), g.ci = groups_ * in[1].shape(2), g.t_in = out.shape(1);
        break;
      case GroupedPart::WeightGrad:  // x, dy -> [K,G,cig,cog]
        g.batch = in[0].shape(0), g.t_in = in[0].shape(1), g.ci = in[0].shape(2);
        g.t_out = in[1].shape(1), g.co = in[1].shape(2), g.k = out.shape(0);
        break;
    }
    return g;
  }

  GroupedPart part_;
  int stride_, padding_, groups_;
};

}  // namespace
}  // namespace sovits

/// Builds a grouped, strided conv1d (dilation 1) as a lazy MLX array on
/// stream `s`: x [B, T, Ci] and w [K, G, Ci/G, Co/G] float32 (any layout;
/// made row-contiguous in the graph) give [B, (T + 2*padding - K)/stride + 1,
/// Co]. Returns 0 and sets `*res`, or 1 with a message in `err`.
extern "C" int sovits_grouped_conv1d(mlx_array* res, mlx_array x, mlx_array w, int stride, int padding,
                                     mlx_stream s, char* err, size_t err_len) {
  using namespace mlx::core;
  return sovits::build_into(res, err, err_len, "grouped conv1d", [&]() {
    const array& xa = mlx_array_get_(x);
    const array& wa = mlx_array_get_(w);
    const Stream stream = mlx_stream_get_(s);
    sovits::check_conv_inputs(xa, wa, 4, "[K, G, Ci/G, Co/G]");
    std::ostringstream problem;
    if (wa.shape(1) * wa.shape(2) != xa.shape(2)) {
      problem << "w has " << wa.shape(1) << " groups of " << wa.shape(2) << " input channels, x has " << xa.shape(2);
    } else if (padding < 0 || stride < 1) {
      problem << "padding must be >= 0 and stride >= 1; found " << padding << ", " << stride;
    } else if (xa.shape(1) + 2 * padding < wa.shape(0)) {
      problem << "the padded input (" << xa.shape(1) << " + 2*" << padding << " frames) is shorter than the kernel";
    }
    if (!problem.str().empty()) throw std::invalid_argument(problem.str());
    const int groups = wa.shape(1);
    const int t_out = (xa.shape(1) + 2 * padding - wa.shape(0)) / stride + 1;
    return array({xa.shape(0), t_out, groups * wa.shape(3)}, float32,
                 std::make_shared<sovits::GroupedConv1d>(stream, sovits::GroupedPart::Forward, stride, padding, groups),
                 {contiguous(xa, false, stream), contiguous(wa, false, stream)});
  });
}
