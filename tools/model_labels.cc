#include "tools/model_labels.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <sstream>

namespace edgepipe::tools {

namespace {

uint32_t Le(const std::string& bytes, size_t at, int width) {
  uint32_t v = 0;
  for (int i = width - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(bytes[at + static_cast<size_t>(i)]);
  return v;
}

// Zip record signatures and fixed sizes (APPNOTE.TXT 4.3.7, 4.3.12, 4.3.16).
constexpr uint32_t kEndOfCentralDirectory = 0x06054b50, kCentralHeader = 0x02014b50, kLocalHeader = 0x04034b50;
constexpr size_t kEndSize = 22, kCentralSize = 46, kLocalSize = 30;

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> AppendedZipFiles(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open '{}'", path);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<std::pair<std::string, std::string>> files;
  if (bytes.size() < kEndSize) return files;
  // The end record is last, followed by a comment of up to 64 KiB.
  size_t end = std::string::npos;
  const size_t lowest = bytes.size() > kEndSize + 0xffff ? bytes.size() - kEndSize - 0xffff : 0;
  for (size_t at = bytes.size() - kEndSize + 1; at-- > lowest;)
    if (Le(bytes, at, 4) == kEndOfCentralDirectory) {
      end = at;
      break;
    }
  if (end == std::string::npos) return files;
  const size_t entries = Le(bytes, end + 10, 2), directory_size = Le(bytes, end + 12, 4);
  const size_t directory_offset = Le(bytes, end + 16, 4);
  // Offsets count from the zip's start, which follows the model: shift them as Python's zipfile does.
  if (directory_size + directory_offset > end) return InvalidArgumentError("'{}': bad appended zip directory", path);
  const size_t base = end - directory_size - directory_offset;
  size_t at = end - directory_size;
  for (size_t e = 0; e < entries; ++e) {
    if (at + kCentralSize > end || Le(bytes, at, 4) != kCentralHeader)
      return InvalidArgumentError("'{}': bad zip directory entry {}", path, e);
    const uint32_t method = Le(bytes, at + 10, 2), size = Le(bytes, at + 20, 4);
    const size_t name_length = Le(bytes, at + 28, 2);
    const size_t local = base + Le(bytes, at + 42, 4);
    const std::string name = bytes.substr(at + kCentralSize, name_length);
    at += kCentralSize + name_length + Le(bytes, at + 30, 2) + Le(bytes, at + 32, 2);
    if (method != 0) continue;  // deflated: TFLite metadata stores its files uncompressed
    if (local + kLocalSize > bytes.size() || Le(bytes, local, 4) != kLocalHeader)
      return InvalidArgumentError("'{}': bad zip entry '{}'", path, name);
    const size_t data = local + kLocalSize + Le(bytes, local + 26, 2) + Le(bytes, local + 28, 2);
    if (data + size > bytes.size()) return InvalidArgumentError("'{}': zip entry '{}' is cut short", path, name);
    files.emplace_back(name, bytes.substr(data, size));
  }
  return files;
}

Result<std::vector<std::string>> EmbeddedLabelMap(const std::string& model_path) {
  EP_ASSIGN_OR_RETURN(auto files, AppendedZipFiles(model_path));
  std::vector<const std::string*> texts;
  const std::string* labels = nullptr;
  for (const auto& [name, contents] : files) {
    if (name.size() < 4 || name.substr(name.size() - 4) != ".txt") continue;
    texts.push_back(&contents);
    if (!labels && name.find("label") != std::string::npos) labels = &contents;
  }
  if (!labels && texts.size() == 1) labels = texts[0];
  std::vector<std::string> lines;
  if (!labels) return lines;
  std::istringstream text(*labels);
  for (std::string line; std::getline(text, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

}  // namespace edgepipe::tools
