// Portable half of dwconv_q8.h: validation, the variant table, each variant's
// weight packing, the per-channel requantization scales and the split into
// parts. The hot loops are in dwconv_q8_generic.cc and the per-ISA files.
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

// What every variant's packing starts from (validated by Create).
struct Filter {
  const uint8_t* bytes;  // [1, KH, KW, C]
  const int32_t* bias;   // [C] or null
  const float* scale;    // [C]: input_scale * filter_scale / output_scale
  int32_t zero_point;    // 0 for int8
  int32_t eff_w;         // (KW - 1) * dilation + 1
};

struct Packed {
  AlignedArray<int8_t> weights;
  AlignedArray<int32_t> bias;
  AlignedArray<float> scale;
  std::vector<uint32_t> sum_weights;
  AlignedArray<uint8_t> pad_pixel;
};

// Sets the variant's fields of `a` (n_blocks and its layout's) and packs.
using PackFn = Status (*)(dwq8::DwArgs& a, const Filter& filter, Packed& packed);

struct DwVariant {
  std::string_view name;
  Isa isa;
  bool (*supported)(const CpuFeatures&);
  PackFn pack;
  dwq8::RunFn run;
  bool (*worthwhile)(int32_t channels, int32_t stride_width);
  // Faster than Debian's 2022 XNNPACK on the 8-bit models
  // (bench/engine_vs_litert.py with the cap at the variant's ISA).
  bool ahead_of_xnnpack;
};

Status AllocatePacked(Packed& packed, int64_t weight_bytes, int64_t slots) {
  packed.weights = MakeAlignedArray<int8_t>(static_cast<size_t>(weight_bytes));
  packed.bias = MakeAlignedArray<int32_t>(static_cast<size_t>(slots));
  packed.scale = MakeAlignedArray<float>(static_cast<size_t>(slots));
  if (!packed.weights || !packed.bias || !packed.scale)
    return UnavailableError("{}: out of memory for the packed weights", kOp);
  return OkStatus();
}

// The model's w - filter zero point of tap t (ky * KW + kx), channel ch.
int32_t Centered(const dwq8::DwArgs& a, const Filter& f, int32_t t, int32_t ch) {
  const uint8_t byte = f.bytes[static_cast<int64_t>(t) * a.channels + ch];
  return (a.u8 ? byte : static_cast<int8_t>(byte)) - f.zero_point;
}

#if defined(__x86_64__)
// ---- avx512 (layout in dwconv_q8_impl.h) ----

// Flat rows pay for 64-byte loads that straddle cache lines (tap offsets of
// channels * kx bytes) and, with many channels, for short segments (deeplab's
// 33x33x480 uint8: 4 pixels a segment, 231 us flat against 141 us on
// XNNPACK); blocks pay for unused channels. Flat when blocks would waste at
// least a fifth: 144 channels 82 us flat vs 86 us in blocks.
bool UseFlatRows(int32_t channels, int32_t stride_width) {
  const int32_t blocked = (channels + dwq8::kBlock - 1) / dwq8::kBlock * dwq8::kBlock;
  return stride_width == 1 && channels % 16 == 0 && 5 * blocked >= 6 * channels;
}

// Rows run as 64-channel blocks unless flat; a block computes 64 channels
// whatever it stores, and below 30 % of them used XNNPACK's kernel is faster
// (mobilenet_v1_0.25: 8 channels 48 vs 28 us, 16 at stride 2 16 vs 7 us; 24
// channels, 38 % used, still win: movenet 19 vs 24 us).
bool Avx512Worthwhile(int32_t channels, int32_t stride_width) {
  if (channels < 1) return false;
  if (UseFlatRows(channels, stride_width)) return true;
  const int32_t blocked = (channels + dwq8::kBlock - 1) / dwq8::kBlock * dwq8::kBlock;
  return 10 * channels >= 3 * blocked;
}

Status PackAvx512(dwq8::DwArgs& a, const Filter& f, Packed& packed) {
  const int32_t c = a.channels, k_h = a.k_h, k_w = a.k_w;
  const bool u8 = a.u8;
  a.groups = (k_h + 3) / 4;
  a.column_bytes = (a.groups + (u8 ? 1 : 0)) * 256;
  const int max_columns = dwq8::kScratchBytes / a.column_bytes;
  // Flat rows (dwconv_q8_impl.h) when their segment holds at least the
  // smallest run of pixels that fills whole 64-byte chunks.
  const int gcd64 = std::gcd(c, 64), whole = 64 / gcd64;
  int flat_segment = 0;
  if (UseFlatRows(c, a.stride_w)) {
    // Chunks built: ceil((segment + eff_w - 1) * c / 64) + 1 (one more for the
    // last tap's 64-byte loads) must fit.
    flat_segment = ((max_columns - 1) * 64 / c - (f.eff_w - 1)) / whole * whole;
  }
  a.flat = flat_segment > 0;
  if (a.flat) {
    a.n_blocks = 1;
    a.phases = c / gcd64;
    a.segment = flat_segment;
  } else {
    // Output pixels per segment: as many as have their columns fit the buffer.
    if (max_columns < f.eff_w)
      return InvalidArgumentError("{}: filter of {}x{} taps is too large ({} columns of {} bytes)", kOp, k_h, k_w,
                                  f.eff_w, a.column_bytes);
    a.n_blocks = a.phases = (c + dwq8::kBlock - 1) / dwq8::kBlock;
    a.segment = std::min(a.out_w, (max_columns - f.eff_w) / a.stride_w + 1);
  }

  const int32_t groups = a.groups, phases = a.phases;
  const bool flat = a.flat;
  const int64_t block_bytes = static_cast<int64_t>(k_w) * groups * 256;
  EP_RETURN_IF_ERROR(AllocatePacked(packed, phases * block_bytes, static_cast<int64_t>(phases) * dwq8::kBlock));
  // Locals only in the packing loop (see conv_q8.cc: stores through int8_t*
  // would otherwise reload struct fields on every byte).
  const uint8_t* w = f.bytes;
  int8_t* packed_weights = packed.weights.get();
  int32_t* packed_bias = packed.bias.get();
  float* packed_scale = packed.scale.get();
  const uint8_t flip = u8 ? 0x80 : 0;
  const int32_t taps = k_h * k_w;
  const int32_t input_term = u8 ? a.input_zero_point : a.input_zero_point + 128;
  const int32_t filter_zp = f.zero_point;
  // One slot per output byte position of a weight set: a channel of a block,
  // or (flat) the channel a chunk's byte holds, channels repeating every c bytes.
  const int32_t slots = phases * dwq8::kBlock;
  for (int32_t s = 0; s < slots; ++s) {
    const int32_t ch = flat ? s % c : s;
    if (ch >= c) continue;  // a block's padding: weights, bias and scale 0
    const int32_t within = s % dwq8::kBlock, lane = within / 16, vec = (within % 16) / 4, dword = within % 4;
    const int64_t block = s / dwq8::kBlock;
    int8_t* dst = packed_weights + block * block_bytes + vec * 64 + lane * 16 + dword * 4;
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
    const int32_t b = f.bias != nullptr ? f.bias[ch] : 0;
    packed_bias[slot] = u8 ? b - input_term * (sum + taps * (128 - filter_zp)) : b - input_term * sum;
    packed_scale[slot] = f.scale[ch];
  }
  packed.sum_weights.assign(groups, 0);
  if (u8) {
    const uint32_t byte = static_cast<uint8_t>(filter_zp - 128);
    for (int32_t g = 0; g < groups; ++g)
      for (int32_t r = 0; r < 4 && 4 * g + r < k_h; ++r) packed.sum_weights[g] |= byte << (8 * r);
  }
  a.sum_weights = packed.sum_weights.data();
  return OkStatus();
}

#endif  // __x86_64__

// ---- int16 variants (layout in dwconv_q8_impl.h) ----

Status PackPadPixel(dwq8::DwArgs& a, Packed& packed) {
  packed.pad_pixel = MakeAlignedArray<uint8_t>(static_cast<size_t>(a.channels) + 16);
  if (!packed.pad_pixel) return UnavailableError("{}: out of memory", kOp);
  std::memset(packed.pad_pixel.get(), a.pad_value, static_cast<size_t>(a.channels) + 16);
  a.pad_pixel = packed.pad_pixel.get();
  a.n_blocks = 1;
  return OkStatus();
}

#if defined(__x86_64__)
// 16-channel blocks: worth it unless most of a block would be empty (not
// measured below 8 channels, where XNNPACK keeps them).
bool Avx2Worthwhile(int32_t channels, int32_t /*stride_width*/) { return channels >= 8; }

Status PackAvx2(dwq8::DwArgs& a, const Filter& f, Packed& packed) {
  EP_RETURN_IF_ERROR(PackPadPixel(a, packed));
  const int32_t c = a.channels, taps = a.k_h * a.k_w, pairs = (taps + 1) / 2;
  if (taps > dwq8::kMaxInt16Taps)
    return InvalidArgumentError("{}: {}x{} filter has more than {} taps", kOp, a.k_h, a.k_w, dwq8::kMaxInt16Taps);
  const int32_t blocks = (c + 15) / 16;
  EP_RETURN_IF_ERROR(AllocatePacked(packed, static_cast<int64_t>(blocks) * pairs * 64, blocks * 16));
  auto* w = reinterpret_cast<int16_t*>(packed.weights.get());
  for (int32_t ch = 0; ch < c; ++ch) {
    const int32_t block = ch / 16, lane = (ch % 16) / 8, in_lane = ch % 8, vec = in_lane / 4, q = in_lane % 4;
    // Accumulator order: vector vec, dword lane * 4 + q.
    const int32_t slot = block * 16 + vec * 8 + lane * 4 + q;
    packed.scale.get()[slot] = f.scale[ch];
    int32_t sum = 0;
    for (int32_t t = 0; t < taps; ++t) {
      const int64_t at = ((static_cast<int64_t>(block) * pairs + t / 2) * 2 + vec) * 16 + lane * 8 + q * 2 + t % 2;
      w[at] = static_cast<int16_t>(Centered(a, f, t, ch));
      sum += w[at];
    }
    // The kernel multiplies x itself: the input zero point's term goes here.
    packed.bias.get()[slot] = (f.bias != nullptr ? f.bias[ch] : 0) - a.input_zero_point * sum;
  }
  return OkStatus();
}

#endif  // __x86_64__

bool GenericWorthwhile(int32_t channels, int32_t /*stride_width*/) { return channels >= 1; }

Status PackGeneric(dwq8::DwArgs& a, const Filter& f, Packed& packed) {
  EP_RETURN_IF_ERROR(PackPadPixel(a, packed));
  const int32_t c = a.channels, taps = a.k_h * a.k_w;
  EP_RETURN_IF_ERROR(AllocatePacked(packed, static_cast<int64_t>(taps) * c * 2, c));
  auto* w = reinterpret_cast<int16_t*>(packed.weights.get());
  for (int32_t ch = 0; ch < c; ++ch) {
    packed.bias.get()[ch] = f.bias != nullptr ? f.bias[ch] : 0;
    packed.scale.get()[ch] = f.scale[ch];
    for (int32_t t = 0; t < taps; ++t) w[static_cast<int64_t>(t) * c + ch] = static_cast<int16_t>(Centered(a, f, t, ch));
  }
  return OkStatus();
}

#if defined(__x86_64__)
bool HasAvx512Vnni(const CpuFeatures& cpu) { return cpu.avx512vnni; }
#endif

// Best first; AVX-VNNI CPUs run the avx2 entry (vpdpbusd on ymm would need
// the avx512 variant's column layout at half the width; not written yet).
constexpr DwVariant kVariants[] = {
#if defined(__x86_64__)
    {"avx512", Isa::kAvx512, HasAvx512Vnni, PackAvx512, dwq8::RunAvx512, Avx512Worthwhile, true},
    {"avx2", Isa::kAvx2, nullptr, PackAvx2, dwq8::RunAvx2, Avx2Worthwhile, true},
#endif
    {"generic", Isa::kGeneric, nullptr, PackGeneric, dwq8::RunGeneric, GenericWorthwhile, false},
};

const DwVariant* Choose(Isa cap) { return ChooseVariant(std::span<const DwVariant>(kVariants), cap); }

}  // namespace

struct DepthwiseConvQ8::Impl {
  const DwVariant* variant = nullptr;
  dwq8::DwArgs args{};
  std::vector<int32_t> input_shape, output_shape;
  Packed packed;
  DType dtype = DType::kInt8;
  int64_t units = 0;
};

bool DepthwiseQ8AheadOfXnnpack(Isa cap) {
  const DwVariant* v = Choose(cap);
  return v != nullptr && v->ahead_of_xnnpack;
}

bool DepthwiseQ8Worthwhile(int32_t channels, int32_t stride_width, Isa cap) {
  const DwVariant* v = Choose(cap);
  return v != nullptr && v->worthwhile(channels, stride_width);
}

std::vector<Isa> DepthwiseConvQ8::HostIsas() {
  std::vector<Isa> isas;
  for (const DwVariant* v : HostVariants(std::span<const DwVariant>(kVariants))) isas.push_back(v->isa);
  return isas;
}

std::string_view DepthwiseConvQ8::variant() const { return impl_->variant->name; }

DepthwiseConvQ8::~DepthwiseConvQ8() = default;

Result<std::unique_ptr<DepthwiseConvQ8>> DepthwiseConvQ8::Create(const TensorView& input, const TensorView& filter,
                                                                 const TensorView* bias, const TensorView& output,
                                                                 const ConvParams& p, int num_parts, Isa cap) {
  using namespace internal;
  const DwVariant* variant = Choose(cap);
  if (variant == nullptr) return UnavailableError("{}: no variant runs under ISA cap {}", kOp, IsaName(cap));
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
  std::vector<float> scales(c);
  for (int32_t ch = 0; ch < c; ++ch) {
    // XNNPACK's requantization scale, computed in float as it does.
    const float scale = qin.scale * (fscale.size() != 1 ? fscale[ch] : fscale[0]) / qout.scale;
    if (!(scale > 0.0f && scale < 256.0f))
      return InvalidArgumentError("{}: channel {} requantization scale {} is out of range", kOp, ch, scale);
    scales[ch] = scale;
  }

  auto impl = std::make_unique<Impl>();
  impl->variant = variant;
  dwq8::DwArgs& a = impl->args;
  a.batches = n, a.in_h = in_h, a.in_w = in_w, a.channels = c, a.out_h = out_h, a.out_w = out_w;
  a.k_h = k_h, a.k_w = k_w, a.stride_h = p.stride_height, a.stride_w = p.stride_width;
  a.dil_h = p.dilation_height, a.dil_w = p.dilation_width;
  a.pad_top = padding.top, a.pad_left = padding.left;
  a.u8 = u8;
  a.input_zero_point = qin.zero_point;
  a.pad_value = static_cast<uint8_t>(qin.zero_point);
  const Filter f{static_cast<const uint8_t*>(filter.data), bias != nullptr ? bias->as<const int32_t>() : nullptr,
                 scales.data(), filter_zp, (k_w - 1) * p.dilation_width + 1};
  EP_RETURN_IF_ERROR(variant->pack(a, f, impl->packed));
  const IntRange range = QuantizedActivationRange(p.activation, dtype, qout);
  a.weights = impl->packed.weights.get();
  a.bias = impl->packed.bias.get();
  a.scale = impl->packed.scale.get();
  a.output_zero_point = qout.zero_point;
  a.act_min = range.min;
  a.act_max = range.max;
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
    impl.variant->run(impl.args, static_cast<const uint8_t*>(input.data), static_cast<uint8_t*>(output.data), begin,
                      end);
  return OkStatus();
}

Status DepthwiseConvQ8::Run(const TensorView& input, const TensorView& output) {
  for (int part = 0; part < num_parts_; ++part) EP_RETURN_IF_ERROR(RunPart(input, output, part));
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
