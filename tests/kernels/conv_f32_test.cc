// Every variant of the fp32 CONV_2D and DEPTHWISE_CONV_2D the host runs
// (generic, avx2, avx512: each created under the ISA cap that selects it)
// against plain reference loops (TFLite's reference_ops::Conv /
// DepthwiseConv, accumulated in double). The kernels sum in another order
// with fused multiply-adds, so each element may differ by a few float ulps of
// the sum of the absolute products.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/kernels/conv_f32.h"
#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels {
namespace {

using testing::Output;
using testing::TestTensor;

struct Case {
  int n, h, w, cin, cout, kh, kw, stride_h, stride_w, dil;
  bool same;
  FusedActivation act;
  bool with_bias = true;
  bool residual = false;    // fused ADD (conv only)
  int prelu_slopes = 0;     // fused PRELU: 0 none, 1 scalar, cout per channel (conv only)
};

void Bounds(FusedActivation a, double* lo, double* hi) {
  *lo = -std::numeric_limits<double>::infinity(), *hi = std::numeric_limits<double>::infinity();
  if (a == FusedActivation::kRelu) *lo = 0;
  if (a == FusedActivation::kRelu6) *lo = 0, *hi = 6;
  if (a == FusedActivation::kReluN1To1) *lo = -1, *hi = 1;
}

// want[i] and the sum of |terms| behind it (the error scale).
struct Expected {
  std::vector<double> value, magnitude;
};

Expected Reference(const TensorView& in, const TensorView& filter, const TensorView* bias, const TensorView& out,
                   const ConvParams& p, bool depthwise, const ConvF32Epilogue& epilogue = {}) {
  const int n = in.shape[0], ih = in.shape[1], iw = in.shape[2], ic = in.shape[3];
  const int kh = filter.shape[1], kw = filter.shape[2];
  const int oh = out.shape[1], ow = out.shape[2], oc = out.shape[3];
  const testing::ReferencePadding padding = testing::ReferenceConvPadding(in, kh, kw, p, out);
  const int pad_t = padding.top, pad_l = padding.left;
  double lo, hi;
  Bounds(p.activation, &lo, &hi);
  const float* x = in.as<const float>();
  const float* w = filter.as<const float>();
  Expected e;
  e.value.resize(static_cast<size_t>(n) * oh * ow * oc);
  e.magnitude.resize(e.value.size());
  for (int b = 0; b < n; ++b)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int c = 0; c < oc; ++c) {
          double acc = bias != nullptr ? bias->as<const float>()[c] : 0.0;
          double mag = std::abs(acc);
          for (int ky = 0; ky < kh; ++ky)
            for (int kx = 0; kx < kw; ++kx) {
              const int iy = oy * p.stride_height - pad_t + ky * p.dilation_height;
              const int ix = ox * p.stride_width - pad_l + kx * p.dilation_width;
              if (iy < 0 || iy >= ih || ix < 0 || ix >= iw) continue;
              const float* px = x + ((static_cast<int64_t>(b) * ih + iy) * iw + ix) * ic;
              if (depthwise) {
                const double t = static_cast<double>(px[c]) * w[(ky * kw + kx) * oc + c];
                acc += t, mag += std::abs(t);
              } else {
                for (int ci = 0; ci < ic; ++ci) {
                  const double t = static_cast<double>(px[ci]) * w[((static_cast<int64_t>(c) * kh + ky) * kw + kx) * ic + ci];
                  acc += t, mag += std::abs(t);
                }
              }
            }
          const size_t i = ((static_cast<size_t>(b) * oh + oy) * ow + ox) * oc + c;
          if (epilogue.residual != nullptr) {
            const double r = epilogue.residual->as<const float>()[i];
            acc += r, mag += std::abs(r);
          }
          acc = std::clamp(acc, lo, hi);
          if (epilogue.prelu_alpha != nullptr && acc < 0) {
            const TensorView& alpha = *epilogue.prelu_alpha;
            const double slope = alpha.as<const float>()[alpha.num_elements() == 1 ? 0 : c];
            acc *= slope, mag *= std::abs(slope);
          }
          e.value[i] = acc;
          e.magnitude[i] = mag;
        }
  return e;
}

// One ISA cap per distinct variant the host runs, lowest first.
std::vector<Isa> HostVariantCaps() {
  std::vector<Isa> caps;
  std::vector<std::string> seen;
  TestTensor in = Output(DType::kFloat32, {1, 1, 1, 1}, "input");
  TestTensor filter = Output(DType::kFloat32, {1, 1, 1, 1}, "filter");
  TestTensor out = Output(DType::kFloat32, {1, 1, 1, 1}, "output");
  for (Isa isa : ArchIsas()) {
    if (!CpuRunsIsa(HostCpu(), isa)) continue;
    auto conv = ConvF32::Create(in, filter, nullptr, out, {}, 1, {}, isa);
    if (!conv.ok()) continue;  // the tests below then fail on Create
    const std::string name((*conv)->variant());
    if (std::find(seen.begin(), seen.end(), name) == seen.end()) seen.push_back(name), caps.push_back(isa);
  }
  return caps;
}

// Runs the parts last to first (each must depend only on its own range),
// each with scratch full of garbage.
Status RunPartsBackwards(ConvF32& conv, const TensorView& in, const TensorView& out, const TensorView* residual) {
  std::vector<std::byte> scratch(conv.scratch_bytes_per_part() + 64);
  auto* aligned = reinterpret_cast<std::byte*>((reinterpret_cast<uintptr_t>(scratch.data()) + 63) / 64 * 64);
  for (int part = conv.num_parts() - 1; part >= 0; --part) {
    std::memset(scratch.data(), 0x7f + part, scratch.size());  // large finite floats or NaNs
    EP_RETURN_IF_ERROR(conv.RunPart(in, out, part, aligned, residual));
  }
  return OkStatus();
}

void RunCase(const Case& k, bool depthwise, std::mt19937& rng, int num_parts, Isa cap) {
  SCOPED_TRACE(::testing::Message() << "cap " << IsaName(cap) << ": " << (depthwise ? "depthwise " : "conv ")
                                    << "n=" << k.n << " " << k.h << "x"
                                    << k.w << "x" << k.cin << " -> " << k.cout << " k=" << k.kh << "x" << k.kw
                                    << " s=" << k.stride_h << "," << k.stride_w << " d=" << k.dil
                                    << " same=" << k.same << " act=" << static_cast<int>(k.act)
                                    << " parts=" << num_parts);
  const int cout = depthwise ? k.cin : k.cout;
  const int oh = testing::ReferenceConvOutputSize(k.h, k.kh, k.stride_h, k.dil, k.same);
  const int ow = testing::ReferenceConvOutputSize(k.w, k.kw, k.stride_w, k.dil, k.same);
  ASSERT_GE(oh, 1);
  ASSERT_GE(ow, 1);
  // Weights ~ 1/sqrt(taps) keep outputs around [-2, 2]: RELU6 and RELU_N1_TO_1 clamp some, not all.
  const int taps = k.kh * k.kw * (depthwise ? 1 : k.cin);
  std::uniform_real_distribution<float> value(-2.0f, 2.0f), weight(-1.5f / std::sqrt(float(taps)), 1.5f / std::sqrt(float(taps)));
  TestTensor in = Output(DType::kFloat32, {k.n, k.h, k.w, k.cin}, "input");
  TestTensor filter = depthwise ? Output(DType::kFloat32, {1, k.kh, k.kw, k.cin}, "filter")
                                : Output(DType::kFloat32, {k.cout, k.kh, k.kw, k.cin}, "filter");
  TestTensor bias = Output(DType::kFloat32, {cout}, "bias");
  TestTensor out = Output(DType::kFloat32, {k.n, oh, ow, cout}, "output");
  for (size_t i = 0; i < in.view.num_elements(); ++i) in.view.as<float>()[i] = value(rng);
  for (size_t i = 0; i < filter.view.num_elements(); ++i) filter.view.as<float>()[i] = weight(rng);
  for (int c = 0; c < cout; ++c) bias.view.as<float>()[c] = value(rng) * 0.5f;
  // Poison: every output element must be written.
  for (size_t i = 0; i < out.view.num_elements(); ++i) out.view.as<float>()[i] = std::nanf("");
  ConvParams p;
  p.stride_height = k.stride_h;
  p.stride_width = k.stride_w;
  p.dilation_height = p.dilation_width = k.dil;
  p.same_padding = k.same;
  p.activation = k.act;
  const TensorView* b = k.with_bias ? &bias.view : nullptr;
  TestTensor residual = Output(DType::kFloat32, {k.n, oh, ow, cout}, "residual");
  for (size_t i = 0; i < residual.view.num_elements(); ++i) residual.view.as<float>()[i] = value(rng);
  TestTensor alpha = Output(DType::kFloat32, {1, 1, std::max(k.prelu_slopes, 1)}, "alpha");
  for (int c = 0; c < k.prelu_slopes; ++c) alpha.view.as<float>()[c] = value(rng) * 0.25f;
  ConvF32Epilogue epilogue;
  if (k.residual) epilogue.residual = &residual.view;
  if (k.prelu_slopes > 0) epilogue.prelu_alpha = &alpha.view;
  auto conv = depthwise ? ConvF32::CreateDepthwise(in, filter, b, out, p, num_parts, cap)
                        : ConvF32::Create(in, filter, b, out, p, num_parts, epilogue, cap);
  ASSERT_TRUE(conv.ok()) << conv.status().ToString();
  const Status run = num_parts > 1 ? RunPartsBackwards(**conv, in, out, epilogue.residual)
                                   : (*conv)->Run(in, out, epilogue.residual);
  ASSERT_TRUE(run.ok()) << run.ToString();
  const Expected want = Reference(in, filter, b, out, p, depthwise, epilogue);
  const std::vector<float> got = out.Values<float>();
  ASSERT_EQ(got.size(), want.value.size());
  int mismatches = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double tolerance = 1e-6 * want.magnitude[i] + 1e-7;
    if (!(std::abs(got[i] - want.value[i]) <= tolerance) && ++mismatches <= 5)
      ADD_FAILURE() << "element " << i << " (channel " << i % cout << "): got " << got[i] << ", want "
                    << want.value[i] << " (tolerance " << tolerance << ")";
  }
  EXPECT_EQ(mismatches, 0);
}

class ConvF32Test : public ::testing::Test {
 protected:
  // Each case on each variant the host runs.
  static void RunCases(std::span<const Case> cases, bool depthwise, unsigned seed, int parts_cycle = 1) {
    for (Isa cap : HostVariantCaps()) {
      std::mt19937 rng(seed);
      for (size_t i = 0; i < cases.size(); ++i)
        RunCase(cases[i], depthwise, rng, 1 + static_cast<int>(i) % parts_cycle, cap);
    }
  }
};

using A = FusedActivation;

TEST_F(ConvF32Test, EachCapChoosesItsVariant) {
  TestTensor in = Output(DType::kFloat32, {1, 3, 3, 4}, "input");
  TestTensor filter = Output(DType::kFloat32, {4, 1, 1, 4}, "filter");
  TestTensor dw_filter = Output(DType::kFloat32, {1, 3, 3, 4}, "filter");
  TestTensor out = Output(DType::kFloat32, {1, 3, 3, 4}, "output");
  ConvParams same;
  same.same_padding = true;
  int checked = 0;
  for (Isa cap : ArchIsas()) {
    if (!CpuRunsIsa(HostCpu(), cap)) continue;
    std::string want = "generic";
#if defined(__x86_64__)
    if (cap == Isa::kAvx2 || cap == Isa::kAvxVnni) want = "avx2";
    if (cap == Isa::kAvx512) want = "avx512";
#endif
    auto conv = ConvF32::Create(in, filter, nullptr, out, {}, 1, {}, cap);
    ASSERT_TRUE(conv.ok()) << conv.status().ToString();
    EXPECT_EQ((*conv)->variant(), want) << IsaName(cap);
    auto dw = ConvF32::CreateDepthwise(in, dw_filter, nullptr, out, same, 1, cap);
    ASSERT_TRUE(dw.ok()) << dw.status().ToString();
    EXPECT_EQ((*dw)->variant(), want) << IsaName(cap);
    EXPECT_EQ(ConvF32AheadOfXnnpack(cap), want != "generic") << IsaName(cap);
    ++checked;
  }
  EXPECT_GE(checked, 1);
  EXPECT_GE(HostVariantCaps().size(), 1u);
}

TEST_F(ConvF32Test, DepthwiseUnrolledSizes) {
  // 3x3 / 5x5 at strides 1 and 2 (the unrolled kernels): widths below, at and
  // off the 8-pixel tile, channels off the 16-lane block, both paddings.
  const Case cases[] = {
      {1, 96, 96, 32, 0, 5, 5, 1, 1, 1, true, A::kNone},    {1, 96, 96, 32, 0, 5, 5, 2, 2, 1, true, A::kNone},
      {1, 12, 12, 256, 0, 5, 5, 1, 1, 1, true, A::kRelu},   {1, 6, 6, 256, 0, 5, 5, 1, 1, 1, true, A::kNone},
      {1, 13, 11, 24, 0, 3, 3, 1, 1, 1, true, A::kRelu6},   {1, 64, 64, 28, 0, 3, 3, 2, 2, 1, true, A::kNone},
      {1, 9, 19, 5, 0, 3, 3, 1, 1, 1, false, A::kReluN1To1}, {2, 10, 7, 17, 0, 5, 5, 2, 2, 1, false, A::kRelu},
      {1, 3, 3, 40, 0, 3, 3, 1, 1, 1, true, A::kNone},      {1, 5, 2, 1, 0, 5, 5, 2, 2, 1, true, A::kNone},
      {1, 23, 17, 33, 0, 5, 5, 1, 1, 1, false, A::kRelu6},  {1, 16, 16, 88, 0, 3, 3, 2, 2, 1, true, A::kNone},
  };
  RunCases(cases, /*depthwise=*/true, 1);
}

TEST_F(ConvF32Test, DepthwiseGenericSizesAndDilation) {
  const Case cases[] = {
      {1, 11, 13, 20, 0, 7, 7, 1, 1, 1, true, A::kNone},  {1, 12, 10, 16, 0, 3, 5, 1, 2, 1, true, A::kRelu},
      {1, 15, 15, 9, 0, 3, 3, 1, 1, 2, true, A::kNone},   {1, 15, 14, 18, 0, 3, 3, 2, 2, 2, false, A::kRelu6},
      {1, 8, 8, 31, 0, 1, 1, 1, 1, 1, true, A::kNone},    {1, 9, 9, 16, 0, 3, 3, 3, 3, 1, true, A::kNone},
      {1, 6, 6, 8, 0, 2, 2, 2, 2, 1, false, A::kNone, /*with_bias=*/false},
  };
  RunCases(cases, /*depthwise=*/true, 2);
}

TEST_F(ConvF32Test, PointwiseShapes) {
  // Channel counts on and off the 16/64 tiles, pixel counts off the 6/8-row micro-tiles.
  const Case cases[] = {
      {1, 96, 96, 32, 32, 1, 1, 1, 1, 1, true, A::kNone},    {1, 48, 48, 32, 64, 1, 1, 1, 1, 1, true, A::kNone},
      {1, 12, 12, 256, 256, 1, 1, 1, 1, 1, true, A::kRelu},  {1, 12, 12, 256, 108, 1, 1, 1, 1, 1, true, A::kNone},
      {1, 24, 24, 128, 2, 1, 1, 1, 1, 1, true, A::kNone},    {1, 16, 16, 88, 6, 1, 1, 1, 1, 1, true, A::kRelu6},
      {1, 7, 5, 3, 5, 1, 1, 1, 1, 1, false, A::kReluN1To1},  {2, 9, 11, 17, 33, 1, 1, 1, 1, 1, true, A::kNone},
      {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, A::kNone},        {1, 13, 3, 42, 48, 1, 1, 1, 1, 1, true, A::kRelu},
      {1, 5, 7, 300, 80, 1, 1, 1, 1, 1, true, A::kNone},     {1, 10, 10, 16, 130, 1, 1, 1, 1, 1, true, A::kNone},
  };
  RunCases(cases, /*depthwise=*/false, 3);
}

TEST_F(ConvF32Test, GeneralShapesWithPaddingAndStride) {
  const Case cases[] = {
      {1, 192, 192, 3, 32, 5, 5, 2, 2, 1, true, A::kNone},  {1, 128, 128, 3, 24, 5, 5, 2, 2, 1, true, A::kRelu},
      {1, 15, 15, 3, 32, 3, 3, 2, 2, 1, true, A::kRelu6},   {1, 12, 9, 5, 19, 3, 3, 1, 1, 1, true, A::kNone},
      {2, 11, 13, 8, 20, 5, 3, 2, 1, 1, true, A::kRelu},    {1, 10, 10, 7, 9, 3, 3, 1, 1, 1, false, A::kNone},
      {1, 17, 17, 4, 40, 3, 3, 2, 2, 2, true, A::kNone},    {1, 8, 8, 33, 17, 2, 2, 2, 2, 1, false, A::kRelu6},
      {1, 9, 9, 30, 70, 1, 1, 2, 2, 1, true, A::kNone},     {1, 6, 6, 16, 16, 3, 3, 3, 3, 1, true, A::kNone},
  };
  RunCases(cases, /*depthwise=*/false, 4);
}

TEST_F(ConvF32Test, PartsAndRandomShapes) {
  for (Isa cap : HostVariantCaps()) {
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> dim(1, 20), ch(1, 80), kd(1, 5), st(1, 2), bit(0, 1), act(0, 3);
    for (int i = 0; i < 60; ++i) {
      Case c{1, dim(rng), dim(rng), ch(rng), ch(rng), kd(rng), kd(rng), st(rng), st(rng), 1, bit(rng) == 1,
             static_cast<FusedActivation>(act(rng)), bit(rng) == 1};
      if (bit(rng) == 1) c.kw = c.kh, c.stride_w = c.stride_h;  // the unrolled depthwise kernels want square ones
      if (!c.same && (c.h < c.kh || c.w < c.kw)) c.same = true;
      RunCase(c, /*depthwise=*/i % 2 == 0, rng, 1 + i % 3, cap);
    }
  }
}

TEST_F(ConvF32Test, FusedAddAndPrelu) {
  // residual and/or PRELU (per channel or one slope), with and without a clamp in between.
  const Case cases[] = {
      {1, 96, 96, 32, 32, 1, 1, 1, 1, 1, true, A::kNone, true, true, 32},
      {1, 12, 12, 256, 256, 1, 1, 1, 1, 1, true, A::kNone, true, true, 256},
      {1, 13, 7, 20, 37, 1, 1, 1, 1, 1, true, A::kRelu6, true, true, 37},
      {1, 9, 11, 17, 70, 1, 1, 1, 1, 1, true, A::kNone, true, true, 0},
      {1, 9, 11, 17, 70, 1, 1, 1, 1, 1, true, A::kReluN1To1, true, false, 1},
      {1, 40, 40, 3, 32, 5, 5, 2, 2, 1, true, A::kNone, true, false, 32},
      {2, 11, 10, 6, 19, 3, 3, 1, 1, 1, true, A::kRelu, true, true, 0},
  };
  RunCases(cases, /*depthwise=*/false, 6, /*parts_cycle=*/2);
}

TEST_F(ConvF32Test, RejectsMismatchedShapes) {
  TestTensor in = Output(DType::kFloat32, {1, 4, 4, 8}, "input");
  TestTensor filter = Output(DType::kFloat32, {4, 1, 1, 6}, "filter");
  TestTensor out = Output(DType::kFloat32, {1, 4, 4, 4}, "output");
  EXPECT_FALSE(ConvF32::Create(in, filter, nullptr, out, {}, 1).ok());
  TestTensor dw_filter = Output(DType::kFloat32, {1, 3, 3, 4}, "filter");
  EXPECT_FALSE(ConvF32::CreateDepthwise(in, dw_filter, nullptr, out, {}, 1).ok());
  TestTensor small = Output(DType::kFloat32, {1, 3, 4, 8}, "output");
  TestTensor dw8 = Output(DType::kFloat32, {1, 3, 3, 8}, "filter");
  ConvParams same;
  same.same_padding = true;
  EXPECT_FALSE(ConvF32::CreateDepthwise(in, dw8, nullptr, small, same, 1).ok());
  // Running on a tensor of another shape than planned is an error, not a crash.
  auto conv = ConvF32::CreateDepthwise(in, dw8, nullptr, Output(DType::kFloat32, {1, 4, 4, 8}, "o"), same, 1);
  ASSERT_TRUE(conv.ok());
  EXPECT_FALSE((*conv)->Run(in, small).ok());
  // A planned residual must be given, with the output's shape; slopes must fit the channels.
  TestTensor pw = Output(DType::kFloat32, {8, 1, 1, 8}, "filter");
  TestTensor out8 = Output(DType::kFloat32, {1, 4, 4, 8}, "o");
  TestTensor slopes3 = Output(DType::kFloat32, {3}, "alpha");
  EXPECT_FALSE(ConvF32::Create(in, pw, nullptr, out8, {}, 1, {.residual = nullptr, .prelu_alpha = &slopes3.view}).ok());
  EXPECT_FALSE(ConvF32::Create(in, pw, nullptr, out8, {}, 1, {.residual = &small.view}).ok());
  auto with_residual = ConvF32::Create(in, pw, nullptr, out8, {}, 1, {.residual = &out8.view});
  ASSERT_TRUE(with_residual.ok()) << with_residual.status().ToString();
  EXPECT_FALSE((*with_residual)->Run(in, out8).ok());
  EXPECT_FALSE((*with_residual)->Run(in, out8, &small.view).ok());
}

}  // namespace
}  // namespace edgepipe::engine::kernels
