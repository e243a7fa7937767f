// RealtimePacerCalculator: holds each packet until its timestamp is due on the
// wall clock, so that a file plays at real speed and the graph behaves as with a
// live camera (e.g. to check that a FlowLimiter keeps latency bounded).
//
// Input   "" (any)
// Output  "" (same packets, same timestamps, released in real time)
// Options RealtimePacerCalculatorOptions: speed.
//
// The first packet passes at once; packet at T waits until (T − T0)/speed has
// passed since then. Packets that are already late pass at once.
//
//   node {
//     calculator: "RealtimePacerCalculator"
//     input_stream: "frames"
//     output_stream: "live_frames"
//   }
#include <chrono>
#include <thread>

#include "calculators/flow/realtime_pacer_calculator.pb.h"
#include "core/calculator.h"

namespace edgepipe {

class RealtimePacerCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<RealtimePacerCalculatorOptions>();
    cc->AddInput("", TypeId::Any()).Doc("packets");
    cc->AddOutput("", TypeId::Any()).SameTypeAs("").Doc("the same packets, released at their timestamps' wall time");
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Releases each packet when its timestamp is due on the wall clock (relative to the first packet, "
        "scaled by speed), so that a video file plays like a live camera.");
    cc->SetExampleConfig(R"(node {
  calculator: "RealtimePacerCalculator"
  input_stream: "frames"
  output_stream: "live_frames"
  options { [edgepipe.RealtimePacerCalculatorOptions.ext] { speed: 1.0 } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    speed_ = cc->Options<RealtimePacerCalculatorOptions>().speed();
    if (!(speed_ > 0)) return InvalidArgumentError("RealtimePacerCalculator speed must be positive, got {}", speed_);
    const Packet& header = cc->Inputs().Get("", 0).Header();
    if (!header.IsEmpty()) EP_RETURN_IF_ERROR(cc->Outputs().Get("", 0).SetHeader(header));
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    const int64_t timestamp_us = cc->InputTimestamp().Value();
    const auto now = std::chrono::steady_clock::now();
    if (!start_) {
      start_ = now;
      first_timestamp_us_ = timestamp_us;
    }
    const auto due = *start_ + std::chrono::microseconds(static_cast<int64_t>(
                                   static_cast<double>(timestamp_us - first_timestamp_us_) / speed_));
    if (due > now) std::this_thread::sleep_until(due);
    return cc->Outputs().Get("", 0).Add(cc->Inputs().Get("", 0).Value());
  }

 private:
  double speed_ = 1.0;
  std::optional<std::chrono::steady_clock::time_point> start_;
  int64_t first_timestamp_us_ = 0;
};

EDGEPIPE_REGISTER_CALCULATOR(RealtimePacerCalculator);

}  // namespace edgepipe
