#include "core/stream_name.h"

#include <cctype>
#include <set>

namespace edgepipe {

namespace {
bool IsTag(const std::string& s) {
  if (s.empty() || !std::isupper(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isupper(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  return true;
}
bool IsName(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  return true;
}
}  // namespace

std::string StreamSpec::ToString() const {
  if (tag.empty()) return name;
  return index == 0 ? tag + ":" + name : tag + ":" + std::to_string(index) + ":" + name;
}

Result<StreamSpec> ParseStreamSpec(const std::string& spec) {
  StreamSpec parsed;
  const size_t first = spec.find(':');
  const size_t last = spec.rfind(':');
  if (first == std::string::npos) {
    parsed.name = spec;
  } else {
    parsed.tag = spec.substr(0, first);
    parsed.name = spec.substr(last + 1);
    if (first != last) {
      const std::string index = spec.substr(first + 1, last - first - 1);
      if (index.empty() || index.size() > 6 || index.find_first_not_of("0123456789") != std::string::npos) {
        return InvalidArgumentError("\"{}\": index \"{}\" is not a small non-negative number", spec, index);
      }
      parsed.index = std::stoi(index);
    }
    if (!IsTag(parsed.tag)) {
      return InvalidArgumentError("\"{}\": tag \"{}\" must be upper-case letters, digits and '_'", spec, parsed.tag);
    }
  }
  if (!IsName(parsed.name)) {
    return InvalidArgumentError("\"{}\": stream name \"{}\" must be lower-case letters, digits and '_'", spec,
                                parsed.name);
  }
  return parsed;
}

Result<std::vector<StreamSpec>> ParseStreamList(const google::protobuf::RepeatedPtrField<std::string>& specs) {
  std::vector<StreamSpec> parsed;
  std::set<std::string> seen;
  int untagged = 0;
  for (const std::string& spec : specs) {
    EP_ASSIGN_OR_RETURN(StreamSpec one, ParseStreamSpec(spec));
    if (one.tag.empty()) one.index = untagged++;
    if (!seen.insert(one.TagIndex()).second) {
      return InvalidArgumentError("\"{}\": {} is connected twice", spec, one.tag.empty() ? "index" : one.TagIndex());
    }
    parsed.push_back(std::move(one));
  }
  return parsed;
}

}  // namespace edgepipe
