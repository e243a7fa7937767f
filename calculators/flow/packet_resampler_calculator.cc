// PacketResamplerCalculator: turns a stream at any (even irregular) rate into
// one at exactly frame_rate packets per second.
//
// Input   DATA (any), e.g. video frames; a VideoHeader header is passed on with
//         the new frame rate.
// Output  DATA (same type), at t0 + round(k × 1e6 / frame_rate) µs.
// Side    MAX_FRAMES (integer or decimal string, optional): emit at most this
//         many packets (edgepipe run --max-frames bounds what a high rate
//         makes of a few inputs); 0 or unset: no limit.
// Options PacketResamplerCalculatorOptions: frame_rate (required, at most
//         kMaxFrameRate), jitter,
//         jitter_seed, base_timestamp, start_time, end_time, flush_last_packet.
//
// MediaPipe's semantics: t0 is the first packet's timestamp (or aligned to
// base_timestamp). Output k is emitted once a packet at or after its target
// time arrives; it carries the nearer of the previous and the current packet
// (a tie goes to the current one). A gap spanning several periods repeats the
// last packet. At the end, flush_last_packet emits the last packet at the next
// output time. Output times are computed from k each time (never accumulated),
// so no rounding error builds up. This needs real microsecond timestamps, which
// every edgepipe source provides.
//
//   node {
//     calculator: "PacketResamplerCalculator"
//     input_stream: "DATA:frames"
//     output_stream: "DATA:frames_2fps"
//     options { [edgepipe.PacketResamplerCalculatorOptions.ext] { frame_rate: 2 } }
//   }
#include <cmath>
#include <random>

#include "calculators/flow/packet_resampler_calculator.pb.h"
#include "calculators/types/frame_rate.h"
#include "calculators/types/side_packet_values.h"
#include "calculators/types/video_header.h"
#include "core/calculator.h"

namespace edgepipe {

class PacketResamplerCalculator : public CalculatorBase {
 public:
  using Options = PacketResamplerCalculatorOptions;
  // Timestamps are microseconds; above 1000 packets per second a gap of a few
  // seconds becomes thousands of repeats of one packet (1e9 made thousands of
  // image files from 3 frames).
  static constexpr double kMaxFrameRate = 1000;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->AddInput("DATA", TypeId::Any()).Doc("packets at any rate");
    cc->AddOutput("DATA", TypeId::Any()).SameTypeAs("DATA").Doc("packets at exactly frame_rate");
    cc->AddInputSidePacket("MAX_FRAMES", TypeId::Any()).Optional().Doc("emit at most this many packets (0/unset: no limit)");
    cc->SetDoc(
        "Resamples a stream to exactly frame_rate packets per second: output k is at t0 + round(k/f) s "
        "(t0 = first packet or base_timestamp) and carries the input packet nearest to that time (the "
        "previous or the current one, ties to the current); gaps repeat the last packet. Optional "
        "reproducible jitter, start/end times, and a flush of the last packet at the end.");
    cc->SetExampleConfig(R"(node {
  calculator: "PacketResamplerCalculator"
  input_stream: "DATA:frames"
  output_stream: "DATA:frames_2fps"
  options { [edgepipe.PacketResamplerCalculatorOptions.ext] { frame_rate: 2 } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    options_ = cc->Options<Options>();
    if (!options_.has_frame_rate() || !(options_.frame_rate() > 0) || !(options_.frame_rate() <= kMaxFrameRate)) {
      return InvalidArgumentError("PacketResamplerCalculator needs frame_rate in (0, {}] packets per second, got {:.6g}",
                                  kMaxFrameRate, options_.frame_rate());
    }
    if (options_.has_start_time() && options_.has_end_time() && options_.end_time() < options_.start_time()) {
      return InvalidArgumentError("PacketResamplerCalculator end_time {} is before start_time {}: nothing would be emitted",
                                  options_.end_time(), options_.start_time());
    }
    EP_ASSIGN_OR_RETURN(max_frames_, MaxFramesSidePacket(*cc, 0));
    if (options_.jitter() < 0 || options_.jitter() >= 1) {
      return InvalidArgumentError("PacketResamplerCalculator jitter must be in [0, 1), got {}", options_.jitter());
    }
    period_us_ = 1e6 / options_.frame_rate();
    random_.seed(options_.jitter_seed());

    const Packet& header = cc->Inputs().Tag("DATA").Header();
    if (!header.IsEmpty()) {
      if (const auto* video = header.TryGet<VideoHeader>()) {
        VideoHeader resampled = *video;
        auto rate = RationalFrameRate(options_.frame_rate());
        if (rate.ok()) resampled.rate = *rate;
        resampled.frame_count = -1;
        EP_RETURN_IF_ERROR(cc->Outputs().Tag("DATA").SetHeader(MakePacket<VideoHeader>(resampled).At(header.timestamp())));
      } else {
        EP_RETURN_IF_ERROR(cc->Outputs().Tag("DATA").SetHeader(header));
      }
    }
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    const Packet& current = cc->Inputs().Tag("DATA").Value();
    const int64_t now = cc->InputTimestamp().Value();
    OutputStreamHandle& output = cc->Outputs().Tag("DATA");
    if (!started_) {
      started_ = true;
      if (options_.has_base_timestamp()) {
        // The output grid base + k/f; start at the grid point nearest the first packet.
        origin_us_ = options_.base_timestamp();
        next_k_ = std::llround((static_cast<double>(now) - static_cast<double>(origin_us_)) / period_us_);
      } else {
        origin_us_ = now;
        next_k_ = 0;
      }
      next_target_ = TargetOf(next_k_);
    }
    while (next_target_ <= now) {
      // Nearer of previous and current; a tie goes to the current packet.
      const bool use_previous = !previous_.IsEmpty() && (next_target_ - previous_.timestamp().Value()) < (now - next_target_);
      EP_RETURN_IF_ERROR(EmitWithinLimits(output, use_previous ? previous_ : current, next_target_));
      next_target_ = TargetOf(++next_k_);
    }
    previous_ = current;
    // The next output cannot be earlier than its target time.
    const bool emitted_any = last_emitted_ != std::numeric_limits<int64_t>::min();
    const int64_t bound = emitted_any ? std::max(next_target_, last_emitted_ + 1) : next_target_;
    EP_RETURN_IF_ERROR(output.SetNextTimestampBound(Timestamp(bound)));
    return OkStatus();
  }

  Status Close(CalculatorContext* cc) override {
    if (options_.flush_last_packet() && !previous_.IsEmpty()) {
      EP_RETURN_IF_ERROR(EmitWithinLimits(cc->Outputs().Tag("DATA"), previous_, next_target_));
    }
    return OkStatus();
  }

 private:
  // Target time of output k: origin + round(k × period), plus this period's jitter.
  int64_t TargetOf(int64_t k) {
    int64_t target = origin_us_ + std::llround(static_cast<double>(k) * period_us_);
    if (options_.jitter() > 0) {
      // 53 random bits → u in [0, 1): identical on every platform for a given seed
      // (std::uniform_real_distribution is not specified bit-exactly).
      const double u = static_cast<double>(random_() >> 11) * 0x1.0p-53;
      target += std::llround((u - 0.5) * options_.jitter() * period_us_);
    }
    return target;
  }

  Status EmitWithinLimits(OutputStreamHandle& output, const Packet& packet, int64_t target) {
    if (options_.has_start_time() && target < options_.start_time()) return OkStatus();
    if (options_.has_end_time() && target > options_.end_time()) return OkStatus();
    // Jitter can pull a target before the last one only by rounding; keep the stream increasing.
    if (target <= last_emitted_) return OkStatus();
    if (max_frames_ > 0 && emitted_ >= max_frames_) return OkStatus();
    ++emitted_;
    last_emitted_ = target;
    return output.Add(packet.At(Timestamp(target)));
  }

  Options options_;
  double period_us_ = 0;
  bool started_ = false;
  int64_t origin_us_ = 0;
  int64_t next_k_ = 0;
  int64_t next_target_ = 0;
  int64_t last_emitted_ = std::numeric_limits<int64_t>::min();
  int64_t max_frames_ = 0;  // 0: no limit
  int64_t emitted_ = 0;
  Packet previous_;
  std::mt19937_64 random_;
};

EDGEPIPE_REGISTER_CALCULATOR(PacketResamplerCalculator);

}  // namespace edgepipe
