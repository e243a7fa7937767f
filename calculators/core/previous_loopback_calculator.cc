// PreviousLoopbackCalculator: for each MAIN packet at T, emits on PREV_LOOP the
// LOOP packet of the previous MAIN timestamp, re-stamped at T (nothing, but a
// raised bound, for the first MAIN packet or when LOOP had no packet then).
// LOOP is a back edge from downstream: this is how a stateful model (e.g.
// traffic_model's LSTM state) gets last frame's output as this frame's input.
//
// Ports: MAIN (any) and LOOP (any, back edge) → PREV_LOOP (LOOP's type).
//
// Example:
//   node {
//     calculator: "PreviousLoopbackCalculator"
//     input_stream: "MAIN:frames"
//     input_stream: "LOOP:state"
//     input_stream_info { tag_index: "LOOP" back_edge: true }
//     output_stream: "PREV_LOOP:previous_state"
//   }
#include <deque>
#include <map>

#include "core/calculator.h"

namespace edgepipe {

class PreviousLoopbackCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->SetDoc(
        "For each MAIN packet at T, emits the LOOP packet of the previous MAIN timestamp at T (a back edge "
        "carries state from one frame to the next).");
    cc->SetExampleConfig(R"(node {
  calculator: "PreviousLoopbackCalculator"
  input_stream: "MAIN:frames"
  input_stream: "LOOP:state"
  input_stream_info { tag_index: "LOOP" back_edge: true }
  output_stream: "PREV_LOOP:previous_state"
})");
    cc->AddInput("MAIN", TypeId::Any()).Doc("sets the timestamps");
    cc->AddInput("LOOP", TypeId::Any()).Doc("the value to carry over (a back edge)");
    cc->AddOutput("PREV_LOOP", TypeId::Any()).SameTypeAs("LOOP").Doc("LOOP of the previous MAIN timestamp");
    cc->SetInputHandler(InputHandlerKind::kImmediate);
    cc->SetProcessTimestampBounds(true);
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    const InputStreamView& main = cc->Inputs().Tag("MAIN");
    const InputStreamView& loop = cc->Inputs().Tag("LOOP");
    if (!main.IsEmpty()) pending_main_.push_back(main.Value().timestamp());
    if (!loop.IsEmpty()) loop_packets_[loop.Value().timestamp()] = loop.Value();
    const Timestamp loop_bound = loop.NextTimestampBound();

    OutputStreamHandle& output = cc->Outputs().Tag("PREV_LOOP");
    while (!pending_main_.empty()) {
      const Timestamp current = pending_main_.front();
      if (previous_main_ != Timestamp::Unstarted()) {
        // LOOP must be settled at the previous MAIN timestamp before we know what it was.
        if (loop_bound <= previous_main_) break;
        auto it = loop_packets_.find(previous_main_);
        if (it != loop_packets_.end()) EP_RETURN_IF_ERROR(output.Add(it->second.At(current)));
        loop_packets_.erase(loop_packets_.begin(), loop_packets_.upper_bound(previous_main_));
      }
      EP_RETURN_IF_ERROR(output.SetNextTimestampBound(current.NextAllowedInStream()));
      previous_main_ = current;
      pending_main_.pop_front();
    }
    // MAIN has ended: nothing more will be emitted, and the loop can drain and close.
    if (pending_main_.empty() && main.NextTimestampBound() == Timestamp::Done()) output.Close();
    return OkStatus();
  }

 private:
  std::deque<Timestamp> pending_main_;
  std::map<Timestamp, Packet> loop_packets_;
  Timestamp previous_main_ = Timestamp::Unstarted();
};

EDGEPIPE_REGISTER_CALCULATOR(PreviousLoopbackCalculator);

}  // namespace edgepipe
