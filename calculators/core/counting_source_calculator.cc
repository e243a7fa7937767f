// CountingSourceCalculator: a source that emits the integers 0, 1, …, N−1 as
// int64 packets at evenly spaced timestamps, then stops. Drives scheduler
// benchmarks (`edgepipe bench-graph`) and graph tests without media.
//
// Ports: output "" (int64). Input side packet "NUM_PACKETS" (int64, optional)
// overrides the option.
//
// Example:
//   node {
//     calculator: "CountingSourceCalculator"
//     output_stream: "numbers"
//     options { [edgepipe.CountingSourceCalculatorOptions.ext] { num_packets: 100 } }
//   }
#include "calculators/core/counting_source_calculator.pb.h"
#include "core/calculator.h"

namespace edgepipe {

class CountingSourceCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->SetDoc("Emits the integers 0..N-1 (int64) at evenly spaced timestamps, then stops.");
    cc->SetExampleConfig(R"(node {
  calculator: "CountingSourceCalculator"
  output_stream: "numbers"
  options { [edgepipe.CountingSourceCalculatorOptions.ext] { num_packets: 100 } }
})");
    cc->UseOptions<CountingSourceCalculatorOptions>();
    const auto& options = cc->Options<CountingSourceCalculatorOptions>();
    if (options.num_packets() < 0) return InvalidArgumentError("num_packets must be >= 0, not {}", options.num_packets());
    if (options.timestamp_step() < 1) {
      return InvalidArgumentError("timestamp_step must be >= 1, not {}", options.timestamp_step());
    }
    cc->Output<int64_t>("").Doc("0, 1, 2, ...");
    cc->InputSidePacket<int64_t>("NUM_PACKETS").Optional().Doc("overrides num_packets");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    const auto& options = cc->Options<CountingSourceCalculatorOptions>();
    remaining_ = options.num_packets();
    if (const Packet& side = cc->InputSidePackets().Tag("NUM_PACKETS"); !side.IsEmpty()) {
      EP_ASSIGN_OR_RETURN(const int64_t* count, side.Get<int64_t>());
      remaining_ = *count;
    }
    next_timestamp_ = options.first_timestamp();
    step_ = options.timestamp_step();
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    if (remaining_ <= 0) return StopProcessing();
    EP_RETURN_IF_ERROR(cc->Outputs().Index(0).Add(value_, Timestamp(next_timestamp_)));
    ++value_;
    --remaining_;
    EP_ASSIGN_OR_RETURN(Timestamp next, Timestamp(next_timestamp_).Add(step_));
    next_timestamp_ = next.Value();
    return OkStatus();
  }

 private:
  int64_t remaining_ = 0;
  int64_t value_ = 0;
  int64_t next_timestamp_ = 0;
  int64_t step_ = 1;
};

EDGEPIPE_REGISTER_CALCULATOR(CountingSourceCalculator);

}  // namespace edgepipe
