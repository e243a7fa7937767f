// Runtime semantics: settling, bounds and offsets, handlers, back-pressure,
// deadlock reports, cancel, error propagation, ordering, loops, re-runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "core/graph.h"
#include "test_calculators.h"

namespace edgepipe {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::FailOnThreeCalculator;
using testing::SlowPassCalculator;

GraphConfig Parse(const std::string& text) {
  auto config = ParseGraphConfig(text, "test");
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : GraphConfig();
}

// Collects packets of one stream (thread-safe).
struct Collector {
  std::mutex mutex;
  std::vector<Packet> packets;
  Status Attach(Graph& graph, const std::string& stream) {
    return graph.ObserveOutputStream(stream, [this](const Packet& packet) {
      std::lock_guard lock(mutex);
      packets.push_back(packet);
      return OkStatus();
    });
  }
  std::vector<int64_t> Timestamps() {
    std::lock_guard lock(mutex);
    std::vector<int64_t> out;
    for (const Packet& p : packets) out.push_back(p.timestamp().Value());
    return out;
  }
  template <typename T>
  std::vector<T> Values() {
    std::lock_guard lock(mutex);
    std::vector<T> out;
    for (const Packet& p : packets) out.push_back(*p.Get<T>().value());
    return out;
  }
  size_t size() {
    std::lock_guard lock(mutex);
    return packets.size();
  }
};

Packet Int(int64_t value, int64_t ts) { return MakePacket<int64_t>(value).At(Timestamp(ts)); }

TEST(GraphRuntimeTest, PassThroughChainDeliversInOrder) {
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    input_stream: "in"
    node { calculator: "PassThroughCalculator" input_stream: "in" output_stream: "a" }
    node { calculator: "PassThroughCalculator" input_stream: "a" output_stream: "b" }
    node { calculator: "PassThroughCalculator" input_stream: "b" output_stream: "out" }
  )")).ok());
  Collector out;
  ASSERT_TRUE(out.Attach(graph, "out").ok());
  ASSERT_TRUE(graph.StartRun().ok());
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(graph.AddPacketToInputStream("in", Int(i, i * 10)).ok());
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  ASSERT_TRUE(graph.WaitUntilDone().ok());
  ASSERT_EQ(out.size(), 500u);
  auto values = out.Values<int64_t>();
  for (int i = 0; i < 500; ++i) EXPECT_EQ(values[i], i);
  EXPECT_EQ(out.Timestamps()[499], 4990);
}

TEST(GraphRuntimeTest, DefaultHandlerWaitsUntilTimestampIsSettledOnAllInputs) {
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    input_stream: "a"
    input_stream: "b"
    node { calculator: "SumCalculator" input_stream: "A:a" input_stream: "B:b" output_stream: "SUM:sum" output_stream: "SEEN:seen" }
  )")).ok());
  Collector seen;
  ASSERT_TRUE(seen.Attach(graph, "seen").ok());
  ASSERT_TRUE(graph.StartRun().ok());
  ASSERT_TRUE(graph.AddPacketToInputStream("a", Int(1, 10)).ok());
  ASSERT_TRUE(graph.AddPacketToInputStream("a", Int(2, 20)).ok());
  ASSERT_TRUE(graph.WaitUntilIdle().ok());
  EXPECT_EQ(seen.size(), 0u) << "timestamp 10 is not settled on B yet";
  // B jumps to 20: 10 is now settled on both inputs (B has nothing there), 20 has both.
  ASSERT_TRUE(graph.AddPacketToInputStream("b", Int(5, 20)).ok());
  ASSERT_TRUE(graph.WaitUntilIdle().ok());
  EXPECT_THAT(seen.Values<std::string>(), ElementsAre("A", "AB"));
  EXPECT_THAT(seen.Timestamps(), ElementsAre(10, 20));
  ASSERT_TRUE(graph.AddPacketToInputStream("b", Int(7, 30)).ok());
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  ASSERT_TRUE(graph.WaitUntilDone().ok());
  EXPECT_THAT(seen.Values<std::string>(), ElementsAre("A", "AB", "B"));
}

TEST(GraphRuntimeTest, OffsetPropagatesBoundsWithoutPackets) {
  // "left" passes through (offset 0) only what it gets; the sum node learns that
  // timestamp 10 is settled on its A input from the pass-through's bound alone.
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    input_stream: "a"
    input_stream: "b"
    node { calculator: "PassThroughCalculator" input_stream: "a" output_stream: "a2" }
    node { calculator: "SumCalculator" input_stream: "A:a2" input_stream: "B:b" output_stream: "SUM:sum" output_stream: "SEEN:seen" }
  )")).ok());
  Collector seen;
  ASSERT_TRUE(seen.Attach(graph, "seen").ok());
  ASSERT_TRUE(graph.StartRun().ok());
  ASSERT_TRUE(graph.AddPacketToInputStream("b", Int(1, 10)).ok());
  ASSERT_TRUE(graph.AddPacketToInputStream("a", Int(1, 11)).ok());
  ASSERT_TRUE(graph.WaitUntilIdle().ok());
  EXPECT_THAT(seen.Values<std::string>(), ElementsAre("B"));
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  ASSERT_TRUE(graph.WaitUntilDone().ok());
}

TEST(GraphRuntimeTest, ImmediateHandlerDoesNotWaitForOtherInputs) {
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    input_stream: "a"
    input_stream: "b"
    node {
      calculator: "SumCalculator" input_stream: "A:a" input_stream: "B:b" output_stream: "SUM:sum" output_stream: "SEEN:seen"
      input_stream_handler { input_stream_handler: "ImmediateInputStreamHandler" }
    }
  )")).ok());
  Collector seen;
  ASSERT_TRUE(seen.Attach(graph, "seen").ok());
  ASSERT_TRUE(graph.StartRun().ok());
  ASSERT_TRUE(graph.AddPacketToInputStream("a", Int(1, 10)).ok());
  ASSERT_TRUE(graph.WaitUntilIdle().ok());
  EXPECT_THAT(seen.Values<std::string>(), ElementsAre("A"));
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  ASSERT_TRUE(graph.WaitUntilDone().ok());
}

TEST(GraphRuntimeTest, NonMonotonicTimestampIsRejected) {
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(input_stream: "in"
    node { calculator: "PassThroughCalculator" input_stream: "in" output_stream: "out" })")).ok());
  ASSERT_TRUE(graph.StartRun().ok());
  ASSERT_TRUE(graph.AddPacketToInputStream("in", Int(1, 100)).ok());
  Status status = graph.AddPacketToInputStream("in", Int(2, 100));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("\"in\""));
  EXPECT_THAT(status.message(), HasSubstr("not greater than the previous packet's 100"));
  EXPECT_FALSE(graph.AddPacketToInputStream("in", MakePacket<int64_t>(1)).ok()) << "no timestamp set";
  EXPECT_EQ(graph.AddPacketToInputStream("nope", Int(1, 200)).code(), StatusCode::kNotFound);
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  EXPECT_TRUE(graph.WaitUntilDone().ok());
}

TEST(GraphRuntimeTest, PacketAfterCloseIsAnError) {
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(input_stream: "in"
    node { calculator: "PassThroughCalculator" input_stream: "in" output_stream: "out" })")).ok());
  ASSERT_TRUE(graph.StartRun().ok());
  ASSERT_TRUE(graph.CloseInputStream("in").ok());
  Status status = graph.AddPacketToInputStream("in", Int(1, 1));
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("closed"));
  EXPECT_TRUE(graph.WaitUntilDone().ok());
  EXPECT_EQ(graph.AddPacketToInputStream("in", Int(1, 2)).code(), StatusCode::kFailedPrecondition);
}

TEST(GraphRuntimeTest, CalculatorEmittingBackwardsTimestampsFailsTheRun) {
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(input_stream: "in"
    node { name: "back" calculator: "BackwardsCalculator" input_stream: "in" output_stream: "out" })")).ok());
  ASSERT_TRUE(graph.StartRun().ok());
  ASSERT_TRUE(graph.AddPacketToInputStream("in", Int(1, 1)).ok());
  (void)graph.AddPacketToInputStream("in", Int(1, 2));
  (void)graph.CloseAllInputStreams();
  Status status = graph.WaitUntilDone();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("node \"back\""));
  EXPECT_THAT(status.message(), HasSubstr("strictly increase"));
}

TEST(GraphRuntimeTest, FirstErrorStopsTheGraphAndNamesTheNode) {
  FailOnThreeCalculator::closed = 0;
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    node { calculator: "CountingSourceCalculator" output_stream: "n"
           options { [edgepipe.CountingSourceCalculatorOptions.ext] { num_packets: 1000000 } } }
    node { name: "picky" calculator: "FailOnThreeCalculator" input_stream: "n" output_stream: "out" }
  )")).ok());
  Collector out;
  ASSERT_TRUE(out.Attach(graph, "out").ok());
  Status status = graph.Run();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("node \"picky\" (FailOnThreeCalculator"));
  EXPECT_THAT(status.message(), HasSubstr("timestamp 3"));
  EXPECT_THAT(status.message(), HasSubstr("value 3 is not welcome"));
  EXPECT_THAT(out.Values<int64_t>(), ElementsAre(0, 1, 2));
  EXPECT_EQ(FailOnThreeCalculator::closed.load(), 1) << "Close still runs after an error";
}

TEST(GraphRuntimeTest, SourceIsThrottledByFullQueueAndMemoryStaysBounded) {
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    max_queue_size: 5
    node { calculator: "CountingSourceCalculator" output_stream: "n"
           options { [edgepipe.CountingSourceCalculatorOptions.ext] { num_packets: 200 } } }
    node { calculator: "SlowPassCalculator" input_stream: "n" output_stream: "slow" }
    node { calculator: "PacketCounterCalculator" input_stream: "slow" output_side_packet: "COUNT:count" }
  )")).ok());
  ASSERT_TRUE(graph.Run().ok());
  EXPECT_EQ(*graph.GetOutputSidePacket("count").value().Get<int64_t>().value(), 200);
  for (const NodeStats& stats : graph.Stats()) {
    // The source emits up to one task batch before it sees the full queue.
    EXPECT_LE(stats.max_queue_seen, 5u + 64u) << stats.node;
  }
}

TEST(GraphRuntimeTest, BlockingAddWaitsAndFailIfFullReturnsUnavailable) {
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    input_stream: "in"
    max_queue_size: 2
    node { calculator: "SlowPassCalculator" input_stream: "in" output_stream: "out" input_side_packet: "DELAY_MS:delay" }
  )")).ok());
  Collector out;
  ASSERT_TRUE(out.Attach(graph, "out").ok());
  ASSERT_TRUE(graph.StartRun({{"delay", MakePacket<int64_t>(20)}}).ok());
  int unavailable = 0;
  for (int i = 0; i < 10; ++i) {
    Status status = graph.AddPacketToInputStream("in", Int(i, i), AddMode::kFailIfFull);
    if (status.code() == StatusCode::kUnavailable) ++unavailable;
    else ASSERT_TRUE(status.ok()) << status;
  }
  EXPECT_GT(unavailable, 0);
  for (int i = 10; i < 20; ++i) ASSERT_TRUE(graph.AddPacketToInputStream("in", Int(i, i)).ok());
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  ASSERT_TRUE(graph.WaitUntilDone().ok());
  EXPECT_EQ(out.size(), static_cast<size_t>(20 - unavailable));
}

TEST(GraphRuntimeTest, DeadlockIsReportedWithNodeAndStream) {
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    input_stream: "a"
    input_stream: "b"
    max_queue_size: 3
    node { name: "adder" calculator: "SumCalculator" input_stream: "A:a" input_stream: "B:b" output_stream: "SUM:sum" }
  )")).ok());
  ASSERT_TRUE(graph.StartRun().ok());
  Status status;
  for (int i = 0; i < 10 && status.ok(); ++i) status = graph.AddPacketToInputStream("a", Int(i, i));
  EXPECT_EQ(status.code(), StatusCode::kDeadlock) << status;
  EXPECT_THAT(status.message(), HasSubstr("node \"adder\""));
  EXPECT_THAT(status.message(), HasSubstr("input stream \"a\" is full"));
  EXPECT_THAT(status.message(), HasSubstr("waits for \"b\""));
  EXPECT_EQ(graph.WaitUntilDone().code(), StatusCode::kDeadlock);
}

TEST(GraphRuntimeTest, GrowQueuePolicyResolvesTheSameDeadlock) {
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    input_stream: "a"
    input_stream: "b"
    max_queue_size: 3
    deadlock_policy: GROW_QUEUE_AND_WARN
    node { calculator: "SumCalculator" input_stream: "A:a" input_stream: "B:b" output_stream: "SUM:sum" }
  )")).ok());
  Collector sum;
  ASSERT_TRUE(sum.Attach(graph, "sum").ok());
  ASSERT_TRUE(graph.StartRun().ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(graph.AddPacketToInputStream("a", Int(i, i)).ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(graph.AddPacketToInputStream("b", Int(i, i)).ok());
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  ASSERT_TRUE(graph.WaitUntilDone().ok());
  EXPECT_EQ(sum.size(), 10u);
}

TEST(GraphRuntimeTest, CancelMidStreamStopsPromptly) {
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    node { calculator: "CountingSourceCalculator" output_stream: "n"
           options { [edgepipe.CountingSourceCalculatorOptions.ext] { num_packets: 100000000 } } }
    node { calculator: "SlowPassCalculator" input_stream: "n" output_stream: "out" }
  )")).ok());
  Collector out;
  ASSERT_TRUE(out.Attach(graph, "out").ok());
  ASSERT_TRUE(graph.StartRun().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto start = std::chrono::steady_clock::now();
  graph.Cancel();
  Status status = graph.WaitUntilDone();
  EXPECT_EQ(status.code(), StatusCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_GT(out.size(), 0u);
}

TEST(GraphRuntimeTest, MaxInFlightRunsConcurrentlyAndKeepsOrder) {
  SlowPassCalculator::max_concurrent = 0;
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    input_stream: "in"
    executor { num_threads: 4 }
    node { calculator: "SlowPassCalculator" input_stream: "in" output_stream: "out" max_in_flight: 3
           input_side_packet: "DELAY_MS:delay" }
  )")).ok());
  Collector out;
  ASSERT_TRUE(out.Attach(graph, "out").ok());
  ASSERT_TRUE(graph.StartRun({{"delay", MakePacket<int64_t>(5)}}).ok());
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(graph.AddPacketToInputStream("in", Int(i, i)).ok());
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  ASSERT_TRUE(graph.WaitUntilDone().ok());
  auto values = out.Values<int64_t>();
  ASSERT_EQ(values.size(), 30u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(values[i], i);
  EXPECT_GT(SlowPassCalculator::max_concurrent.load(), 1);
  EXPECT_LE(SlowPassCalculator::max_concurrent.load(), 3);
}

TEST(GraphRuntimeTest, NamedExecutorRunsNodeOnItsOwnThread) {
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    input_stream: "in"
    executor { name: "inference" num_threads: 1 }
    node { calculator: "PassThroughCalculator" input_stream: "in" output_stream: "out" executor: "inference" }
  )")).ok());
  std::string thread_name;
  ASSERT_TRUE(graph.ObserveOutputStream("out", [&](const Packet&) {
    char name[32] = {};
    pthread_getname_np(pthread_self(), name, sizeof(name));
    thread_name = name;
    return OkStatus();
  }).ok());
  ASSERT_TRUE(graph.StartRun().ok());
  ASSERT_TRUE(graph.AddPacketToInputStream("in", Int(1, 1)).ok());
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  ASSERT_TRUE(graph.WaitUntilDone().ok());
  EXPECT_THAT(thread_name, HasSubstr("ep-inference"));
}

TEST(GraphRuntimeTest, LoopbackFeedsPreviousOutputBack) {
  // running = in + previous running (a cumulative sum through a back edge).
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    input_stream: "in"
    node {
      calculator: "PreviousLoopbackCalculator"
      input_stream: "MAIN:in" input_stream: "LOOP:running"
      input_stream_info { tag_index: "LOOP" back_edge: true }
      output_stream: "PREV_LOOP:previous"
    }
    node { calculator: "SumCalculator" input_stream: "A:in" input_stream: "B:previous" output_stream: "SUM:running" }
  )")).ok());
  Collector running;
  ASSERT_TRUE(running.Attach(graph, "running").ok());
  ASSERT_TRUE(graph.StartRun().ok());
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(graph.AddPacketToInputStream("in", Int(i, i * 100)).ok());
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  ASSERT_TRUE(graph.WaitUntilDone().ok());
  EXPECT_THAT(running.Values<int64_t>(), ElementsAre(1, 3, 6, 10, 15));
}

TEST(GraphRuntimeTest, PollerReadsOutputsAndGraphRunsAgain) {
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    node { calculator: "CountingSourceCalculator" output_stream: "n" input_side_packet: "NUM_PACKETS:count" }
    node { calculator: "PassThroughCalculator" input_stream: "n" output_stream: "out" }
  )")).ok());
  auto poller = graph.AddOutputStreamPoller("out");
  ASSERT_TRUE(poller.ok());
  for (int64_t run = 1; run <= 3; ++run) {
    ASSERT_TRUE(graph.StartRun({{"count", MakePacket<int64_t>(run * 10)}}).ok());
    int64_t received = 0;
    Packet packet;
    while (poller->Next(&packet)) {
      EXPECT_EQ(*packet.Get<int64_t>().value(), received);
      ++received;
    }
    ASSERT_TRUE(graph.WaitUntilDone().ok());
    EXPECT_EQ(received, run * 10) << "run " << run;
  }
}

TEST(GraphRuntimeTest, MissingSidePacketIsAnError) {
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    node { name: "echo" calculator: "SideEchoSourceCalculator" output_stream: "n" input_side_packet: "VALUE:value" }
  )")).ok());
  Status status = graph.StartRun();
  EXPECT_THAT(status.message(), HasSubstr("input side packet \"value\""));
  EXPECT_THAT(status.message(), HasSubstr("node \"echo\""));
  Collector out;
  ASSERT_TRUE(out.Attach(graph, "n").ok());
  ASSERT_TRUE(graph.Run({{"value", MakePacket<int64_t>(7)}}).ok());
  EXPECT_THAT(out.Values<int64_t>(), ElementsAre(7));
}

TEST(GraphRuntimeTest, OptionalSidePacketMayBeOmitted) {
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    node { calculator: "CountingSourceCalculator" output_stream: "n" input_side_packet: "NUM_PACKETS:count" }
  )")).ok());
  Collector out;
  ASSERT_TRUE(out.Attach(graph, "n").ok());
  ASSERT_TRUE(graph.Run().ok());
  EXPECT_EQ(out.size(), 10u) << "the option's default";
}

TEST(GraphRuntimeTest, SubgraphRunsLikeItsExpansion) {
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    input_stream: "in"
    subgraph {
      type: "TwoHopsSubgraph"
      input_stream: "IN:x"
      output_stream: "OUT:y"
      node { calculator: "PassThroughCalculator" input_stream: "x" output_stream: "middle" }
      node { calculator: "IncrementCalculator" input_stream: "middle" output_stream: "y" }
    }
    node { name: "first" calculator: "TwoHopsSubgraph" input_stream: "IN:in" output_stream: "OUT:once" }
    node { name: "second" calculator: "TwoHopsSubgraph" input_stream: "IN:once" output_stream: "OUT:twice" }
  )")).ok());
  Collector out;
  ASSERT_TRUE(out.Attach(graph, "twice").ok());
  ASSERT_TRUE(graph.StartRun().ok());
  ASSERT_TRUE(graph.AddPacketToInputStream("in", Int(40, 1)).ok());
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  ASSERT_TRUE(graph.WaitUntilDone().ok());
  EXPECT_THAT(out.Values<int64_t>(), ElementsAre(42));
}

TEST(GraphRuntimeTest, ManyPacketsThroughPerNodeExecutors) {
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    executor { name: "e1" num_threads: 1 }
    executor { name: "e2" num_threads: 1 }
    executor { name: "e3" num_threads: 1 }
    node { calculator: "CountingSourceCalculator" output_stream: "n" executor: "e1"
           options { [edgepipe.CountingSourceCalculatorOptions.ext] { num_packets: 20000 } } }
    node { calculator: "PassThroughCalculator" input_stream: "n" output_stream: "a" executor: "e2" }
    node { calculator: "PassThroughCalculator" input_stream: "a" output_stream: "b" executor: "e3" }
    node { calculator: "PacketCounterCalculator" input_stream: "b" output_side_packet: "COUNT:count" }
  )")).ok());
  ASSERT_TRUE(graph.Run().ok());
  EXPECT_EQ(*graph.GetOutputSidePacket("count").value().Get<int64_t>().value(), 20000);
}

TEST(GraphRuntimeTest, EventListenerSeesOpenProcessAndClose) {
  Graph graph;
  ASSERT_TRUE(graph.Initialize(Parse(R"(
    input_stream: "in"
    node { name: "relay" calculator: "PassThroughCalculator" input_stream: "in" output_stream: "out" }
  )")).ok());
  std::mutex mutex;
  std::vector<GraphEvent> events;
  graph.SetEventListener([&](const GraphEvent& event) {
    std::lock_guard lock(mutex);
    events.push_back(event);
  });
  ASSERT_TRUE(graph.StartRun().ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(graph.AddPacketToInputStream("in", Int(i, i)).ok());
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  ASSERT_TRUE(graph.WaitUntilDone().ok());
  std::vector<std::pair<GraphEvent::Kind, int64_t>> seen;
  for (const GraphEvent& event : events) seen.emplace_back(event.kind, event.timestamp.Value());
  using K = GraphEvent::Kind;
  EXPECT_THAT(seen, ElementsAre(std::pair{K::kOpen, Timestamp::Unstarted().Value()}, std::pair{K::kProcessStart, 0},
                                std::pair{K::kProcessEnd, 0}, std::pair{K::kProcessStart, 1},
                                std::pair{K::kProcessEnd, 1}, std::pair{K::kProcessStart, 2},
                                std::pair{K::kProcessEnd, 2}, std::pair{K::kClose, Timestamp::Done().Value()}));
  for (size_t i = 1; i < events.size(); ++i) EXPECT_LE(events[i - 1].time_ns, events[i].time_ns);
}

}  // namespace
}  // namespace edgepipe
