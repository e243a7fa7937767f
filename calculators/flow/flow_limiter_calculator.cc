// FlowLimiterCalculator: lets at most max_in_flight frames into a slow part of
// the graph and drops the rest, so that a live source never waits on a model
// and latency stays bounded.
//
// Inputs  "" (any): the frames.
//         FINISHED (any, a back edge): the slow part's output; a packet or a
//         timestamp bound at T there means every frame ≤ T has left the slow part.
// Outputs "" (same type): the frames let through.
//         ALLOW (bool, optional): for every input frame, whether it passed.
// Side out DROPPED_COUNT (int64, optional): frames dropped, set at Close.
// Options FlowLimiterCalculatorOptions: max_in_flight (1), max_in_queue (0),
//         in_flight_timeout_us (0 = none).
//
// Frames pass while fewer than max_in_flight are in flight; otherwise they
// wait in a queue of max_in_queue (oldest dropped first when it is full) or,
// with no queue, are dropped at once. Drops are reported on ALLOW and counted.
// Uses the immediate input handler: frames are decided the moment they arrive,
// not when FINISHED catches up.
//
//   node {
//     calculator: "FlowLimiterCalculator"
//     input_stream: "frames"
//     input_stream: "FINISHED:detections"
//     input_stream_info { tag_index: "FINISHED" back_edge: true }
//     output_stream: "throttled_frames"
//   }
#include <algorithm>
#include <chrono>
#include <deque>
#include <limits>

#include "calculators/flow/flow_limiter_calculator.pb.h"
#include "core/calculator.h"

namespace edgepipe {

class FlowLimiterCalculator : public CalculatorBase {
 public:
  using Options = FlowLimiterCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->AddInput("", TypeId::Any()).Doc("frames");
    cc->AddInput("FINISHED", TypeId::Any()).Optional().Doc("back edge from the slow part's output");
    cc->AddOutput("", TypeId::Any()).SameTypeAs("").Doc("frames let through");
    cc->Output<bool>("ALLOW").Optional().Doc("per input frame: true if passed, false if dropped");
    cc->OutputSidePacket<int64_t>("DROPPED_COUNT").Optional().Doc("number of dropped frames (set at Close)");
    cc->SetInputHandler(InputHandlerKind::kImmediate);
    // FINISHED may only advance its bound (the slow part dropped a frame): still a release.
    cc->SetProcessTimestampBounds(true);
    cc->SetDoc(
        "Lets at most max_in_flight frames into a slow part of the graph (e.g. inference), dropping or "
        "briefly queueing (max_in_queue) the rest, so a live source never waits and latency stays bounded. "
        "The slow part's output comes back on FINISHED (a back edge): a packet or bound at T releases "
        "every frame ≤ T. Drops are reported per frame on ALLOW and counted in DROPPED_COUNT.");
    cc->SetExampleConfig(R"(node {
  calculator: "FlowLimiterCalculator"
  input_stream: "frames"
  input_stream: "FINISHED:detections"
  input_stream_info { tag_index: "FINISHED" back_edge: true }
  output_stream: "throttled_frames"
  options { [edgepipe.FlowLimiterCalculatorOptions.ext] { max_in_flight: 1 } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    options_ = cc->Options<Options>();
    if (options_.max_in_flight() < 1) {
      return InvalidArgumentError("FlowLimiterCalculator max_in_flight must be at least 1, got {}", options_.max_in_flight());
    }
    if (options_.max_in_queue() < 0) {
      return InvalidArgumentError("FlowLimiterCalculator max_in_queue must not be negative, got {}", options_.max_in_queue());
    }
    has_finished_ = cc->Inputs().HasTag("FINISHED");
    has_allow_ = cc->Outputs().HasTag("ALLOW");
    const Packet& header = cc->Inputs().Get("", 0).Header();
    if (!header.IsEmpty()) EP_RETURN_IF_ERROR(cc->Outputs().Get("", 0).SetHeader(header));
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    const auto now = std::chrono::steady_clock::now();
    // 1. Release frames the slow part has finished with (packet or bound on FINISHED).
    if (has_finished_) {
      const InputStreamView& finished = cc->Inputs().Tag("FINISHED");
      Timestamp released_below = finished.NextTimestampBound();
      if (!finished.IsEmpty()) released_below = std::max(released_below, finished.Value().timestamp().NextAllowedInStream());
      while (!in_flight_.empty() && in_flight_.front().timestamp < released_below) in_flight_.pop_front();
    }
    if (options_.in_flight_timeout_us() > 0) {
      const auto timeout = std::chrono::microseconds(options_.in_flight_timeout_us());
      while (!in_flight_.empty() && now - in_flight_.front().sent_at > timeout) in_flight_.pop_front();
    }

    // 2. A new frame joins the queue (or is dropped when there is no room at all).
    const InputStreamView& input = cc->Inputs().Get("", 0);
    if (!input.IsEmpty()) {
      last_input_ = input.Value().timestamp();
      queue_.push_back(input.Value());
      const size_t queue_room = static_cast<size_t>(options_.max_in_queue()) + (HasSlot() ? 1 : 0);
      while (queue_.size() > queue_room) {
        EP_RETURN_IF_ERROR(Drop(cc, queue_.front()));
        queue_.pop_front();
      }
    }

    // 3. Send queued frames while slots are free.
    OutputStreamHandle& output = cc->Outputs().Get("", 0);
    while (!queue_.empty() && HasSlot()) {
      in_flight_.push_back({queue_.front().timestamp(), now});
      if (has_allow_) EP_RETURN_IF_ERROR(cc->Outputs().Tag("ALLOW").Add(true, queue_.front().timestamp()));
      EP_RETURN_IF_ERROR(output.Add(queue_.front()));
      queue_.pop_front();
    }

    // 4. Once the frames have ended and none wait, close the outputs: the slow part
    //    then closes too, which ends FINISHED. Waiting for FINISHED to end first
    //    would never finish, since FINISHED depends on these outputs.
    if (queue_.empty() && input.NextTimestampBound() == Timestamp::Done()) {
      output.Close();
      if (has_allow_) cc->Outputs().Tag("ALLOW").Close();
      return OkStatus();
    }

    // 5. Nothing below the oldest queued frame (or below the input's bound) will be sent.
    //    The input's bound counts too: when the frames are thinned upstream, the nodes
    //    joining the slow part's output with every frame (a tracker) learn at once that
    //    no result comes for a frame that was never offered, instead of at the next one.
    Timestamp bound = queue_.empty() ? std::max(last_input_.NextAllowedInStream(), input.NextTimestampBound())
                                     : queue_.front().timestamp();
    if (last_input_ != Timestamp::Unstarted() && bound > sent_bound_) {
      EP_RETURN_IF_ERROR(output.SetNextTimestampBound(bound));
      if (has_allow_) EP_RETURN_IF_ERROR(cc->Outputs().Tag("ALLOW").SetNextTimestampBound(bound));
      sent_bound_ = bound;
    }
    return OkStatus();
  }

  Status Close(CalculatorContext* cc) override {
    // Frames still queued at the end never got a slot: they are drops too.
    dropped_ += static_cast<int64_t>(queue_.size());
    cc->CountDropped(static_cast<int64_t>(queue_.size()));
    queue_.clear();
    if (cc->OutputSidePackets().NumEntries() > 0) {
      EP_RETURN_IF_ERROR(cc->OutputSidePackets().Set("DROPPED_COUNT", MakePacket<int64_t>(dropped_)));
    }
    return OkStatus();
  }

 private:
  struct InFlight {
    Timestamp timestamp;
    std::chrono::steady_clock::time_point sent_at;
  };

  bool HasSlot() const { return static_cast<int>(in_flight_.size()) < options_.max_in_flight(); }

  Status Drop(CalculatorContext* cc, const Packet& frame) {
    ++dropped_;
    cc->CountDropped();
    if (has_allow_) return cc->Outputs().Tag("ALLOW").Add(false, frame.timestamp());
    return OkStatus();
  }

  Options options_;
  bool has_finished_ = false;
  bool has_allow_ = false;
  std::deque<InFlight> in_flight_;
  std::deque<Packet> queue_;
  Timestamp last_input_ = Timestamp::Unstarted();
  Timestamp sent_bound_ = Timestamp::Unstarted();
  int64_t dropped_ = 0;
};

EDGEPIPE_REGISTER_CALCULATOR(FlowLimiterCalculator);

}  // namespace edgepipe
