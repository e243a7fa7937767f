// Checks that a path can be read or written, before a library that reports
// failure without a reason (OpenCV's VideoWriter, std::ifstream) is handed it:
// the error then says what the OS said ("Permission denied", "Is a
// directory") instead of guessing ("codec or container unsupported").
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace edgepipe {

// OK when `path` is an existing regular file (or device) this process may
// read. Otherwise an error "cannot read WHAT 'PATH': REASON", REASON being
// strerror's text or "is a directory".
Status CheckReadableFile(const std::string& path, std::string_view what);

// OK when a file can be created or overwritten at `path`. It does not change
// an existing file (opened for writing without truncation) and removes a file
// it had to create. Otherwise "cannot write WHAT 'PATH': REASON".
Status CheckWritableFile(const std::string& path, std::string_view what);

// Whether both paths exist and name the same file (same device and inode), as
// an output that is also an input, or a hard link or symlink to it.
bool SameFile(const std::string& a, const std::string& b);

}  // namespace edgepipe
