// The CPU probe, ISA names and caps, and variant choice (engine/cpu/cpu_features.h).
#include "engine/cpu/cpu_features.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace edgepipe::engine {
namespace {

TEST(CpuFeaturesTest, EveryIsaOfThisArchitectureParsesBackToItself) {
  ASSERT_FALSE(ArchIsas().empty());
  EXPECT_EQ(ArchIsas().front(), Isa::kGeneric);
  for (Isa isa : ArchIsas()) {
    auto parsed = ParseIsa(IsaName(isa));
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(*parsed, isa);
  }
}

TEST(CpuFeaturesTest, UnknownOrForeignIsaIsAnErrorListingTheAcceptedOnes) {
  auto bad = ParseIsa("avx1024");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().ToString(), ::testing::HasSubstr("'avx1024'"));
  EXPECT_THAT(bad.status().ToString(), ::testing::HasSubstr("generic"));
#if defined(__x86_64__)
  EXPECT_FALSE(ParseIsa("neon").ok());
#elif defined(__aarch64__)
  EXPECT_FALSE(ParseIsa("avx2").ok());
#endif
}

TEST(CpuFeaturesTest, HostProbeIsConsistent) {
  const CpuFeatures& cpu = HostCpu();
  EXPECT_FALSE(cpu.name.empty());
  EXPECT_TRUE(CpuRunsIsa(cpu, Isa::kGeneric));
  const Isa best = BestIsa(cpu);
  EXPECT_TRUE(CpuRunsIsa(cpu, best));
  for (Isa isa : ArchIsas())
    if (!WithinCap(isa, best)) {
      EXPECT_FALSE(CpuRunsIsa(cpu, isa)) << IsaName(isa);
    }
  // A cap above what the host runs is lowered to it.
  EXPECT_EQ(EffectiveIsaCap(ArchIsas().back()), best);
  EXPECT_EQ(EffectiveIsaCap(Isa::kGeneric), Isa::kGeneric);
}

TEST(CpuFeaturesTest, LevelsImplyTheOnesBelowExceptVnniOnAvx512) {
  CpuFeatures cpu;
  cpu.avx2 = cpu.fma = cpu.f16c = true;
  EXPECT_TRUE(CpuRunsIsa(cpu, Isa::kAvx2));
  EXPECT_FALSE(CpuRunsIsa(cpu, Isa::kAvxVnni));
  cpu.avx512f = cpu.avx512bw = cpu.avx512vl = cpu.avx512dq = true;
  EXPECT_TRUE(CpuRunsIsa(cpu, Isa::kAvx512));   // Skylake-X: AVX-512 without AVX-VNNI
  EXPECT_FALSE(CpuRunsIsa(cpu, Isa::kAvxVnni));
  cpu.fma = false;
  EXPECT_FALSE(CpuRunsIsa(cpu, Isa::kAvx512));
}

struct FakeVariant {
  const char* name;
  Isa isa;
  bool (*supported)(const CpuFeatures&);
};

TEST(CpuFeaturesTest, ChooseVariantTakesTheFirstWithinCapThatTheCpuRuns) {
  CpuFeatures cpu;
  cpu.avx2 = cpu.fma = cpu.f16c = true;
  cpu.avx512f = cpu.avx512bw = cpu.avx512vl = cpu.avx512dq = true;
  const FakeVariant variants[] = {
      {"avx512-vnni", Isa::kAvx512, [](const CpuFeatures& c) { return c.avx512vnni; }},
      {"avx512", Isa::kAvx512, nullptr},
      {"avx2", Isa::kAvx2, nullptr},
      {"generic", Isa::kGeneric, nullptr},
  };
  std::span<const FakeVariant> table(variants);
  EXPECT_STREQ(ChooseVariant(table, Isa::kAvx512, cpu)->name, "avx512");
  cpu.avx512vnni = true;
  EXPECT_STREQ(ChooseVariant(table, Isa::kAvx512, cpu)->name, "avx512-vnni");
  EXPECT_STREQ(ChooseVariant(table, Isa::kAvxVnni, cpu)->name, "avx2");
  EXPECT_STREQ(ChooseVariant(table, Isa::kGeneric, cpu)->name, "generic");
  EXPECT_EQ(HostVariants(table, cpu).size(), 4u);
  EXPECT_EQ(ChooseVariant(table.first(2), Isa::kAvx2, cpu), nullptr);
}

}  // namespace
}  // namespace edgepipe::engine
