// Portable half of conv_f32.h: validation, geometry, the variant table and
// the weight packing of each variant's layout. The hot loops are in
// conv_f32_generic.cc, conv_f32_avx2.cc and conv_f32_avx512.cc.
#include "engine/kernels/conv_f32.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "engine/kernels/conv_f32_impl.h"
#include "engine/kernels/kernel_util.h"

namespace edgepipe::engine::kernels {

using internal::AlignedArray;
using internal::MakeAlignedArray;
namespace {

constexpr std::string_view kConvOp = "Conv2DF32";
constexpr std::string_view kDepthwiseOp = "DepthwiseConv2DF32";

void ActivationBounds(FusedActivation a, float* lo, float* hi) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  switch (a) {
    case FusedActivation::kNone: *lo = -inf, *hi = inf; return;
    case FusedActivation::kRelu: *lo = 0.0f, *hi = inf; return;
    case FusedActivation::kReluN1To1: *lo = -1.0f, *hi = 1.0f; return;
    case FusedActivation::kRelu6: *lo = 0.0f, *hi = 6.0f; return;
  }
  *lo = -inf, *hi = inf;
}

// Validates dtypes, ranks and the output size (as TFLite computes it) and
// fills the geometry. filter_channels: the filter's last dimension.
Status MakeGeometry(std::string_view op, const TensorView& input, const TensorView& filter, const TensorView* bias,
                    const TensorView& output, const ConvParams& p, int num_parts, f32conv::Geometry* g) {
  using namespace internal;
  EP_RETURN_IF_ERROR(CheckDType(op, input, DType::kFloat32));
  EP_RETURN_IF_ERROR(CheckDType(op, filter, DType::kFloat32));
  EP_RETURN_IF_ERROR(CheckDType(op, output, DType::kFloat32));
  EP_RETURN_IF_ERROR(CheckTensor(op, filter));
  if (input.rank() != 4 || filter.rank() != 4 || output.rank() != 4)
    return InvalidArgumentError("{}: input {}, filter {} and output {} must be 4-D", op, Describe(input),
                                Describe(filter), Describe(output));
  if (num_parts < 1) return InvalidArgumentError("{}: {} parts", op, num_parts);
  const int32_t n = input.shape[0], in_h = input.shape[1], in_w = input.shape[2], in_c = input.shape[3];
  const int32_t k_h = filter.shape[1], k_w = filter.shape[2], out_c = output.shape[3];
  if (output.shape[0] != n || k_h < 1 || k_w < 1 || in_c < 1 || out_c < 1)
    return InvalidArgumentError("{}: filter {} does not match input {} and output {}", op, Describe(filter),
                                Describe(input), Describe(output));
  if (bias != nullptr) {
    EP_RETURN_IF_ERROR(CheckDType(op, *bias, DType::kFloat32));
    EP_RETURN_IF_ERROR(CheckTensor(op, *bias));
    EP_RETURN_IF_ERROR(CheckElementCount(op, *bias, out_c));
  }
  EP_ASSIGN_OR_RETURN(const ConvPadding padding, CheckConvGeometry(op, input, k_h, k_w, p, output));
  const int out_h = output.shape[1], out_w = output.shape[2];
  g->batches = n, g->in_h = in_h, g->in_w = in_w, g->in_c = in_c;
  g->out_h = out_h, g->out_w = out_w, g->out_c = out_c, g->k_h = k_h, g->k_w = k_w;
  g->stride_h = p.stride_height, g->stride_w = p.stride_width;
  g->dil_h = p.dilation_height, g->dil_w = p.dilation_width;
  g->pad_top = padding.top, g->pad_left = padding.left;
  return OkStatus();
}

}  // namespace

struct ConvF32Variant;

struct ConvF32::Impl {
  const ConvF32Variant* variant = nullptr;
  bool depthwise = false;
  f32conv::DepthwiseArgs dw{};
  f32conv::GemmArgs gemm{};
  std::vector<int32_t> input_shape, output_shape;
  AlignedArray<float> weights, bias, alpha, zero_row;
  bool has_residual = false;
  int64_t scratch_floats = 0;  // per part
  int64_t work = 0;       // depthwise: output rows; GEMM: output pixels
  int64_t grain = 1;      // parts split the work in multiples of this
  std::string_view op;
};

// A variant: its ISA, its weight packing (the layout its loops read) and its
// loops. The packing fills the Impl's buffers and the args' pointers to them,
// the scratch size and the work grain.
struct ConvF32Variant {
  Isa isa;
  bool (*supported)(const CpuFeatures&);  // beyond the ISA level; null: none
  std::string_view name;
  // Measured faster than Debian's 2022 XNNPACK on face/palm detection
  // (docs/benchmarks.md): the engine puts the kernels before XNNPACK.
  bool ahead_of_xnnpack;
  Status (*pack_gemm)(const TensorView& filter, const TensorView* bias, const TensorView* alpha, ConvF32::Impl& impl);
  void (*gemm)(const f32conv::GemmArgs&, const float* input, float* output, const float* residual,
               int64_t pixel_begin, int64_t pixel_end, float* scratch);
  Status (*pack_depthwise)(const TensorView& filter, const TensorView* bias, ConvF32::Impl& impl);
  void (*depthwise)(const f32conv::DepthwiseArgs&, const float* input, float* output, int64_t row_begin,
                    int64_t row_end, float* scratch);
};

namespace {

// GEMM weights in tiles of kTile output channels, each [k][width_t] with
// width_t the tile's channels rounded up to kLanes (zero past out_c); bias and
// PRELU slopes padded to whole blocks. Parts split the pixels in multiples of
// the micro-tile height: kFullRows for full tiles, kNarrowRows when every
// tile is narrower.
template <int kLanes, int kTile, int kFullRows, int kNarrowRows>
Status PackGemmTiles(const TensorView& filter, const TensorView* bias, const TensorView* alpha, ConvF32::Impl& impl) {
  f32conv::GemmArgs& a = impl.gemm;
  const f32conv::Geometry& g = a.g;
  const int n_blocks = (g.out_c + kLanes - 1) / kLanes;
  const int channels = n_blocks * kLanes;
  impl.weights = MakeAlignedArray<float>(static_cast<size_t>(channels) * a.k);
  impl.bias = MakeAlignedArray<float>(channels);
  if (impl.weights == nullptr || impl.bias == nullptr) return InternalError("{}: out of memory", kConvOp);
  if (alpha != nullptr) {
    impl.alpha = MakeAlignedArray<float>(channels);
    if (impl.alpha == nullptr) return InternalError("{}: out of memory", kConvOp);
    for (int oc = 0; oc < g.out_c; ++oc) impl.alpha[oc] = alpha->as<const float>()[alpha->num_elements() == 1 ? 0 : oc];
  }
  const float* w = filter.as<const float>();
  for (int oc = 0; oc < g.out_c; ++oc) {
    const int tile = oc / kTile, col = oc % kTile;
    const int width = std::min(kTile, channels - tile * kTile);
    float* dst = impl.weights.get() + static_cast<int64_t>(tile) * kTile * a.k;
    for (int k = 0; k < a.k; ++k) dst[static_cast<int64_t>(k) * width + col] = w[static_cast<int64_t>(oc) * a.k + k];
    impl.bias[oc] = bias != nullptr ? bias->as<const float>()[oc] : 0.0f;
  }
  a.weights = impl.weights.get();
  a.bias = impl.bias.get();
  a.prelu_alpha = impl.alpha.get();
  impl.grain = n_blocks >= kTile / kLanes ? kFullRows : kNarrowRows;
  return OkStatus();
}

// Depthwise weights in blocks of kLanes channels, [c_blocks][taps][kLanes],
// and a ring of k_h input rows in the same blocks as scratch (the SIMD
// variants' layout; conv_f32_avx512.cc).
template <int kLanes>
Status PackDepthwiseBlocks(const TensorView& filter, const TensorView* bias, ConvF32::Impl& impl) {
  f32conv::DepthwiseArgs& a = impl.dw;
  const f32conv::Geometry& g = a.g;
  a.c_blocks = (g.in_c + kLanes - 1) / kLanes;
  const int taps = g.k_h * g.k_w;
  impl.weights = MakeAlignedArray<float>(static_cast<size_t>(a.c_blocks) * taps * kLanes);
  impl.bias = MakeAlignedArray<float>(static_cast<size_t>(a.c_blocks) * kLanes);
  if (impl.weights == nullptr || impl.bias == nullptr) return InternalError("{}: out of memory", kDepthwiseOp);
  const float* w = filter.as<const float>();
  for (int c = 0; c < g.in_c; ++c) {
    for (int t = 0; t < taps; ++t)
      impl.weights[(static_cast<int64_t>(c / kLanes) * taps + t) * kLanes + c % kLanes] =
          w[static_cast<int64_t>(t) * g.in_c + c];
    impl.bias[c] = bias != nullptr ? bias->as<const float>()[c] : 0.0f;
  }
  a.weights = impl.weights.get();
  a.bias = impl.bias.get();
  // Every column a tile reads: the image after pad_left zero columns, then
  // zeros up to the last output's window end.
  a.padded_w = std::max(g.pad_left + g.in_w, (g.out_w - 1) * g.stride_w + (g.k_w - 1) * g.dil_w + 1);
  const int64_t row_floats = static_cast<int64_t>(a.c_blocks) * a.padded_w * kLanes;
  impl.zero_row = MakeAlignedArray<float>(static_cast<size_t>(row_floats));  // zeroed
  if (impl.zero_row == nullptr) return InternalError("{}: out of memory", kDepthwiseOp);
  a.zero_row = impl.zero_row.get();
  impl.scratch_floats = static_cast<int64_t>(g.k_h) * row_floats;
  return OkStatus();
}

// Depthwise weights in TFLite's [taps][channels] (conv_f32_generic.cc reads
// whole pixels' channels at once); no scratch.
Status PackDepthwiseTaps(const TensorView& filter, const TensorView* bias, ConvF32::Impl& impl) {
  f32conv::DepthwiseArgs& a = impl.dw;
  const f32conv::Geometry& g = a.g;
  const size_t count = static_cast<size_t>(g.k_h) * g.k_w * g.in_c;
  impl.weights = MakeAlignedArray<float>(count);
  impl.bias = MakeAlignedArray<float>(static_cast<size_t>(g.in_c));
  if (impl.weights == nullptr || impl.bias == nullptr) return InternalError("{}: out of memory", kDepthwiseOp);
  std::copy_n(filter.as<const float>(), count, impl.weights.get());
  for (int c = 0; c < g.in_c; ++c) impl.bias[c] = bias != nullptr ? bias->as<const float>()[c] : 0.0f;
  a.c_blocks = g.in_c;
  a.weights = impl.weights.get();
  a.bias = impl.bias.get();
  return OkStatus();
}

// Best first (ChooseVariant).
constexpr ConvF32Variant kVariants[] = {
#if defined(__x86_64__)
    {Isa::kAvx512, nullptr, "avx512", true,
     PackGemmTiles<f32conv::avx512::kLanes, f32conv::avx512::kTileChannels, 6, 8>, f32conv::avx512::GemmPixels,
     PackDepthwiseBlocks<f32conv::avx512::kLanes>, f32conv::avx512::DepthwiseRows},
    {Isa::kAvx2, nullptr, "avx2", true,
     PackGemmTiles<f32conv::avx2::kLanes, f32conv::avx2::kTileChannels, 6, 8>, f32conv::avx2::GemmPixels,
     PackDepthwiseBlocks<f32conv::avx2::kLanes>, f32conv::avx2::DepthwiseRows},
#endif
    {Isa::kGeneric, nullptr, "generic", false,
     PackGemmTiles<f32conv::generic::kLanes, f32conv::generic::kTileChannels, 4, 4>, f32conv::generic::GemmPixels,
     PackDepthwiseTaps, f32conv::generic::DepthwiseRows},
};

Result<const ConvF32Variant*> Choose(std::string_view op, Isa cap) {
  const ConvF32Variant* v = ChooseVariant(std::span<const ConvF32Variant>(kVariants), cap);
  if (v == nullptr) return InternalError("{}: no variant runs under the ISA cap {}", op, IsaName(cap));
  return v;
}

}  // namespace

bool ConvF32AheadOfXnnpack(Isa cap) {
  const ConvF32Variant* v = ChooseVariant(std::span<const ConvF32Variant>(kVariants), cap);
  return v != nullptr && v->ahead_of_xnnpack;
}

std::string_view ConvF32::variant() const { return impl_->variant->name; }

ConvF32::~ConvF32() = default;

Result<std::unique_ptr<ConvF32>> ConvF32::Create(const TensorView& input, const TensorView& filter,
                                                 const TensorView* bias, const TensorView& output,
                                                 const ConvParams& p, int num_parts,
                                                 const ConvF32Epilogue& epilogue, Isa cap) {
  using namespace internal;
  EP_ASSIGN_OR_RETURN(const ConvF32Variant* variant, Choose(kConvOp, cap));
  f32conv::Geometry g{};
  EP_RETURN_IF_ERROR(MakeGeometry(kConvOp, input, filter, bias, output, p, num_parts, &g));
  if (epilogue.residual != nullptr) {
    EP_RETURN_IF_ERROR(CheckDType(kConvOp, *epilogue.residual, DType::kFloat32));
    EP_RETURN_IF_ERROR(CheckSameShape(kConvOp, *epilogue.residual, output));
  }
  const TensorView* alpha = epilogue.prelu_alpha;
  if (alpha != nullptr) {
    EP_RETURN_IF_ERROR(CheckDType(kConvOp, *alpha, DType::kFloat32));
    EP_RETURN_IF_ERROR(CheckTensor(kConvOp, *alpha));
    const bool per_channel = alpha->rank() >= 1 && alpha->shape.back() == g.out_c &&
                             alpha->num_elements() == static_cast<size_t>(g.out_c);
    if (!per_channel && alpha->num_elements() != 1)
      return InvalidArgumentError("{}: PRELU slopes {} must have one value or one per output channel ({})", kConvOp,
                                  Describe(*alpha), g.out_c);
  }
  if (filter.shape[0] != g.out_c || filter.shape[3] != g.in_c)
    return InvalidArgumentError("{}: filter {} does not match input {} and output {}", kConvOp,
                                internal::Describe(filter), internal::Describe(input), internal::Describe(output));
  auto impl = std::make_unique<Impl>();
  impl->op = kConvOp;
  impl->variant = variant;
  f32conv::GemmArgs& a = impl->gemm;
  a.g = g;
  a.k = g.k_h * g.k_w * g.in_c;
  a.pointwise = g.k_h == 1 && g.k_w == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_top == 0 &&
                g.pad_left == 0 && g.in_h == g.out_h && g.in_w == g.out_w;
  // About 32 KiB of GEMM rows per chunk: they stay in L1 while each weight tile passes.
  a.chunk_pixels = std::clamp(8192 / a.k / 24 * 24, 24, 960);
  impl->has_residual = epilogue.residual != nullptr;
  ActivationBounds(p.activation, &a.act_min, &a.act_max);
  EP_RETURN_IF_ERROR(variant->pack_gemm(filter, bias, alpha, *impl));
  if (!a.pointwise) impl->scratch_floats = static_cast<int64_t>(a.chunk_pixels) * a.k;
  impl->work = static_cast<int64_t>(g.batches) * g.out_h * g.out_w;
  impl->input_shape = input.shape;
  impl->output_shape = output.shape;
  auto conv = std::unique_ptr<ConvF32>(new ConvF32());
  conv->num_parts_ = num_parts;
  conv->impl_ = std::move(impl);
  return conv;
}

Result<std::unique_ptr<ConvF32>> ConvF32::CreateDepthwise(const TensorView& input, const TensorView& filter,
                                                          const TensorView* bias, const TensorView& output,
                                                          const ConvParams& p, int num_parts, Isa cap) {
  EP_ASSIGN_OR_RETURN(const ConvF32Variant* variant, Choose(kDepthwiseOp, cap));
  f32conv::Geometry g{};
  EP_RETURN_IF_ERROR(MakeGeometry(kDepthwiseOp, input, filter, bias, output, p, num_parts, &g));
  if (filter.shape[0] != 1 || filter.shape[3] != g.in_c || g.out_c != g.in_c)
    return InvalidArgumentError("{}: filter {} does not match input {} and output {} (depth multiplier 1 only)",
                                kDepthwiseOp, internal::Describe(filter), internal::Describe(input),
                                internal::Describe(output));
  auto impl = std::make_unique<Impl>();
  impl->op = kDepthwiseOp;
  impl->depthwise = true;
  impl->variant = variant;
  f32conv::DepthwiseArgs& a = impl->dw;
  a.g = g;
  ActivationBounds(p.activation, &a.act_min, &a.act_max);
  EP_RETURN_IF_ERROR(variant->pack_depthwise(filter, bias, *impl));
  impl->work = static_cast<int64_t>(g.batches) * g.out_h;
  impl->input_shape = input.shape;
  impl->output_shape = output.shape;
  auto conv = std::unique_ptr<ConvF32>(new ConvF32());
  conv->num_parts_ = num_parts;
  conv->impl_ = std::move(impl);
  return conv;
}

size_t ConvF32::scratch_bytes_per_part() const { return static_cast<size_t>(impl_->scratch_floats) * sizeof(float); }

Status ConvF32::RunPart(const TensorView& input, const TensorView& output, int part, std::byte* scratch_bytes,
                        const TensorView* residual) {
  const Impl& impl = *impl_;
  if (input.shape != impl.input_shape || input.dtype != DType::kFloat32 || input.data == nullptr)
    return InvalidArgumentError("{}: input {} differs from the planned shape", impl.op, internal::Describe(input));
  if (output.shape != impl.output_shape || output.dtype != DType::kFloat32 || output.data == nullptr)
    return InvalidArgumentError("{}: output {} differs from the planned shape", impl.op, internal::Describe(output));
  if (part < 0 || part >= num_parts_) return InvalidArgumentError("{}: part {} of {}", impl.op, part, num_parts_);
  if ((residual != nullptr) != impl.has_residual)
    return InvalidArgumentError("{}: {} residual was given, {} planned", impl.op, residual != nullptr ? "a" : "no",
                                impl.has_residual ? "one" : "none");
  if (residual != nullptr &&
      (residual->shape != impl.output_shape || residual->dtype != DType::kFloat32 || residual->data == nullptr))
    return InvalidArgumentError("{}: residual {} differs from the planned shape", impl.op,
                                internal::Describe(*residual));
  const int64_t grains = (impl.work + impl.grain - 1) / impl.grain;
  const int64_t begin = std::min(impl.work, grains * part / num_parts_ * impl.grain);
  const int64_t end = std::min(impl.work, grains * (part + 1) / num_parts_ * impl.grain);
  if (begin >= end) return OkStatus();
  if (impl.scratch_floats > 0 && scratch_bytes == nullptr)
    return InvalidArgumentError("{}: part {} was given no scratch memory", impl.op, part);
  float* scratch = reinterpret_cast<float*>(scratch_bytes);
  if (impl.depthwise) {
    impl.variant->depthwise(impl.dw, input.as<const float>(), output.as<float>(), begin, end, scratch);
  } else {
    impl.variant->gemm(impl.gemm, input.as<const float>(), output.as<float>(),
                        residual != nullptr ? residual->as<const float>() : nullptr, begin, end, scratch);
  }
  return OkStatus();
}

Status ConvF32::Run(const TensorView& input, const TensorView& output, const TensorView* residual) {
  auto scratch = MakeAlignedArray<float>(static_cast<size_t>(std::max<int64_t>(impl_->scratch_floats, 1)));
  if (scratch == nullptr) return InternalError("{}: out of memory", impl_->op);
  std::fill_n(scratch.get(), std::max<int64_t>(impl_->scratch_floats, 1), std::numeric_limits<float>::quiet_NaN());
  for (int part = 0; part < num_parts_; ++part)
    EP_RETURN_IF_ERROR(RunPart(input, output, part, reinterpret_cast<std::byte*>(scratch.get()), residual));
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
