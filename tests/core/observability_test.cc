// Statistics, traces and stall diagnostics of a running graph, timed by a ManualClock.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <map>
#include <set>
#include <string>

#include "core/calculator.h"
#include "core/graph.h"

namespace edgepipe {

// "Sleeps" by advancing the graph's ManualClock by its input's value in µs (int64), then
// passes the input on.
class ClockSleepCalculator : public CalculatorBase {
 public:
  static inline ManualClock* clock = nullptr;
  static Status GetContract(CalculatorContract* cc) {
    cc->SetDoc("test: advances the test clock by the input's value (µs) per Process call");
    cc->Input<int64_t>("");
    cc->Output<int64_t>("");
    return OkStatus();
  }
  Status Process(CalculatorContext* cc) override {
    EP_ASSIGN_OR_RETURN(const int64_t* sleep_us, cc->Inputs().Index(0).Get<int64_t>());
    clock->AdvanceNs(*sleep_us * 1000);
    return cc->Outputs().Index(0).Add(cc->Inputs().Index(0).Value());
  }
};
EDGEPIPE_REGISTER_CALCULATOR(ClockSleepCalculator);

namespace {

// One thread: the sleeper's clock advances never fall inside pass's Process calls.
constexpr char kSleepGraph[] = R"pb(
  executor { num_threads: 1 }
  input_stream: "in"
  output_stream: "out"
  node { calculator: "ClockSleepCalculator" name: "sleeper" input_stream: "in" output_stream: "slept" }
  node { calculator: "PassThroughCalculator" name: "pass" input_stream: "slept" output_stream: "out" }
)pb";

const NodeStats* Find(const std::vector<NodeStats>& all, const std::string& name) {
  for (const NodeStats& stats : all) {
    if (stats.node == name) return &stats;
  }
  return nullptr;
}

TEST(Statistics, SleepingCalculatorsTimesMatchTheirSleep) {
  ManualClock clock(1'000'000'000);
  ClockSleepCalculator::clock = &clock;
  auto config = ParseGraphConfig(kSleepGraph);
  ASSERT_TRUE(config.ok()) << config.status();
  Graph graph;
  graph.SetClock(&clock);
  graph.EnableStatistics(true);
  ASSERT_TRUE(graph.Initialize(*config).ok());
  ASSERT_TRUE(graph.StartRun().ok());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(graph.AddPacketToInputStream("in", MakePacket<int64_t>(5000).At(Timestamp(i))).ok());
  }
  // While running: idle means every task (and so every Process call's bookkeeping) has finished.
  ASSERT_TRUE(graph.WaitUntilIdle().ok());
  std::vector<NodeStats> running = graph.Stats();
  const NodeStats* sleeper = Find(running, "sleeper");
  ASSERT_NE(sleeper, nullptr);
  EXPECT_EQ(sleeper->process_calls, 10u);
  EXPECT_DOUBLE_EQ(sleeper->p50_us, 5000.0);
  EXPECT_DOUBLE_EQ(sleeper->p99_us, 5000.0);
  EXPECT_DOUBLE_EQ(sleeper->max_us, 5000.0);
  EXPECT_EQ(sleeper->process_time_us, 50'000u);
  EXPECT_DOUBLE_EQ(graph.RunSeconds(), 0.05);

  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  ASSERT_TRUE(graph.WaitUntilDone().ok());
  std::vector<NodeStats> done = graph.Stats();
  sleeper = Find(done, "sleeper");
  const NodeStats* pass = Find(done, "pass");
  ASSERT_NE(pass, nullptr);
  EXPECT_EQ(sleeper->packets_in, 10u);
  EXPECT_EQ(sleeper->packets_out, 10u);
  EXPECT_EQ(pass->packets_in, 10u);
  EXPECT_EQ(pass->process_calls, 10u);
  EXPECT_DOUBLE_EQ(pass->max_us, 0.0);  // the clock only moves inside the sleeper
  EXPECT_GE(sleeper->max_queue_seen, 1u);
  for (const StreamStats& stream : graph.StreamStatistics()) {
    EXPECT_EQ(stream.packets, 10u) << stream.stream;
    EXPECT_DOUBLE_EQ(stream.packets_per_second, 200.0) << stream.stream;  // 10 packets in 50 ms
  }
}

TEST(Statistics, PercentilesFollowTheSleepDistributionAndRunsStartAfresh) {
  ManualClock clock;
  ClockSleepCalculator::clock = &clock;
  auto config = ParseGraphConfig(kSleepGraph);
  ASSERT_TRUE(config.ok());
  Graph graph;
  graph.SetClock(&clock);
  graph.EnableStatistics(true);
  ASSERT_TRUE(graph.Initialize(*config).ok());
  for (int run = 0; run < 2; ++run) {
    // 90 calls of 1 ms and 10 of 20 ms (the second run's figures must not include the first's).
    ASSERT_TRUE(graph.StartRun().ok());
    for (int i = 0; i < 100; ++i) {
      const int64_t sleep_us = i % 10 == 9 ? 20'000 : 1'000;
      ASSERT_TRUE(graph.AddPacketToInputStream("in", MakePacket<int64_t>(sleep_us).At(Timestamp(i))).ok());
    }
    ASSERT_TRUE(graph.CloseAllInputStreams().ok());
    ASSERT_TRUE(graph.WaitUntilDone().ok());
    const std::vector<NodeStats> stats = graph.Stats();
    const NodeStats* sleeper = Find(stats, "sleeper");
    ASSERT_NE(sleeper, nullptr);
    EXPECT_EQ(sleeper->process_calls, 100u);
    EXPECT_DOUBLE_EQ(sleeper->p50_us, 1000.0);
    EXPECT_DOUBLE_EQ(sleeper->p90_us, 1000.0);
    EXPECT_DOUBLE_EQ(sleeper->p99_us, 20000.0);
    EXPECT_DOUBLE_EQ(sleeper->max_us, 20000.0);
    EXPECT_EQ(sleeper->process_time_us, 290'000u);
  }
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" + name;
}

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream file(path);
  return nlohmann::json::parse(file);  // throws (failing the test) on malformed JSON
}

TEST(Trace, SpansFlowsAndCountersOfAKnownGraph) {
  ManualClock clock;
  ClockSleepCalculator::clock = &clock;
  auto config = ParseGraphConfig(kSleepGraph);
  ASSERT_TRUE(config.ok());
  const std::string path = TempPath("trace.json");
  Graph graph;
  graph.SetClock(&clock);
  graph.EnableTrace({path, /*buffer_events=*/1024, /*flush_interval_ms=*/5});
  ASSERT_TRUE(graph.Initialize(*config).ok());
  ASSERT_TRUE(graph.StartRun().ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(graph.AddPacketToInputStream("in", MakePacket<int64_t>(100).At(Timestamp(i * 10))).ok());
  }
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  ASSERT_TRUE(graph.WaitUntilDone().ok());

  const nlohmann::json trace = ReadJson(path);
  ASSERT_TRUE(trace.contains("traceEvents"));
  std::map<std::string, std::vector<int64_t>> process_timestamps;  // node → Process input timestamps
  std::multiset<std::string> other_spans;
  std::set<std::string> flow_out, flow_in;
  std::map<std::string, std::vector<std::pair<double, int64_t>>> counters;  // name → (ts, depth)
  std::set<int> span_threads, named_threads;
  for (const nlohmann::json& event : trace["traceEvents"]) {
    const std::string phase = event["ph"];
    if (phase == "X") {
      span_threads.insert(event["tid"].get<int>());
      if (event["cat"] == "Process") {
        process_timestamps[event["name"]].push_back(event["args"]["timestamp"]);
        if (event["name"] == "sleeper") {
          EXPECT_DOUBLE_EQ(event["dur"].get<double>(), 100.0);  // µs
        }
      } else {
        other_spans.insert(event["name"].get<std::string>());
      }
    } else if (phase == "s") {
      flow_out.insert(event["id"].get<std::string>());
    } else if (phase == "f") {
      flow_in.insert(event["id"].get<std::string>());
      EXPECT_EQ(event["bp"], "e");
    } else if (phase == "C") {
      counters[event["name"]].emplace_back(event["ts"].get<double>(), event["args"]["depth"].get<int64_t>());
    } else if (phase == "M") {
      named_threads.insert(event["tid"].get<int>());
    }
  }
  const std::vector<int64_t> expected = {0, 10, 20, 30, 40};
  EXPECT_EQ(process_timestamps["sleeper"], expected);
  EXPECT_EQ(process_timestamps["pass"], expected);
  for (const char* span : {"sleeper Open", "sleeper Close", "pass Open", "pass Close"}) {
    EXPECT_EQ(other_spans.count(span), 1u) << span;
  }
  // One arrow per packet from sleeper to pass, each with both ends.
  EXPECT_EQ(flow_out.size(), 5u);
  EXPECT_EQ(flow_in, flow_out);
  // Queue depth counters: every packet raised a queue by one and its Process lowered it back.
  ASSERT_TRUE(counters.count("queue pass ← slept"));
  ASSERT_TRUE(counters.count("queue sleeper ← in"));
  // Each thread writes its own events in order, so the file is ordered per thread only; a
  // viewer orders by time. Under the manual clock a push and a pop may share a time stamp.
  for (const auto& [name, changes] : counters) {
    EXPECT_EQ(changes.size(), 10u) << name;
    double last = 0;
    for (const auto& change : changes) last = std::max(last, change.first);
    bool empty_at_end = false;
    for (const auto& [ts, depth] : changes) empty_at_end |= ts == last && depth == 0;
    EXPECT_TRUE(empty_at_end) << name << ": no depth 0 at the last time stamp " << last;
  }
  for (int tid : span_threads) EXPECT_TRUE(named_threads.count(tid)) << "thread " << tid << " has no name";
  EXPECT_EQ(trace["otherData"]["overwritten_events"], 0);
}

TEST(Trace, BoundedBufferOverwritesTheOldestAndSaysSo) {
  auto config = ParseGraphConfig(kSleepGraph);
  ASSERT_TRUE(config.ok());
  ManualClock clock;
  ClockSleepCalculator::clock = &clock;
  const std::string path = TempPath("small.json");
  Graph graph;
  graph.SetClock(&clock);
  // A flush interval far beyond the run: only the final flush writes, the newest 16 events
  // per thread; the rest were overwritten and must be counted.
  graph.EnableTrace({path, /*buffer_events=*/16, /*flush_interval_ms=*/60'000});
  ASSERT_TRUE(graph.Initialize(*config).ok());
  ASSERT_TRUE(graph.StartRun().ok());
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(graph.AddPacketToInputStream("in", MakePacket<int64_t>(1).At(Timestamp(i))).ok());
  }
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  ASSERT_TRUE(graph.WaitUntilDone().ok());
  const nlohmann::json trace = ReadJson(path);
  const uint64_t overwritten = trace["otherData"]["overwritten_events"];
  size_t written = 0;
  for (const nlohmann::json& event : trace["traceEvents"]) written += event["ph"] != "M";
  // 200 packets × (2 spans + 1 arrow × 2 ends + 4 counter changes) + Open/Close spans.
  EXPECT_EQ(written + overwritten, 200u * 8 + 4);
}

constexpr char kStallGraph[] = R"pb(
  input_stream: "a"
  input_stream: "b"
  node { calculator: "SumCalculator" name: "sum" input_stream: "A:a" input_stream: "B:b" output_stream: "SUM:sum" }
)pb";

TEST(StallDiagnostics, NameTheNodeAndTheStreamItWaitsFor) {
  auto config = ParseGraphConfig(kStallGraph);
  ASSERT_TRUE(config.ok());
  ManualClock clock;
  const std::string path = TempPath("stall.json");
  Graph graph;
  graph.SetClock(&clock);
  graph.SetStallTimeout(std::chrono::milliseconds(500));
  graph.EnableTrace({path, 1024, 5});
  ASSERT_TRUE(graph.Initialize(*config).ok());
  ASSERT_TRUE(graph.StartRun().ok());
  // "a" has a packet at 7; "b" never says anything about 7: sum cannot run.
  ASSERT_TRUE(graph.AddPacketToInputStream("a", MakePacket<int64_t>(1).At(Timestamp(7))).ok());
  ASSERT_TRUE(graph.WaitUntilIdle().ok());
  clock.AdvanceNs(600'000'000);
  const Status status = graph.WaitUntilDone();
  ASSERT_EQ(status.code(), StatusCode::kDeadlock) << status;
  const std::string message = status.ToString();
  EXPECT_NE(message.find("node \"sum\""), std::string::npos) << message;
  EXPECT_NE(message.find("waits for input B (stream \"b\") to pass timestamp 7"), std::string::npos) << message;
  EXPECT_NE(message.find("A (stream \"a\") 1 queued (max 100), head 7"), std::string::npos) << message;

  const nlohmann::json trace = ReadJson(path);
  bool stall_event = false;
  for (const nlohmann::json& event : trace["traceEvents"]) {
    if (event["ph"] == "i" && event["name"] == "stall") {
      stall_event = true;
      EXPECT_NE(event["args"]["detail"].get<std::string>().find("node \"sum\""), std::string::npos);
    }
  }
  EXPECT_TRUE(stall_event);
}

}  // namespace
}  // namespace edgepipe
