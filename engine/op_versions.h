// Which operators, up to which versions, a loaded model may use. The reader
// refuses any other at load time (a newer version of an op may change its
// meaning: new dtypes, new attributes), so that a model is never run with
// semantics we do not implement.
//
// The list is not written here: RegisteredOpVersions() is the union of what
// the engine's backends register (engine/backend_registry.cc), one entry per
// op in the backend that runs it, plus the ops the planner folds at load time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace edgepipe::engine {

struct OpVersions {
  std::map<int32_t, int32_t> builtin;                   // builtin code -> highest version
  std::map<std::string, int32_t, std::less<>> custom;   // custom code -> highest version
  // Accept every operator (the reader's own tests and the fuzzer, which check
  // the format only).
  bool accept_all = false;

  static OpVersions All() {
    OpVersions v;
    v.accept_all = true;
    return v;
  }
  // Raises the entry to `version` if lower.
  void Add(int32_t code, std::string_view custom_name, int32_t version);
};

// What the backends linked into this program register.
const OpVersions& RegisteredOpVersions();

}  // namespace edgepipe::engine
