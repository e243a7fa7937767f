#include "quantize/op_rules.h"

#include "engine/model.h"

namespace edgepipe::quantize {
namespace {

namespace b = engine::builtin;
using R = InputRole;

constexpr AffineParams kUnitInterval{1.0f / 256.0f, -128};  // [0, 1): softmax, logistic
constexpr AffineParams kSymmetricUnit{1.0f / 128.0f, 0};    // [-1, 1): tanh

OpRule Rule(int32_t code, int32_t version, OutputScale output = OutputScale::kCalibrated,
            std::vector<InputRole> inputs = {}) {
  OpRule rule;
  rule.code = code;
  rule.int8_version = version;
  rule.output = output;
  rule.inputs = std::move(inputs);
  return rule;
}

// Conv-like ops: activation, constant filter, optional bias.
OpRule Weighted(int32_t code, int32_t version, int filter_axis, bool per_channel) {
  OpRule rule = Rule(code, version, OutputScale::kCalibrated, {R::kActivation, R::kFilter, R::kBias});
  rule.filter_axis = filter_axis;
  rule.per_channel = per_channel;
  return rule;
}

OpRule Fixed(int32_t code, AffineParams params) {
  OpRule rule = Rule(code, 2, OutputScale::kFixed);
  rule.fixed = params;
  return rule;
}

const std::vector<OpRule>& Rules() {
  constexpr OutputScale kSame = OutputScale::kSameAsInput;
  constexpr OutputScale kCalibrated = OutputScale::kCalibrated;
  const std::vector<InputRole> with_integer_operand = {R::kActivation, R::kLeaveAlone};
  static const std::vector<OpRule> rules = {
      Weighted(b::kConv2D, 3, 0, true),
      Weighted(b::kDepthwiseConv2D, 3, 3, true),
      // The spec's FULLY_CONNECTED weights are per-tensor.
      Weighted(b::kFullyConnected, 4, 0, false),
      Rule(b::kAdd, 2),
      Rule(b::kSub, 2),
      Rule(b::kMul, 2),
      Rule(b::kConcatenation, 2),
      Rule(b::kMean, 2, kCalibrated, with_integer_operand),
      Rule(b::kMaxPool2D, 2, kSame),
      Rule(b::kAveragePool2D, 2, kSame),
      Rule(b::kReshape, 1, kSame, with_integer_operand),
      Rule(b::kSqueeze, 1, kSame),
      Rule(b::kPad, 2, kSame, with_integer_operand),
      Rule(b::kResizeBilinear, 2, kSame, with_integer_operand),
      Rule(b::kResizeNearestNeighbor, 2, kSame, with_integer_operand),
      Rule(b::kRelu, 2, kSame),
      Rule(b::kRelu6, 2, kSame),
      Rule(b::kReluN1To1, 2, kSame),
      Fixed(b::kSoftmax, kUnitInterval),
      Fixed(b::kLogistic, kUnitInterval),
      Fixed(b::kTanh, kSymmetricUnit),
  };
  return rules;
}

}  // namespace

const OpRule* FindRule(int32_t builtin_code) {
  for (const OpRule& rule : Rules())
    if (rule.code == builtin_code) return &rule;
  return nullptr;
}

InputRole RoleOf(const OpRule& rule, size_t input) {
  return input < rule.inputs.size() ? rule.inputs[input] : InputRole::kActivation;
}

}  // namespace edgepipe::quantize
