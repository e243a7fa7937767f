// Every validation error names what was wrong and where (file:line, node, stream).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/graph.h"

namespace edgepipe {
namespace {

using ::testing::HasSubstr;

Status InitializeText(const std::string& text) {
  auto config = ParseGraphConfig(text, "test.pbtxt");
  if (!config.ok()) return config.status();
  Graph graph;
  return graph.Initialize(*config);
}

TEST(GraphValidationTest, ValidChainInitializes) {
  EXPECT_TRUE(InitializeText(R"(
    input_stream: "in"
    output_stream: "out"
    node { calculator: "PassThroughCalculator" input_stream: "in" output_stream: "mid" }
    node { calculator: "PassThroughCalculator" input_stream: "mid" output_stream: "out" }
  )").ok());
}

TEST(GraphValidationTest, SyntaxErrorNamesFileLineAndColumn) {
  Status status = InitializeText("input_stream: \"in\"\nnode { calculator: PassThroughCalculator }\n");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("test.pbtxt:2:"));
}

TEST(GraphValidationTest, UnknownFieldNamesLine) {
  Status status = InitializeText("input_stream: \"in\"\n\nnode { calculater: \"X\" }\n");
  EXPECT_THAT(status.message(), HasSubstr("test.pbtxt:3:"));
  EXPECT_THAT(status.message(), HasSubstr("calculater"));
}

TEST(GraphValidationTest, UnknownCalculatorSuggestsClosestName) {
  Status status = InitializeText(R"(input_stream: "in"
node {
  calculator: "PassThruCalculator"
  input_stream: "in"
  output_stream: "out"
})");
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("unknown calculator \"PassThruCalculator\""));
  EXPECT_THAT(status.message(), HasSubstr("did you mean \"PassThroughCalculator\""));
  EXPECT_THAT(status.message(), HasSubstr("test.pbtxt:2"));
}

TEST(GraphValidationTest, UnknownPortListsDeclaredPorts) {
  Status status = InitializeText(R"(
    input_stream: "a"
    input_stream: "b"
    node { name: "adder" calculator: "SumCalculator" input_stream: "A:a" input_stream: "C:b" output_stream: "SUM:s" }
  )");
  EXPECT_THAT(status.message(), HasSubstr("node \"adder\""));
  EXPECT_THAT(status.message(), HasSubstr("no input stream \"C\""));
  EXPECT_THAT(status.message(), HasSubstr("declared: A, B"));
}

TEST(GraphValidationTest, MissingRequiredPort) {
  Status status = InitializeText(R"(
    input_stream: "a"
    node { name: "adder" calculator: "SumCalculator" input_stream: "A:a" output_stream: "SUM:s" }
  )");
  EXPECT_THAT(status.message(), HasSubstr("required input stream \"B\" is not connected"));
  EXPECT_THAT(status.message(), HasSubstr("adder"));
}

TEST(GraphValidationTest, TypeMismatchNamesStreamProducerAndConsumer) {
  Status status = InitializeText(R"(
    input_stream: "in"
    input_stream: "b"
    node { name: "stringify" calculator: "ToStringCalculator" input_stream: "in" output_stream: "text" }
    node { name: "adder" calculator: "SumCalculator" input_stream: "A:text" input_stream: "B:b" output_stream: "SUM:s" }
  )");
  EXPECT_THAT(status.message(), HasSubstr("stream \"text\": type mismatch"));
  EXPECT_THAT(status.message(), HasSubstr("stringify"));
  EXPECT_THAT(status.message(), HasSubstr("produces std::string"));
  EXPECT_THAT(status.message(), HasSubstr("expects long"));
}

TEST(GraphValidationTest, TypeFollowsThroughPassThrough) {
  Status status = InitializeText(R"(
    input_stream: "in"
    input_stream: "b"
    node { calculator: "ToStringCalculator" input_stream: "in" output_stream: "text" }
    node { name: "relay" calculator: "PassThroughCalculator" input_stream: "text" output_stream: "text2" }
    node { name: "adder" calculator: "SumCalculator" input_stream: "A:text2" input_stream: "B:b" output_stream: "SUM:s" }
  )");
  EXPECT_THAT(status.message(), HasSubstr("stream \"text2\": type mismatch"));
  EXPECT_THAT(status.message(), HasSubstr("relay"));
}

TEST(GraphValidationTest, TwoProducersForOneStream) {
  Status status = InitializeText(R"(
    input_stream: "in"
    node { name: "first" calculator: "PassThroughCalculator" input_stream: "in" output_stream: "out" }
    node { name: "second" calculator: "PassThroughCalculator" input_stream: "in" output_stream: "out" }
  )");
  EXPECT_THAT(status.message(), HasSubstr("stream \"out\" has two producers"));
  EXPECT_THAT(status.message(), HasSubstr("first"));
  EXPECT_THAT(status.message(), HasSubstr("second"));
}

TEST(GraphValidationTest, InputWithoutProducerSuggestsStream) {
  Status status = InitializeText(R"(
    input_stream: "frames"
    node { name: "relay" calculator: "PassThroughCalculator" input_stream: "frame" output_stream: "out" }
  )");
  EXPECT_THAT(status.message(), HasSubstr("input stream \"frame\""));
  EXPECT_THAT(status.message(), HasSubstr("has no producer"));
  EXPECT_THAT(status.message(), HasSubstr("did you mean \"frames\""));
}

TEST(GraphValidationTest, CycleWithoutBackEdge) {
  Status status = InitializeText(R"(
    input_stream: "in"
    node { name: "adder" calculator: "SumCalculator" input_stream: "A:in" input_stream: "B:loop" output_stream: "SUM:sum" }
    node { name: "inc" calculator: "IncrementCalculator" input_stream: "sum" output_stream: "loop" }
  )");
  EXPECT_THAT(status.message(), HasSubstr("cycle without a back edge"));
  EXPECT_THAT(status.message(), HasSubstr("\"adder\""));
  EXPECT_THAT(status.message(), HasSubstr("\"inc\""));
}

TEST(GraphValidationTest, CycleWithBackEdgeIsAccepted) {
  EXPECT_TRUE(InitializeText(R"(
    input_stream: "in"
    node {
      calculator: "PreviousLoopbackCalculator"
      input_stream: "MAIN:in" input_stream: "LOOP:sum"
      input_stream_info { tag_index: "LOOP" back_edge: true }
      output_stream: "PREV_LOOP:prev"
    }
    node { calculator: "PassThroughCalculator" input_stream: "prev" output_stream: "sum" }
  )").ok());
}

TEST(GraphValidationTest, UnknownExecutor) {
  Status status = InitializeText(R"(
    input_stream: "in"
    executor { name: "inference" num_threads: 1 }
    node { name: "relay" calculator: "PassThroughCalculator" input_stream: "in" output_stream: "out" executor: "infrence" }
  )");
  EXPECT_THAT(status.message(), HasSubstr("unknown executor \"infrence\""));
  EXPECT_THAT(status.message(), HasSubstr("defined: inference"));
}

TEST(GraphValidationTest, BadOptionField) {
  Status status = InitializeText(R"(node {
  calculator: "CountingSourceCalculator"
  output_stream: "n"
  options { [edgepipe.CountingSourceCalculatorOptions.ext] { num_pakets: 3 } }
})");
  EXPECT_THAT(status.message(), HasSubstr("test.pbtxt:4:"));
  EXPECT_THAT(status.message(), HasSubstr("num_pakets"));
}

TEST(GraphValidationTest, BadOptionValue) {
  Status status = InitializeText(R"(node {
  name: "numbers"
  calculator: "CountingSourceCalculator"
  output_stream: "n"
  options { [edgepipe.CountingSourceCalculatorOptions.ext] { num_packets: -3 } }
})");
  EXPECT_THAT(status.message(), HasSubstr("node \"numbers\""));
  EXPECT_THAT(status.message(), HasSubstr("num_packets must be >= 0"));
}

TEST(GraphValidationTest, OptionsOfAnotherCalculator) {
  Status status = InitializeText(R"(
    input_stream: "in"
    node {
      calculator: "PassThroughCalculator" input_stream: "in" output_stream: "out"
      options { [edgepipe.CountingSourceCalculatorOptions.ext] { num_packets: 3 } }
    })");
  EXPECT_THAT(status.message(), HasSubstr("takes no options"));
}

TEST(GraphValidationTest, BadStreamName) {
  Status status = InitializeText(R"(
    input_stream: "in"
    node { calculator: "PassThroughCalculator" input_stream: "in" output_stream: "Out-put" })");
  EXPECT_THAT(status.message(), HasSubstr("Out-put"));
}

TEST(GraphValidationTest, UnknownInputStreamHandler) {
  Status status = InitializeText(R"(
    input_stream: "in"
    node {
      calculator: "PassThroughCalculator" input_stream: "in" output_stream: "out"
      input_stream_handler { input_stream_handler: "FastHandler" }
    })");
  EXPECT_THAT(status.message(), HasSubstr("unknown input stream handler \"FastHandler\""));
}

TEST(GraphValidationTest, SubgraphExpansion) {
  auto config = ParseGraphConfig(R"(
    input_stream: "in"
    output_stream: "out"
    subgraph {
      type: "DoublePassSubgraph"
      input_stream: "IN:x"
      output_stream: "OUT:y"
      node { calculator: "PassThroughCalculator" input_stream: "x" output_stream: "middle" }
      node { calculator: "PassThroughCalculator" input_stream: "middle" output_stream: "y" }
    }
    node { name: "twice" calculator: "DoublePassSubgraph" input_stream: "IN:in" output_stream: "OUT:out" }
  )");
  ASSERT_TRUE(config.ok()) << config.status();
  auto expanded = ExpandSubgraphs(*config);
  ASSERT_TRUE(expanded.ok()) << expanded.status();
  ASSERT_EQ(expanded->node_size(), 2);
  EXPECT_EQ(expanded->node(0).input_stream(0), "in");
  EXPECT_EQ(expanded->node(0).output_stream(0), "twice__middle");
  EXPECT_EQ(expanded->node(1).output_stream(0), "out");
  EXPECT_EQ(expanded->node(0).name(), "twice/PassThroughCalculator");
}

TEST(GraphValidationTest, SubgraphWithUnknownPort) {
  Status status = InitializeText(R"(
    input_stream: "in"
    subgraph { type: "S" input_stream: "IN:x" output_stream: "OUT:x" }
    node { name: "s" calculator: "S" input_stream: "INPUT:in" output_stream: "OUT:out" })");
  EXPECT_THAT(status.message(), HasSubstr("subgraph S has no input_stream \"INPUT:0\""));
}

}  // namespace
}  // namespace edgepipe
