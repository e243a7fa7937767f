// PacketThinnerCalculator: keeps at most one packet per period, dropping the
// rest; timestamps are kept (unlike the resampler, which re-times packets).
//
// Input   "" (any)
// Output  "" (same type)
// Side    FRAME_RATE (string or number, optional): packets per second to keep;
//         overrides period_us with round(1e6 / rate) (a graph's detection_fps).
// Options PacketThinnerCalculatorOptions: period_us, sync, start_time, end_time.
//
// Async (default): a packet is kept when at least period_us has passed since
// the last kept packet. Sync: time is cut into period_us cells from
// start_time and the first packet of each cell is kept.
//
//   node {
//     calculator: "PacketThinnerCalculator"
//     input_stream: "frames"
//     output_stream: "frames_thinned"
//     options { [edgepipe.PacketThinnerCalculatorOptions.ext] { period_us: 500000 } }
//   }
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "calculators/flow/packet_thinner_calculator.pb.h"
#include "calculators/types/side_packet_values.h"
#include "core/calculator.h"

namespace edgepipe {

class PacketThinnerCalculator : public CalculatorBase {
 public:
  using Options = PacketThinnerCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->AddInput("", TypeId::Any()).Doc("packets");
    cc->AddOutput("", TypeId::Any()).SameTypeAs("").Doc("at most one packet per period, timestamps kept");
    cc->AddInputSidePacket("FRAME_RATE", TypeId::Any()).Optional().Doc("packets per second to keep (string or number); overrides period_us");
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Keeps at most one packet per period_us and drops the others, keeping the kept packets' "
        "timestamps: asynchronously (period measured from the last kept packet) or on a fixed grid "
        "from start_time (sync).");
    cc->SetExampleConfig(R"(node {
  calculator: "PacketThinnerCalculator"
  input_stream: "frames"
  output_stream: "frames_thinned"
  options { [edgepipe.PacketThinnerCalculatorOptions.ext] { period_us: 500000 } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    options_ = cc->Options<Options>();
    EP_RETURN_IF_ERROR(ApplyFrameRateSidePacket(*cc));
    if (options_.period_us() <= 0) {
      return InvalidArgumentError("PacketThinnerCalculator period_us must be positive, got {}", options_.period_us());
    }
    if (options_.end_time() < options_.start_time()) {
      return InvalidArgumentError("PacketThinnerCalculator end_time {} is before start_time {}: every packet would be dropped",
                                  options_.end_time(), options_.start_time());
    }
    const Packet& header = cc->Inputs().Get("", 0).Header();
    if (!header.IsEmpty()) EP_RETURN_IF_ERROR(cc->Outputs().Get("", 0).SetHeader(header));
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    const int64_t now = cc->InputTimestamp().Value();
    if (now < options_.start_time() || now > options_.end_time()) return OkStatus();
    bool keep = false;
    if (options_.sync()) {
      const int64_t cell = (now - options_.start_time()) / options_.period_us();
      keep = !last_cell_ || cell > *last_cell_;
      if (keep) last_cell_ = cell;
    } else {
      keep = !last_kept_ || now - *last_kept_ >= options_.period_us();
      if (keep) last_kept_ = now;
    }
    if (!keep) return OkStatus();
    return cc->Outputs().Get("", 0).Add(cc->Inputs().Get("", 0).Value());
  }

 private:
  // FRAME_RATE, when set, replaces period_us.
  Status ApplyFrameRateSidePacket(const CalculatorContext& cc) {
    std::optional<double> rate;
    if (cc.InputSidePackets().HasTag("FRAME_RATE") && !cc.InputSidePackets().Tag("FRAME_RATE").IsEmpty() &&
        cc.InputSidePackets().Tag("FRAME_RATE").TryGet<double>() != nullptr) {
      rate = *cc.InputSidePackets().Tag("FRAME_RATE").TryGet<double>();
    } else {
      EP_ASSIGN_OR_RETURN(std::optional<std::string> text, StringSidePacket(cc, "FRAME_RATE"));
      if (!text) return OkStatus();
      char* end = nullptr;
      rate = std::strtod(text->c_str(), &end);
      if (end != text->c_str() + text->size()) {
        return InvalidArgumentError("PacketThinnerCalculator: FRAME_RATE must be a number, got '{}'", *text);
      }
    }
    if (!(*rate > 0) || !std::isfinite(*rate)) {
      return InvalidArgumentError("PacketThinnerCalculator: FRAME_RATE must be a positive number, got {}", *rate);
    }
    options_.set_period_us(std::max<int64_t>(1, std::llround(1e6 / *rate)));
    return OkStatus();
  }

  Options options_;
  std::optional<int64_t> last_kept_;
  std::optional<int64_t> last_cell_;
};

EDGEPIPE_REGISTER_CALCULATOR(PacketThinnerCalculator);

}  // namespace edgepipe
