// "TAG:index:name" stream and side-packet specs, as written in graph configs.
#pragma once

#include <string>

#include "core/status.h"

namespace edgepipe {

struct StreamSpec {
  std::string tag;  // upper-case, or "" when untagged
  int index = 0;
  std::string name;

  std::string TagIndex() const { return tag + ":" + std::to_string(index); }
  std::string ToString() const;
};

// Accepts "name", "TAG:name" and "TAG:index:name". Tags are upper-case
// letters, digits and '_'; names are lower-case letters, digits and '_'.
Result<StreamSpec> ParseStreamSpec(const std::string& spec);

}  // namespace edgepipe

#include <vector>
#include <google/protobuf/repeated_field.h>

namespace edgepipe {
// Parses a node's list of specs; untagged entries get indices by position.
// Duplicate TAG:index entries are an error.
Result<std::vector<StreamSpec>> ParseStreamList(const google::protobuf::RepeatedPtrField<std::string>& specs);
}  // namespace edgepipe
