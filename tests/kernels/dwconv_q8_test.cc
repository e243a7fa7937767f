// Every variant of the 8-bit DEPTHWISE_CONV_2D this CPU runs (dwconv_q8.h)
// against a plain reference loop,
// element by element (must be identical): TFLite's reference depthwise conv
// (int8 per-channel, uint8 with the filter zero point) with XNNPACK's fp32
// requantization, plus a hand-computed uint8 case.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <type_traits>

#include "engine/kernels/dwconv_q8.h"
#include "engine/kernels/kernel_util.h"
#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels {
namespace {

using testing::Output;
using testing::TestTensor;

struct Case {
  int n, h, w, c, kh, kw, stride_h, stride_w;
  bool same;
  FusedActivation act;
  bool u8 = false;
  int dil = 1;
  bool per_channel = true;  // int8 only (uint8 weights are per-tensor)
  bool with_bias = true;
  int in_zp = -1000, w_zp = -1;  // fixed zero points when set (else random)
  float out_scale_mul = 1.0f;    // < 1: large requantization scales, many clamped outputs
};

template <typename T>
std::vector<T> Reference(const TensorView& in, const TensorView& filter, const TensorView* bias,
                         const TensorView& out, const ConvParams& p) {
  using namespace internal;
  const int n = in.shape[0], ih = in.shape[1], iw = in.shape[2], c = in.shape[3];
  const int kh = filter.shape[1], kw = filter.shape[2], oh = out.shape[1], ow = out.shape[2];
  const testing::ReferencePadding padding = testing::ReferenceConvPadding(in, kh, kw, p, out);
  const int pad_t = padding.top, pad_l = padding.left;
  const int32_t in_zp = static_cast<int32_t>(in.quant.zero_point[0]);
  const int32_t out_zp = static_cast<int32_t>(out.quant.zero_point[0]);
  const int32_t w_zp = static_cast<int32_t>(filter.quant.zero_point[0]);
  const IntRange range = QuantizedActivationRange(p.activation, in.dtype, {out.quant.scale[0], out_zp});
  const T* x = in.as<const T>();
  const T* w = filter.as<const T>();
  std::vector<T> result(static_cast<size_t>(n) * oh * ow * c);
  for (int ch = 0; ch < c; ++ch) {
    const float fs = filter.quant.scale.size() == 1 ? filter.quant.scale[0] : filter.quant.scale[ch];
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
              acc += (x[((b * ih + iy) * iw + ix) * c + ch] - in_zp) * (w[(ky * kw + kx) * c + ch] - w_zp);
            }
          if (bias != nullptr) acc += bias->as<const int32_t>()[ch];
          result[((b * oh + oy) * ow + ox) * c + ch] =
              static_cast<T>(testing::ReferenceRequantizeFp32(acc, scale, out_zp, range.min, range.max));
        }
  }
  return result;
}

template <typename T>
void RunTyped(const Case& k, std::mt19937& rng, int num_parts) {
  constexpr bool kU8 = std::is_same_v<T, uint8_t>;
  constexpr DType kType = kU8 ? DType::kUInt8 : DType::kInt8;
  constexpr int kMin = kU8 ? 0 : -128;
  std::uniform_int_distribution<int> byte(kMin, kMin + 255);
  std::uniform_real_distribution<float> scale(0.001f, 0.05f), spread(0.5f, 1.5f);
  const int oh = testing::ReferenceConvOutputSize(k.h, k.kh, k.stride_h, k.dil, k.same);
  const int ow = testing::ReferenceConvOutputSize(k.w, k.kw, k.stride_w, k.dil, k.same);
  // uint8 data and weights spread around their zero points, which may sit
  // anywhere (mobilenet_v2_quant's filter zero points run from 52 to 204).
  const int in_zp = k.in_zp != -1000 ? k.in_zp : kU8 ? std::uniform_int_distribution<int>(0, 255)(rng) : byte(rng);
  const int w_zp = !kU8 ? 0 : k.w_zp >= 0 ? k.w_zp : std::uniform_int_distribution<int>(0, 255)(rng);
  const float in_scale = scale(rng), w_base = scale(rng);
  const float acc_std = in_scale * w_base * 74.0f * 74.0f * std::sqrt(static_cast<float>(k.kh * k.kw));
  Quantization qin = testing::PerTensor(in_scale, in_zp);
  Quantization qout = testing::PerTensor(acc_std / 40.0f * k.out_scale_mul, (kU8 ? 96 : -32) + byte(rng) / 4);
  Quantization qw;
  qw.axis = 3;
  for (int ch = 0; ch < (k.per_channel && !kU8 ? k.c : 1); ++ch) {
    qw.scale.push_back(w_base * spread(rng));
    qw.zero_point.push_back(w_zp);
  }
  TestTensor in = Output(kType, {k.n, k.h, k.w, k.c}, "input", qin);
  TestTensor filter = Output(kType, {1, k.kh, k.kw, k.c}, "filter", qw);
  TestTensor bias = Output(DType::kInt32, {k.c}, "bias");
  TestTensor out = Output(kType, {k.n, oh, ow, k.c}, "output", qout);
  std::normal_distribution<float> xdist(static_cast<float>(in_zp), 74.0f), wdist(static_cast<float>(w_zp), 74.0f);
  auto draw = [&](std::normal_distribution<float>& d) {
    return static_cast<T>(std::clamp<long>(std::lrint(d(rng)), kMin, kMin + 255));
  };
  for (size_t i = 0; i < in.view.num_elements(); ++i) in.view.as<T>()[i] = draw(xdist);
  for (size_t i = 0; i < filter.view.num_elements(); ++i)
    filter.view.as<T>()[i] = kU8 ? draw(wdist) : static_cast<T>(std::uniform_int_distribution<int>(-127, 127)(rng));
  const int32_t bias_max = static_cast<int32_t>(74.0f * 74.0f * std::sqrt(static_cast<float>(k.kh * k.kw)));
  std::uniform_int_distribution<int32_t> bias_dist(-bias_max, bias_max);
  for (int ch = 0; ch < k.c; ++ch) bias.view.as<int32_t>()[ch] = bias_dist(rng);
  ConvParams p;
  p.stride_height = k.stride_h;
  p.stride_width = k.stride_w;
  p.dilation_height = p.dilation_width = k.dil;
  p.same_padding = k.same;
  p.activation = k.act;
  const TensorView* b = k.with_bias ? &bias.view : nullptr;
  const std::vector<T> want = Reference<T>(in, filter, b, out, p);
  for (Isa isa : DepthwiseConvQ8::HostIsas()) {
    SCOPED_TRACE(::testing::Message() << "variant " << IsaName(isa));
    auto conv = DepthwiseConvQ8::Create(in, filter, b, out, p, num_parts, isa);
    ASSERT_TRUE(conv.ok()) << conv.status().ToString();
    EXPECT_EQ((*conv)->variant(), IsaName(isa));
    std::memset(out.view.data, 0x33, out.view.num_bytes());
    // Parts last to first: a part writing outside its own outputs would then
    // clobber what another part wrote before.
    for (int part = (*conv)->num_parts() - 1; part >= 0; --part) {
      const Status s = (*conv)->RunPart(in, out, part);
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    const std::vector<T> got = out.Values<T>();
    ASSERT_EQ(got.size(), want.size());
    int mismatches = 0;
    for (size_t i = 0; i < want.size(); ++i)
      if (got[i] != want[i] && ++mismatches <= 5)
        ADD_FAILURE() << "element " << i << " (channel " << i % k.c << "): got " << int(got[i]) << ", want "
                      << int(want[i]);
    EXPECT_EQ(mismatches, 0);
  }
  // The comparison means something only if the outputs are not all clamped.
  if (want.size() >= 256 && k.out_scale_mul == 1.0f &&
      (k.act == FusedActivation::kNone || k.act == FusedActivation::kRelu)) {
    std::set<T> distinct(want.begin(), want.end());
    EXPECT_GE(distinct.size(), 16u);
  }
}

void RunCase(const Case& k, std::mt19937& rng, int num_parts = 1) {
  SCOPED_TRACE(::testing::Message() << "n=" << k.n << " " << k.h << "x" << k.w << "x" << k.c << " k=" << k.kh << "x"
                                    << k.kw << " s=" << k.stride_h << "," << k.stride_w << " d=" << k.dil
                                    << " same=" << k.same << " act=" << static_cast<int>(k.act)
                                    << " parts=" << num_parts << " u8=" << k.u8);
  if (k.u8) {
    RunTyped<uint8_t>(k, rng, num_parts);
  } else {
    RunTyped<int8_t>(k, rng, num_parts);
  }
}

// Every variant the host runs, and only those: the generic one always.
TEST(DepthwiseConvQ8VariantsTest, HostRunsGenericAndTheVariantsItsCpuHas) {
  const std::vector<Isa> isas = DepthwiseConvQ8::HostIsas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.back(), Isa::kGeneric);
  for (Isa isa : isas) EXPECT_TRUE(CpuRunsIsa(HostCpu(), isa)) << IsaName(isa);
  EXPECT_FALSE(DepthwiseQ8AheadOfXnnpack(Isa::kGeneric));
}

using A = FusedActivation;

// The MobileNet shapes (3x3, stride 1 and 2, SAME), scaled down, and odd ones:
// channel counts that leave a partial 64-channel block, widths that are not a
// multiple of the 4-pixel tile, VALID padding, 5x5.
const Case kShapes[] = {
    {1, 12, 12, 32, 3, 3, 1, 1, true, A::kRelu6},  {1, 12, 12, 96, 3, 3, 2, 2, true, A::kRelu6},
    {1, 9, 9, 144, 3, 3, 1, 1, true, A::kNone},    {1, 7, 7, 960, 3, 3, 1, 1, true, A::kRelu6},
    {1, 10, 13, 17, 3, 3, 1, 1, true, A::kNone},   {2, 11, 7, 70, 3, 3, 2, 2, true, A::kRelu},
    {1, 9, 11, 5, 3, 3, 1, 1, false, A::kNone},    {1, 13, 10, 65, 3, 3, 2, 2, false, A::kRelu},
    {1, 14, 15, 40, 5, 5, 1, 1, true, A::kNone},   {1, 15, 14, 131, 5, 5, 2, 2, true, A::kRelu6},
    {1, 9, 12, 24, 5, 5, 1, 1, false, A::kReluN1To1}, {1, 8, 9, 3, 5, 5, 2, 1, false, A::kNone},
    {1, 6, 5, 1, 3, 3, 1, 2, true, A::kNone},      {1, 1, 1, 64, 3, 3, 1, 1, true, A::kNone},
    {1, 9, 9, 48, 1, 1, 1, 1, true, A::kNone},     {1, 10, 9, 36, 7, 2, 1, 2, true, A::kRelu},
};

TEST(DepthwiseConvQ8Test, Int8Shapes) {
  std::mt19937 rng(11);
  for (const Case& c : kShapes) RunCase(c, rng);
}

TEST(DepthwiseConvQ8Test, Uint8Shapes) {
  std::mt19937 rng(12);
  for (Case c : kShapes) {
    c.u8 = true;
    RunCase(c, rng);
  }
}

// Long rows: several column segments per row (the int8 3x3 buffer holds 64
// columns, the uint8 one 32), both strides.
TEST(DepthwiseConvQ8Test, RowsLongerThanOneSegment) {
  std::mt19937 rng(13);
  for (bool u8 : {false, true})
    for (int stride : {1, 2}) {
      Case c{1, 5, 131, 20, 3, 3, stride, stride, true, A::kRelu6};
      c.u8 = u8;
      RunCase(c, rng);
      c.w = 257, c.c = 72, c.act = A::kNone;
      RunCase(c, rng, 3);
    }
}

// Stride-1 rows whose channel count is a multiple of 16 but not of 64 run as
// flat 64-byte chunks spanning pixels (dwconv_q8_impl.h): rows of several
// segments, padding on both sides, dilation, 5x5, VALID, rows whose bytes do
// not fill the last chunk.
TEST(DepthwiseConvQ8Test, FlatRows) {
  std::mt19937 rng(17);
  for (bool u8 : {false, true}) {
    const Case cases[] = {
        {1, 6, 257, 16, 3, 3, 1, 1, true, A::kRelu6},  {1, 5, 112, 32, 3, 3, 1, 1, true, A::kNone},
        {1, 7, 65, 96, 3, 3, 1, 1, true, A::kRelu},    {1, 6, 56, 144, 3, 3, 1, 1, true, A::kRelu6},
        {2, 5, 33, 48, 3, 3, 2, 1, true, A::kNone},    {1, 7, 31, 80, 5, 5, 1, 1, true, A::kNone},
        {1, 6, 29, 272, 3, 3, 1, 1, false, A::kRelu},  {1, 3, 3, 16, 3, 3, 1, 1, true, A::kReluN1To1},
        {1, 9, 41, 160, 5, 3, 1, 1, false, A::kNone},  {1, 4, 1, 32, 3, 3, 1, 1, true, A::kNone},
    };
    int i = 0;
    for (Case c : cases) {
      c.u8 = u8;
      RunCase(c, rng, 1 + i++ % 3);
      c.dil = 2;
      if (!c.same && c.w < (c.kw - 1) * 2 + 1) continue;
      RunCase(c, rng, 2);
    }
  }
}

TEST(DepthwiseConvQ8Test, DilationPartsPerTensorWeightsNoBias) {
  std::mt19937 rng(14);
  for (bool u8 : {false, true}) {
    Case dilated{1, 15, 13, 40, 3, 3, 1, 1, true, A::kRelu6};
    dilated.u8 = u8, dilated.dil = 2;
    RunCase(dilated, rng, 2);
    Case plain{2, 9, 10, 100, 3, 3, 2, 2, true, A::kNone};
    plain.u8 = u8, plain.per_channel = false, plain.with_bias = false;
    RunCase(plain, rng, 5);
    // More parts than units: parts are capped at the number of units.
    Case tiny{1, 2, 3, 10, 3, 3, 1, 1, true, A::kRelu};
    tiny.u8 = u8;
    RunCase(tiny, rng, 8);
  }
}

TEST(DepthwiseConvQ8Test, ZeroPointsAtTheEndsAndLargeScales) {
  std::mt19937 rng(15);
  for (int in_zp : {0, 255})
    for (int w_zp : {0, 1, 128, 255}) {
      Case c{1, 7, 9, 33, 3, 3, 1, 1, true, A::kNone};
      c.u8 = true, c.in_zp = in_zp, c.w_zp = w_zp, c.out_scale_mul = 30.0f;
      RunCase(c, rng);
      c.stride_h = c.stride_w = 2, c.kh = c.kw = 5;
      RunCase(c, rng, 2);
    }
  for (int in_zp : {-128, 127}) {
    Case c{1, 7, 9, 33, 3, 3, 1, 1, true, A::kRelu};
    c.in_zp = in_zp;
    RunCase(c, rng);
  }
  for (float mul : {1e-2f, 1e-3f}) {
    for (bool u8 : {false, true}) {
      Case c{1, 6, 7, 21, 3, 3, 2, 2, true, A::kNone};
      c.u8 = u8, c.out_scale_mul = mul;
      RunCase(c, rng);
    }
  }
}

TEST(DepthwiseConvQ8Test, RandomShapes) {
  std::mt19937 rng(16);
  std::uniform_int_distribution<int> dim(1, 24), ch(1, 200), kd(1, 6), st(1, 2), bit(0, 1), act(0, 3);
  for (int i = 0; i < 60; ++i) {
    Case c{1 + bit(rng), dim(rng), dim(rng), ch(rng), kd(rng), kd(rng), st(rng), st(rng), bit(rng) == 1,
           static_cast<FusedActivation>(act(rng))};
    c.u8 = i % 2 == 1;
    c.dil = 1 + (i % 7 == 0);
    if (!c.same && (c.h < (c.kh - 1) * c.dil + 1 || c.w < (c.kw - 1) * c.dil + 1)) c.same = true;
    RunCase(c, rng, 1 + i % 4);
  }
}

// 3x3 uint8 input (zero point 10) * 2x2 filter (zero point 200: w - 200 =
// {-200, 55, 0, 1}, beyond int8 as in real models) + bias 7, scales 1, output
// zero point 100, VALID, one channel.
TEST(DepthwiseConvQ8Test, Uint8HandComputed) {
  TestTensor in = Output(DType::kUInt8, {1, 3, 3, 1}, "input", testing::PerTensor(1.0f, 10));
  TestTensor filter = Output(DType::kUInt8, {1, 2, 2, 1}, "filter", testing::PerTensor(1.0f, 200));
  TestTensor bias = Output(DType::kInt32, {1}, "bias");
  TestTensor out = Output(DType::kUInt8, {1, 2, 2, 1}, "output", testing::PerTensor(1.0f, 100));
  const uint8_t x[] = {10, 11, 12, 13, 14, 15, 16, 17, 18}, w[] = {0, 255, 200, 201};
  std::copy(std::begin(x), std::end(x), in.view.as<uint8_t>());
  std::copy(std::begin(w), std::end(w), filter.view.as<uint8_t>());
  bias.view.as<int32_t>()[0] = 7;
  for (Isa isa : DepthwiseConvQ8::HostIsas()) {
    SCOPED_TRACE(::testing::Message() << "variant " << IsaName(isa));
    auto conv = DepthwiseConvQ8::Create(in, filter, &bias.view, out, {}, 1, isa);
    ASSERT_TRUE(conv.ok()) << conv.status().ToString();
    ASSERT_TRUE((*conv)->Run(in, out).ok());
    // x - 10 = {0..8}. (0,0): 0*-200 + 1*55 + 3*0 + 4*1 = 59; (0,1): 1*-200 + 2*55 + 5 = -85;
    // (1,0): 3*-200 + 4*55 + 7 = -373 -> clamps to 0; (1,1): 4*-200 + 5*55 + 8 = -517 -> 0. Each + 7 + 100.
    EXPECT_EQ(out.Values<uint8_t>(), (std::vector<uint8_t>{166, 22, 0, 0}));
  }
}

// The rule is the variant's: avx512's 64-channel blocks leave 8- and 16-channel
// layers to XNNPACK, avx2's 16-channel blocks keep them.
TEST(DepthwiseQ8WorthwhileTest, LeavesMostlyEmptyBlocksToXnnpack) {
  if (CpuRunsIsa(HostCpu(), Isa::kAvx512) && HostCpu().avx512vnni) {
    EXPECT_FALSE(DepthwiseQ8Worthwhile(8, 1, Isa::kAvx512));   // a block 1/8 used
    EXPECT_FALSE(DepthwiseQ8Worthwhile(16, 2, Isa::kAvx512));  // 1/4 used (stride 2 has no flat rows)
    EXPECT_TRUE(DepthwiseQ8Worthwhile(16, 1, Isa::kAvx512));   // flat rows
    EXPECT_TRUE(DepthwiseQ8Worthwhile(24, 1, Isa::kAvx512));   // 3/8 used
    EXPECT_TRUE(DepthwiseQ8Worthwhile(96, 2, Isa::kAvx512));
    EXPECT_TRUE(DepthwiseQ8Worthwhile(960, 1, Isa::kAvx512));
    EXPECT_FALSE(DepthwiseQ8Worthwhile(0, 1, Isa::kAvx512));
  }
  if (CpuRunsIsa(HostCpu(), Isa::kAvx2)) {
    EXPECT_TRUE(DepthwiseQ8Worthwhile(8, 1, Isa::kAvx2));
    EXPECT_TRUE(DepthwiseQ8Worthwhile(16, 2, Isa::kAvx2));
    EXPECT_FALSE(DepthwiseQ8Worthwhile(4, 1, Isa::kAvx2));
  }
}

TEST(DepthwiseConvQ8Test, RejectsWhatItCannotRun) {
  Quantization q = testing::PerTensor(0.1f, 0);
  TestTensor in = Output(DType::kInt8, {1, 4, 4, 8}, "input", q);
  TestTensor out = Output(DType::kInt8, {1, 4, 4, 8}, "output", q);
  // Depth multiplier 2.
  TestTensor out16 = Output(DType::kInt8, {1, 4, 4, 16}, "output", q);
  TestTensor filter16 = Output(DType::kInt8, {1, 3, 3, 16}, "filter", q);
  ConvParams same;
  same.same_padding = true;
  EXPECT_FALSE(DepthwiseConvQ8::Create(in, filter16, nullptr, out16, same, 1).ok());
  // int8 filters with a zero point, and per-channel scales on the wrong axis.
  TestTensor filter_zp = Output(DType::kInt8, {1, 3, 3, 8}, "filter", testing::PerTensor(0.1f, 3));
  EXPECT_FALSE(DepthwiseConvQ8::Create(in, filter_zp, nullptr, out, same, 1).ok());
  Quantization axis0;
  axis0.scale.assign(8, 0.1f);
  axis0.zero_point.assign(8, 0);
  axis0.axis = 0;
  TestTensor filter_axis0 = Output(DType::kInt8, {1, 3, 3, 8}, "filter", axis0);
  EXPECT_FALSE(DepthwiseConvQ8::Create(in, filter_axis0, nullptr, out, same, 1).ok());
  // Output size that VALID padding would not give.
  EXPECT_FALSE(DepthwiseConvQ8::Create(in, filter_axis0, nullptr, out, {}, 1).ok());
  TestTensor filter = Output(DType::kInt8, {1, 3, 3, 8}, "filter", q);
  EXPECT_TRUE(DepthwiseConvQ8::Create(in, filter, nullptr, out, same, 1).ok());
}

}  // namespace
}  // namespace edgepipe::engine::kernels
