// `edgepipe inspect MODEL [--json]`: what a .tflite file contains and how the
// engine would run it (inputs, outputs, dtypes, quantization, op counts,
// XNNPACK vs own kernels, size).
#include <cstdio>
#include <map>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "engine/interpreter.h"
#include "engine/model.h"
#include "tools/commands.h"
#include "tools/engine_options.h"

namespace edgepipe::tools {
namespace {

using engine::Interpreter;
using engine::Model;
using engine::TensorInfo;

nlohmann::json QuantJson(const engine::Quantization& q) {
  if (q.empty()) return nullptr;
  nlohmann::json j;
  j["scale"] = q.scale;
  j["zero_point"] = q.zero_point;
  if (q.per_channel()) j["axis"] = q.axis;
  return j;
}

std::string QuantText(const engine::Quantization& q) {
  if (q.empty()) return "";
  if (q.per_channel()) return fmt::format(" per-channel({} scales, axis {})", q.scale.size(), q.axis);
  return fmt::format(" scale={:.6g} zero_point={}", q.scale[0], q.zero_point[0]);
}

nlohmann::json TensorJson(const TensorInfo& t) {
  return {{"index", t.index},
          {"name", t.name},
          {"dtype", engine::DTypeName(t.dtype)},
          {"shape", t.shape},
          {"quantization", QuantJson(t.quant)}};
}

// "own-conv-f32 (avx512)", or the backend alone when it names no variant.
std::string WhereItRuns(const engine::OpPlacement& p) {
  return p.variant.empty() ? p.backend : fmt::format("{} ({})", p.backend, p.variant);
}

void RunInspect(const std::string& path, bool json, bool per_op, const EngineCliOptions& engine_options) {
  auto model = Model::Load(path);
  if (!model.ok()) {
    fmt::print(stderr, "error: {}\n", model.status().ToString());
    ExitCode() = 1;
    return;
  }
  const Model& m = **model;
  // The plan says where each op runs; a model we cannot plan is still described.
  engine::InterpreterOptions options;
  if (Status s = ApplyEngineOptions(engine_options, options); !s.ok()) {
    fmt::print(stderr, "error: {}\n", s.ToString());
    ExitCode() = 2;
    return;
  }
  auto interpreter = Interpreter::Create(*model, options);
  std::map<std::string, std::map<std::string, int>> ops;  // op name -> backend (variant) -> count
  std::vector<engine::OpPlacement> placements;
  if (interpreter.ok()) {
    placements = (*interpreter)->placements();
    for (const auto& p : placements) ops[p.op_name][WhereItRuns(p)]++;
  } else {
    for (const auto& op : m.operators()) ops[op.name]["unplanned"]++;
  }

  if (json) {
    nlohmann::json j;
    j["model"] = path;
    j["size_bytes"] = m.file_size();
    j["description"] = m.description();
    j["subgraphs"] = m.num_subgraphs();
    j["tensors"] = m.tensors().size();
    j["operators"] = m.operators().size();
    for (int i : m.inputs()) j["inputs"].push_back(TensorJson(m.tensors()[i]));
    for (int i : m.outputs()) j["outputs"].push_back(TensorJson(m.tensors()[i]));
    j["op_counts"] = nlohmann::json::object();
    for (const auto& [name, backends] : ops) {
      int total = 0;
      for (const auto& [backend, n] : backends) total += n;
      j["op_counts"][name] = {{"count", total}, {"backends", backends}};
    }
    j["ops"] = nlohmann::json::array();
    for (const auto& p : placements)
      j["ops"].push_back({{"index", p.op_index},
                          {"name", p.op_name},
                          {"backend", p.backend},
                          {"variant", p.variant},
                          {"step", p.step}});
    j["isa_cap"] = engine::IsaName(engine::EffectiveIsaCap(options.isa));
    j["cpu"] = engine::HostCpu().name;
    j["signatures"] = nlohmann::json::array();
    for (const auto& sig : m.signatures()) j["signatures"].push_back(sig.key);
    j["metadata"] = m.metadata_names();
    if (interpreter.ok()) {
      j["plan"] = {{"steps", (*interpreter)->num_steps()},
                   {"arena_bytes", (*interpreter)->arena_bytes()},
                   {"rewrites", (*interpreter)->rewrites()}};
    } else {
      j["plan_error"] = interpreter.status().ToString();
    }
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("model: {}\nsize: {} bytes\n", path, m.file_size());
    if (!m.description().empty()) fmt::print("description: {}\n", m.description());
    fmt::print("tensors: {}, operators: {}, subgraphs: {}\n", m.tensors().size(), m.operators().size(),
               m.num_subgraphs());
    fmt::print("inputs:\n");
    for (int i : m.inputs()) {
      const TensorInfo& t = m.tensors()[i];
      fmt::print("  {} {}[{}]{}\n", t.name, engine::DTypeName(t.dtype), fmt::join(t.shape, ","), QuantText(t.quant));
    }
    fmt::print("outputs:\n");
    for (int i : m.outputs()) {
      const TensorInfo& t = m.tensors()[i];
      fmt::print("  {} {}[{}]{}\n", t.name, engine::DTypeName(t.dtype), fmt::join(t.shape, ","), QuantText(t.quant));
    }
    fmt::print("operators (count, where they run):\n");
    for (const auto& [name, backends] : ops) {
      int total = 0;
      std::vector<std::string> where;
      for (const auto& [backend, n] : backends) {
        total += n;
        where.push_back(fmt::format("{} {}", n, backend));
      }
      fmt::print("  {:<30} {:>4}  ({})\n", name, total, fmt::join(where, ", "));
    }
    if (per_op) {
      fmt::print("operators in order (index, name, backend (variant), step):\n");
      for (const auto& p : placements)
        fmt::print("  {:>4} {:<30} {:<28} {}\n", p.op_index, p.op_name, WhereItRuns(p),
                   p.step >= 0 ? std::to_string(p.step) : "-");
    }
    for (const auto& sig : m.signatures()) fmt::print("signature: {}\n", sig.key);
    for (const auto& name : m.metadata_names()) fmt::print("metadata: {}\n", name);
    fmt::print("cpu: {} (kernels up to {})\n", engine::HostCpu().name,
               engine::IsaName(engine::EffectiveIsaCap(options.isa)));
    if (interpreter.ok()) {
      fmt::print("plan: {} steps, {} bytes of arena\n", (*interpreter)->num_steps(), (*interpreter)->arena_bytes());
      for (const auto& r : (*interpreter)->rewrites()) fmt::print("  rewrite: {}\n", r);
    } else {
      fmt::print("plan: cannot run: {}\n", interpreter.status().ToString());
    }
  }
  if (!interpreter.ok()) ExitCode() = 2;
}

}  // namespace

void AddInspectCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "Describe a .tflite model and how edgepipe runs it");
  static std::string path;
  static bool json = false;
  static bool per_op = false;
  static EngineCliOptions engine_options;
  cmd->add_option("model", path, "Path to a .tflite file")->required();
  cmd->add_flag("--json", json, "Print JSON instead of text (always lists every op)");
  cmd->add_flag("--ops", per_op, "List every operator with the backend and kernel variant that runs it");
  AddEngineOptions(cmd, engine_options);
  cmd->callback([] { RunInspect(path, json, per_op, engine_options); });
}

}  // namespace edgepipe::tools
