#include "engine/page_buffer.h"

#include <cstdint>
#include <utility>

#include <gtest/gtest.h>

namespace edgepipe::engine {
namespace {

TEST(PageBufferTest, IsZeroedWritableAndAligned) {
  for (size_t bytes : {size_t{1}, size_t{5000}, size_t{3} << 20, (size_t{4} << 20) + 123}) {
    auto buffer = PageBuffer::Allocate(bytes);
    ASSERT_TRUE(buffer.ok()) << buffer.status();
    ASSERT_GE(buffer->size(), bytes);
    const auto address = reinterpret_cast<uintptr_t>(buffer->data());
    EXPECT_EQ(address % (bytes >= (size_t{2} << 20) ? (size_t{2} << 20) : 4096), 0u) << bytes;
    for (size_t i = 0; i < bytes; i += 997) {
      ASSERT_EQ(buffer->data()[i], std::byte{0}) << i;
      buffer->data()[i] = std::byte{0x5a};
    }
    buffer->data()[bytes - 1] = std::byte{1};
  }
}

TEST(PageBufferTest, MovesOwnership) {
  auto a = PageBuffer::Allocate(10000);
  ASSERT_TRUE(a.ok());
  std::byte* data = a->data();
  PageBuffer b = std::move(*a);
  EXPECT_EQ(b.data(), data);
  EXPECT_EQ(a->data(), nullptr);
  PageBuffer c;
  c = std::move(b);
  EXPECT_EQ(c.data(), data);
  c.data()[9999] = std::byte{7};
}

}  // namespace
}  // namespace edgepipe::engine
