// The hybrid ops and the per-channel int8 FULLY_CONNECTED (hybrid_ops.h), and
// the int8 GEMM under them (q8_gemm.h), every variant this CPU runs:
//  - TFLite's input quantization on hand-computed values;
//  - the GEMM against a scalar loop (identical int32 sums);
//  - each op against TFLite's reference loops (reference HybridConvPerChannel,
//    DepthwiseConvHybridPerChannel, MatrixBatchVectorMultiplyAccumulate,
//    FullyConnectedPerChannel with XNNPACK's fp32 requantization): the integer
//    sums are exact and the float epilogue is the same expression, so the
//    outputs must be equal, for every variant and number of parts;
//  - and the hybrid outputs stay close to the float op on the dequantized
//    weights (the input quantization's error only).
// LiteRT itself is compared in tests/python/test_hybrid_ops_vs_litert.py.
#include <algorithm>
#include <cmath>
#include <random>

#include "engine/kernels/conv_q8.h"
#include "engine/kernels/hybrid_ops.h"
#include "engine/kernels/kernel_util.h"
#include "engine/kernels/q8_gemm.h"
#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels {
namespace {

using testing::Output;
using testing::TestTensor;

TEST(HybridQuantizeTest, SymmetricRoundsHalfAwayFromZero) {
  const float x[] = {-1.0f, 0.5f, 2.0f, 0.0f};
  int8_t q[4];
  float scale = 0;
  SymmetricQuantizeFloats(x, 4, q, &scale);
  EXPECT_FLOAT_EQ(scale, 2.0f / 127.0f);
  // x * 127 / 2: -63.5 -> -64, 31.75 -> 32, 127, 0.
  EXPECT_EQ(q[0], -64);
  EXPECT_EQ(q[1], 32);
  EXPECT_EQ(q[2], 127);
  EXPECT_EQ(q[3], 0);
  const float zeros[] = {0.0f, 0.0f};
  SymmetricQuantizeFloats(zeros, 2, q, &scale);
  EXPECT_EQ(scale, 1.0f);
  EXPECT_EQ(q[0], 0);
}

TEST(HybridQuantizeTest, AsymmetricNudgesTheZeroPoint) {
  const float x[] = {-1.0f, 3.0f, 0.0f};
  int8_t q[3];
  float scale = 0;
  int32_t zp = 99;
  AsymmetricQuantizeFloats(x, 3, q, &scale, &zp);
  // scale 4/255; zero point -128 + 63.75 = -64.25 -> -64.
  EXPECT_FLOAT_EQ(scale, 4.0f / 255.0f);
  EXPECT_EQ(zp, -64);
  EXPECT_EQ(q[0], -128);  // -64 - 63.75 = -127.75
  EXPECT_EQ(q[1], 127);   // -64 + 191.25, clamped
  EXPECT_EQ(q[2], -64);
  // Positive values only: the range still includes 0, the zero point is -128.
  const float pos[] = {1.0f, 2.0f};
  AsymmetricQuantizeFloats(pos, 2, q, &scale, &zp);
  EXPECT_EQ(zp, -128);
  EXPECT_EQ(q[1], 127);
}

TEST(Int8GemmTest, EveryVariantMatchesTheScalarSums) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> byte(-128, 127);
  const std::vector<Isa> isas = Int8Gemm::HostIsas();
  EXPECT_EQ(isas.back(), Isa::kGeneric);
  for (auto [rows, n, k] : {std::tuple{1, 10, 1280}, {3, 7, 33}, {9, 130, 200}, {4, 4, 64}, {1, 1, 1}}) {
    std::vector<int8_t> w(static_cast<size_t>(n) * k);
    for (auto& v : w) v = static_cast<int8_t>(byte(rng));
    for (Isa isa : isas) {
      SCOPED_TRACE(::testing::Message() << IsaName(isa) << " rows=" << rows << " n=" << n << " k=" << k);
      auto gemm = Int8Gemm::Create(w.data(), n, k, isa);
      ASSERT_TRUE(gemm.ok()) << gemm.status().ToString();
      EXPECT_EQ((*gemm)->variant(), IsaName(isa));
      const int kp = (*gemm)->k_padded();
      // Bytes past k hold garbage: the zero padded weights must ignore them.
      std::vector<int8_t> x(static_cast<size_t>(rows) * kp);
      for (auto& v : x) v = static_cast<int8_t>(byte(rng));
      std::vector<int32_t> acc(static_cast<size_t>(rows) * n, -1);
      // Two channel ranges, as two parts would run them.
      const int split = n / 2;
      (*gemm)->Run(x.data(), rows, 0, split, acc.data(), n);
      (*gemm)->Run(x.data(), rows, split, n, acc.data() + split, n);
      for (int r = 0; r < rows; ++r)
        for (int c = 0; c < n; ++c) {
          int32_t want = 0;
          for (int i = 0; i < k; ++i) want += x[r * kp + i] * w[c * k + i];
          ASSERT_EQ(acc[r * n + c], want) << "row " << r << " channel " << c;
        }
    }
  }
}

// Random float data and per-channel int8 weights (scales spread 0.5-1.5x).
struct HybridData {
  std::vector<float> x, bias, scales;
  std::vector<int8_t> w;
};
HybridData MakeData(std::mt19937& rng, size_t inputs, size_t weights, int channels, bool positive_inputs) {
  HybridData d;
  std::normal_distribution<float> normal(0.3f, 1.0f);
  std::uniform_int_distribution<int> byte(-127, 127);
  std::uniform_real_distribution<float> spread(0.005f, 0.015f);
  for (size_t i = 0; i < inputs; ++i) d.x.push_back(positive_inputs ? std::abs(normal(rng)) : normal(rng));
  for (size_t i = 0; i < weights; ++i) d.w.push_back(static_cast<int8_t>(byte(rng)));
  for (int c = 0; c < channels; ++c) d.scales.push_back(spread(rng)), d.bias.push_back(normal(rng));
  return d;
}

Quantization WeightQuant(const std::vector<float>& scales, int axis) {
  Quantization q;
  q.scale = scales;
  q.zero_point.assign(scales.size(), 0);
  q.axis = axis;
  return q;
}

// reference_ops::HybridConvPerChannel / DepthwiseConvHybridPerChannel: sum of
// w * (q - zero point) over the window, times filter scale, times image scale,
// plus bias, clamped.
std::vector<float> ReferenceHybridConv(const HybridData& d, int n, int h, int w_, int cin, int cout, int kh, int kw,
                                       const ConvParams& p, int oh, int ow, bool depthwise, bool asymmetric) {
  testing::ReferencePadding pad;
  {
    TestTensor in = Output(DType::kFloat32, {n, h, w_, cin}), out = Output(DType::kFloat32, {n, oh, ow, cout});
    pad = testing::ReferenceConvPadding(in.view, kh, kw, p, out.view);
  }
  const FloatRange range = FloatActivationRange(p.activation);
  const int64_t image = static_cast<int64_t>(h) * w_ * cin;
  std::vector<float> out(static_cast<size_t>(n) * oh * ow * cout);
  const int m = depthwise ? cout / cin : 1;
  for (int b = 0; b < n; ++b) {
    std::vector<int8_t> q(image);
    float s = 0;
    int32_t zp = 0;
    if (asymmetric) {
      AsymmetricQuantizeFloats(d.x.data() + b * image, image, q.data(), &s, &zp);
    } else {
      SymmetricQuantizeFloats(d.x.data() + b * image, image, q.data(), &s);
    }
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int c = 0; c < cout; ++c) {
          int32_t acc = 0;
          for (int ky = 0; ky < kh; ++ky)
            for (int kx = 0; kx < kw; ++kx) {
              const int iy = oy * p.stride_height - pad.top + ky * p.dilation_height;
              const int ix = ox * p.stride_width - pad.left + kx * p.dilation_width;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w_) continue;
              const int8_t* px = q.data() + (static_cast<int64_t>(iy) * w_ + ix) * cin;
              if (depthwise) {
                acc += (px[c / m] - zp) * d.w[(ky * kw + kx) * cout + c];
              } else {
                for (int ci = 0; ci < cin; ++ci) acc += (px[ci] - zp) * d.w[((c * kh + ky) * kw + kx) * cin + ci];
              }
            }
          const float v = static_cast<float>(acc) * d.scales[c] * s + d.bias[c];
          out[((static_cast<int64_t>(b) * oh + oy) * ow + ox) * cout + c] = std::min(range.max, std::max(range.min, v));
        }
  }
  return out;
}

// The float op on the dequantized weights, to bound the quantization error.
std::vector<float> FloatConv(const HybridData& d, int n, int h, int w_, int cin, int cout, int kh, int kw,
                             const ConvParams& p, int oh, int ow, bool depthwise) {
  testing::ReferencePadding pad;
  {
    TestTensor in = Output(DType::kFloat32, {n, h, w_, cin}), out = Output(DType::kFloat32, {n, oh, ow, cout});
    pad = testing::ReferenceConvPadding(in.view, kh, kw, p, out.view);
  }
  const FloatRange range = FloatActivationRange(p.activation);
  std::vector<float> out(static_cast<size_t>(n) * oh * ow * cout);
  const int m = depthwise ? cout / cin : 1;
  for (int b = 0; b < n; ++b)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int c = 0; c < cout; ++c) {
          double acc = d.bias[c];
          for (int ky = 0; ky < kh; ++ky)
            for (int kx = 0; kx < kw; ++kx) {
              const int iy = oy * p.stride_height - pad.top + ky * p.dilation_height;
              const int ix = ox * p.stride_width - pad.left + kx * p.dilation_width;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w_) continue;
              const float* px = d.x.data() + ((static_cast<int64_t>(b) * h + iy) * w_ + ix) * cin;
              if (depthwise) {
                acc += px[c / m] * d.scales[c] * d.w[(ky * kw + kx) * cout + c];
              } else {
                for (int ci = 0; ci < cin; ++ci)
                  acc += px[ci] * d.scales[c] * d.w[((c * kh + ky) * kw + kx) * cin + ci];
              }
            }
          out[((static_cast<int64_t>(b) * oh + oy) * ow + ox) * cout + c] =
              std::min(range.max, std::max(range.min, static_cast<float>(acc)));
        }
  return out;
}

// Max |a - b| relative to max |b|.
double RelativeError(const std::vector<float>& a, const std::vector<float>& b) {
  double err = 0, mag = 1e-6;
  for (size_t i = 0; i < a.size(); ++i) {
    err = std::max(err, std::abs(static_cast<double>(a[i]) - b[i]));
    mag = std::max(mag, std::abs(static_cast<double>(b[i])));
  }
  return err / mag;
}

struct ConvCase {
  int n, h, w, cin, cout, kh, kw, stride, dil;
  bool same;
  FusedActivation act;
  bool depthwise, per_channel;
};

TEST(HybridConvTest, EveryVariantAndPartCountMatchesTheReference) {
  std::mt19937 rng(11);
  const ConvCase cases[] = {
      {1, 13, 13, 32, 64, 3, 3, 1, 1, false, FusedActivation::kRelu, false, true},  // the Fashion CNN's conv 2
      {2, 9, 7, 5, 6, 3, 3, 2, 1, true, FusedActivation::kNone, false, true},
      {1, 8, 8, 16, 16, 1, 1, 1, 1, true, FusedActivation::kRelu6, false, false},  // one scale: symmetric
      {1, 10, 10, 3, 8, 5, 5, 1, 2, true, FusedActivation::kNone, false, true},
      {1, 12, 12, 16, 16, 3, 3, 1, 1, true, FusedActivation::kRelu6, true, true},
      {2, 9, 9, 4, 8, 3, 3, 2, 1, true, FusedActivation::kNone, true, true},  // depth multiplier 2
      {1, 11, 11, 8, 8, 5, 5, 1, 2, false, FusedActivation::kReluN1To1, true, false},
  };
  for (const ConvCase& k : cases) {
    ConvParams p;
    p.stride_height = p.stride_width = k.stride;
    p.dilation_height = p.dilation_width = k.dil;
    p.same_padding = k.same;
    p.activation = k.act;
    const int oh = testing::ReferenceConvOutputSize(k.h, k.kh, k.stride, k.dil, k.same);
    const int ow = testing::ReferenceConvOutputSize(k.w, k.kw, k.stride, k.dil, k.same);
    HybridData d = MakeData(rng, static_cast<size_t>(k.n) * k.h * k.w * k.cin,
                            static_cast<size_t>(k.cout) * k.kh * k.kw * (k.depthwise ? 1 : k.cin), k.cout, false);
    if (!k.per_channel) std::fill(d.scales.begin(), d.scales.end(), d.scales[0]);
    TestTensor in = Output(DType::kFloat32, {k.n, k.h, k.w, k.cin}, "input");
    in.Fill(d.x);
    std::vector<int32_t> wshape = k.depthwise ? std::vector<int32_t>{1, k.kh, k.kw, k.cout}
                                              : std::vector<int32_t>{k.cout, k.kh, k.kw, k.cin};
    Quantization wq = k.per_channel ? WeightQuant(d.scales, k.depthwise ? 3 : 0) : WeightQuant({d.scales[0]}, 0);
    TestTensor filter = Output(DType::kInt8, wshape, "filter", wq);
    filter.Fill(d.w);
    TestTensor bias = Output(DType::kFloat32, {k.cout}, "bias");
    bias.Fill(d.bias);
    // TFLite: per-channel scales quantize the input asymmetrically; depthwise always does.
    const std::vector<float> want = ReferenceHybridConv(d, k.n, k.h, k.w, k.cin, k.cout, k.kh, k.kw, p, oh, ow,
                                                        k.depthwise, k.per_channel || k.depthwise);
    const std::vector<float> exact = FloatConv(d, k.n, k.h, k.w, k.cin, k.cout, k.kh, k.kw, p, oh, ow, k.depthwise);
    // The input's 8-bit quantization error only (a few % of the range at most).
    EXPECT_LT(RelativeError(want, exact), 0.08) << "the reference strays from the float op: " << k.h << "x" << k.w
                                                << "x" << k.cin << " dw=" << k.depthwise;
    const std::vector<Isa> isas = k.depthwise ? std::vector<Isa>{Isa::kGeneric} : Int8Gemm::HostIsas();
    for (Isa isa : isas)
      for (int parts : {1, 3}) {
        SCOPED_TRACE(::testing::Message() << IsaName(isa) << " parts=" << parts << " " << k.h << "x" << k.w << "x"
                                          << k.cin << "->" << k.cout << " dw=" << k.depthwise);
        TestTensor out = Output(DType::kFloat32, {k.n, oh, ow, k.cout});
        Status s;
        if (k.depthwise) {
          auto conv = HybridDepthwiseConv::Create(in, filter, &bias.view, out, p, k.cout / k.cin, parts);
          ASSERT_TRUE(conv.ok()) << conv.status().ToString();
          s = (*conv)->Run(in, out);
        } else {
          auto conv = HybridConv::Create(in, filter, &bias.view, out, p, parts, isa);
          ASSERT_TRUE(conv.ok()) << conv.status().ToString();
          EXPECT_EQ((*conv)->variant(), IsaName(isa));
          s = (*conv)->Run(in, out);
        }
        ASSERT_TRUE(s.ok()) << s.ToString();
        const std::vector<float> got = out.Values<float>();
        for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << "element " << i;
      }
  }
}

// MatrixBatchVectorMultiplyAccumulate after BatchQuantizeFloats.
std::vector<float> ReferenceHybridFc(const HybridData& d, int rows, int n, int k, bool asymmetric,
                                     FusedActivation act) {
  const FloatRange range = FloatActivationRange(act);
  std::vector<float> out(static_cast<size_t>(rows) * n);
  for (int r = 0; r < rows; ++r) {
    std::vector<int8_t> q(k);
    float s = 0;
    int32_t zp = 0;
    if (asymmetric) {
      AsymmetricQuantizeFloats(d.x.data() + r * k, k, q.data(), &s, &zp);
    } else {
      SymmetricQuantizeFloats(d.x.data() + r * k, k, q.data(), &s);
    }
    for (int c = 0; c < n; ++c) {
      int32_t dot = 0, sum = 0;
      for (int i = 0; i < k; ++i) dot += q[i] * d.w[c * k + i], sum += d.w[c * k + i];
      const float v = d.bias[c] + static_cast<float>(dot - zp * sum) * (s * d.scales[c]);
      out[r * n + c] = std::min(range.max, std::max(range.min, v));
    }
  }
  return out;
}

TEST(HybridFullyConnectedTest, EveryVariantMatchesTheReferenceSymmetricAndAsymmetric) {
  std::mt19937 rng(3);
  for (auto [rows, n, k] : {std::tuple{1, 128, 1600}, {1, 10, 128}, {5, 9, 70}}) {
    for (bool asymmetric : {false, true}) {
      HybridData d = MakeData(rng, static_cast<size_t>(rows) * k, static_cast<size_t>(n) * k, n, asymmetric);
      TestTensor in = Output(DType::kFloat32, {rows, k}, "input");
      in.Fill(d.x);
      TestTensor filter = Output(DType::kInt8, {n, k}, "filter", WeightQuant(d.scales, 0));
      filter.Fill(d.w);
      TestTensor bias = Output(DType::kFloat32, {n}, "bias");
      bias.Fill(d.bias);
      const std::vector<float> want = ReferenceHybridFc(d, rows, n, k, asymmetric, FusedActivation::kRelu);
      for (Isa isa : Int8Gemm::HostIsas())
        for (int parts : {1, 4}) {
          SCOPED_TRACE(::testing::Message() << IsaName(isa) << " parts=" << parts << " rows=" << rows << " n=" << n
                                            << " k=" << k << " asymmetric=" << asymmetric);
          TestTensor out = Output(DType::kFloat32, {rows, n});
          auto fc = HybridFullyConnected::Create(in, filter, &bias.view, out, FusedActivation::kRelu, asymmetric, parts, isa);
          ASSERT_TRUE(fc.ok()) << fc.status().ToString();
          ASSERT_TRUE((*fc)->Run(in, out).ok());
          const std::vector<float> got = out.Values<float>();
          for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << "element " << i;
        }
    }
  }
}

TEST(HybridOpsTest, BadOperandsAreErrorsNamingTheTensor) {
  TestTensor in = Output(DType::kFloat32, {1, 8}, "x");
  TestTensor asym = Output(DType::kInt8, {4, 8}, "asym_weights", testing::PerTensor(0.1f, 3));
  TestTensor out = Output(DType::kFloat32, {1, 4}, "y");
  EXPECT_THAT(HybridFullyConnected::Create(in, asym, nullptr, out, FusedActivation::kNone, false, 1, Isa::kGeneric)
                  .status(),
              testing::IsErrorNaming("asym_weights"));
  TestTensor wide = Output(DType::kInt8, {4, 5}, "w5", testing::PerTensor(0.1f, 0));
  EXPECT_THAT(HybridFullyConnected::Create(in, wide, nullptr, out, FusedActivation::kNone, false, 1, Isa::kGeneric)
                  .status(),
              testing::IsErrorNaming("x"));
}

TEST(FullyConnectedQ8Test, PerChannelWeightsMatchTheReferenceOnEveryVariant) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> byte(-128, 127);
  std::uniform_real_distribution<float> spread(0.5f, 1.5f);
  for (auto [rows, n, k] : {std::tuple{1, 128, 1600}, {1, 10, 128}, {3, 17, 40}}) {
    const float in_scale = 0.02f, w_base = 0.004f;
    const int32_t in_zp = -7, out_zp = 5;
    const float out_scale = in_scale * w_base * 74.0f * 74.0f * std::sqrt(static_cast<float>(k)) / 40.0f;
    std::vector<float> scales;
    for (int c = 0; c < n; ++c) scales.push_back(w_base * spread(rng));
    TestTensor in = Output(DType::kInt8, {rows, k}, "input", testing::PerTensor(in_scale, in_zp));
    TestTensor filter = Output(DType::kInt8, {n, k}, "filter", WeightQuant(scales, 0));
    TestTensor bias = Output(DType::kInt32, {n}, "bias");
    for (size_t i = 0; i < in.view.num_elements(); ++i) in.view.as<int8_t>()[i] = static_cast<int8_t>(byte(rng));
    for (size_t i = 0; i < filter.view.num_elements(); ++i)
      filter.view.as<int8_t>()[i] = static_cast<int8_t>(byte(rng));
    for (int c = 0; c < n; ++c) bias.view.as<int32_t>()[c] = byte(rng) * 50;
    // reference_integer_ops::FullyConnectedPerChannel with XNNPACK's fp32 requantization.
    std::vector<int8_t> want(static_cast<size_t>(rows) * n);
    const internal::IntRange range = internal::QuantizedActivationRange(FusedActivation::kRelu6, DType::kInt8,
                                                                        {out_scale, out_zp});
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < n; ++c) {
        int32_t acc = bias.view.as<int32_t>()[c];
        for (int i = 0; i < k; ++i)
          acc += (in.view.as<int8_t>()[r * k + i] - in_zp) * filter.view.as<int8_t>()[c * k + i];
        want[r * n + c] = static_cast<int8_t>(
            testing::ReferenceRequantizeFp32(acc, in_scale * scales[c] / out_scale, out_zp, range.min, range.max));
      }
    int variants = 0;
    for (Isa isa : ConvQ8::HostIsas())
      for (int parts : {1, 3}) {
        SCOPED_TRACE(::testing::Message() << IsaName(isa) << " parts=" << parts << " rows=" << rows << " n=" << n);
        TestTensor out = Output(DType::kInt8, {rows, n}, "output", testing::PerTensor(out_scale, out_zp));
        auto fc = FullyConnectedQ8::Create(in, filter, &bias.view, out, FusedActivation::kRelu6, parts, isa);
        ASSERT_TRUE(fc.ok()) << fc.status().ToString();
        EXPECT_EQ((*fc)->variant(), IsaName(isa));
        ASSERT_TRUE((*fc)->Run(in, out).ok());
        EXPECT_EQ(out.Values<int8_t>(), want);
        ++variants;
      }
    EXPECT_GE(variants, 2);
  }
}

}  // namespace
}  // namespace edgepipe::engine::kernels
