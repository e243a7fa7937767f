// A calculator that throws (OpenCV, the standard library, allocation) fails
// its graph with an error naming the node; an executor whose threads cannot
// be started fails Initialize. Neither may terminate the process.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cstdio>
#include <fstream>
#include <new>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include "core/calculator.h"
#include "core/executor.h"
#include "core/graph.h"
#include "tests/testing/address_space.h"

namespace edgepipe {
namespace failure_test {

// Passes int64 packets through; throws on the value 3.
class ThrowOnThreeCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->SetDoc("test: throws std::out_of_range on 3");
    cc->Input<int64_t>("");
    cc->Output<int64_t>("");
    return OkStatus();
  }
  Status Process(CalculatorContext* cc) override {
    const int64_t value = *cc->Inputs().Index(0).Get<int64_t>().value();
    if (value == 3) throw std::out_of_range("three is out of range");
    return cc->Outputs().Index(0).Add(value, cc->InputTimestamp());
  }
};

// Throws something that is not a std::exception from Open.
class ThrowInOpenCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->SetDoc("test: throws an int in Open");
    cc->Input<int64_t>("");
    return OkStatus();
  }
  Status Open(CalculatorContext*) override { throw 42; }
  Status Process(CalculatorContext*) override { return OkStatus(); }
};

// Runs fine, then fails to allocate in Close.
class ThrowInCloseCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->SetDoc("test: throws std::bad_alloc in Close");
    cc->Input<int64_t>("");
    return OkStatus();
  }
  Status Process(CalculatorContext*) override { return OkStatus(); }
  Status Close(CalculatorContext*) override { throw std::bad_alloc(); }
};

// Throws from its contract.
class ThrowInContractCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract*) { throw std::invalid_argument("no contract today"); }
  Status Process(CalculatorContext*) override { return OkStatus(); }
};

}  // namespace failure_test

using failure_test::ThrowInCloseCalculator;
using failure_test::ThrowInContractCalculator;
using failure_test::ThrowInOpenCalculator;
using failure_test::ThrowOnThreeCalculator;
EDGEPIPE_REGISTER_CALCULATOR(ThrowOnThreeCalculator);
EDGEPIPE_REGISTER_CALCULATOR(ThrowInOpenCalculator);
EDGEPIPE_REGISTER_CALCULATOR(ThrowInCloseCalculator);
EDGEPIPE_REGISTER_CALCULATOR(ThrowInContractCalculator);

namespace {

using ::testing::HasSubstr;

Status RunGraph(const std::string& text) {
  auto config = ParseGraphConfig(text, "test");
  if (!config.ok()) return config.status();
  Graph graph;
  EP_RETURN_IF_ERROR(graph.Initialize(*config));
  return graph.Run();
}

constexpr char kCountingSource[] = R"(
    node { calculator: "CountingSourceCalculator" output_stream: "n"
           options { [edgepipe.CountingSourceCalculatorOptions.ext] { num_packets: 10 } } })";

TEST(CalculatorFailureTest, ExceptionInProcessIsAnErrorNamingTheNode) {
  const Status status = RunGraph(std::string(kCountingSource) + R"(
    node { name: "thrower" calculator: "ThrowOnThreeCalculator" input_stream: "n" output_stream: "out" })");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInternal) << status;
  EXPECT_THAT(status.message(), HasSubstr("node \"thrower\" (ThrowOnThreeCalculator")) << status;
  EXPECT_THAT(status.message(), HasSubstr("Process at timestamp 3")) << status;
  EXPECT_THAT(status.message(), HasSubstr("threw std::out_of_range: three is out of range")) << status;
}

TEST(CalculatorFailureTest, NonStandardExceptionInOpenIsAnErrorNamingTheNode) {
  const Status status = RunGraph(std::string(kCountingSource) + R"(
    node { name: "opener" calculator: "ThrowInOpenCalculator" input_stream: "n" })");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("node \"opener\" (ThrowInOpenCalculator")) << status;
  EXPECT_THAT(status.message(), HasSubstr("Open: threw an exception that is not a std::exception")) << status;
}

TEST(CalculatorFailureTest, AllocationFailureInCloseIsAnErrorNamingTheNode) {
  const Status status = RunGraph(std::string(kCountingSource) + R"(
    node { name: "closer" calculator: "ThrowInCloseCalculator" input_stream: "n" })");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("node \"closer\" (ThrowInCloseCalculator")) << status;
  EXPECT_THAT(status.message(), HasSubstr("Close: threw std::bad_alloc")) << status;
}

TEST(CalculatorFailureTest, ExceptionInContractFailsInitialize) {
  const Status status = RunGraph(std::string(kCountingSource) + R"(
    node { name: "contract" calculator: "ThrowInContractCalculator" input_stream: "n" })");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("node \"contract\" (ThrowInContractCalculator")) << status;
  EXPECT_THAT(status.message(), HasSubstr("threw std::invalid_argument: no contract today")) << status;
}

TEST(ExecutorTest, AbsurdThreadCountIsRefused) {
  auto executor = ThreadPoolExecutor::Create("big", 100000);
  ASSERT_FALSE(executor.ok());
  EXPECT_EQ(executor.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(executor.status().message(), HasSubstr("executor \"big\": 100000 threads")) << executor.status();
}

TEST(ExecutorTest, AbsurdThreadCountInAGraphFailsInitialize) {
  const Status status = RunGraph(std::string(kCountingSource) + R"(
    executor { name: "wide" num_threads: 100000 })");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("executor \"wide\": 100000 threads")) << status;
}

using edgepipe::testing::CapAddressSpace;

// Thread stacks are mapped memory: with the address space capped just above
// what the process uses, the system refuses the threads, as a process limit
// (ulimit -u) does. Runs in a child process (a death test) so that the cap
// stays there.
TEST(ExecutorTest, RefusedThreadsAreAnErrorNotAnAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        if (!CapAddressSpace(4u << 20)) std::_Exit(2);  // less than one 8 MB thread stack
        auto executor = ThreadPoolExecutor::Create("capped", 8);
        std::fprintf(stderr, "%s\n", executor.ok() ? "OK" : executor.status().ToString().c_str());
        std::_Exit(executor.ok() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "UNAVAILABLE: executor \"capped\": cannot start thread 1 of the 8 asked for");
}

}  // namespace
}  // namespace edgepipe
