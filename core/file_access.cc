#include "core/file_access.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace edgepipe {

Status CheckReadableFile(const std::string& path, std::string_view what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    const std::string reason = std::strerror(error);
    return error == ENOENT ? NotFoundError("cannot read {} '{}': {}", what, path, reason)
                           : InvalidArgumentError("cannot read {} '{}': {}", what, path, reason);
  }
  struct stat info {};
  const bool is_directory = ::fstat(fd, &info) == 0 && S_ISDIR(info.st_mode);
  ::close(fd);
  if (is_directory) return InvalidArgumentError("cannot read {} '{}': it is a directory", what, path);
  return OkStatus();
}

Status CheckWritableFile(const std::string& path, std::string_view what) {
  if (path.empty()) return InvalidArgumentError("cannot write {}: the path is empty", what);
  struct stat info {};
  const bool existed = ::stat(path.c_str(), &info) == 0;
  if (existed && S_ISDIR(info.st_mode)) return InvalidArgumentError("cannot write {} '{}': it is a directory", what, path);
  // O_APPEND without O_TRUNC: an existing file keeps its contents until the real writer opens it.
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int error = errno;
    const std::string reason = std::strerror(error);
    return error == ENOENT ? NotFoundError("cannot write {} '{}': {}", what, path, reason)
                           : InvalidArgumentError("cannot write {} '{}': {}", what, path, reason);
  }
  ::close(fd);
  if (!existed) ::unlink(path.c_str());
  return OkStatus();
}

bool SameFile(const std::string& a, const std::string& b) {
  struct stat first {};
  struct stat second {};
  if (::stat(a.c_str(), &first) != 0 || ::stat(b.c_str(), &second) != 0) return false;
  return first.st_dev == second.st_dev && first.st_ino == second.st_ino;
}

}  // namespace edgepipe
