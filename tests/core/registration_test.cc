// The core library is linked statically and nothing in this file names a
// built-in calculator's symbol: every one must still be registered.
#include <gtest/gtest.h>

#include <sstream>

#include "core/calculator.h"

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

}  // namespace
}  // namespace edgepipe
