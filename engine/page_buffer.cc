#include "engine/page_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

namespace edgepipe::engine {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

}  // namespace

Result<PageBuffer> PageBuffer::Allocate(size_t bytes) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t size = RoundUp(std::max<size_t>(bytes, 1), page);
  const size_t alignment = size >= kHugePage ? kHugePage : page;
  // Over-map by the alignment, then unmap the unaligned head and the tail.
  const size_t mapped = size + alignment - page;
  void* raw = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    return InternalError("cannot map {} bytes: {}", size, std::strerror(errno));
  const auto begin = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = RoundUp(begin, alignment);
  if (aligned > begin) munmap(raw, aligned - begin);
  const uintptr_t end = begin + mapped;
  if (end > aligned + size) munmap(reinterpret_cast<void*>(aligned + size), end - (aligned + size));
  // Only whole huge pages: a tail of 4 KiB pages is not rounded up to 2 MiB.
  if (const size_t huge = size / kHugePage * kHugePage; huge > 0)
    madvise(reinterpret_cast<void*>(aligned), huge, MADV_HUGEPAGE);  // advice only: failure is harmless
  PageBuffer buffer;
  buffer.data_ = reinterpret_cast<std::byte*>(aligned);
  buffer.size_ = size;
  return buffer;
}

PageBuffer::~PageBuffer() {
  if (data_ != nullptr) munmap(data_, size_);
}

PageBuffer::PageBuffer(PageBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

PageBuffer& PageBuffer::operator=(PageBuffer&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) munmap(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

}  // namespace edgepipe::engine
