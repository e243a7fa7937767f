// Portable half of dwconv_q8.h: validation, weight packing, the per-channel
// requantization scales and the split into parts. The hot loops are in
// dwconv_q8_avx512.cc.
#include "engine/kernels/dwconv_q8.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <numeric>

#include "engine/kernels/dwconv_q8_impl.h"
#include "engine/kernels/kernel_util.h"

namespace edgepipe::engine::kernels {

using internal::AlignedArray;
using internal::MakeAlignedArray;
namespace {

constexpr std::string_view kOp = "DepthwiseConvQ8";

}  // namespace

struct DepthwiseConvQ8::Impl {
  dwq8::DwArgs args{};
  std::vector<int32_t> input_shape, output_shape;
  AlignedArray<int8_t> weights;
  AlignedArray<int32_t> bias;
  AlignedArray<float> scale;
  std::vector<uint32_t> sum_weights;
  DType dtype = DType::kInt8;
  int64_t units = 0;
};

bool DepthwiseQ8Supported() { return internal::CpuHasAvx512Vnni(); }

namespace {

// Flat rows pay for 64-byte loads that straddle cache lines (tap offsets of
// channels * kx bytes) and, with many channels, for short segments (deeplab's
// 33x33x480 uint8: 4 pixels a segment, 231 us flat against 141 us on
// XNNPACK); blocks pay for unused channels. Flat when blocks would waste at
// least a fifth: 144 channels 82 us flat vs 86 us in blocks.
bool UseFlatRows(int32_t channels, int32_t stride_width) {
  const int32_t blocked = (channels + dwq8::kBlock - 1) / dwq8::kBlock * dwq8::kBlock;
  return stride_width == 1 && channels % 16 == 0 && 5 * blocked >= 6 * channels;
}

}  // namespace

bool DepthwiseQ8Worthwhile(int32_t channels, int32_t stride_width) {
  if (channels < 1) return false;
  if (UseFlatRows(channels, stride_width)) return true;
  const int32_t blocked = (channels + dwq8::kBlock - 1) / dwq8::kBlock * dwq8::kBlock;
  return 10 * channels >= 3 * blocked;
}

DepthwiseConvQ8::~DepthwiseConvQ8() = default;

Result<std::unique_ptr<DepthwiseConvQ8>> DepthwiseConvQ8::Create(const TensorView& input, const TensorView& filter,
                                                                 const TensorView* bias, const TensorView& output,
                                                                 const ConvParams& p, int num_parts) {
  using namespace internal;
  if (!DepthwiseQ8Supported()) return UnavailableError("{}: this CPU has no AVX512-VNNI", kOp);
  EP_RETURN_IF_ERROR(Check8BitConvOperands(kOp, input, filter, output));
  const DType dtype = input.dtype;
  const bool u8 = dtype == DType::kUInt8;
  const int32_t n = input.shape[0], in_h = input.shape[1], in_w = input.shape[2], c = input.shape[3];
  const int32_t k_h = filter.shape[1], k_w = filter.shape[2];
  // Depth multiplier 1 only: the filter's last dimension is the input's channels.
  if (filter.shape[0] != 1 || filter.shape[3] != c || output.shape[0] != n || output.shape[3] != c)
    return InvalidArgumentError("{}: filter {} does not match input {} and output {} (depth multiplier 1)", kOp,
                                Describe(filter), Describe(input), Describe(output));
  if (num_parts < 1) return InvalidArgumentError("{}: {} parts", kOp, num_parts);
  if (k_h < 1 || k_w < 1 || k_h > dwq8::kMaxKernelHeight || c < 1)
    return InvalidArgumentError("{}: filter {} must be 1 to {} rows high", kOp, Describe(filter),
                                dwq8::kMaxKernelHeight);
  EP_ASSIGN_OR_RETURN(QuantParams qin, PerTensorQuant(kOp, input));
  EP_ASSIGN_OR_RETURN(QuantParams qout, PerTensorQuant(kOp, output));
  const auto& fscale = filter.quant.scale;
  if (fscale.size() != 1 && (fscale.size() != static_cast<size_t>(c) || filter.quant.axis != 3))
    return InvalidArgumentError("{}: filter {} needs one scale or one per channel (axis 3)", kOp, Describe(filter));
  EP_ASSIGN_OR_RETURN(const int32_t filter_zp, UniformFilterZeroPoint(kOp, filter));
  if (bias != nullptr) {
    EP_RETURN_IF_ERROR(CheckDType(kOp, *bias, DType::kInt32));
    EP_RETURN_IF_ERROR(CheckElementCount(kOp, *bias, c));
  }
  EP_ASSIGN_OR_RETURN(const ConvPadding padding, CheckConvGeometry(kOp, input, k_h, k_w, p, output));
  const int out_h = output.shape[1], out_w = output.shape[2];
  const int eff_w = (k_w - 1) * p.dilation_width + 1;

  auto impl = std::make_unique<Impl>();
  dwq8::DwArgs& a = impl->args;
  a.batches = n, a.in_h = in_h, a.in_w = in_w, a.channels = c, a.out_h = out_h, a.out_w = out_w;
  a.k_h = k_h, a.k_w = k_w, a.stride_h = p.stride_height, a.stride_w = p.stride_width;
  a.dil_h = p.dilation_height, a.dil_w = p.dilation_width;
  a.pad_top = padding.top, a.pad_left = padding.left;
  a.groups = (k_h + 3) / 4;
  a.u8 = u8;
  a.column_bytes = (a.groups + (u8 ? 1 : 0)) * 256;
  const int max_columns = dwq8::kScratchBytes / a.column_bytes;
  // Flat rows (dwconv_q8_impl.h) when their segment holds at least the
  // smallest run of pixels that fills whole 64-byte chunks.
  const int gcd64 = std::gcd(c, 64), whole = 64 / gcd64;
  int flat_segment = 0;
  if (UseFlatRows(c, p.stride_width)) {
    // Chunks built: ceil((segment + eff_w - 1) * c / 64) + 1 (one more for the
    // last tap's 64-byte loads) must fit.
    flat_segment = ((max_columns - 1) * 64 / c - (eff_w - 1)) / whole * whole;
  }
  a.flat = flat_segment > 0;
  if (a.flat) {
    a.n_blocks = 1;
    a.phases = c / gcd64;
    a.segment = flat_segment;
  } else {
    // Output pixels per segment: as many as have their columns fit the buffer.
    if (max_columns < eff_w)
      return InvalidArgumentError("{}: filter {} is too large ({} columns of {} bytes)", kOp, Describe(filter),
                                  eff_w, a.column_bytes);
    a.n_blocks = a.phases = (c + dwq8::kBlock - 1) / dwq8::kBlock;
    a.segment = std::min(out_w, (max_columns - eff_w) / p.stride_width + 1);
  }

  const int32_t groups = a.groups, phases = a.phases;
  const bool flat = a.flat;
  const int64_t block_bytes = static_cast<int64_t>(k_w) * groups * 256;
  impl->weights = MakeAlignedArray<int8_t>(static_cast<size_t>(phases) * block_bytes);
  impl->bias = MakeAlignedArray<int32_t>(static_cast<size_t>(phases) * dwq8::kBlock);
  impl->scale = MakeAlignedArray<float>(static_cast<size_t>(phases) * dwq8::kBlock);
  if (!impl->weights || !impl->bias || !impl->scale)
    return UnavailableError("{}: out of memory for the packed weights", kOp);
  // Locals only in the packing loop (see conv_int8_vnni.cc: stores through
  // int8_t* would otherwise reload struct fields on every byte).
  const auto* w = static_cast<const uint8_t*>(filter.data);
  int8_t* packed = impl->weights.get();
  int32_t* packed_bias = impl->bias.get();
  float* packed_scale = impl->scale.get();
  const int32_t* bias_data = bias != nullptr ? bias->as<const int32_t>() : nullptr;
  const uint8_t flip = u8 ? 0x80 : 0;
  const int32_t taps = k_h * k_w;
  const int32_t input_term = u8 ? qin.zero_point : qin.zero_point + 128;
  const bool per_channel = fscale.size() != 1;
  // One slot per output byte position of a weight set: a channel of a block,
  // or (flat) the channel a chunk's byte holds, channels repeating every c bytes.
  const int32_t slots = phases * dwq8::kBlock;
  for (int32_t s = 0; s < slots; ++s) {
    const int32_t ch = flat ? s % c : s;
    if (ch >= c) continue;  // a block's padding: weights, bias and scale 0
    const int32_t within = s % dwq8::kBlock, lane = within / 16, vec = (within % 16) / 4, dword = within % 4;
    const int64_t block = s / dwq8::kBlock;
    int8_t* dst = packed + block * block_bytes + vec * 64 + lane * 16 + dword * 4;
    int32_t sum = 0;  // of the packed weights, for the input term
    for (int32_t ky = 0; ky < k_h; ++ky)
      for (int32_t kx = 0; kx < k_w; ++kx) {
        const uint8_t byte = w[static_cast<int64_t>(ky * k_w + kx) * c + ch];
        const int8_t value = static_cast<int8_t>(byte ^ flip);
        dst[(kx * groups + ky / 4) * 256 + ky % 4] = value;
        sum += value;
      }
    const int64_t slot = block * dwq8::kBlock + vec * 16 + lane * 4 + dword;
    // uint8: sum(x (w - zp)) = sum(x (w - 128)) + (128 - zp) sum(x); the input
    // zero point's term is zp_in * sum(w - zp) = zp_in * (sum(w - 128) + taps (128 - zp)).
    const int32_t b = bias_data != nullptr ? bias_data[ch] : 0;
    packed_bias[slot] = u8 ? b - input_term * (sum + taps * (128 - filter_zp)) : b - input_term * sum;
    // XNNPACK's requantization scale, computed in float as it does.
    const float scale = qin.scale * (per_channel ? fscale[ch] : fscale[0]) / qout.scale;
    if (!(scale > 0.0f && scale < 256.0f))
      return InvalidArgumentError("{}: channel {} requantization scale {} is out of range", kOp, ch, scale);
    packed_scale[slot] = scale;
  }
  impl->sum_weights.assign(groups, 0);
  if (u8) {
    const uint32_t byte = static_cast<uint8_t>(filter_zp - 128);
    for (int32_t g = 0; g < groups; ++g)
      for (int32_t r = 0; r < 4 && 4 * g + r < k_h; ++r) impl->sum_weights[g] |= byte << (8 * r);
  }
  const IntRange range = QuantizedActivationRange(p.activation, dtype, qout);
  a.weights = impl->weights.get();
  a.bias = impl->bias.get();
  a.scale = impl->scale.get();
  a.sum_weights = impl->sum_weights.data();
  a.output_zero_point = qout.zero_point;
  a.act_min = range.min;
  a.act_max = range.max;
  a.pad_value = static_cast<uint8_t>(qin.zero_point);
  impl->dtype = dtype;
  impl->input_shape = input.shape;
  impl->output_shape = output.shape;
  impl->units = static_cast<int64_t>(n) * out_h * a.n_blocks;

  auto conv = std::unique_ptr<DepthwiseConvQ8>(new DepthwiseConvQ8());
  conv->num_parts_ = static_cast<int>(std::min<int64_t>(num_parts, impl->units));
  conv->impl_ = std::move(impl);
  return conv;
}

Status DepthwiseConvQ8::RunPart(const TensorView& input, const TensorView& output, int part) {
  const Impl& impl = *impl_;
  if (input.shape != impl.input_shape || input.dtype != impl.dtype || input.data == nullptr)
    return InvalidArgumentError("{}: input {} differs from the planned shape", kOp, internal::Describe(input));
  if (output.shape != impl.output_shape || output.dtype != impl.dtype || output.data == nullptr)
    return InvalidArgumentError("{}: output {} differs from the planned shape", kOp, internal::Describe(output));
  if (part < 0 || part >= num_parts_) return InvalidArgumentError("{}: part {} of {}", kOp, part, num_parts_);
  const int64_t begin = impl.units * part / num_parts_, end = impl.units * (part + 1) / num_parts_;
  if (begin < end)
    dwq8::RunUnits(impl.args, static_cast<const uint8_t*>(input.data), static_cast<uint8_t*>(output.data), begin,
                   end);
  return OkStatus();
}

Status DepthwiseConvQ8::Run(const TensorView& input, const TensorView& output) {
  for (int part = 0; part < num_parts_; ++part) EP_RETURN_IF_ERROR(RunPart(input, output, part));
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
