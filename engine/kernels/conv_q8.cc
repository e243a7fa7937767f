// Portable half of conv_q8.h: validation, the variant table, each variant's
// weight packing and the per-channel requantization scales. The hot loops are
// in conv_q8_generic.cc and the per-ISA files.
#include "engine/kernels/conv_q8.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "engine/kernels/conv_q8_impl.h"
#include "engine/kernels/kernel_util.h"

namespace edgepipe::engine::kernels {

using internal::AlignedArray;
using internal::MakeAlignedArray;
namespace {

constexpr std::string_view kOp = "Conv2DQ8";

// Writes the variant's packed weights and its bias (with whatever zero-point
// terms its algebra folds in; conv_q8_impl.h). filter: OHWI bytes; bias: the
// model's, or null.
using PackFn = void (*)(const q8conv::ConvArgs& a, const uint8_t* filter, const int32_t* bias, int8_t* weights,
                        int32_t* packed_bias);

struct ConvVariant {
  std::string_view name;
  Isa isa;
  bool (*supported)(const CpuFeatures&);
  int block_channels;     // output channels per block
  int k_group;            // K rounded up to a multiple of this
  int element_bytes;      // of a packed weight and an im2col value
  int chunk_pixels, tile_rows, tile_blocks;
  bool reads_in_place;    // 1x1 stride-1 convs read the input rows as they are
  PackFn pack;
  q8conv::RunFn run;
  // Faster than Debian's 2022 XNNPACK on the 8-bit models
  // (bench/engine_vs_litert.py with the cap at the variant's ISA).
  bool ahead_of_xnnpack;
};

// Sum over the channel's K weights of (w - filter zero point).
int32_t CenteredSum(const uint8_t* row, int64_t k, bool u8, int32_t filter_zp) {
  int32_t sum = 0;
  for (int64_t i = 0; i < k; ++i) sum += u8 ? row[i] : static_cast<int8_t>(row[i]);
  return sum - static_cast<int32_t>(k) * filter_zp;
}

// vpdpbusd layout [n_blocks][k_padded / 4][Block][4] of w (int8) or w - 128
// (uint8); the bias takes the input zero point's and the int8 flip's terms.
template <int Block>
void PackDpbusd(const q8conv::ConvArgs& a, const uint8_t* filter, const int32_t* bias, int8_t* weights,
                int32_t* packed_bias) {
  // Locals only: stores through int8_t* may alias anything, so fields read in
  // the loop would be reloaded on every byte.
  const int64_t k_total = a.k, k4 = a.k_padded / 4;
  const bool u8 = a.u8;
  const uint8_t flip = u8 ? 0x80 : 0;
  const uint32_t flip4 = flip * 0x01010101u;
  const int32_t input_term = u8 ? a.input_zero_point : a.input_zero_point + 128;
  for (int oc = 0; oc < a.out_c; ++oc) {
    const uint8_t* row = filter + static_cast<int64_t>(oc) * k_total;
    int8_t* dst = weights + static_cast<int64_t>(oc / Block) * k4 * 4 * Block + (oc % Block) * 4;
    // Groups of 4 consecutive K values are one 32-bit lane of the kernel.
    int64_t k = 0;
    for (; k + 4 <= k_total; k += 4) {
      uint32_t group;
      std::memcpy(&group, row + k, 4);
      group ^= flip4;
      std::memcpy(dst + (k / 4) * 4 * Block, &group, 4);
    }
    for (; k < k_total; ++k) dst[(k / 4) * 4 * Block + k % 4] = static_cast<int8_t>(row[k] ^ flip);
    const int32_t b = bias != nullptr ? bias[oc] : 0;
    packed_bias[oc] = b - input_term * CenteredSum(row, k_total, u8, a.filter_zero_point);
  }
}

// int16 w - filter zero point: pairs [n_blocks][k_padded / 2][Block][2] (Pairs)
// or rows [out_c][k] (for the generic loop).
template <int Block, bool Pairs>
void PackInt16(const q8conv::ConvArgs& a, const uint8_t* filter, const int32_t* bias, int8_t* weights,
               int32_t* packed_bias) {
  auto* dst = reinterpret_cast<int16_t*>(weights);
  const int64_t k_total = a.k, k_padded = a.k_padded;
  const bool u8 = a.u8;
  const int32_t zp = a.filter_zero_point;
  for (int oc = 0; oc < a.out_c; ++oc) {
    const uint8_t* row = filter + static_cast<int64_t>(oc) * k_total;
    for (int64_t k = 0; k < k_total; ++k) {
      const int16_t value = static_cast<int16_t>((u8 ? row[k] : static_cast<int8_t>(row[k])) - zp);
      const int64_t at = Pairs ? ((oc / Block) * (k_padded / 2) + k / 2) * Block * 2 + (oc % Block) * 2 + k % 2
                               : oc * k_padded + k;
      dst[at] = value;
    }
    packed_bias[oc] = bias != nullptr ? bias[oc] : 0;
  }
}

#if defined(__x86_64__)
bool HasAvx512Vnni(const CpuFeatures& cpu) { return cpu.avx512vnni; }
#endif

// Best first. The generic entry runs anywhere (and is what aarch64 runs until
// a NEON variant exists).
constexpr ConvVariant kVariants[] = {
#if defined(__x86_64__)
    {"avx512", Isa::kAvx512, HasAvx512Vnni, 16, 4, 1, q8conv::avx512::kChunkPixels, q8conv::avx512::kRows,
     q8conv::avx512::kBlocksPerTile, true, PackDpbusd<16>, q8conv::RunAvx512, true},
    {"avxvnni", Isa::kAvxVnni, nullptr, 8, 4, 1, q8conv::avxvnni::kChunkPixels, q8conv::avxvnni::kRows,
     q8conv::avxvnni::kBlocksPerTile, true, PackDpbusd<8>, q8conv::RunAvxVnni, true},
    {"avx2", Isa::kAvx2, nullptr, 8, 2, 2, q8conv::avx2::kChunkPixels, q8conv::avx2::kRows,
     q8conv::avx2::kBlocksPerTile, false, PackInt16<8, true>, q8conv::RunAvx2, true},
#endif
    {"generic", Isa::kGeneric, nullptr, 1, 1, 2, q8conv::generic::kChunkPixels, q8conv::generic::kRows,
     q8conv::generic::kBlocksPerTile, false, PackInt16<1, false>, q8conv::RunGeneric, false},
};

const ConvVariant* Choose(Isa cap) { return ChooseVariant(std::span<const ConvVariant>(kVariants), cap); }

}  // namespace

struct ConvQ8::Impl {
  const ConvVariant* variant = nullptr;
  q8conv::ConvArgs args{};
  std::vector<int32_t> input_shape, output_shape;
  AlignedArray<int8_t> weights;
  AlignedArray<int32_t> bias;
  AlignedArray<float> scale;
  // Per part: im2col rows (chunk_pixels * k_padded values, unless the input is
  // read in place), then chunk_pixels int32 pixel sums.
  int64_t im2col_bytes = 0;
  DType dtype = DType::kInt8;
  int64_t pixels = 0;
};

bool ConvQ8AheadOfXnnpack(Isa cap) {
  const ConvVariant* v = Choose(cap);
  return v != nullptr && v->ahead_of_xnnpack;
}

std::vector<Isa> ConvQ8::HostIsas() {
  std::vector<Isa> isas;
  for (const ConvVariant* v : HostVariants(std::span<const ConvVariant>(kVariants))) isas.push_back(v->isa);
  return isas;
}

std::string_view ConvQ8::variant() const { return impl_->variant->name; }

ConvQ8::~ConvQ8() = default;

Result<std::unique_ptr<ConvQ8>> ConvQ8::Create(const TensorView& input, const TensorView& filter,
                                               const TensorView* bias, const TensorView& output, const ConvParams& p,
                                               int num_parts, Isa cap) {
  using namespace internal;
  const ConvVariant* variant = Choose(cap);
  if (variant == nullptr) return UnavailableError("{}: no variant runs under ISA cap {}", kOp, IsaName(cap));
  EP_RETURN_IF_ERROR(Check8BitConvOperands(kOp, input, filter, output));
  const DType dtype = input.dtype;
  const bool u8 = dtype == DType::kUInt8;
  const int32_t n = input.shape[0], in_h = input.shape[1], in_w = input.shape[2], in_c = input.shape[3];
  const int32_t out_c = filter.shape[0], k_h = filter.shape[1], k_w = filter.shape[2];
  if (filter.shape[3] != in_c || output.shape[0] != n || output.shape[3] != out_c)
    return InvalidArgumentError("{}: filter {} does not match input {} and output {}", kOp, Describe(filter),
                                Describe(input), Describe(output));
  if (num_parts < 1) return InvalidArgumentError("{}: {} parts", kOp, num_parts);
  EP_ASSIGN_OR_RETURN(QuantParams qin, PerTensorQuant(kOp, input));
  EP_ASSIGN_OR_RETURN(QuantParams qout, PerTensorQuant(kOp, output));
  const auto& fscale = filter.quant.scale;
  if (fscale.size() != 1 && (fscale.size() != static_cast<size_t>(out_c) || filter.quant.axis != 0))
    return InvalidArgumentError("{}: filter {} needs one scale or one per output channel (axis 0)", kOp,
                                Describe(filter));
  // int8 filters are symmetric (TFLite's int8 spec); uint8 ones have one zero
  // point.
  EP_ASSIGN_OR_RETURN(const int32_t filter_zp, UniformFilterZeroPoint(kOp, filter));
  if (bias != nullptr) {
    EP_RETURN_IF_ERROR(CheckDType(kOp, *bias, DType::kInt32));
    EP_RETURN_IF_ERROR(CheckElementCount(kOp, *bias, out_c));
  }
  EP_ASSIGN_OR_RETURN(const ConvPadding padding, CheckConvGeometry(kOp, input, k_h, k_w, p, output));
  const int out_h = output.shape[1], out_w = output.shape[2];

  auto conv = std::unique_ptr<ConvQ8>(new ConvQ8());
  conv->num_parts_ = num_parts;
  auto impl = std::make_unique<Impl>();
  impl->variant = variant;
  q8conv::ConvArgs& a = impl->args;
  a.batches = n, a.in_h = in_h, a.in_w = in_w, a.in_c = in_c;
  a.out_h = out_h, a.out_w = out_w, a.out_c = out_c, a.k_h = k_h, a.k_w = k_w;
  a.stride_h = p.stride_height, a.stride_w = p.stride_width, a.dil_h = p.dilation_height, a.dil_w = p.dilation_width;
  a.pad_top = padding.top, a.pad_left = padding.left;
  a.k = k_h * k_w * in_c;
  a.k_padded = (a.k + variant->k_group - 1) / variant->k_group * variant->k_group;
  a.n_blocks = (out_c + variant->block_channels - 1) / variant->block_channels;
  a.u8 = u8;
  // Rows are read in place only when they need no K padding (in_c % 4 == 0):
  // otherwise the last 4-byte group would read past the tensor.
  a.direct = variant->reads_in_place && k_h == 1 && k_w == 1 && p.stride_height == 1 && p.stride_width == 1 &&
             in_h == out_h && in_w == out_w && in_c % 4 == 0;
  a.input_zero_point = qin.zero_point;
  a.filter_zero_point = filter_zp;
  const int channels = a.n_blocks * variant->block_channels;
  impl->weights =
      MakeAlignedArray<int8_t>(static_cast<size_t>(channels) * a.k_padded * variant->element_bytes);
  impl->bias = MakeAlignedArray<int32_t>(channels);
  impl->scale = MakeAlignedArray<float>(channels);
  if (!impl->weights || !impl->bias || !impl->scale)
    return UnavailableError("{}: out of memory for the packed weights", kOp);
  for (int oc = 0; oc < out_c; ++oc) {
    // XNNPACK's requantization scale, computed in float as it does.
    const float scale = qin.scale * (fscale.size() == 1 ? fscale[0] : fscale[oc]) / qout.scale;
    if (!(scale > 0.0f && scale < 256.0f))
      return InvalidArgumentError("{}: channel {} requantization scale {} is out of range", kOp, oc, scale);
    impl->scale[oc] = scale;
  }
  variant->pack(a, static_cast<const uint8_t*>(filter.data), bias != nullptr ? bias->as<const int32_t>() : nullptr,
                impl->weights.get(), impl->bias.get());
  const IntRange range = QuantizedActivationRange(p.activation, dtype, qout);
  a.packed_weights = impl->weights.get();
  a.bias = impl->bias.get();
  a.scale = impl->scale.get();
  a.row_sum_mult = u8 ? 128 - filter_zp : 0;
  a.output_zero_point = qout.zero_point;
  a.act_min = range.min;
  a.act_max = range.max;
  a.pad_value = static_cast<uint8_t>(qin.zero_point);
  // One part's im2col rows, plus 64 bytes for whole-vector stores of short
  // rows, rounded to keep every part 64-byte aligned.
  impl->im2col_bytes =
      a.direct ? 0
               : (static_cast<int64_t>(variant->chunk_pixels) * a.k_padded * variant->element_bytes + 64 + 63) / 64 * 64;
  impl->dtype = dtype;
  impl->input_shape = input.shape;
  impl->output_shape = output.shape;
  impl->pixels = static_cast<int64_t>(n) * out_h * out_w;
  conv->impl_ = std::move(impl);
  return conv;
}

size_t ConvQ8::scratch_bytes_per_part() const {
  return static_cast<size_t>(impl_->im2col_bytes) + impl_->variant->chunk_pixels * sizeof(int32_t);
}

Status ConvQ8::RunPart(const TensorView& input, const TensorView& output, int part, std::byte* scratch) {
  const Impl& impl = *impl_;
  const ConvVariant& v = *impl.variant;
  if (input.shape != impl.input_shape || input.dtype != impl.dtype || input.data == nullptr)
    return InvalidArgumentError("{}: input {} differs from the planned shape", kOp, internal::Describe(input));
  if (output.shape != impl.output_shape || output.dtype != impl.dtype || output.data == nullptr)
    return InvalidArgumentError("{}: output {} differs from the planned shape", kOp, internal::Describe(output));
  if (part < 0 || part >= num_parts_) return InvalidArgumentError("{}: part {} of {}", kOp, part, num_parts_);
  // Parts split the pixels in whole micro-tiles (7x7 layers have 49 pixels:
  // splitting by chunks would leave all the work to one part). With fewer
  // than two micro-tiles of pixels per part (the 1x1 "fully connected" convs
  // at the end of classifiers, or the generic variant's one-pixel tiles on
  // tiny images), parts split the channel tiles instead.
  const int64_t tiles = (impl.pixels + v.tile_rows - 1) / v.tile_rows;
  int64_t begin = 0, end = impl.pixels;
  int block_begin = 0, block_end = impl.args.n_blocks;
  if (num_parts_ > 1 && tiles < 2 * num_parts_) {
    const int channel_tiles = (impl.args.n_blocks + v.tile_blocks - 1) / v.tile_blocks;
    block_begin = std::min(impl.args.n_blocks, channel_tiles * part / num_parts_ * v.tile_blocks);
    block_end = std::min(impl.args.n_blocks, channel_tiles * (part + 1) / num_parts_ * v.tile_blocks);
  } else {
    begin = std::min(impl.pixels, tiles * part / num_parts_ * v.tile_rows);
    end = std::min(impl.pixels, tiles * (part + 1) / num_parts_ * v.tile_rows);
  }
  if (scratch == nullptr) return InvalidArgumentError("{}: part {} was given no scratch memory", kOp, part);
  auto* im2col = impl.im2col_bytes > 0 ? reinterpret_cast<uint8_t*>(scratch) : nullptr;
  auto* sums = reinterpret_cast<int32_t*>(scratch + impl.im2col_bytes);
  if (begin < end && block_begin < block_end)
    v.run(impl.args, static_cast<const uint8_t*>(input.data), static_cast<uint8_t*>(output.data), begin, end,
          block_begin, block_end, im2col, sums);
  return OkStatus();
}

Status ConvQ8::Run(const TensorView& input, const TensorView& output) {
  const size_t bytes = scratch_bytes_per_part();
  auto scratch = MakeAlignedArray<uint8_t>(bytes);
  if (scratch == nullptr) return InternalError("{}: out of memory", kOp);
  std::memset(scratch.get(), 0xA5, bytes);
  for (int part = 0; part < num_parts_; ++part)
    EP_RETURN_IF_ERROR(RunPart(input, output, part, reinterpret_cast<std::byte*>(scratch.get())));
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
