// GateCalculator: passes or blocks its data streams according to a boolean
// control (MediaPipe's ALLOW / DISALLOW gate).
//
// Inputs  "" (any, repeated): data streams.
//         ALLOW or DISALLOW (bool, optional): the control, synchronised with
//         the data (a packet at T decides T).
// Side    ALLOW or DISALLOW (bool, optional): a fixed control for the run.
// Outputs "" (same types, one per data input).
// Options GateCalculatorOptions: empty_packets_as_allow, allow (the default state).
//
// With a control stream, a timestamp with no control packet blocks (or allows,
// with empty_packets_as_allow). Blocked timestamps still advance the outputs'
// bounds, so downstream nodes never wait on the gate.
//
//   node {
//     calculator: "GateCalculator"
//     input_stream: "frames"
//     input_stream: "ALLOW:detector_enabled"
//     output_stream: "gated_frames"
//   }
#include "calculators/flow/gate_calculator.pb.h"
#include "core/calculator.h"

namespace edgepipe {

class GateCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<GateCalculatorOptions>();
    cc->AddInput("", TypeId::Any()).Repeated().Doc("data streams");
    cc->Input<bool>("ALLOW").Optional().Doc("true lets the data at this timestamp through");
    cc->Input<bool>("DISALLOW").Optional().Doc("true blocks the data at this timestamp");
    cc->InputSidePacket<bool>("ALLOW").Optional().Doc("fixed state for the run");
    cc->InputSidePacket<bool>("DISALLOW").Optional().Doc("fixed state for the run (inverted)");
    cc->AddOutput("", TypeId::Any()).Repeated().SameTypeAs("").Doc("the data, when allowed");
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Passes or blocks its data streams by a boolean control: an ALLOW or DISALLOW stream (synchronised "
        "with the data) or side packet. Blocked timestamps still advance the output bounds, so nothing "
        "downstream waits on a closed gate.");
    cc->SetExampleConfig(R"(node {
  calculator: "GateCalculator"
  input_stream: "frames"
  input_stream: "ALLOW:detector_enabled"
  output_stream: "gated_frames"
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    const auto& options = cc->Options<GateCalculatorOptions>();
    const bool allow_stream = cc->Inputs().HasTag("ALLOW"), disallow_stream = cc->Inputs().HasTag("DISALLOW");
    const bool allow_side = cc->InputSidePackets().HasTag("ALLOW"), disallow_side = cc->InputSidePackets().HasTag("DISALLOW");
    if (allow_stream + disallow_stream + allow_side + disallow_side > 1) {
      return InvalidArgumentError("GateCalculator takes one control: an ALLOW or DISALLOW stream or side packet, not several");
    }
    if (cc->Inputs().NumEntries("") != cc->Outputs().NumEntries("")) {
      return InvalidArgumentError("GateCalculator has {} data inputs but {} outputs; they must match",
                                  cc->Inputs().NumEntries(""), cc->Outputs().NumEntries(""));
    }
    control_tag_ = allow_stream ? "ALLOW" : (disallow_stream ? "DISALLOW" : "");
    empty_as_allow_ = options.empty_packets_as_allow();
    state_ = options.allow();
    if (allow_side || disallow_side) {
      const char* tag = allow_side ? "ALLOW" : "DISALLOW";
      EP_ASSIGN_OR_RETURN(const bool* value, cc->InputSidePackets().Tag(tag).Get<bool>());
      state_ = allow_side ? *value : !*value;
    }
    for (int i = 0; i < cc->Inputs().NumEntries(""); ++i) {
      const Packet& header = cc->Inputs().Get("", i).Header();
      if (!header.IsEmpty()) EP_RETURN_IF_ERROR(cc->Outputs().Get("", i).SetHeader(header));
    }
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    bool allow = state_;
    if (!control_tag_.empty()) {
      const InputStreamView& control = cc->Inputs().Tag(control_tag_);
      if (control.IsEmpty()) {
        allow = empty_as_allow_;
      } else {
        EP_ASSIGN_OR_RETURN(const bool* value, control.Get<bool>());
        allow = control_tag_ == "ALLOW" ? *value : !*value;
      }
    }
    if (!allow) return OkStatus();  // the timestamp offset advances the bounds
    for (int i = 0; i < cc->Inputs().NumEntries(""); ++i) {
      const InputStreamView& input = cc->Inputs().Get("", i);
      if (!input.IsEmpty()) EP_RETURN_IF_ERROR(cc->Outputs().Get("", i).Add(input.Value()));
    }
    return OkStatus();
  }

 private:
  std::string control_tag_;
  bool empty_as_allow_ = false;
  bool state_ = true;
};

EDGEPIPE_REGISTER_CALCULATOR(GateCalculator);

}  // namespace edgepipe
