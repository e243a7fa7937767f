// Every variant of the 8-bit CONV_2D this CPU runs (conv_q8.h) against a
// scalar reference, element by element (must be identical): TFLite's
// reference_integer_ops::ConvPerChannel loop (reference_ops::Conv for uint8,
// with the filter zero point) with XNNPACK's fp32 requantization (conv_q8.h
// says why), plus hand-computed uint8 cases.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <tuple>
#include <type_traits>

#include "engine/kernels/conv_q8.h"
#include "engine/kernels/kernel_util.h"
#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels {
namespace {

using testing::Output;
using testing::TestTensor;

struct Case {
  int n, h, w, cin, cout, kh, kw, stride_h, stride_w, dil;
  bool same;
  FusedActivation act;
  bool per_channel = true;
  bool with_bias = true;
  float out_scale_mul = 1.0f;  // < 1: requantization scales >= 1, many clamped outputs
  bool u8 = false;             // uint8 activations and weights with random zero points
  int in_zp = -1, w_zp = -1;   // uint8 zero points when >= 0 (else random)
};

// reference_integer_ops::ConvPerChannel (int8) or reference_ops::Conv (uint8,
// filter zero point) with XNNPACK's fp32 requantization.
template <typename T>
std::vector<T> Reference(const TensorView& in, const TensorView& filter, const TensorView* bias,
                              const TensorView& out, const ConvParams& p) {
  using namespace internal;
  const int n = in.shape[0], ih = in.shape[1], iw = in.shape[2], ic = in.shape[3];
  const int oc = filter.shape[0], kh = filter.shape[1], kw = filter.shape[2];
  const int oh = out.shape[1], ow = out.shape[2];
  const testing::ReferencePadding padding = testing::ReferenceConvPadding(in, kh, kw, p, out);
  const int pad_t = padding.top, pad_l = padding.left;
  const int32_t in_zp = static_cast<int32_t>(in.quant.zero_point[0]);
  const int32_t out_zp = static_cast<int32_t>(out.quant.zero_point[0]);
  const int32_t w_zp = static_cast<int32_t>(filter.quant.zero_point[0]);
  const IntRange range = QuantizedActivationRange(p.activation, in.dtype, {out.quant.scale[0], out_zp});
  const T* x = in.as<const T>();
  const T* w = filter.as<const T>();
  std::vector<T> result(static_cast<size_t>(n) * oh * ow * oc);
  for (int c = 0; c < oc; ++c) {
    const float fs = filter.quant.scale.size() == 1 ? filter.quant.scale[0] : filter.quant.scale[c];
    const float scale = in.quant.scale[0] * fs / out.quant.scale[0];
    for (int b = 0; b < n; ++b)
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox) {
          int32_t acc = 0;
          for (int ky = 0; ky < kh; ++ky)
            for (int kx = 0; kx < kw; ++kx) {
              const int iy = oy * p.stride_height - pad_t + ky * p.dilation_height;
              const int ix = ox * p.stride_width - pad_l + kx * p.dilation_width;
              if (iy < 0 || iy >= ih || ix < 0 || ix >= iw) continue;
              for (int ci = 0; ci < ic; ++ci)
                acc += (x[((b * ih + iy) * iw + ix) * ic + ci] - in_zp) * (w[((c * kh + ky) * kw + kx) * ic + ci] - w_zp);
            }
          if (bias != nullptr) acc += bias->as<const int32_t>()[c];
          result[((b * oh + oy) * ow + ox) * oc + c] =
              static_cast<T>(testing::ReferenceRequantizeFp32(acc, scale, out_zp, range.min, range.max));
        }
  }
  return result;
}

template <typename T>
void RunTyped(const Case& k, std::mt19937& rng, int num_parts);

void RunCase(const Case& k, std::mt19937& rng, int num_parts) {
  SCOPED_TRACE(::testing::Message() << "n=" << k.n << " " << k.h << "x" << k.w << "x" << k.cin << " -> " << k.cout
                                    << " k=" << k.kh << "x" << k.kw << " s=" << k.stride_h << "," << k.stride_w
                                    << " d=" << k.dil << " same=" << k.same << " act=" << static_cast<int>(k.act)
                                    << " parts=" << num_parts << " u8=" << k.u8);
  if (k.u8) {
    RunTyped<uint8_t>(k, rng, num_parts);
  } else {
    RunTyped<int8_t>(k, rng, num_parts);
  }
}

template <typename T>
void RunTyped(const Case& k, std::mt19937& rng, int num_parts) {
  constexpr bool kU8 = std::is_same_v<T, uint8_t>;
  constexpr DType kType = kU8 ? DType::kUInt8 : DType::kInt8;
  constexpr int kMin = kU8 ? 0 : -128;
  std::uniform_int_distribution<int> byte(kMin, kMin + 255), zp(kMin, kMin + 255);
  // uint8 data spreads around its zero points (as a quantizer leaves it): with
  // both far off the middle, every accumulator would carry the same large
  // offset and clamp. Random uint8 zero points stay within 24 of the ends.
  std::uniform_int_distribution<int> zp_u8(24, 231);
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  const int oh = testing::ReferenceConvOutputSize(k.h, k.kh, k.stride_h, k.dil, k.same);
  const int ow = testing::ReferenceConvOutputSize(k.w, k.kw, k.stride_w, k.dil, k.same);
  // Output scale ~ the accumulator's spread / 40, so outputs use the int8 range
  // without being mostly clamped.
  const float in_scale = scale(rng), w_base = scale(rng);
  const float acc_std = in_scale * w_base * 74.0f * 74.0f * std::sqrt(static_cast<float>(k.kh * k.kw * k.cin));
  const int in_zp = !kU8 ? zp(rng) : k.in_zp >= 0 ? k.in_zp : zp_u8(rng);
  Quantization qin = testing::PerTensor(in_scale, in_zp);
  // Output zero point near the middle of the range (uint8: 128 +- 32).
  Quantization qout = testing::PerTensor(acc_std / 40.0f * k.out_scale_mul, (kU8 ? 96 : -32) + zp(rng) / 4);
  Quantization qw;
  std::uniform_real_distribution<float> spread(0.5f, 1.5f);
  // uint8 weights share one zero point, anywhere in [0, 255].
  const int w_zp = !kU8 ? 0 : k.w_zp >= 0 ? k.w_zp : zp_u8(rng);
  for (int c = 0; c < (k.per_channel ? k.cout : 1); ++c) {
    qw.scale.push_back(w_base * spread(rng));
    qw.zero_point.push_back(w_zp);
  }
  TestTensor in = Output(kType, {k.n, k.h, k.w, k.cin}, "input", qin);
  TestTensor filter = Output(kType, {k.cout, k.kh, k.kw, k.cin}, "filter", qw);
  TestTensor bias = Output(DType::kInt32, {k.cout}, "bias");
  TestTensor out = Output(kType, {k.n, oh, ow, k.cout}, "output", qout);
  std::normal_distribution<float> xdist(static_cast<float>(in_zp), 74.0f), wdist(static_cast<float>(w_zp), 74.0f);
  for (size_t i = 0; i < in.view.num_elements(); ++i)
    in.view.as<T>()[i] = kU8 ? static_cast<T>(std::clamp(std::lrint(xdist(rng)), 0L, 255L)) : static_cast<T>(byte(rng));
  for (size_t i = 0; i < filter.view.num_elements(); ++i)
    filter.view.as<T>()[i] =
        kU8 ? static_cast<T>(std::clamp(std::lrint(wdist(rng)), 0L, 255L)) : static_cast<T>(byte(rng));
  const int32_t bias_max = static_cast<int32_t>(74.0f * 74.0f * std::sqrt(static_cast<float>(k.kh * k.kw * k.cin)));
  std::uniform_int_distribution<int32_t> bias_dist(-bias_max, bias_max);
  for (int c = 0; c < k.cout; ++c) bias.view.as<int32_t>()[c] = bias_dist(rng);
  ConvParams p;
  p.stride_height = k.stride_h;
  p.stride_width = k.stride_w;
  p.dilation_height = p.dilation_width = k.dil;
  p.same_padding = k.same;
  p.activation = k.act;
  const TensorView* b = k.with_bias ? &bias.view : nullptr;
  const std::vector<T> want = Reference<T>(in, filter, b, out, p);
  for (Isa isa : ConvQ8::HostIsas()) {
    SCOPED_TRACE(::testing::Message() << "variant " << IsaName(isa));
    auto conv = ConvQ8::Create(in, filter, b, out, p, num_parts, isa);
    ASSERT_TRUE(conv.ok()) << conv.status().ToString();
    EXPECT_EQ((*conv)->variant(), IsaName(isa));
    std::memset(out.view.data, 0x33, out.view.num_bytes());
    // Parts last to first: a part writing outside its own outputs would then
    // clobber what another part (another thread, in the engine) wrote before.
    // Each part its own scratch, full of garbage: the kernel must not rely on its content.
    const size_t scratch_bytes = ((*conv)->scratch_bytes_per_part() + 63) / 64 * 64;
    std::unique_ptr<std::byte, decltype(&std::free)> scratch(
        static_cast<std::byte*>(std::aligned_alloc(64, scratch_bytes * num_parts)), &std::free);
    std::memset(scratch.get(), 0x5A, scratch_bytes * num_parts);
    for (int part = num_parts - 1; part >= 0; --part) {
      const Status s = (*conv)->RunPart(in, out, part, scratch.get() + scratch_bytes * part);
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    const std::vector<T> got = out.Values<T>();
    ASSERT_EQ(got.size(), want.size());
    int mismatches = 0;
    for (size_t i = 0; i < want.size(); ++i)
      if (got[i] != want[i] && ++mismatches <= 5)
        ADD_FAILURE() << "element " << i << " (channel " << i % k.cout << "): got " << int(got[i]) << ", want "
                      << int(want[i]);
    EXPECT_EQ(mismatches, 0);
  }
  // The comparison means something only if the outputs are not all clamped.
  if (want.size() >= 256 && k.out_scale_mul == 1.0f && (k.act == FusedActivation::kNone || k.act == FusedActivation::kRelu)) {
    std::set<T> distinct(want.begin(), want.end());
    EXPECT_GE(distinct.size(), 16u);
  }
}

// Every variant the host runs, and only those: the generic one always.
TEST(ConvQ8VariantsTest, HostRunsGenericAndTheVariantsItsCpuHas) {
  const std::vector<Isa> isas = ConvQ8::HostIsas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.back(), Isa::kGeneric);
  for (Isa isa : isas) EXPECT_TRUE(CpuRunsIsa(HostCpu(), isa)) << IsaName(isa);
  EXPECT_FALSE(ConvQ8AheadOfXnnpack(Isa::kGeneric));
}

TEST(ConvQ8Test, PointwiseShapes) {
  std::mt19937 rng(1);
  using A = FusedActivation;
  const Case cases[] = {
      {1, 7, 7, 64, 64, 1, 1, 1, 1, 1, true, A::kNone},   {1, 5, 9, 16, 24, 1, 1, 1, 1, 1, true, A::kRelu6},
      {1, 13, 11, 3, 5, 1, 1, 1, 1, 1, false, A::kRelu},  {2, 10, 10, 17, 33, 1, 1, 1, 1, 1, true, A::kNone},
      {1, 14, 14, 96, 576, 1, 1, 1, 1, 1, true, A::kRelu6}, {1, 9, 9, 30, 70, 1, 1, 2, 2, 1, true, A::kNone},
      {1, 1, 1, 1280, 1001, 1, 1, 1, 1, 1, true, A::kNone}, {1, 4, 4, 6, 1, 1, 1, 1, 1, 1, false, A::kReluN1To1},
  };
  for (const Case& c : cases) RunCase(c, rng, 1);
}

TEST(ConvQ8Test, GeneralShapesWithPaddingAndStride) {
  std::mt19937 rng(2);
  using A = FusedActivation;
  const Case cases[] = {
      {1, 15, 15, 3, 32, 3, 3, 2, 2, 1, true, A::kRelu6},  {1, 16, 16, 3, 32, 3, 3, 2, 2, 1, true, A::kRelu6},
      {1, 12, 9, 5, 19, 3, 3, 1, 1, 1, true, A::kNone},    {2, 11, 13, 8, 20, 5, 3, 2, 1, 1, true, A::kRelu},
      {1, 10, 10, 7, 9, 3, 3, 1, 1, 1, false, A::kNone},   {1, 17, 17, 4, 40, 3, 3, 2, 2, 2, true, A::kNone},
      {1, 8, 8, 33, 17, 2, 2, 2, 2, 1, false, A::kRelu6},  {1, 6, 6, 16, 16, 3, 3, 3, 3, 1, true, A::kNone},
  };
  for (const Case& c : cases) RunCase(c, rng, 1);
}

TEST(ConvQ8Test, PartsPerTensorWeightsNoBiasAndRandomShapes) {
  std::mt19937 rng(3);
  RunCase({1, 21, 19, 24, 144, 1, 1, 1, 1, 1, true, FusedActivation::kRelu6}, rng, 2);
  RunCase({1, 21, 19, 24, 50, 3, 3, 2, 2, 1, true, FusedActivation::kNone, /*per_channel=*/false,
           /*with_bias=*/false},
          rng, 3);
  // Fewer pixels than two micro-tiles per part: the parts split the channels
  // (more parts than channel tiles leaves some parts empty).
  RunCase({1, 1, 1, 200, 101, 1, 1, 1, 1, 1, true, FusedActivation::kNone}, rng, 2);
  RunCase({1, 3, 5, 40, 70, 3, 3, 1, 1, 1, true, FusedActivation::kRelu}, rng, 3);
  Case fc_u8{1, 1, 1, 1024, 1001, 1, 1, 1, 1, 1, true, FusedActivation::kNone};
  fc_u8.u8 = true;
  RunCase(fc_u8, rng, 2);
  std::uniform_int_distribution<int> dim(1, 20), ch(1, 80), kd(1, 4), st(1, 2), bit(0, 1), act(0, 3);
  for (int i = 0; i < 40; ++i) {
    Case c{1, dim(rng), dim(rng), ch(rng), ch(rng), kd(rng), kd(rng), st(rng), st(rng), 1, bit(rng) == 1,
           static_cast<FusedActivation>(act(rng)), bit(rng) == 1, bit(rng) == 1};
    if (!c.same && (c.h < c.kh || c.w < c.kw)) c.same = true;
    RunCase(c, rng, 1 + i % 3);
  }
}

TEST(ConvQ8Test, LargeRequantizationScales) {
  std::mt19937 rng(4);
  // acc_std / 40 * 1e-4: requantization scales of about 10-30.
  for (float mul : {1e-2f, 1e-3f, 1e-4f}) {
    Case c{1, 9, 7, 5, 37, 1, 1, 1, 1, 1, true, FusedActivation::kNone};
    c.out_scale_mul = mul;
    RunCase(c, rng, 1);
    c.kh = c.kw = 3;
    c.stride_h = 2;
    RunCase(c, rng, 2);
  }
}

// Pointwise convs with in_c % 4 == 0 read the input in place; the others go
// through im2col. Both with uint8 activations and weight zero points.
TEST(ConvQ8Test, Uint8WithZeroPoints) {
  std::mt19937 rng(5);
  using A = FusedActivation;
  Case cases[] = {
      {1, 7, 7, 64, 64, 1, 1, 1, 1, 1, true, A::kNone},     {1, 5, 9, 16, 24, 1, 1, 1, 1, 1, true, A::kRelu6},
      {1, 13, 11, 3, 5, 1, 1, 1, 1, 1, false, A::kRelu},    {2, 10, 10, 17, 33, 1, 1, 1, 1, 1, true, A::kNone},
      {1, 14, 14, 96, 576, 1, 1, 1, 1, 1, true, A::kRelu6}, {1, 9, 9, 30, 70, 1, 1, 2, 2, 1, true, A::kNone},
      {1, 15, 15, 3, 32, 3, 3, 2, 2, 1, true, A::kRelu6},   {1, 16, 16, 3, 32, 3, 3, 2, 2, 1, true, A::kRelu6},
      {1, 12, 9, 5, 19, 3, 3, 1, 1, 1, true, A::kNone},     {2, 11, 13, 8, 20, 5, 3, 2, 1, 1, true, A::kRelu},
      {1, 10, 10, 7, 9, 3, 3, 1, 1, 1, false, A::kNone},    {1, 17, 17, 4, 40, 3, 3, 2, 2, 2, true, A::kNone},
      {1, 1, 1, 1024, 1001, 1, 1, 1, 1, 1, true, A::kNone}, {1, 4, 4, 6, 1, 1, 1, 1, 1, 1, false, A::kReluN1To1},
  };
  for (int i = 0; i < static_cast<int>(std::size(cases)); ++i) {
    cases[i].u8 = true;
    cases[i].per_channel = false;
    RunCase(cases[i], rng, 1 + i % 2);
  }
  std::uniform_int_distribution<int> dim(1, 20), ch(1, 80), kd(1, 4), st(1, 2), bit(0, 1), act(0, 3);
  for (int i = 0; i < 40; ++i) {
    Case c{1, dim(rng), dim(rng), 4 * ch(rng) / (1 + 3 * bit(rng)), ch(rng), kd(rng), kd(rng), st(rng), st(rng), 1,
           bit(rng) == 1, static_cast<FusedActivation>(act(rng)), bit(rng) == 1, bit(rng) == 1};
    if (i % 2 == 0) c.kh = c.kw = c.stride_h = c.stride_w = 1;  // pointwise, mostly read in place
    if (!c.same && (c.h < c.kh || c.w < c.kw)) c.same = true;
    c.u8 = true;
    RunCase(c, rng, 1 + i % 3);
  }
  // Zero points at the ends of the range (the per-pixel term's multiplier
  // 128 - w_zp is then 128 or -127), in place and through im2col. Wider output
  // scales: these accumulators carry large offsets.
  for (int in_zp : {0, 255})
    for (int w_zp : {0, 1, 128, 255}) {
      Case c{1, 6, 5, 8, 20, 1, 1, 1, 1, 1, true, FusedActivation::kNone};
      c.u8 = true, c.per_channel = false, c.in_zp = in_zp, c.w_zp = w_zp, c.out_scale_mul = 30.0f;
      RunCase(c, rng, 1);
      c.kh = c.kw = 3, c.stride_h = c.stride_w = 2, c.cin = 3;
      RunCase(c, rng, 2);
    }
}

// 2x2 uint8 input (zero point 10) * 2x2 filter (zero point 128: w - 128 =
// {2, 0, -1, 1}) + bias 5, scales 1, output zero point 100, SAME padding (one
// padded row and column at the bottom and right, which must add nothing).
TEST(ConvQ8Test, Uint8HandComputed) {
  TestTensor in = Output(DType::kUInt8, {1, 2, 2, 1}, "input", testing::PerTensor(1.0f, 10));
  TestTensor filter = Output(DType::kUInt8, {1, 2, 2, 1}, "filter", testing::PerTensor(1.0f, 128));
  TestTensor bias = Output(DType::kInt32, {1}, "bias");
  TestTensor out = Output(DType::kUInt8, {1, 2, 2, 1}, "output", testing::PerTensor(1.0f, 100));
  const uint8_t x[] = {10, 20, 30, 40}, w[] = {130, 128, 127, 129};
  std::copy(std::begin(x), std::end(x), in.view.as<uint8_t>());
  std::copy(std::begin(w), std::end(w), filter.view.as<uint8_t>());
  bias.view.as<int32_t>()[0] = 5;
  ConvParams p;
  for (Isa isa : ConvQ8::HostIsas()) {
    SCOPED_TRACE(::testing::Message() << "variant " << IsaName(isa));
    p.same_padding = true;
    p.stride_height = p.stride_width = 1;
    p.activation = FusedActivation::kNone;
    auto conv = ConvQ8::Create(in, filter, &bias.view, out, p, 1, isa);
    ASSERT_TRUE(conv.ok()) << conv.status().ToString();
    ASSERT_TRUE((*conv)->Run(in, out).ok());
    // (0,0): 0*2 + 10*0 + 20*-1 + 30*1 = 10; (0,1): 10*2 + 30*-1 = -10;
    // (1,0): 20*2 + 30*0 = 40; (1,1): 30*2 = 60. Each + 5 + 100.
    EXPECT_EQ(out.Values<uint8_t>(), (std::vector<uint8_t>{115, 95, 145, 165}));
    // Stride 2, VALID, ReLU6 at scale 1 (max 6 above the zero point): 10 + 5 -> 6.
    TestTensor out1 = Output(DType::kUInt8, {1, 1, 1, 1}, "output", testing::PerTensor(1.0f, 100));
    p.same_padding = false;
    p.stride_height = p.stride_width = 2;
    p.activation = FusedActivation::kRelu6;
    auto conv1 = ConvQ8::Create(in, filter, &bias.view, out1, p, 1, isa);
    ASSERT_TRUE(conv1.ok()) << conv1.status().ToString();
    ASSERT_TRUE((*conv1)->Run(in, out1).ok());
    EXPECT_EQ(out1.Values<uint8_t>(), (std::vector<uint8_t>{106}));
  }
}

TEST(ConvQ8Test, RejectsMismatchedFilter) {
  Quantization q = testing::PerTensor(0.1f, 0);
  TestTensor in = Output(DType::kInt8, {1, 4, 4, 8}, "input", q);
  TestTensor filter = Output(DType::kInt8, {4, 1, 1, 6}, "filter", q);
  TestTensor out = Output(DType::kInt8, {1, 4, 4, 4}, "output", q);
  auto conv = ConvQ8::Create(in, filter, nullptr, out, {}, 1);
  EXPECT_FALSE(conv.ok());
  // Mixed types, and uint8 filters whose channels have different zero points.
  TestTensor in_u8 = Output(DType::kUInt8, {1, 4, 4, 6}, "input", q);
  TestTensor filter_u8 = Output(DType::kUInt8, {2, 1, 1, 6}, "filter", q);
  TestTensor out_u8 = Output(DType::kUInt8, {1, 4, 4, 2}, "output", q);
  TestTensor filter_i8 = Output(DType::kInt8, {2, 1, 1, 6}, "filter", q);
  EXPECT_FALSE(ConvQ8::Create(in_u8, filter_i8, nullptr, out_u8, {}, 1).ok());
  EXPECT_TRUE(ConvQ8::Create(in_u8, filter_u8, nullptr, out_u8, {}, 1).ok());
  Quantization two;
  two.scale = {0.1f, 0.1f};
  two.zero_point = {120, 130};
  two.axis = 0;
  TestTensor filter_two = Output(DType::kUInt8, {2, 1, 1, 6}, "filter", two);
  EXPECT_FALSE(ConvQ8::Create(in_u8, filter_two, nullptr, out_u8, {}, 1).ok());
}

}  // namespace
}  // namespace edgepipe::engine::kernels
