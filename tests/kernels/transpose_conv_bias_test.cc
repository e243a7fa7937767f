// Convolution2DTransposeBias: hand-computed outputs and an output-side (gather)
// reference loop, against the kernel's input-side scatter.
#include <random>

#include "engine/kernels/mediapipe_ops.h"
#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

TEST(TransposeConvBiasTest, ParsesTfLiteTransposeConvParams) {
  const std::vector<uint8_t> bytes = RawInts({1, 2, 3});  // SAME, stride_width 2, stride_height 3
  auto parsed = ParseTransposeConvBiasOptions(bytes.data(), bytes.size());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(parsed->same_padding);
  EXPECT_EQ(parsed->stride_width, 2);
  EXPECT_EQ(parsed->stride_height, 3);
  // Newer TFLite headers append fields (activation): ignored.
  const std::vector<uint8_t> longer = RawInts({2, 1, 1, 0, 0});
  parsed = ParseTransposeConvBiasOptions(longer.data(), longer.size());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_FALSE(parsed->same_padding);
}

TEST(TransposeConvBiasTest, RejectsMalformedOptions) {
  const std::vector<uint8_t> good = RawInts({1, 2, 2});
  auto short_bytes = ParseTransposeConvBiasOptions(good.data(), 11);
  ASSERT_FALSE(short_bytes.ok());
  EXPECT_THAT(short_bytes.status().message(), HasSubstr("at least 12"));
  EXPECT_FALSE(ParseTransposeConvBiasOptions(nullptr, 0).ok());
  for (const auto& fields : {std::vector<int32_t>{0, 1, 1}, {3, 1, 1}, {1, 0, 1}, {1, 1, -2}}) {
    const std::vector<uint8_t> bytes = RawInts(fields);
    EXPECT_FALSE(ParseTransposeConvBiasOptions(bytes.data(), bytes.size()).ok())
        << fields[0] << " " << fields[1] << " " << fields[2];
  }
}

TEST(TransposeConvBiasTest, Stride2SameWritesOneBlockPerInput) {
  // 2x2 input, 2x2 filter, stride 2, SAME: pad = max(0, 2 - 1 % 2 - 1) = 0, out 4x4.
  TestTensor in = Make<float>(DType::kFloat32, {1, 2, 2, 1}, {1, 2, 3, 4}, "in");
  TestTensor w = Make<float>(DType::kFloat32, {1, 2, 2, 1}, {1, 10, 100, 1000}, "w");
  TestTensor b = Make<float>(DType::kFloat32, {1}, {0.5f}, "b");
  TestTensor out = Output(DType::kFloat32, {1, 4, 4, 1});
  ASSERT_THAT(TransposeConvBias({true, 2, 2}, in, w, b, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAreArray<float>({1.5f, 10.5f, 2.5f, 20.5f,        //
                                                             100.5f, 1000.5f, 200.5f, 2000.5f,  //
                                                             3.5f, 30.5f, 4.5f, 40.5f,          //
                                                             300.5f, 3000.5f, 400.5f, 4000.5f}));
}

TEST(TransposeConvBiasTest, OverlappingWindowsAdd) {
  // Input 2x1 {1, 2}, filter 2x1 {3, 5}, stride 1, VALID: out 3x1 =
  // {1*3, 1*5 + 2*3, 2*5} + bias 1.
  TestTensor in = Make<float>(DType::kFloat32, {1, 2, 1, 1}, {1, 2}, "in");
  TestTensor w = Make<float>(DType::kFloat32, {1, 2, 1, 1}, {3, 5}, "w");
  TestTensor b = Make<float>(DType::kFloat32, {1}, {1}, "b");
  TestTensor out = Output(DType::kFloat32, {1, 3, 1, 1});
  ASSERT_THAT(TransposeConvBias({false, 1, 1}, in, w, b, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAreArray<float>({4, 12, 11}));
}

TEST(TransposeConvBiasTest, SamePaddingCropsAgainstGatherReference) {
  // 3x3 input, 3x3 filter, stride 2, SAME: total pad 3 - 2 % 2 - 1 = 2, out 2*2 + 3 - 2 = 5,
  // one row/column cut at the top/left. Two batches, 2 -> 3 channels.
  const int n = 2, ih = 3, iw = 3, ic = 2, oc = 3, k = 3, s = 2, oh = 5, ow = 5, top = 1;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(n * ih * iw * ic), f(oc * k * k * ic), bias(oc);
  for (float& v : x) v = dist(rng);
  for (float& v : f) v = dist(rng);
  for (float& v : bias) v = dist(rng);
  TestTensor in = Make<float>(DType::kFloat32, {n, ih, iw, ic}, x, "in");
  TestTensor w = Make<float>(DType::kFloat32, {oc, k, k, ic}, f, "w");
  TestTensor b = Make<float>(DType::kFloat32, {oc}, bias, "b");
  TestTensor out = Output(DType::kFloat32, {n, oh, ow, oc});
  ASSERT_THAT(TransposeConvBias({true, s, s}, in, w, b, out), IsOk());
  const std::vector<float> got = out.Values<float>();
  // Gather: output (y, x) takes input (iy, ix) through tap (y + top - iy*s, x + top - ix*s).
  for (int bn = 0; bn < n; ++bn)
    for (int y = 0; y < oh; ++y)
      for (int xo = 0; xo < ow; ++xo)
        for (int o = 0; o < oc; ++o) {
          double want = bias[o];
          for (int iy = 0; iy < ih; ++iy)
            for (int ix = 0; ix < iw; ++ix) {
              const int ky = y + top - iy * s, kx = xo + top - ix * s;
              if (ky < 0 || ky >= k || kx < 0 || kx >= k) continue;
              for (int c = 0; c < ic; ++c)
                want += double{x[((bn * ih + iy) * iw + ix) * ic + c]} * f[((o * k + ky) * k + kx) * ic + c];
            }
          EXPECT_NEAR(got[((bn * oh + y) * ow + xo) * oc + o], want, 1e-5) << bn << " " << y << " " << xo << " " << o;
        }
}

TEST(TransposeConvBiasTest, ShapeErrorsNameTheTensor) {
  TestTensor in = Make<float>(DType::kFloat32, {1, 2, 2, 1}, {1, 2, 3, 4}, "in");
  TestTensor w = Make<float>(DType::kFloat32, {1, 2, 2, 1}, {1, 1, 1, 1}, "w");
  TestTensor b = Make<float>(DType::kFloat32, {1}, {0}, "b");
  TestTensor wrong_out = Output(DType::kFloat32, {1, 3, 4, 1}, "wrong_out");
  EXPECT_THAT(TransposeConvBias({true, 2, 2}, in, w, b, wrong_out), IsErrorNaming("wrong_out"));
  TestTensor bad_bias = Make<float>(DType::kFloat32, {2}, {0, 0}, "bad_bias");
  TestTensor out = Output(DType::kFloat32, {1, 4, 4, 1});
  EXPECT_THAT(TransposeConvBias({true, 2, 2}, in, w, bad_bias, out), IsErrorNaming("bad_bias"));
  TestTensor int_in = Make<int32_t>(DType::kInt32, {1, 2, 2, 1}, {1, 2, 3, 4}, "int_in");
  EXPECT_THAT(TransposeConvBias({true, 2, 2}, int_in, w, b, out), IsErrorNaming("int_in"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
