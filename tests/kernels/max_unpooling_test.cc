// MaxUnpooling2D: hand-placed values, and untrusted indices that must not write.
#include <cmath>
#include <limits>

#include "engine/kernels/mediapipe_ops.h"
#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

using ::testing::ElementsAreArray;

MediaPipePoolOptions Pool2x2() {
  MediaPipePoolOptions o;
  o.same_padding = true;
  o.stride_width = o.stride_height = 2;
  o.filter_width = o.filter_height = 2;
  return o;
}

TEST(MaxUnpoolingTest, PutsEachValueAtItsWindowPosition) {
  TestTensor in = Make<float>(DType::kFloat32, {1, 2, 2, 1}, {5, 8, -1, 9}, "in");
  TestTensor idx = Make<float>(DType::kFloat32, {1, 2, 2, 1}, {1.1f, 2.1f, 0.1f, 3.1f}, "idx");
  TestTensor out = Output(DType::kFloat32, {1, 4, 4, 1});
  ASSERT_THAT(MaxUnpooling(Pool2x2(), in, idx, out), IsOk());
  EXPECT_THAT(out.Values<float>(), ElementsAreArray<float>({0, 5, 0, 0,   //
                                                             0, 0, 8, 0,   //
                                                             -1, 0, 0, 0,  //
                                                             0, 0, 0, 9}));
}

TEST(MaxUnpoolingTest, OutOfRangeAndNonFiniteIndicesAreSkipped) {
  // Channel 1 of the last pixel decodes to window row 3 (index 6 -> y 3, x 0),
  // outside the 4x4 output; NaN and huge indices cannot name a position.
  TestTensor in = Make<float>(DType::kFloat32, {1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}, "in");
  TestTensor idx = Make<float>(DType::kFloat32, {1, 2, 2, 2},
                               {0.1f, std::numeric_limits<float>::quiet_NaN(), 3.1f, 1e30f, 2.1f, 1.1f, 3.1f, 6.1f},
                               "idx");
  TestTensor out = Output(DType::kFloat32, {1, 4, 4, 2});
  ASSERT_THAT(MaxUnpooling(Pool2x2(), in, idx, out), IsOk());
  std::vector<float> want(32, 0.0f);
  auto at = [&](int y, int x, int c) -> float& { return want[(y * 4 + x) * 2 + c]; };
  at(0, 0, 0) = 1;  // pixel (0,0) c0 index 0
  at(1, 3, 0) = 3;  // pixel (0,1) c0 index 3 -> (1, 2+1)
  at(3, 0, 0) = 5;  // pixel (1,0) c0 index 2 -> (2+1, 0)
  at(2, 1, 1) = 6;  // pixel (1,0) c1 index 1 -> (2, 1)
  at(3, 3, 0) = 7;  // pixel (1,1) c0 index 3 -> (3, 3)
  EXPECT_THAT(out.Values<float>(), ElementsAreArray(want));
}

TEST(MaxUnpoolingTest, ShapeErrorsNameTheTensor) {
  TestTensor in = Make<float>(DType::kFloat32, {1, 2, 2, 1}, {1, 2, 3, 4}, "in");
  TestTensor idx = Make<float>(DType::kFloat32, {1, 2, 2, 1}, {0, 0, 0, 0}, "idx");
  TestTensor bad_out = Output(DType::kFloat32, {1, 4, 3, 1}, "bad_out");
  EXPECT_THAT(MaxUnpooling(Pool2x2(), in, idx, bad_out), IsErrorNaming("bad_out"));
  TestTensor bad_idx = Make<float>(DType::kFloat32, {1, 2, 1, 1}, {0, 0}, "bad_idx");
  TestTensor out = Output(DType::kFloat32, {1, 4, 4, 1});
  EXPECT_THAT(MaxUnpooling(Pool2x2(), in, bad_idx, out), IsErrorNaming("bad_idx"));
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
