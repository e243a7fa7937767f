// MaxPoolingWithArgmax2D: hand-computed maxima and window positions.
#include "engine/kernels/mediapipe_ops.h"
#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

MediaPipePoolOptions Pool(bool same, int stride, int filter, FusedActivation act = FusedActivation::kNone) {
  MediaPipePoolOptions o;
  o.same_padding = same;
  o.stride_width = o.stride_height = stride;
  o.filter_width = o.filter_height = filter;
  o.activation = act;
  return o;
}

TEST(MediaPipePoolOptionsTest, ParsesTfLitePoolParams) {
  // padding VALID, stride_w 2, stride_h 3, filter_w 4, filter_h 5, relu6, then TFLite's computed padding.
  const std::vector<uint8_t> bytes = RawInts({2, 2, 3, 4, 5, 3, 0, 0, 0, 0});
  auto o = ParseMediaPipePoolOptions(bytes.data(), bytes.size(), "MaxPoolingWithArgmax2D");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_FALSE(o->same_padding);
  EXPECT_EQ(o->stride_width, 2);
  EXPECT_EQ(o->stride_height, 3);
  EXPECT_EQ(o->filter_width, 4);
  EXPECT_EQ(o->filter_height, 5);
  EXPECT_EQ(o->activation, FusedActivation::kRelu6);
}

TEST(MediaPipePoolOptionsTest, RejectsMalformedOptions) {
  const std::vector<uint8_t> good = RawInts({1, 2, 2, 2, 2, 0});
  auto short_bytes = ParseMediaPipePoolOptions(good.data(), 23, "MaxUnpooling2D");
  ASSERT_FALSE(short_bytes.ok());
  EXPECT_THAT(short_bytes.status().message(), HasSubstr("MaxUnpooling2D"));
  EXPECT_THAT(short_bytes.status().message(), HasSubstr("at least 24"));
  for (const auto& fields : {std::vector<int32_t>{0, 2, 2, 2, 2, 0}, {1, 0, 2, 2, 2, 0}, {1, 2, 2, 2, -1, 0},
                             {1, 2, 2, 2, 2, 4}, {1, 2, 2, 2, 2, -1}}) {
    const std::vector<uint8_t> bytes = RawInts(fields);
    EXPECT_FALSE(ParseMediaPipePoolOptions(bytes.data(), bytes.size(), "op").ok());
  }
}

TEST(MaxPoolWithArgmaxTest, ValidWindowsGiveMaxAndPosition) {
  // 4x4, 2x2 windows, stride 2.
  TestTensor in = Make<float>(DType::kFloat32, {1, 4, 4, 1},
                              {1, 5, 2, 0,    //
                               3, 4, 8, 1,    //
                               -1, -2, 7, 7,  //
                               -3, -4, 6, 9},
                              "in");
  TestTensor out = Output(DType::kFloat32, {1, 2, 2, 1});
  TestTensor idx = Output(DType::kFloat32, {1, 2, 2, 1}, "idx");
  ASSERT_THAT(MaxPoolWithArgmax(Pool(false, 2, 2), in, out, idx), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAreArray<float>({5, 8, -1, 9}));
  // Positions y*2 + x inside each window (+0.1): 5 at (0,1), 8 at (1,0), -1 at (0,0), 9 at (1,1).
  EXPECT_THAT(idx.Values<float>(), ElementsAreArray<float>({1.1f, 2.1f, 0.1f, 3.1f}));
}

TEST(MaxPoolWithArgmaxTest, SameClipsWindowsAndFirstMaxWins) {
  // 3x3, 2x2 windows, stride 2, SAME: out 2x2, padding ((2-1)*2 + 2 - 3) / 2 = 0, so
  // the right/bottom windows are clipped to one column/row. Two channels.
  TestTensor in = Make<float>(DType::kFloat32, {1, 3, 3, 2},
                              {4, 0, 4, 1, 2, 2,  //
                               1, 3, 4, 3, 9, 2,  //
                               0, 0, 7, 0, 8, 5},
                              "in");
  TestTensor out = Output(DType::kFloat32, {1, 2, 2, 2});
  TestTensor idx = Output(DType::kFloat32, {1, 2, 2, 2}, "idx");
  ASSERT_THAT(MaxPoolWithArgmax(Pool(true, 2, 2), in, out, idx), IsOk());
  // Window (0,0) c0: 4,4,1,4 -> first 4 at (0,0); c1: 0,1,3,3 -> first 3 at (1,0).
  // Window (0,1) covers column 2 only: c0 2,9 -> 9 at (1,0); c1 2,2 -> first at (0,0).
  // Window (1,0) covers row 2 only: c0 0,7 -> 7 at (0,1); c1 0,0 -> (0,0).
  // Window (1,1): element (2,2): c0 8, c1 5 at (0,0).
  EXPECT_THAT(out.Values<float>(), ElementsAreArray<float>({4, 3, 9, 2, 7, 0, 8, 5}));
  EXPECT_THAT(idx.Values<float>(), ElementsAreArray<float>({0.1f, 2.1f, 2.1f, 0.1f, 1.1f, 0.1f, 0.1f, 0.1f}));
}

TEST(MaxPoolWithArgmaxTest, ActivationClampsTheMaxNotTheIndex) {
  TestTensor in = Make<float>(DType::kFloat32, {1, 1, 2, 1}, {7, 8}, "in");
  TestTensor out = Output(DType::kFloat32, {1, 1, 1, 1});
  TestTensor idx = Output(DType::kFloat32, {1, 1, 1, 1}, "idx");
  MediaPipePoolOptions o = Pool(false, 2, 2, FusedActivation::kRelu6);
  o.filter_height = 1;
  o.stride_height = 1;
  ASSERT_THAT(MaxPoolWithArgmax(o, in, out, idx), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAreArray<float>({6}));
  EXPECT_THAT(idx.Values<float>(), ElementsAreArray<float>({1.1f}));
}

TEST(MaxPoolWithArgmaxTest, ShapeErrorsNameTheTensor) {
  TestTensor in = Make<float>(DType::kFloat32, {1, 4, 4, 1}, std::vector<float>(16, 0), "in");
  TestTensor out = Output(DType::kFloat32, {1, 2, 2, 1});
  TestTensor bad_idx = Output(DType::kFloat32, {1, 2, 2, 2}, "bad_idx");
  EXPECT_THAT(MaxPoolWithArgmax(Pool(false, 2, 2), in, out, bad_idx), IsErrorNaming("bad_idx"));
  TestTensor bad_out = Output(DType::kFloat32, {1, 3, 3, 1}, "bad_out");
  TestTensor idx = Output(DType::kFloat32, {1, 3, 3, 1}, "idx");
  EXPECT_THAT(MaxPoolWithArgmax(Pool(false, 2, 2), in, bad_out, idx), IsErrorNaming("bad_out"));
  TestTensor int_idx = Output(DType::kInt32, {1, 2, 2, 1}, "int_idx");
  EXPECT_THAT(MaxPoolWithArgmax(Pool(false, 2, 2), in, out, int_idx), IsErrorNaming("int_idx"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
