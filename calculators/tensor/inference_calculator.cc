// InferenceCalculator: runs a TFLite model on edgepipe's engine (XNNPACK plus
// our own kernels) for every set of input tensors.
//
// Input   TENSORS (std::vector<Tensor>): every model input, in model order; or
//         TENSOR:i (Tensor, repeated): model input i, one stream per input. A
//         TENSOR:i without a packet at T keeps its previous value (zeros before
//         its first packet): a recurrent state fed back through
//         PreviousLoopbackCalculator starts from zeros on the first frame.
// Output  TENSORS (std::vector<Tensor>): every model output, in model order;
//         and/or TENSOR:i (Tensor, repeated): model output i.
// Side    MODEL_PATH (string, optional): overrides options.model_path.
// Options InferenceCalculatorOptions: model_path, num_threads, fp16_inference.
//
// The model is loaded and compiled once, in Open. Each given tensor must have
// the model input's dtype and shape (else an error naming the model, the input
// and both shapes); quantized inputs are taken as raw values in the model's
// own quantization (ImageToTensorCalculator's UINT8/INT8 output for image
// models). Outputs are copies, so packets stay valid across invocations.
//
//   node {
//     calculator: "InferenceCalculator"
//     input_stream: "TENSORS:input_tensors"
//     output_stream: "TENSORS:output_tensors"
//     options { [edgepipe.InferenceCalculatorOptions.ext] { model_path: "mobilenet_v2_1.0_224_quant.tflite" } }
//   }
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <fmt/ranges.h>

#include "calculators/tensor/inference_calculator.pb.h"
#include "calculators/types/side_packet_values.h"
#include "calculators/types/tensor.h"
#include "core/calculator.h"
#include "engine/interpreter.h"
#include "engine/model.h"

namespace edgepipe {

class InferenceCalculator : public CalculatorBase {
 public:
  using Options = InferenceCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Input<std::vector<Tensor>>("TENSORS").Optional().Doc("every model input, in model order");
    cc->Input<Tensor>("TENSOR").Optional().Repeated().Doc(
        "model input i (TENSOR:i); without a packet at T it keeps its previous value");
    cc->Output<std::vector<Tensor>>("TENSORS").Optional().Doc("every model output, in model order");
    cc->Output<Tensor>("TENSOR").Optional().Repeated().Doc("model output i (TENSOR:i)");
    cc->AddInputSidePacket("MODEL_PATH", TypeId::Any()).Optional().Doc(".tflite file (string), overrides model_path");
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Runs a TFLite model on edgepipe's engine (XNNPACK + own kernels). Takes the model inputs as one "
        "TENSORS vector or as TENSOR:i streams, and gives the outputs as TENSORS and/or TENSOR:i. The model is "
        "loaded once in Open; a tensor whose dtype or shape differs from the model input is an error naming "
        "both. Quantized inputs are raw values in the model's quantization.");
    cc->SetExampleConfig(R"(node {
  calculator: "InferenceCalculator"
  input_stream: "TENSORS:input_tensors"
  output_stream: "TENSORS:output_tensors"
  options { [edgepipe.InferenceCalculatorOptions.ext] { model_path: "mobilenet_v2_1.0_224_quant.tflite" num_threads: 2 } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    const Options& options = cc->Options<Options>();
    EP_ASSIGN_OR_RETURN(std::optional<std::string> side_path, StringSidePacket(*cc, "MODEL_PATH"));
    model_path_ = side_path.value_or(options.model_path());
    if (model_path_.empty())
      return InvalidArgumentError("InferenceCalculator needs a model: set model_path or the MODEL_PATH side packet");
    const bool vector_input = cc->Inputs().HasTag("TENSORS");
    const int indexed_inputs = cc->Inputs().NumEntries("TENSOR");
    if (vector_input == (indexed_inputs > 0))
      return InvalidArgumentError("InferenceCalculator takes its inputs either as TENSORS or as TENSOR:i, not {}",
                                  vector_input ? "both" : "neither");

    auto model = engine::Model::Load(model_path_);
    if (!model.ok()) return model.status().WithContext("InferenceCalculator");
    engine::InterpreterOptions interpreter_options;
    interpreter_options.num_threads = options.num_threads();
    interpreter_options.fp16_inference = options.fp16_inference();
    auto interpreter = engine::Interpreter::Create(*model, interpreter_options);
    if (!interpreter.ok()) return interpreter.status().WithContext("InferenceCalculator");
    interpreter_ = std::move(*interpreter);

    if (indexed_inputs > static_cast<int>(interpreter_->num_inputs()))
      return InvalidArgumentError("InferenceCalculator: model '{}' has {} inputs, the node has {} TENSOR streams",
                                  model_path_, interpreter_->num_inputs(), indexed_inputs);
    if (cc->Outputs().NumEntries("TENSOR") > static_cast<int>(interpreter_->num_outputs()))
      return InvalidArgumentError("InferenceCalculator: model '{}' has {} outputs, the node has {} TENSOR streams",
                                  model_path_, interpreter_->num_outputs(), cc->Outputs().NumEntries("TENSOR"));
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    if (cc->Inputs().HasTag("TENSORS")) {
      EP_ASSIGN_OR_RETURN(const std::vector<Tensor>* tensors, cc->Inputs().Tag("TENSORS").Get<std::vector<Tensor>>());
      if (tensors->size() != interpreter_->num_inputs())
        return InvalidArgumentError("InferenceCalculator: model '{}' has {} inputs, got {} tensors", model_path_,
                                    interpreter_->num_inputs(), tensors->size());
      for (size_t i = 0; i < tensors->size(); ++i) EP_RETURN_IF_ERROR(SetInput(i, (*tensors)[i]));
    } else {
      for (int i = 0; i < cc->Inputs().NumEntries("TENSOR"); ++i) {
        const InputStreamView& stream = cc->Inputs().Get("TENSOR", i);
        if (stream.IsEmpty()) continue;  // keeps its previous value
        EP_ASSIGN_OR_RETURN(const Tensor* tensor, stream.Get<Tensor>());
        EP_RETURN_IF_ERROR(SetInput(static_cast<size_t>(i), *tensor));
      }
    }

    Status invoked = interpreter_->Invoke();
    if (!invoked.ok()) return invoked.WithContext(fmt::format("InferenceCalculator, model '{}'", model_path_));

    const Timestamp timestamp = cc->InputTimestamp();
    const int indexed_outputs = cc->Outputs().NumEntries("TENSOR");
    for (int i = 0; i < indexed_outputs; ++i) {
      EP_ASSIGN_OR_RETURN(Tensor output, Tensor::CopyFrom(interpreter_->output(static_cast<size_t>(i))));
      EP_RETURN_IF_ERROR(cc->Outputs().Get("TENSOR", i).Add(std::move(output), timestamp));
    }
    if (cc->Outputs().HasTag("TENSORS")) {
      std::vector<Tensor> outputs;
      outputs.reserve(interpreter_->num_outputs());
      for (size_t i = 0; i < interpreter_->num_outputs(); ++i) {
        EP_ASSIGN_OR_RETURN(Tensor output, Tensor::CopyFrom(interpreter_->output(i)));
        outputs.push_back(std::move(output));
      }
      EP_RETURN_IF_ERROR(cc->Outputs().Tag("TENSORS").Add(std::move(outputs), timestamp));
    }
    return OkStatus();
  }

 private:
  // Copies `tensor` into model input `index` after checking dtype and shape.
  Status SetInput(size_t index, const Tensor& tensor) {
    engine::TensorView& input = interpreter_->input(index);
    if (tensor.dtype() != input.dtype || tensor.shape() != input.shape) {
      return InvalidArgumentError(
          "InferenceCalculator: model '{}' input {} ('{}') is {}[{}], got a {} tensor", model_path_, index, input.name,
          engine::DTypeName(input.dtype), fmt::join(input.shape, ","), tensor.DebugString());
    }
    if (tensor.empty()) return InvalidArgumentError("InferenceCalculator: input {} is an empty tensor", index);
    std::memcpy(input.data, tensor.raw_data(), input.num_bytes());
    return OkStatus();
  }

  std::string model_path_;
  std::unique_ptr<engine::Interpreter> interpreter_;
};

EDGEPIPE_REGISTER_CALCULATOR(InferenceCalculator);

}  // namespace edgepipe
