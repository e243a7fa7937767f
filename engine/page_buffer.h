// Large zeroed buffers straight from the OS, on huge pages where the kernel
// allows them (transparent huge pages in "madvise" mode, Debian's default).
//
// Why: the arena and the folded fp32 weights are megabytes that are written
// once at load time or on the first invoke. With 4 KiB pages every page is a
// fault plus a clear (palm_detection's 4 MB arena: 1.5 ms); with 2 MiB pages
// it is two (0.1-0.2 ms), and inference has fewer TLB misses. The memory is
// zero when mapped, so no memset pass either. Where huge pages are off, this is
// an ordinary anonymous mapping.
#pragma once

#include <cstddef>

#include "core/status.h"

namespace edgepipe::engine {

class PageBuffer {
 public:
  PageBuffer() = default;
  // `bytes` zeroed bytes, 2 MiB-aligned when at least that large (4 KiB otherwise).
  static Result<PageBuffer> Allocate(size_t bytes);
  ~PageBuffer();
  PageBuffer(PageBuffer&& other) noexcept;
  PageBuffer& operator=(PageBuffer&& other) noexcept;
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;

  std::byte* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  std::byte* data_ = nullptr;
  size_t size_ = 0;  // mapped bytes (a whole number of pages)
};

}  // namespace edgepipe::engine
