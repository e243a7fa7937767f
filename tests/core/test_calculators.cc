#include "test_calculators.h"

namespace edgepipe {
using testing::BackwardsCalculator;
using testing::FailOnThreeCalculator;
using testing::IncrementCalculator;
using testing::SlowPassCalculator;
using testing::SideEchoSourceCalculator;
using testing::SumCalculator;
using testing::ToStringCalculator;
EDGEPIPE_REGISTER_CALCULATOR(SumCalculator);
EDGEPIPE_REGISTER_CALCULATOR(ToStringCalculator);
EDGEPIPE_REGISTER_CALCULATOR(SlowPassCalculator);
EDGEPIPE_REGISTER_CALCULATOR(FailOnThreeCalculator);
EDGEPIPE_REGISTER_CALCULATOR(IncrementCalculator);
EDGEPIPE_REGISTER_CALCULATOR(BackwardsCalculator);
EDGEPIPE_REGISTER_CALCULATOR(SideEchoSourceCalculator);
}  // namespace edgepipe
