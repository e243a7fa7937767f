// PacketClonerCalculator: on every TICK, re-emits the latest packet of each
// data input at the tick's timestamp (e.g. the last detections on every frame).
//
// Inputs  "" (any, repeated): data whose latest value is kept.
//         TICK (any): when to emit.
// Outputs "" (same types, one per data input).
// Options PacketClonerCalculatorOptions: output_only_when_all_inputs_received.
//
// Uses the immediate input handler: a data packet counts from the moment it
// arrives, as in MediaPipe (which tick first sees a new value depends on timing).
//
//   node {
//     calculator: "PacketClonerCalculator"
//     input_stream: "detections"
//     input_stream: "TICK:frames"
//     output_stream: "detections_every_frame"
//   }
#include "calculators/flow/packet_cloner_calculator.pb.h"
#include "core/calculator.h"

namespace edgepipe {

class PacketClonerCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<PacketClonerCalculatorOptions>();
    cc->AddInput("", TypeId::Any()).Repeated().Doc("data to clone");
    cc->AddInput("TICK", TypeId::Any()).Doc("emit the latest data at each TICK timestamp");
    cc->AddOutput("", TypeId::Any()).Repeated().SameTypeAs("").Doc("latest data, at TICK timestamps");
    cc->SetInputHandler(InputHandlerKind::kImmediate);
    cc->SetDoc(
        "On every TICK packet, re-emits the most recent packet of each data input at the TICK's timestamp, "
        "e.g. to pair slow results (detections a few times a second) with every frame.");
    cc->SetExampleConfig(R"(node {
  calculator: "PacketClonerCalculator"
  input_stream: "detections"
  input_stream: "TICK:frames"
  output_stream: "detections_every_frame"
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    if (cc->Inputs().NumEntries("") != cc->Outputs().NumEntries("")) {
      return InvalidArgumentError("PacketClonerCalculator has {} data inputs but {} outputs; they must match",
                                  cc->Inputs().NumEntries(""), cc->Outputs().NumEntries(""));
    }
    latest_.resize(cc->Inputs().NumEntries(""));
    all_required_ = cc->Options<PacketClonerCalculatorOptions>().output_only_when_all_inputs_received();
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    for (int i = 0; i < cc->Inputs().NumEntries(""); ++i) {
      const InputStreamView& input = cc->Inputs().Get("", i);
      if (!input.IsEmpty()) latest_[i] = input.Value();
    }
    const InputStreamView& tick = cc->Inputs().Tag("TICK");
    if (tick.IsEmpty()) return OkStatus();
    const Timestamp at = tick.Value().timestamp();
    bool all_present = true;
    for (const Packet& packet : latest_) all_present &= !packet.IsEmpty();
    for (int i = 0; i < static_cast<int>(latest_.size()); ++i) {
      OutputStreamHandle& output = cc->Outputs().Get("", i);
      if (!latest_[i].IsEmpty() && (all_present || !all_required_)) {
        EP_RETURN_IF_ERROR(output.Add(latest_[i].At(at)));
      } else {
        EP_RETURN_IF_ERROR(output.SetNextTimestampBound(at.NextAllowedInStream()));
      }
    }
    return OkStatus();
  }

 private:
  std::vector<Packet> latest_;
  bool all_required_ = false;
};

EDGEPIPE_REGISTER_CALCULATOR(PacketClonerCalculator);

}  // namespace edgepipe
