// PacketCounterCalculator: a sink that counts the packets it receives and
// checks that their timestamps strictly increase. On Close it emits the count
// as the output side packet "COUNT" (int64) and, if connected, as a packet on
// "COUNT" at PostStream. Used by tests and `edgepipe bench-graph`.
//
// Ports: input "" (any, repeated) → output "COUNT" (int64, optional);
// output side packet "COUNT" (int64, optional).
//
// Example:
//   node {
//     calculator: "PacketCounterCalculator"
//     input_stream: "frames"
//     output_side_packet: "COUNT:frame_count"
//   }
#include "core/calculator.h"

namespace edgepipe {

class PacketCounterCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->SetDoc("Counts incoming packets (checking that timestamps increase) and reports the count at the end.");
    cc->SetExampleConfig(R"(node {
  calculator: "PacketCounterCalculator"
  input_stream: "frames"
  output_side_packet: "COUNT:frame_count"
})");
    cc->AddInput("", TypeId::Any()).Repeated().Doc("packets to count");
    cc->Output<int64_t>("COUNT").Optional().Doc("the count, at PostStream");
    cc->OutputSidePacket<int64_t>("COUNT").Optional().Doc("the count, after the run");
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    for (int i = 0; i < cc->Inputs().NumEntries(); ++i) {
      if (cc->Inputs().Index(i).IsEmpty()) continue;
      ++count_;
    }
    if (cc->InputTimestamp() <= last_) {
      return InternalError("timestamps went backwards: {} after {}", cc->InputTimestamp().DebugString(),
                           last_.DebugString());
    }
    last_ = cc->InputTimestamp();
    return OkStatus();
  }

  Status Close(CalculatorContext* cc) override {
    EP_RETURN_IF_ERROR(cc->Outputs().Tag("COUNT").Add(count_, Timestamp::PostStream()));
    return cc->OutputSidePackets().Set("COUNT", MakePacket<int64_t>(count_));
  }

 private:
  int64_t count_ = 0;
  Timestamp last_ = Timestamp::Unstarted();
};

EDGEPIPE_REGISTER_CALCULATOR(PacketCounterCalculator);

}  // namespace edgepipe
