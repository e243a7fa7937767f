// Regression: with max_in_flight > 1 a node's offset bound must not overtake
// outputs of Process calls still in flight (behind a FlowLimiter).
#include <gtest/gtest.h>
#include <chrono>
#include <thread>
#include "core/calculator.h"
#include "core/graph.h"
namespace edgepipe {
namespace {
class SleepyOffsetCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->AddInput("", TypeId::Any());
    cc->AddOutput("", TypeId::Any()).SameTypeAs("");
    cc->SetTimestampOffset(0);
    return OkStatus();
  }
  Status Process(CalculatorContext* cc) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return cc->Outputs().Index(0).Add(cc->Inputs().Index(0).Value());
  }
};
TEST(OffsetBoundTest, DoesNotOvertakeProcessCallsInFlight) {
  auto config = ParseGraphConfig(R"(
    input_stream: "in"
    output_stream: "out"
    node { calculator: "FlowLimiterCalculator" input_stream: "in" input_stream: "FINISHED:out"
           input_stream_info { tag_index: "FINISHED" back_edge: true } output_stream: "thinned" }
    node { calculator: "SleepyOffsetCalculator" input_stream: "thinned" output_stream: "out" max_in_flight: 8 }
  )");
  ASSERT_TRUE(config.ok()) << config.status();
  Graph graph;
  ASSERT_TRUE(graph.Initialize(*config).ok());
  ASSERT_TRUE(graph.ObserveOutputStream("out", [](const Packet&) { return OkStatus(); }).ok());
  ASSERT_TRUE(graph.StartRun().ok());
  for (int64_t t = 0; t < 60000; t += 2000) {
    Status added = graph.AddPacketToInputStream("in", MakePacket<int>(1).At(Timestamp(t)));
    ASSERT_TRUE(added.ok()) << added;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  Status status = graph.WaitUntilDone();
  EXPECT_TRUE(status.ok()) << status;
}
}  // namespace
EDGEPIPE_REGISTER_CALCULATOR(SleepyOffsetCalculator);
}  // namespace edgepipe
