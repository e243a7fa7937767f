#include <gtest/gtest.h>

#include <string>

#include "core/packet.h"
#include "core/timestamp.h"

namespace edgepipe {
namespace {

TEST(TimestampTest, SpecialValuesAreOrdered) {
  EXPECT_LT(Timestamp::Unset(), Timestamp::Unstarted());
  EXPECT_LT(Timestamp::Unstarted(), Timestamp::PreStream());
  EXPECT_LT(Timestamp::PreStream(), Timestamp::Min());
  EXPECT_LT(Timestamp::Min(), Timestamp(0));
  EXPECT_LT(Timestamp(0), Timestamp::Max());
  EXPECT_LT(Timestamp::Max(), Timestamp::PostStream());
  EXPECT_LT(Timestamp::PostStream(), Timestamp::OneOverPostStream());
  EXPECT_LT(Timestamp::OneOverPostStream(), Timestamp::Done());
  EXPECT_TRUE(Timestamp::PreStream().IsAllowedInStream());
  EXPECT_TRUE(Timestamp::PostStream().IsAllowedInStream());
  EXPECT_FALSE(Timestamp::Done().IsAllowedInStream());
  EXPECT_FALSE(Timestamp::Unset().IsAllowedInStream());
  EXPECT_EQ(Timestamp::PreStream().DebugString(), "PreStream");
}

TEST(TimestampTest, NextAllowedInStream) {
  EXPECT_EQ(Timestamp(41).NextAllowedInStream(), Timestamp(42));
  EXPECT_EQ(Timestamp::PreStream().NextAllowedInStream(), Timestamp::OneOverPostStream());
  EXPECT_EQ(Timestamp::Max().NextAllowedInStream(), Timestamp::OneOverPostStream());
  EXPECT_EQ(Timestamp::Unstarted().NextAllowedInStream(), Timestamp::Min());
}

TEST(TimestampTest, OverflowIsAnErrorNotACrash) {
  auto sum = Timestamp::Max().Add(1);
  ASSERT_FALSE(sum.ok());
  EXPECT_EQ(sum.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(sum.status().message().find("overflow"), std::string::npos);
  EXPECT_FALSE(Timestamp(0).Add(std::numeric_limits<int64_t>::max()).ok());
  EXPECT_FALSE(Timestamp(-5).Add(std::numeric_limits<int64_t>::min()).ok());
  EXPECT_FALSE(Timestamp::PostStream().Add(1).ok());
  EXPECT_EQ(*Timestamp(10).Add(-3), Timestamp(7));
}

TEST(TimestampTest, FromSecondsRoundsToMicroseconds) {
  EXPECT_EQ(*Timestamp::FromSeconds(1.5), Timestamp(1500000));
  // Frame 1 of a 23.976 (24000/1001) fps video.
  EXPECT_EQ(*Timestamp::FromSeconds(1001.0 / 24000.0), Timestamp(41708));
  EXPECT_FALSE(Timestamp::FromSeconds(1e30).ok());
}

TEST(PacketTest, SharesPayloadAndCarriesTimestamp) {
  Packet packet = MakePacket<std::string>("hello").At(Timestamp(5));
  Packet copy = packet.At(Timestamp(6));
  EXPECT_EQ(packet.timestamp(), Timestamp(5));
  EXPECT_EQ(copy.timestamp(), Timestamp(6));
  EXPECT_EQ(*packet.Get<std::string>().value(), "hello");
  EXPECT_EQ(packet.Get<std::string>().value(), copy.Get<std::string>().value());  // same object
}

TEST(PacketTest, WrongTypeNamesBothTypes) {
  Packet packet = MakePacket<int>(3).At(Timestamp(1));
  auto wrong = packet.Get<std::string>();
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("holds int"), std::string::npos) << wrong.status();
  EXPECT_NE(wrong.status().message().find("expected std::string"), std::string::npos) << wrong.status();
  EXPECT_FALSE(Packet().Get<int>().ok());
  EXPECT_EQ(packet.TryGet<std::string>(), nullptr);
  EXPECT_TRUE(packet.ValidateAsType<int>().ok());
}

TEST(TypeIdTest, AnyIsCompatibleWithEverything) {
  EXPECT_TRUE(TypeId::Any().CompatibleWith(TypeId::Of<int>()));
  EXPECT_TRUE(TypeId::Of<int>().CompatibleWith(TypeId::Of<int>()));
  EXPECT_FALSE(TypeId::Of<int>().CompatibleWith(TypeId::Of<float>()));
  EXPECT_EQ(TypeId::Of<std::string>().name(), "std::string");
}

}  // namespace
}  // namespace edgepipe
