// UNIDIRECTIONAL_SEQUENCE_LSTM: small cases checked against the LSTM equations
// written out here in float (i = sigmoid(W_i x + R_i h + b_i), ..., c' = f c + i g,
// h' = o tanh(c')), and operand errors. Bit-exactness of the int8 path against
// LiteRT is checked by tests/python/test_engine_vs_litert.py (the zoo LSTM) and
// tests/python/test_lstm_variants_vs_litert.py (synthetic variants).
#include "engine/kernels/unidirectional_sequence_lstm.h"

#include <array>
#include <cmath>
#include <memory>

#include "engine/kernels/fixed_point_int16.h"
#include "tests/kernels/kernel_test_util.h"

namespace edgepipe::engine::kernels::testing {
namespace {

namespace li = lstm_input;
using ::testing::HasSubstr;

float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// One unit's gate parameters (float), for the reference equations.
struct UnitGate {
  std::vector<float> w_x;  // n_input
  float w_h = 0.0f;
  float w_c = 0.0f;  // peephole
  float bias = 0.0f;
};
struct Unit {
  UnitGate i, f, g, o;
};

// The reference step for one unit, no projection.
void ReferenceStep(const Unit& u, const std::vector<float>& x, float& h, float& c, bool cifg, bool peephole,
                   float cell_clip) {
  auto pre = [&](const UnitGate& gate, float cell) {
    float sum = gate.bias + gate.w_h * h + (peephole ? gate.w_c * cell : 0.0f);
    for (size_t k = 0; k < x.size(); ++k) sum += gate.w_x[k] * x[k];
    return sum;
  };
  const float f = Sigmoid(pre(u.f, c));
  const float i = cifg ? 1.0f - f : Sigmoid(pre(u.i, c));
  const float g = std::tanh(pre(u.g, 0.0f));
  c = f * c + i * g;
  if (cell_clip > 0.0f) c = std::clamp(c, -cell_clip, cell_clip);
  const float o = Sigmoid(pre(u.o, c));
  h = o * std::tanh(c);
}

// The 24 operands of one LSTM, owned.
struct LstmOperands {
  std::array<std::unique_ptr<TestTensor>, li::kCount> tensors;
  std::vector<std::unique_ptr<TestTensor>> intermediates;

  void Set(int k, TestTensor t) { tensors[k] = std::make_unique<TestTensor>(std::move(t)); }
  std::vector<const TensorView*> Inputs() const {
    std::vector<const TensorView*> in;
    for (const auto& t : tensors) in.push_back(t ? &t->view : nullptr);
    return in;
  }
  std::vector<const TensorView*> Intermediates() const {
    std::vector<const TensorView*> out;
    for (const auto& t : intermediates) out.push_back(&t->view);
    return out;
  }
};

// A float LSTM of one unit over `n_input` inputs, batch major [1, time, n_input].
LstmOperands FloatUnit(const Unit& u, int n_input, int max_time, bool cifg, bool peephole) {
  LstmOperands ops;
  const UnitGate* gates[4] = {&u.i, &u.f, &u.g, &u.o};
  const int w_x[4] = {li::kInputToInputWeights, li::kInputToForgetWeights, li::kInputToCellWeights,
                      li::kInputToOutputWeights};
  const int w_h[4] = {li::kRecurrentToInputWeights, li::kRecurrentToForgetWeights, li::kRecurrentToCellWeights,
                      li::kRecurrentToOutputWeights};
  const int bias[4] = {li::kInputGateBias, li::kForgetGateBias, li::kCellGateBias, li::kOutputGateBias};
  const int w_c[4] = {li::kCellToInputWeights, li::kCellToForgetWeights, -1, li::kCellToOutputWeights};
  for (int g = cifg ? 1 : 0; g < 4; ++g) {
    ops.Set(w_x[g], Make<float>(DType::kFloat32, {1, n_input}, gates[g]->w_x, "w_x"));
    ops.Set(w_h[g], Make<float>(DType::kFloat32, {1, 1}, {gates[g]->w_h}, "w_h"));
    ops.Set(bias[g], Make<float>(DType::kFloat32, {1}, {gates[g]->bias}, "bias"));
    if (peephole && w_c[g] >= 0) ops.Set(w_c[g], Make<float>(DType::kFloat32, {1}, {gates[g]->w_c}, "w_c"));
  }
  ops.Set(li::kInput, Output(DType::kFloat32, {1, max_time, n_input}, "input"));
  ops.Set(li::kOutputState, Output(DType::kFloat32, {1, 1}, "output_state"));
  ops.Set(li::kCellState, Output(DType::kFloat32, {1, 1}, "cell_state"));
  return ops;
}

Unit SampleUnit() {
  Unit u;
  u.i = {{0.5f, -0.25f}, 0.3f, 0.2f, 0.1f};
  u.f = {{-0.4f, 0.6f}, -0.2f, 0.3f, 1.0f};
  u.g = {{0.9f, 0.7f}, 0.5f, 0.0f, -0.1f};
  u.o = {{0.2f, 0.1f}, -0.6f, -0.4f, 0.2f};
  return u;
}

Status RunLstm(const LstmOperands& ops, const LstmOptions& options, const TensorView& output) {
  const auto inputs = ops.Inputs();
  const auto intermediates = ops.Intermediates();
  auto plan = PrepareUnidirectionalSequenceLstm(inputs, intermediates, options, output);
  if (!plan.ok()) return plan.status();
  std::vector<std::byte> scratch(UnidirectionalSequenceLstmScratchBytes(*plan));
  return UnidirectionalSequenceLstm(*plan, inputs, output, scratch);
}

TEST(UnidirectionalSequenceLstmTest, FloatOneUnitTwoStepsFollowsTheEquations) {
  const Unit u = SampleUnit();
  for (bool cifg : {false, true}) {
    for (bool peephole : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "cifg " << cifg << " peephole " << peephole);
      LstmOperands ops = FloatUnit(u, 2, 2, cifg, peephole);
      const std::vector<float> x = {1.0f, -0.5f, 0.25f, 2.0f};
      ops.tensors[li::kInput]->Fill(x);
      auto out = Output(DType::kFloat32, {1, 2, 1});
      LstmOptions options;
      options.cell_clip = 0.3f;  // binds on the second step
      ASSERT_THAT(RunLstm(ops, options, out), IsOk());
      float h = 0.0f, c = 0.0f;
      ReferenceStep(u, {x[0], x[1]}, h, c, cifg, peephole, options.cell_clip);
      const float h1 = h;
      ReferenceStep(u, {x[2], x[3]}, h, c, cifg, peephole, options.cell_clip);
      const auto got = out.Values<float>();
      EXPECT_NEAR(got[0], h1, 1e-6f);
      EXPECT_NEAR(got[1], h, 1e-6f);
      EXPECT_NEAR(ops.tensors[li::kOutputState]->Values<float>()[0], h, 1e-6f);
      EXPECT_NEAR(ops.tensors[li::kCellState]->Values<float>()[0], c, 1e-6f);
    }
  }
}

TEST(UnidirectionalSequenceLstmTest, StateCarriesOverBetweenCalls) {
  // Two calls of one step each equal one call of two steps (TFLite's variable state).
  const Unit u = SampleUnit();
  LstmOperands two = FloatUnit(u, 2, 2, false, false);
  two.tensors[li::kInput]->Fill(std::vector<float>{1.0f, -0.5f, 0.25f, 2.0f});
  auto out2 = Output(DType::kFloat32, {1, 2, 1});
  ASSERT_THAT(RunLstm(two, {}, out2), IsOk());
  LstmOperands one = FloatUnit(u, 2, 1, false, false);
  auto out1 = Output(DType::kFloat32, {1, 1, 1});
  one.tensors[li::kInput]->Fill(std::vector<float>{1.0f, -0.5f});
  ASSERT_THAT(RunLstm(one, {}, out1), IsOk());
  EXPECT_EQ(out1.Values<float>()[0], out2.Values<float>()[0]);
  one.tensors[li::kInput]->Fill(std::vector<float>{0.25f, 2.0f});
  ASSERT_THAT(RunLstm(one, {}, out1), IsOk());
  EXPECT_EQ(out1.Values<float>()[0], out2.Values<float>()[1]);
}

TEST(UnidirectionalSequenceLstmTest, FloatProjection) {
  // Two cells projected to one output: out = p0 h0 + p1 h1 + pb, clipped.
  LstmOperands ops;
  const int w_x[4] = {li::kInputToInputWeights, li::kInputToForgetWeights, li::kInputToCellWeights,
                      li::kInputToOutputWeights};
  const int w_h[4] = {li::kRecurrentToInputWeights, li::kRecurrentToForgetWeights, li::kRecurrentToCellWeights,
                      li::kRecurrentToOutputWeights};
  const int bias[4] = {li::kInputGateBias, li::kForgetGateBias, li::kCellGateBias, li::kOutputGateBias};
  const float wx[4][2] = {{0.5f, -0.3f}, {0.2f, 0.4f}, {1.0f, -1.0f}, {0.3f, 0.6f}};
  for (int g = 0; g < 4; ++g) {
    ops.Set(w_x[g], Make<float>(DType::kFloat32, {2, 1}, {wx[g][0], wx[g][1]}, "w_x"));
    ops.Set(w_h[g], Make<float>(DType::kFloat32, {2, 1}, {0.0f, 0.0f}, "w_h"));
    ops.Set(bias[g], Make<float>(DType::kFloat32, {2}, {0.1f, -0.1f}, "bias"));
  }
  ops.Set(li::kProjectionWeights, Make<float>(DType::kFloat32, {1, 2}, {0.8f, -1.5f}, "projection"));
  ops.Set(li::kProjectionBias, Make<float>(DType::kFloat32, {1}, {0.05f}, "projection_bias"));
  ops.Set(li::kInput, Make<float>(DType::kFloat32, {1, 1, 1}, {0.7f}, "input"));
  ops.Set(li::kOutputState, Output(DType::kFloat32, {1, 1}, "output_state"));
  ops.Set(li::kCellState, Output(DType::kFloat32, {1, 2}, "cell_state"));
  auto out = Output(DType::kFloat32, {1, 1, 1});
  ASSERT_THAT(RunLstm(ops, {}, out), IsOk());
  float h[2];
  for (int cell = 0; cell < 2; ++cell) {
    auto pre = [&](int g) { return wx[g][cell] * 0.7f + (cell == 0 ? 0.1f : -0.1f); };
    const float c = Sigmoid(pre(0)) * std::tanh(pre(2));
    h[cell] = Sigmoid(pre(3)) * std::tanh(c);
  }
  EXPECT_NEAR(out.Values<float>()[0], 0.8f * h[0] - 1.5f * h[1] + 0.05f, 1e-6f);
}

TEST(UnidirectionalSequenceLstmTest, TimeMajorMatchesBatchMajor) {
  const Unit u = SampleUnit();
  // Two sequences of two steps; batch major [2, 2, 2], time major [2, 2, 2] transposed.
  const std::vector<float> batch_major = {1.0f, -0.5f, 0.25f, 2.0f, -1.0f, 0.5f, 0.0f, 0.3f};
  std::vector<float> time_major(8);
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 2; ++t)
      for (int k = 0; k < 2; ++k) time_major[(t * 2 + b) * 2 + k] = batch_major[(b * 2 + t) * 2 + k];
  std::vector<float> results[2];
  for (bool tm : {false, true}) {
    LstmOperands ops = FloatUnit(u, 2, 2, false, true);
    ops.Set(li::kInput, Make<float>(DType::kFloat32, {2, 2, 2}, tm ? time_major : batch_major, "input"));
    ops.Set(li::kOutputState, Output(DType::kFloat32, {2, 1}, "output_state"));
    ops.Set(li::kCellState, Output(DType::kFloat32, {2, 1}, "cell_state"));
    auto out = Output(DType::kFloat32, {2, 2, 1});
    LstmOptions options;
    options.time_major = tm;
    ASSERT_THAT(RunLstm(ops, options, out), IsOk());
    results[tm] = out.Values<float>();
  }
  // results[0] is [batch][time], results[1] is [time][batch].
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 2; ++t) EXPECT_EQ(results[0][b * 2 + t], results[1][t * 2 + b]) << b << "," << t;
  // And the second sequence alone follows the equations from a zero state.
  float h = 0.0f, c = 0.0f;
  ReferenceStep(u, {-1.0f, 0.5f}, h, c, false, true, 0.0f);
  ReferenceStep(u, {0.0f, 0.3f}, h, c, false, true, 0.0f);
  EXPECT_NEAR(results[0][3], h, 1e-6f);
}

// An int8 LSTM of one unit and one input: input and weights in steps of 2^-7,
// biases 2^-14, cell state 2^-12, output/hidden 2^-7 with zero point -1.
LstmOperands Int8Unit(const std::array<int8_t, 4>& w_x, const std::array<int8_t, 4>& w_h,
                      const std::array<int32_t, 4>& bias, int max_time) {
  LstmOperands ops;
  const Quantization q7 = PerTensor(1.0f / 128, 0);
  const int k_x[4] = {li::kInputToInputWeights, li::kInputToForgetWeights, li::kInputToCellWeights,
                      li::kInputToOutputWeights};
  const int k_h[4] = {li::kRecurrentToInputWeights, li::kRecurrentToForgetWeights, li::kRecurrentToCellWeights,
                      li::kRecurrentToOutputWeights};
  const int k_b[4] = {li::kInputGateBias, li::kForgetGateBias, li::kCellGateBias, li::kOutputGateBias};
  for (int g = 0; g < 4; ++g) {
    ops.Set(k_x[g], Make<int8_t>(DType::kInt8, {1, 1}, {w_x[g]}, "w_x", q7));
    ops.Set(k_h[g], Make<int8_t>(DType::kInt8, {1, 1}, {w_h[g]}, "w_h", q7));
    ops.Set(k_b[g], Make<int32_t>(DType::kInt32, {1}, {bias[g]}, "bias", PerTensor(1.0f / 16384, 0)));
  }
  ops.Set(li::kInput, Output(DType::kInt8, {1, max_time, 1}, "input", q7));
  ops.Set(li::kOutputState, Make<int8_t>(DType::kInt8, {1, 1}, {-1}, "output_state", PerTensor(1.0f / 128, -1)));
  ops.Set(li::kCellState, Output(DType::kInt16, {1, 1}, "cell_state", PerTensor(1.0f / 4096, 0)));
  for (int k = 0; k < 4; ++k) ops.intermediates.push_back(std::make_unique<TestTensor>(DType::kFloat32,
                                                                                        std::vector<int32_t>{0}, "gate"));
  ops.intermediates.push_back(
      std::make_unique<TestTensor>(DType::kInt8, std::vector<int32_t>{0}, "hidden", PerTensor(1.0f / 128, -1)));
  return ops;
}

TEST(UnidirectionalSequenceLstmTest, Int8OneUnitFollowsTheEquationsWithinOneStep) {
  const std::array<int8_t, 4> w_x = {64, -64, 127, 32}, w_h = {20, 90, -50, 40};
  const std::array<int32_t, 4> bias = {4096, 8192, -2048, 1000};
  LstmOperands ops = Int8Unit(w_x, w_h, bias, 3);
  const std::vector<int8_t> x = {64, -100, 127};
  ops.tensors[li::kInput]->Fill(x);
  auto out = Output(DType::kInt8, {1, 3, 1}, "output", PerTensor(1.0f / 128, -1));
  ASSERT_THAT(RunLstm(ops, {}, out), IsOk());

  Unit u;
  UnitGate* gates[4] = {&u.i, &u.f, &u.g, &u.o};
  for (int g = 0; g < 4; ++g) *gates[g] = {{w_x[g] / 128.0f}, w_h[g] / 128.0f, 0.0f, bias[g] / 16384.0f};
  float h = 0.0f, c = 0.0f;
  const auto got = out.Values<int8_t>();
  for (int t = 0; t < 3; ++t) {
    ReferenceStep(u, {x[t] / 128.0f}, h, c, false, false, 0.0f);
    const int expected = static_cast<int>(std::lround(h * 128.0f)) - 1;
    EXPECT_NEAR(got[t], expected, 1) << "step " << t << ": h = " << h;
  }
  EXPECT_NEAR(ops.tensors[li::kCellState]->Values<int16_t>()[0], c * 4096.0f, 4.0f) << "c = " << c;
  EXPECT_EQ(ops.tensors[li::kOutputState]->Values<int8_t>()[0], got[2]);
}

TEST(UnidirectionalSequenceLstmTest, FixedPointGateActivationsTrackTheFloatFunctions) {
  // Q3.12 in, Q0.15 out over the whole int16 range: gemmlowp's 16-bit
  // approximations stay within a few units of the last place (measured: 6 for
  // the sigmoid, 11 for tanh), are odd/symmetric and keep the exact points.
  int worst_sigmoid = 0, worst_tanh = 0;
  for (int raw = -32768; raw <= 32767; ++raw) {
    const float x = raw / 4096.0f;
    const int s = internal::FixedPointLogistic16(static_cast<int16_t>(raw), 3);
    const int t = internal::FixedPointTanh16(static_cast<int16_t>(raw), 3);
    worst_sigmoid = std::max(worst_sigmoid, static_cast<int>(std::abs(s - Sigmoid(x) * 32768.0f)));
    worst_tanh = std::max(worst_tanh, static_cast<int>(std::abs(t - std::tanh(x) * 32768.0f)));
    if (raw > -32768 && raw != 0) {
      EXPECT_EQ(s + internal::FixedPointLogistic16(static_cast<int16_t>(-raw), 3), 32767) << raw;
      EXPECT_EQ(t, -internal::FixedPointTanh16(static_cast<int16_t>(-raw), 3)) << raw;
    }
  }
  EXPECT_LE(worst_sigmoid, 6);
  EXPECT_LE(worst_tanh, 11);
  // The kernel's lookup tables hold exactly these values.
  for (int bits : {3, 6}) {
    const int16_t* sigmoid_table = internal::FixedPointLogistic16Table(bits);
    const int16_t* tanh_table = internal::FixedPointTanh16Table(bits);
    for (int raw = -32768; raw <= 32767; raw += 5) {
      ASSERT_EQ(sigmoid_table[raw + 32768], internal::FixedPointLogistic16(static_cast<int16_t>(raw), bits)) << raw;
      ASSERT_EQ(tanh_table[raw + 32768], internal::FixedPointTanh16(static_cast<int16_t>(raw), bits)) << raw;
    }
  }
  EXPECT_EQ(internal::FixedPointLogistic16(0, 3), 16384);
  EXPECT_EQ(internal::FixedPointTanh16(0, 3), 0);
}

TEST(UnidirectionalSequenceLstmTest, MissingRequiredInputIsAnError) {
  LstmOperands ops = FloatUnit(SampleUnit(), 2, 1, false, false);
  ops.tensors[li::kInputToForgetWeights].reset();
  auto out = Output(DType::kFloat32, {1, 1, 1});
  const Status s = RunLstm(ops, {}, out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("input_to_forget_weights"));
}

TEST(UnidirectionalSequenceLstmTest, BadShapesAreErrorsNamingTheTensor) {
  {
    LstmOperands ops = FloatUnit(SampleUnit(), 2, 1, false, false);
    ops.Set(li::kInputToCellWeights, Make<float>(DType::kFloat32, {1, 3}, {1, 2, 3}, "cell_weights_3"));
    auto out = Output(DType::kFloat32, {1, 1, 1});
    EXPECT_THAT(RunLstm(ops, {}, out), IsErrorNaming("cell_weights_3"));
  }
  {
    LstmOperands ops = FloatUnit(SampleUnit(), 2, 1, false, false);
    auto out = Output(DType::kFloat32, {1, 1, 2}, "wide_output");
    EXPECT_THAT(RunLstm(ops, {}, out), IsErrorNaming("wide_output"));
  }
  {
    LstmOperands ops = FloatUnit(SampleUnit(), 2, 1, false, false);
    ops.Set(li::kCellState, Output(DType::kFloat32, {1, 2}, "cell_state_2"));
    auto out = Output(DType::kFloat32, {1, 1, 1});
    EXPECT_THAT(RunLstm(ops, {}, out), IsErrorNaming("cell_state_2"));
  }
  {
    LstmOperands ops = FloatUnit(SampleUnit(), 2, 1, false, false);
    ops.Set(li::kInput, Output(DType::kFloat32, {2, 2}, "input_2d"));
    auto out = Output(DType::kFloat32, {1, 1, 1});
    EXPECT_THAT(RunLstm(ops, {}, out), IsErrorNaming("input_2d"));
  }
}

TEST(UnidirectionalSequenceLstmTest, InconsistentOptionalInputsAreErrors) {
  LstmOperands ops = FloatUnit(SampleUnit(), 2, 1, false, false);
  ops.tensors[li::kRecurrentToInputWeights].reset();  // input gate half there: neither CIFG nor not
  auto out = Output(DType::kFloat32, {1, 1, 1});
  const Status s = RunLstm(ops, {}, out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("CIFG"));
  const auto inputs = ops.Inputs();
  auto plan = PrepareUnidirectionalSequenceLstm(std::span(inputs).first(23), {}, {}, out);
  EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument) << plan.status().ToString();
}

TEST(UnidirectionalSequenceLstmTest, Int8NeedsIntermediatesAndAPowerOfTwoCellScale) {
  auto out = Output(DType::kInt8, {1, 1, 1}, "output", PerTensor(1.0f / 128, -1));
  {
    LstmOperands ops = Int8Unit({1, 1, 1, 1}, {1, 1, 1, 1}, {0, 0, 0, 0}, 1);
    ops.intermediates.clear();
    const Status s = RunLstm(ops, {}, out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr("intermediate"));
  }
  {
    LstmOperands ops = Int8Unit({1, 1, 1, 1}, {1, 1, 1, 1}, {0, 0, 0, 0}, 1);
    ops.Set(li::kCellState, Output(DType::kInt16, {1, 1}, "cell_state_odd_scale", PerTensor(0.0003f, 0)));
    EXPECT_THAT(RunLstm(ops, {}, out), IsErrorNaming("cell_state_odd_scale"));
  }
  {
    // Hybrid: float input with int8 weights.
    LstmOperands ops = Int8Unit({1, 1, 1, 1}, {1, 1, 1, 1}, {0, 0, 0, 0}, 1);
    ops.Set(li::kInput, Output(DType::kFloat32, {1, 1, 1}, "float_input"));
    auto float_out = Output(DType::kFloat32, {1, 1, 1});
    EXPECT_EQ(RunLstm(ops, {}, float_out).code(), StatusCode::kUnimplemented);
  }
}

}  // namespace
}  // namespace edgepipe::engine::kernels::testing
