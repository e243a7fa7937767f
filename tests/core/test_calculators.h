// Small calculators for graph tests, registered by the test binary itself
// (which also exercises registration from outside the library).
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "core/calculator.h"

namespace edgepipe::testing {

// Adds the int64 packets present on A and B at each timestamp (synchronised).
class SumCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->SetDoc("test: A + B");
    cc->Input<int64_t>("A");
    cc->Input<int64_t>("B");
    cc->Output<int64_t>("SUM");
    cc->Output<std::string>("SEEN").Optional();
    return OkStatus();
  }
  Status Process(CalculatorContext* cc) override {
    int64_t sum = 0;
    std::string seen;
    for (const char* tag : {"A", "B"}) {
      const InputStreamView& input = cc->Inputs().Tag(tag);
      if (input.IsEmpty()) continue;
      EP_ASSIGN_OR_RETURN(const int64_t* value, input.Get<int64_t>());
      sum += *value;
      seen += tag;
    }
    EP_RETURN_IF_ERROR(cc->Outputs().Tag("SUM").Add(sum, cc->InputTimestamp()));
    return cc->Outputs().Tag("SEEN").Add(seen, cc->InputTimestamp());
  }
};

// Emits a std::string per input (for type mismatch tests).
class ToStringCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->SetDoc("test: to string");
    cc->AddInput("", TypeId::Any());
    cc->Output<std::string>("");
    cc->SetTimestampOffset(0);
    return OkStatus();
  }
  Status Process(CalculatorContext* cc) override {
    return cc->Outputs().Index(0).Add(cc->Inputs().Index(0).Value().DebugString(), cc->InputTimestamp());
  }
};

// Sleeps `delay_ms` per packet (side packet DELAY_MS, int64), counting concurrent calls.
class SlowPassCalculator : public CalculatorBase {
 public:
  static inline std::atomic<int> concurrent{0};
  static inline std::atomic<int> max_concurrent{0};
  static Status GetContract(CalculatorContract* cc) {
    cc->SetDoc("test: slow pass-through");
    cc->AddInput("", TypeId::Any());
    cc->AddOutput("", TypeId::Any()).SameTypeAs("");
    cc->InputSidePacket<int64_t>("DELAY_MS").Optional();
    cc->SetTimestampOffset(0);
    return OkStatus();
  }
  Status Open(CalculatorContext* cc) override {
    if (!cc->InputSidePackets().Tag("DELAY_MS").IsEmpty()) {
      delay_ms_ = *cc->InputSidePackets().Tag("DELAY_MS").Get<int64_t>().value();
    }
    return OkStatus();
  }
  Status Process(CalculatorContext* cc) override {
    const int now = ++concurrent;
    int seen = max_concurrent.load();
    while (now > seen && !max_concurrent.compare_exchange_weak(seen, now)) {
    }
    // Later timestamps finish sooner, so out-of-order completion is likely with max_in_flight > 1.
    const int64_t jitter = 3 - (cc->InputTimestamp().Value() % 4);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_ + jitter));
    --concurrent;
    return cc->Outputs().Index(0).Add(cc->Inputs().Index(0).Value());
  }

 private:
  int64_t delay_ms_ = 1;
};

// Fails when it sees the int64 value 3.
class FailOnThreeCalculator : public CalculatorBase {
 public:
  static inline std::atomic<int> closed{0};
  static Status GetContract(CalculatorContract* cc) {
    cc->SetDoc("test: fails on 3");
    cc->Input<int64_t>("");
    cc->Output<int64_t>("");
    return OkStatus();
  }
  Status Process(CalculatorContext* cc) override {
    const int64_t value = *cc->Inputs().Index(0).Get<int64_t>().value();
    if (value == 3) return InvalidArgumentError("value 3 is not welcome");
    return cc->Outputs().Index(0).Add(value, cc->InputTimestamp());
  }
  Status Close(CalculatorContext*) override {
    ++closed;
    return OkStatus();
  }
};

// Emits its input packet's value + 1 at the same timestamp (for loop tests).
class IncrementCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->SetDoc("test: +1");
    cc->Input<int64_t>("");
    cc->Output<int64_t>("");
    cc->SetTimestampOffset(0);
    return OkStatus();
  }
  Status Process(CalculatorContext* cc) override {
    return cc->Outputs().Index(0).Add(*cc->Inputs().Index(0).Get<int64_t>().value() + 1, cc->InputTimestamp());
  }
};

// Emits a packet at a timestamp lower than the previous one on the second call.
class BackwardsCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->SetDoc("test: emits decreasing timestamps");
    cc->AddInput("", TypeId::Any());
    cc->Output<int64_t>("");
    return OkStatus();
  }
  Status Process(CalculatorContext* cc) override {
    return cc->Outputs().Index(0).Add(int64_t{0}, Timestamp(1000 - cc->InputTimestamp().Value()));
  }
};

// Emits its required int64 side packet VALUE once at timestamp 0.
class SideEchoSourceCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->SetDoc("test: emits a side packet");
    cc->InputSidePacket<int64_t>("VALUE");
    cc->Output<int64_t>("");
    return OkStatus();
  }
  Status Process(CalculatorContext* cc) override {
    if (done_) return StopProcessing();
    done_ = true;
    return cc->Outputs().Index(0).Add(cc->InputSidePackets().Tag("VALUE").At(Timestamp(0)));
  }

 private:
  bool done_ = false;
};

}  // namespace edgepipe::testing
