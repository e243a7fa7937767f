// What a benchmark ran on and what it cost the process, shared by `edgepipe
// bench` and `edgepipe run --bench`: the machine (CPU, cores, governor, kernel,
// library versions) as JSON, and memory figures from /proc/self/status.
#pragma once

#include <nlohmann/json.hpp>

namespace edgepipe::tools {

// kB of a field of /proc/self/status ("VmRSS", "VmHWM"); 0 when unreadable.
long ProcStatusKb(const char* field);

// {cpu_model, cpu_flags, cores, governor (null when unreadable), kernel, versions{...}}.
nlohmann::json MachineInfo();

}  // namespace edgepipe::tools
