// Portable half of conv_int8_vnni.h: validation, weight packing and the
// per-channel requantization scales. The hot loops are in conv_int8_vnni_avx512.cc.
#include "engine/kernels/conv_int8_vnni.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "engine/kernels/conv_int8_vnni_impl.h"
#include "engine/kernels/kernel_util.h"

namespace edgepipe::engine::kernels {

using internal::AlignedArray;
using internal::MakeAlignedArray;
namespace {

constexpr std::string_view kOp = "Conv2DInt8Vnni";

// One part's im2col rows, plus 64 bytes for whole-vector stores of short rows
// (vnni::Im2ColShort), rounded to keep every part 64-byte aligned.
int64_t ScratchBytes(const vnni::ConvArgs& a) {
  return (static_cast<int64_t>(vnni::kChunkPixels) * a.k_padded + 64 + 63) / 64 * 64;
}

}  // namespace

struct ConvInt8Vnni::Impl {
  vnni::ConvArgs args{};
  std::vector<int32_t> input_shape, output_shape;
  AlignedArray<int8_t> weights;
  AlignedArray<int32_t> bias;
  AlignedArray<float> scale;
  // Per part: im2col rows (kChunkPixels * k_padded bytes, unless the input is
  // read in place), then kChunkPixels int32 pixel sums.
  int64_t im2col_bytes = 0;
  DType dtype = DType::kInt8;
  int64_t pixels = 0;
};

bool ConvInt8VnniSupported() { return internal::CpuHasAvx512Vnni(); }

ConvInt8Vnni::~ConvInt8Vnni() = default;

Result<std::unique_ptr<ConvInt8Vnni>> ConvInt8Vnni::Create(const TensorView& input, const TensorView& filter,
                                                           const TensorView* bias, const TensorView& output,
                                                           const ConvParams& p, int num_parts) {
  using namespace internal;
  if (!ConvInt8VnniSupported()) return UnavailableError("{}: this CPU has no AVX512-VNNI", kOp);
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
  // point, which enters the per-pixel term (ConvArgs::row_sum_mult).
  EP_ASSIGN_OR_RETURN(const int32_t filter_zp, UniformFilterZeroPoint(kOp, filter));
  if (bias != nullptr) {
    EP_RETURN_IF_ERROR(CheckDType(kOp, *bias, DType::kInt32));
    EP_RETURN_IF_ERROR(CheckElementCount(kOp, *bias, out_c));
  }
  EP_ASSIGN_OR_RETURN(const ConvPadding padding, CheckConvGeometry(kOp, input, k_h, k_w, p, output));
  const int out_h = output.shape[1], out_w = output.shape[2];
  const int pad_top = padding.top, pad_left = padding.left;

  auto conv = std::unique_ptr<ConvInt8Vnni>(new ConvInt8Vnni());
  conv->num_parts_ = num_parts;
  auto impl = std::make_unique<Impl>();
  vnni::ConvArgs& a = impl->args;
  a.batches = n, a.in_h = in_h, a.in_w = in_w, a.in_c = in_c;
  a.out_h = out_h, a.out_w = out_w, a.out_c = out_c, a.k_h = k_h, a.k_w = k_w;
  a.stride_h = p.stride_height, a.stride_w = p.stride_width, a.dil_h = p.dilation_height, a.dil_w = p.dilation_width;
  a.pad_top = pad_top, a.pad_left = pad_left;
  a.k = k_h * k_w * in_c;
  a.k_padded = (a.k + 3) / 4 * 4;
  a.n_blocks = (out_c + 15) / 16;
  a.u8 = u8;
  // Rows are read in place only when they need no K padding (in_c % 4 == 0):
  // otherwise the last 4-byte group would read past the tensor.
  a.direct = k_h == 1 && k_w == 1 && p.stride_height == 1 && p.stride_width == 1 && in_h == out_h &&
             in_w == out_w && in_c % 4 == 0;
  const int channels = a.n_blocks * 16;
  impl->weights = MakeAlignedArray<int8_t>(static_cast<size_t>(channels) * a.k_padded);
  impl->bias = MakeAlignedArray<int32_t>(channels);
  impl->scale = MakeAlignedArray<float>(channels);
  // Packing reads each channel's weights once, in order. Locals only: stores
  // through int8_t* may alias anything, so fields read in the loop would be
  // reloaded on every byte.
  const int64_t k_total = a.k, k4 = a.k_padded / 4;
  const auto* filter_bytes = static_cast<const uint8_t*>(filter.data);
  int8_t* packed = impl->weights.get();
  const uint8_t flip = u8 ? 0x80 : 0;  // uint8 weights enter the kernel as w - 128
  for (int oc = 0; oc < out_c; ++oc) {
    const uint8_t* row = filter_bytes + static_cast<int64_t>(oc) * k_total;
    int8_t* dst = packed + static_cast<int64_t>(oc / 16) * k4 * 64 + (oc % 16) * 4;
    // Sum of (w - filter zero point) over the channel: the input zero point's term.
    int32_t raw_sum = 0;
    if (u8) {
      for (int64_t k = 0; k < k_total; ++k) raw_sum += row[k];
    } else {
      for (int64_t k = 0; k < k_total; ++k) raw_sum += static_cast<int8_t>(row[k]);
    }
    // Groups of 4 consecutive K values are one 32-bit lane of the kernel.
    const uint32_t flip4 = flip * 0x01010101u;
    int64_t k = 0;
    for (; k + 4 <= k_total; k += 4) {
      uint32_t group;
      std::memcpy(&group, row + k, 4);
      group ^= flip4;
      std::memcpy(dst + (k / 4) * 64, &group, 4);
    }
    for (; k < k_total; ++k) dst[(k / 4) * 64 + k % 4] = static_cast<int8_t>(row[k] ^ flip);
    const int32_t sum = raw_sum - static_cast<int32_t>(k_total) * filter_zp;
    const int32_t b = bias != nullptr ? bias->as<const int32_t>()[oc] : 0;
    // int8: the kernel's activations are x + 128 (conv_int8_vnni_impl.h).
    impl->bias[oc] = b - (u8 ? qin.zero_point : qin.zero_point + 128) * sum;
    // XNNPACK's requantization scale, computed in float as it does.
    const float scale = qin.scale * (fscale.size() == 1 ? fscale[0] : fscale[oc]) / qout.scale;
    if (!(scale > 0.0f && scale < 256.0f))
      return InvalidArgumentError("{}: channel {} requantization scale {} is out of range", kOp, oc, scale);
    impl->scale[oc] = scale;
  }
  const IntRange range = QuantizedActivationRange(p.activation, dtype, qout);
  a.packed_weights = impl->weights.get();
  a.bias = impl->bias.get();
  a.scale = impl->scale.get();
  a.row_sum_mult = u8 ? 128 - filter_zp : 0;
  a.output_zero_point = qout.zero_point;
  a.act_min = range.min;
  a.act_max = range.max;
  a.pad_value = static_cast<uint8_t>(qin.zero_point);
  impl->im2col_bytes = a.direct ? 0 : ScratchBytes(a);
  impl->dtype = dtype;
  impl->input_shape = input.shape;
  impl->output_shape = output.shape;
  impl->pixels = static_cast<int64_t>(n) * out_h * out_w;
  conv->impl_ = std::move(impl);
  return conv;
}

size_t ConvInt8Vnni::scratch_bytes_per_part() const {
  return static_cast<size_t>(impl_->im2col_bytes) + vnni::kChunkPixels * sizeof(int32_t);
}

Status ConvInt8Vnni::RunPart(const TensorView& input, const TensorView& output, int part, std::byte* scratch) {
  const Impl& impl = *impl_;
  if (input.shape != impl.input_shape || input.dtype != impl.dtype || input.data == nullptr)
    return InvalidArgumentError("{}: input {} differs from the planned shape", kOp, internal::Describe(input));
  if (output.shape != impl.output_shape || output.dtype != impl.dtype || output.data == nullptr)
    return InvalidArgumentError("{}: output {} differs from the planned shape", kOp, internal::Describe(output));
  if (part < 0 || part >= num_parts_) return InvalidArgumentError("{}: part {} of {}", kOp, part, num_parts_);
  // Parts split the pixels in whole micro-tiles (7x7 layers have 49 pixels:
  // splitting by 96-pixel chunks would leave all the work to one part). With
  // fewer than two micro-tiles of pixels per part (the 1x1 "fully connected"
  // convs at the end of classifiers), parts split the channel tiles instead.
  const int64_t tiles = (impl.pixels + vnni::kRows - 1) / vnni::kRows;
  int64_t begin = 0, end = impl.pixels;
  int block_begin = 0, block_end = impl.args.n_blocks;
  if (num_parts_ > 1 && tiles < 2 * num_parts_) {
    const int channel_tiles = (impl.args.n_blocks + vnni::kBlocksPerTile - 1) / vnni::kBlocksPerTile;
    block_begin = std::min(impl.args.n_blocks, channel_tiles * part / num_parts_ * vnni::kBlocksPerTile);
    block_end = std::min(impl.args.n_blocks, channel_tiles * (part + 1) / num_parts_ * vnni::kBlocksPerTile);
  } else {
    begin = std::min(impl.pixels, tiles * part / num_parts_ * vnni::kRows);
    end = std::min(impl.pixels, tiles * (part + 1) / num_parts_ * vnni::kRows);
  }
  if (scratch == nullptr) return InvalidArgumentError("{}: part {} was given no scratch memory", kOp, part);
  auto* im2col = impl.im2col_bytes > 0 ? reinterpret_cast<uint8_t*>(scratch) : nullptr;
  auto* sums = reinterpret_cast<int32_t*>(scratch + impl.im2col_bytes);
  if (begin < end && block_begin < block_end)
    vnni::RunPixels(impl.args, static_cast<const uint8_t*>(input.data), static_cast<uint8_t*>(output.data), begin,
                    end, block_begin, block_end, im2col, sums);
  return OkStatus();
}

Status ConvInt8Vnni::Run(const TensorView& input, const TensorView& output) {
  const size_t bytes = scratch_bytes_per_part();
  auto scratch = MakeAlignedArray<uint8_t>(bytes);
  if (scratch == nullptr) return InternalError("{}: out of memory", kOp);
  std::memset(scratch.get(), 0xA5, bytes);
  for (int part = 0; part < num_parts_; ++part)
    EP_RETURN_IF_ERROR(RunPart(input, output, part, reinterpret_cast<std::byte*>(scratch.get())));
  return OkStatus();
}

}  // namespace edgepipe::engine::kernels
