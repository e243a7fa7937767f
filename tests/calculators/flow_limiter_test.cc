// FlowLimiter in front of a slow node drops frames and never lets more than
// max_in_flight through; Gate, PacketCloner and PacketThinner semantics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "core/calculator.h"
#include "core/graph.h"

namespace edgepipe {
namespace {

using ::testing::ElementsAre;

// Frames the limiter let through that the slow node has not finished yet, as
// seen between them: the probe counts a frame when it passes, the slow node when
// it is done (before its output goes back to the limiter on FINISHED). So the
// measure never exceeds what the limiter believes is in flight.
std::atomic<int> g_passed{0};
std::atomic<int> g_finished{0};
std::atomic<int> g_max_in_flight_seen{0};

class InFlightProbeForTestCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->AddInput("", TypeId::Any());
    cc->AddOutput("", TypeId::Any()).SameTypeAs("");
    cc->SetTimestampOffset(0);
    return OkStatus();
  }
  Status Process(CalculatorContext* cc) override {
    const int in_flight = ++g_passed - g_finished.load();
    int seen = g_max_in_flight_seen.load();
    while (in_flight > seen && !g_max_in_flight_seen.compare_exchange_weak(seen, in_flight)) {
    }
    return cc->Outputs().Index(0).Add(cc->Inputs().Index(0).Value());
  }
};

// Takes 25 ms per packet (like a model) and forwards it.
class SlowForTestCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->AddInput("", TypeId::Any());
    cc->AddOutput("", TypeId::Any()).SameTypeAs("");
    cc->SetTimestampOffset(0);
    return OkStatus();
  }
  Status Process(CalculatorContext* cc) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    ++g_finished;
    return cc->Outputs().Index(0).Add(cc->Inputs().Index(0).Value());
  }
};

Status DeadlineExceededForTest(const std::string& message) { return UnavailableError("{}", message); }

struct LimiterRun {
  std::vector<int64_t> processed;  // timestamps out of the slow node
  int allowed_true = 0;
  int allowed_false = 0;
  int64_t dropped = -1;
};

Result<LimiterRun> RunLimiter(int max_in_flight, int max_in_queue, int frames, int pause_before_close_ms = 0) {
  g_passed = 0;
  g_finished = 0;
  g_max_in_flight_seen = 0;
  const std::string text = fmt::format(R"(
    input_stream: "in"
    output_stream: "out"
    output_stream: "allowed"
    node {{
      calculator: "FlowLimiterCalculator"
      input_stream: "in"
      input_stream: "FINISHED:out"
      input_stream_info {{ tag_index: "FINISHED" back_edge: true }}
      output_stream: "limited"
      output_stream: "ALLOW:allowed"
      output_side_packet: "DROPPED_COUNT:dropped"
      options {{ [edgepipe.FlowLimiterCalculatorOptions.ext] {{ max_in_flight: {} max_in_queue: {} }} }}
    }}
    node {{
      calculator: "InFlightProbeForTestCalculator"
      input_stream: "limited"
      output_stream: "throttled"
    }}
    node {{
      calculator: "SlowForTestCalculator"
      input_stream: "throttled"
      output_stream: "out"
    }}
  )", max_in_flight, max_in_queue);
  EP_ASSIGN_OR_RETURN(GraphConfig config, ParseGraphConfig(text, "limiter graph"));
  Graph graph;
  EP_RETURN_IF_ERROR(graph.Initialize(config));
  auto run = std::make_shared<LimiterRun>();
  auto mutex = std::make_shared<std::mutex>();
  EP_RETURN_IF_ERROR(graph.ObserveOutputStream("out", [run, mutex](const Packet& packet) {
    std::lock_guard lock(*mutex);
    run->processed.push_back(packet.timestamp().Value());
    return OkStatus();
  }));
  EP_RETURN_IF_ERROR(graph.ObserveOutputStream("allowed", [run, mutex](const Packet& packet) {
    std::lock_guard lock(*mutex);
    (*packet.Get<bool>().value() ? run->allowed_true : run->allowed_false)++;
    return OkStatus();
  }));
  EP_RETURN_IF_ERROR(graph.StartRun());
  // A 500 fps "camera": much faster than the 40 fps slow node.
  for (int i = 0; i < frames; ++i) {
    EP_RETURN_IF_ERROR(graph.AddPacketToInputStream("in", MakePacket<int>(i).At(Timestamp(int64_t{i} * 2000))));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(pause_before_close_ms));
  EP_RETURN_IF_ERROR(graph.CloseAllInputStreams());
  // Fail (not hang) if the run cannot finish.
  auto done = std::async(std::launch::async, [&graph] { return graph.WaitUntilDone(); });
  if (done.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    graph.Cancel();
    (void)done.get();
    return DeadlineExceededForTest("the limiter graph did not finish within 30 s:\n" + graph.DescribeWaits());
  }
  EP_RETURN_IF_ERROR(done.get());
  EP_ASSIGN_OR_RETURN(Packet dropped, graph.GetOutputSidePacket("dropped"));
  run->dropped = *dropped.Get<int64_t>().value();
  return *run;
}

TEST(FlowLimiterTest, DropsFramesAndKeepsOneInFlight) {
  auto run = RunLimiter(/*max_in_flight=*/1, /*max_in_queue=*/0, /*frames=*/100);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_LE(g_max_in_flight_seen.load(), 1);
  EXPECT_GE(run->processed.size(), 2u);
  EXPECT_LT(run->processed.size(), 60u) << "a 25 ms node cannot take 100 frames in 200 ms";
  // Every frame is reported: passed or dropped.
  EXPECT_EQ(run->allowed_true, static_cast<int>(run->processed.size()));
  EXPECT_EQ(run->allowed_true + run->allowed_false, 100);
  EXPECT_EQ(run->dropped, 100 - static_cast<int64_t>(run->processed.size()));
  EXPECT_TRUE(std::is_sorted(run->processed.begin(), run->processed.end()));
}

TEST(FlowLimiterTest, NeverMoreThanMaxInFlight) {
  auto run = RunLimiter(/*max_in_flight=*/3, /*max_in_queue=*/0, /*frames=*/100);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_LE(g_max_in_flight_seen.load(), 3);
  EXPECT_GE(g_max_in_flight_seen.load(), 2) << "with 3 slots, several frames should be in flight at once";
  EXPECT_LT(run->processed.size(), 100u);
  EXPECT_EQ(run->dropped, 100 - static_cast<int64_t>(run->processed.size()));
}

TEST(FlowLimiterTest, QueueKeepsNewestFrames) {
  auto run = RunLimiter(/*max_in_flight=*/1, /*max_in_queue=*/1, /*frames=*/50);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_LE(g_max_in_flight_seen.load(), 1);
  EXPECT_LT(run->processed.size(), 50u);
  EXPECT_EQ(run->dropped, 50 - static_cast<int64_t>(run->processed.size()));
}

// The input ends when no frame is in flight: the limiter must still close its
// outputs so that the loop through FINISHED can end.
TEST(FlowLimiterTest, EndsWhenInputClosesWithNothingInFlight) {
  auto run = RunLimiter(/*max_in_flight=*/1, /*max_in_queue=*/0, /*frames=*/1, /*pause_before_close_ms=*/200);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->processed.size(), 1u);
}

// Feeds graph inputs in timestamp order: (stream, timestamp, packet).
struct Feed {
  std::string stream;
  int64_t timestamp;
  Packet packet;
};

Result<std::vector<std::pair<int64_t, int>>> RunFeeds(const std::string& text, const std::vector<Feed>& feeds,
                                                      const SidePackets& side_packets = {}) {
  EP_ASSIGN_OR_RETURN(GraphConfig config, ParseGraphConfig(text, "test graph"));
  Graph graph;
  EP_RETURN_IF_ERROR(graph.Initialize(config));
  auto out = std::make_shared<std::vector<std::pair<int64_t, int>>>();
  auto mutex = std::make_shared<std::mutex>();
  EP_RETURN_IF_ERROR(graph.ObserveOutputStream("out", [out, mutex](const Packet& packet) {
    std::lock_guard lock(*mutex);
    out->emplace_back(packet.timestamp().Value(), *packet.Get<int>().value());
    return OkStatus();
  }));
  EP_RETURN_IF_ERROR(graph.StartRun(side_packets));
  for (const Feed& feed : feeds) {
    EP_RETURN_IF_ERROR(graph.AddPacketToInputStream(feed.stream, feed.packet.At(Timestamp(feed.timestamp))));
  }
  EP_RETURN_IF_ERROR(graph.CloseAllInputStreams());
  EP_RETURN_IF_ERROR(graph.WaitUntilDone());
  return *out;
}

using TV = std::pair<int64_t, int>;

TEST(GateTest, AllowStreamPassesOnlyAllowedTimestamps) {
  std::vector<Feed> feeds;
  const bool allow[] = {true, false, true, false, true};
  for (int i = 0; i < 5; ++i) {
    feeds.push_back({"in", i * 10, MakePacket<int>(i)});
    feeds.push_back({"allow", i * 10, MakePacket<bool>(allow[i])});
  }
  auto out = RunFeeds(R"(
    input_stream: "in"
    input_stream: "allow"
    output_stream: "out"
    node {
      calculator: "GateCalculator"
      input_stream: "in"
      input_stream: "ALLOW:allow"
      output_stream: "out"
    }
  )", feeds);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(*out, ElementsAre(TV{0, 0}, TV{20, 2}, TV{40, 4}));
}

TEST(GateTest, DisallowSidePacketBlocksEverything) {
  auto out = RunFeeds(R"(
    input_stream: "in"
    input_side_packet: "closed"
    output_stream: "out"
    node {
      calculator: "GateCalculator"
      input_stream: "in"
      input_side_packet: "DISALLOW:closed"
      output_stream: "out"
    }
  )", {{"in", 0, MakePacket<int>(0)}, {"in", 1, MakePacket<int>(1)}}, {{"closed", MakePacket<bool>(true)}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->empty());
}

TEST(PacketClonerTest, RepeatsLatestDataAtEachTick) {
  auto out = RunFeeds(R"(
    input_stream: "data"
    input_stream: "tick"
    output_stream: "out"
    node {
      calculator: "PacketClonerCalculator"
      input_stream: "data"
      input_stream: "TICK:tick"
      output_stream: "out"
    }
  )", {{"data", 0, MakePacket<int>(7)}, {"tick", 100, MakePacket<int>(-1)}, {"tick", 200, MakePacket<int>(-1)},
       {"data", 250, MakePacket<int>(8)}, {"tick", 300, MakePacket<int>(-1)}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(*out, ElementsAre(TV{100, 7}, TV{200, 7}, TV{300, 8}));
}

std::vector<Feed> EveryTenthOfASecond() {
  std::vector<Feed> feeds;
  for (int i = 0; i <= 10; ++i) feeds.push_back({"in", int64_t{i} * 100000, MakePacket<int>(i)});
  return feeds;
}

TEST(PacketThinnerTest, AsyncKeepsOnePacketPerPeriodSinceLastKept) {
  auto out = RunFeeds(R"(
    input_stream: "in"
    output_stream: "out"
    node {
      calculator: "PacketThinnerCalculator"
      input_stream: "in"
      output_stream: "out"
      options { [edgepipe.PacketThinnerCalculatorOptions.ext] { period_us: 250000 } }
    }
  )", EveryTenthOfASecond());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(*out, ElementsAre(TV{0, 0}, TV{300000, 3}, TV{600000, 6}, TV{900000, 9}));
}

TEST(PacketThinnerTest, EndBeforeStartIsRefusedAtOpen) {
  // It used to drop every packet, and `edgepipe run` printed "wrote ..." over nothing.
  auto out = RunFeeds(R"(
    input_stream: "in"
    output_stream: "out"
    node {
      name: "thinner"
      calculator: "PacketThinnerCalculator"
      input_stream: "in"
      output_stream: "out"
      options { [edgepipe.PacketThinnerCalculatorOptions.ext] { period_us: 1000 start_time: 5000 end_time: 10 } }
    }
  )", EveryTenthOfASecond());
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out.status().message(), ::testing::HasSubstr("thinner"));
  EXPECT_THAT(out.status().message(), ::testing::HasSubstr("end_time 10 is before start_time 5000"));
}

TEST(PacketThinnerTest, SyncKeepsFirstPacketOfEachGridCell) {
  auto out = RunFeeds(R"(
    input_stream: "in"
    output_stream: "out"
    node {
      calculator: "PacketThinnerCalculator"
      input_stream: "in"
      output_stream: "out"
      options { [edgepipe.PacketThinnerCalculatorOptions.ext] { period_us: 250000 sync: true } }
    }
  )", EveryTenthOfASecond());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(*out, ElementsAre(TV{0, 0}, TV{300000, 3}, TV{500000, 5}, TV{800000, 8}, TV{1000000, 10}));
}

// Joins every frame with the slow part's result when there is one (as the tracker
// joins frames with detections): outputs 1 with a result, 0 without.
class JoinForTestCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->AddInput("FRAME", TypeId::Any());
    cc->AddInput("RESULT", TypeId::Any()).Optional();
    cc->Output<int>("").Doc("1 with a result at this timestamp, 0 without");
    cc->SetTimestampOffset(0);
    return OkStatus();
  }
  Status Process(CalculatorContext* cc) override {
    return cc->Outputs().Index(0).Add(cc->Inputs().Tag("RESULT").IsEmpty() ? 0 : 1, cc->InputTimestamp());
  }
};

// Frames thinned before the limiter never reach it, but its output bound moves
// past them: a node joining every frame with the slow part's output handles each
// frame when it arrives, not when the next thinned frame's result comes back.
TEST(FlowLimiterTest, ForwardsTheBoundOfFramesThinnedBeforeIt) {
  auto config = ParseGraphConfig(R"(
    input_stream: "in"
    output_stream: "joined"
    node { calculator: "PacketThinnerCalculator" input_stream: "in" output_stream: "thinned"
           options { [edgepipe.PacketThinnerCalculatorOptions.ext] { period_us: 300000 sync: true } } }
    node { calculator: "FlowLimiterCalculator" input_stream: "thinned" input_stream: "FINISHED:result"
           input_stream_info { tag_index: "FINISHED" back_edge: true } output_stream: "limited" }
    node { calculator: "PassThroughCalculator" input_stream: "limited" output_stream: "result" }
    node { calculator: "JoinForTestCalculator" input_stream: "FRAME:in" input_stream: "RESULT:result"
           output_stream: "joined" }
  )", "thinned limiter graph");
  ASSERT_TRUE(config.ok()) << config.status();
  Graph graph;
  ASSERT_TRUE(graph.Initialize(*config).ok());
  std::vector<TV> joined;
  ASSERT_TRUE(graph.ObserveOutputStream("joined", [&joined](const Packet& packet) {
    joined.push_back({packet.timestamp().Value(), *packet.Get<int>().value()});
    return OkStatus();
  }).ok());
  ASSERT_TRUE(graph.StartRun().ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(graph.AddPacketToInputStream("in", MakePacket<int>(i).At(Timestamp(int64_t{i} * 100000))).ok());
    ASSERT_TRUE(graph.WaitUntilIdle().ok());
    ASSERT_EQ(joined.size(), static_cast<size_t>(i + 1)) << "frame " << i << " waits for a later frame";
  }
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  ASSERT_TRUE(graph.WaitUntilDone().ok());
  EXPECT_THAT(joined, ElementsAre(TV{0, 1}, TV{100000, 0}, TV{200000, 0}, TV{300000, 1}, TV{400000, 0}));
}

}  // namespace

EDGEPIPE_REGISTER_CALCULATOR(InFlightProbeForTestCalculator);
EDGEPIPE_REGISTER_CALCULATOR(SlowForTestCalculator);
EDGEPIPE_REGISTER_CALCULATOR(JoinForTestCalculator);

}  // namespace edgepipe
