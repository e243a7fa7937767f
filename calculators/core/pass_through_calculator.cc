// PassThroughCalculator: forwards every input packet, unchanged, to the output
// with the same index. Useful to rename streams, to join subgraph boundaries
// and to measure the per-hop cost of the scheduler.
//
// Ports: inputs "" (repeated, any type) → outputs "" (same count and types).
//
// Example:
//   node {
//     calculator: "PassThroughCalculator"
//     input_stream: "frames"
//     output_stream: "frames_copy"
//   }
#include "core/calculator.h"

namespace edgepipe {

class PassThroughCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->SetDoc("Forwards each input packet unchanged to the output of the same index.");
    cc->SetExampleConfig(R"(node {
  calculator: "PassThroughCalculator"
  input_stream: "frames"
  output_stream: "frames_copy"
})");
    cc->AddInput("", TypeId::Any()).Repeated().Doc("packets to forward");
    cc->AddOutput("", TypeId::Any()).Repeated().SameTypeAs("").Doc("the same packets");
    cc->SetTimestampOffset(0);
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    if (cc->Inputs().NumEntries() != cc->Outputs().NumEntries()) {
      return InvalidArgumentError("{} inputs but {} outputs; they must match", cc->Inputs().NumEntries(),
                                  cc->Outputs().NumEntries());
    }
    for (int i = 0; i < cc->Inputs().NumEntries(); ++i) {
      const Packet& header = cc->Inputs().Index(i).Header();
      if (!header.IsEmpty()) EP_RETURN_IF_ERROR(cc->Outputs().Index(i).SetHeader(header));
    }
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    for (int i = 0; i < cc->Inputs().NumEntries(); ++i) {
      const InputStreamView& input = cc->Inputs().Index(i);
      if (!input.IsEmpty()) EP_RETURN_IF_ERROR(cc->Outputs().Index(i).Add(input.Value()));
    }
    return OkStatus();
  }
};

EDGEPIPE_REGISTER_CALCULATOR(PassThroughCalculator);

}  // namespace edgepipe
