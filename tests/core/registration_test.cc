// The core library is linked statically and nothing in this file names a
// built-in calculator's symbol: every one must still be registered.
#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "core/calculator.h"
#include "core/graph.h"

namespace edgepipe {
namespace {

TEST(RegistrationTest, StaticLibraryKeepsEveryBuiltinCalculator) {
  std::stringstream expected(EDGEPIPE_EXPECTED_BASIC_CALCULATORS);
  std::string name;
  int count = 0;
  while (std::getline(expected, name, ',')) {
    ++count;
    EXPECT_NE(CalculatorRegistry::Global().Find(name), nullptr) << name << " was dropped by the linker";
  }
  EXPECT_GE(count, 4);
}

TEST(RegistrationTest, ClosestNameSuggestsTypos) {
  EXPECT_EQ(CalculatorRegistry::Global().ClosestName("PassThruCalculator"), "PassThroughCalculator");
}

TEST(RegistrationTest, SameNameDifferentCalculatorIsRejected) {
  CalculatorRegistry registry;
  CalculatorRegistration first{"X", [](CalculatorContract*) { return OkStatus(); }, nullptr, "a.cc"};
  CalculatorRegistration second{"X", [](CalculatorContract*) { return UnknownError("other"); }, nullptr, "b.cc"};
  EXPECT_TRUE(registry.Register(first).ok());
  EXPECT_TRUE(registry.Register(first).ok());
  Status duplicate = registry.Register(second);
  EXPECT_EQ(duplicate.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(duplicate.message().find("b.cc"), std::string::npos);
}

// Python registers calculators while other threads build graphs (issue 14): the
// registries must be safe to change while they are read (the TSan build of
// scripts/test.sh reports the race this guards against).
TEST(RegistrationTest, RegisteringWhileAnotherThreadLooksUpIsSafe) {
  CalculatorRegistry registry;
  constexpr int kNames = 2000;
  std::thread writer([&] {
    for (int i = 0; i < kNames; ++i) {
      CalculatorRegistration r{"Calc" + std::to_string(i), [](CalculatorContract*) { return OkStatus(); }, nullptr,
                               "t.cc"};
      EXPECT_TRUE(registry.Register(std::move(r)).ok());
    }
  });
  int found = 0;
  while (found < kNames) {
    found = 0;
    for (int i = 0; i < kNames; i += 97) found += registry.Find("Calc" + std::to_string(i)) != nullptr ? 97 : 0;
    (void)registry.ClosestName("Calc");
    if (registry.Names().size() == kNames) break;
  }
  writer.join();
  EXPECT_EQ(registry.Names().size(), size_t{kNames});
}

TEST(RegistrationTest, ASubgraphIsRegisteredOnceWhileOthersExpandIt) {
  GraphConfig subgraph;
  subgraph.set_type("RegistrationTestSubgraph");
  subgraph.add_input_stream("in");
  ASSERT_TRUE(SubgraphRegistry::Global().Register(subgraph).ok());
  const GraphConfig* held = SubgraphRegistry::Global().Find("RegistrationTestSubgraph");
  ASSERT_NE(held, nullptr);
  std::thread writer([&] {
    GraphConfig other = subgraph;
    for (int i = 0; i < 200; ++i) {
      other.set_type("RegistrationTestSubgraph" + std::to_string(i));
      EXPECT_TRUE(SubgraphRegistry::Global().Register(other).ok());
    }
  });
  for (int i = 0; i < 200; ++i) (void)SubgraphRegistry::Global().Find("RegistrationTestSubgraph" + std::to_string(i));
  writer.join();
  EXPECT_TRUE(SubgraphRegistry::Global().Register(subgraph).ok());  // the same config again
  GraphConfig changed = subgraph;
  changed.set_input_stream(0, "other");
  EXPECT_EQ(SubgraphRegistry::Global().Register(changed).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(held->input_stream(0), "in");  // what a reader holds never changes under it
}

}  // namespace
}  // namespace edgepipe
