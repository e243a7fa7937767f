// `edgepipe bench MODEL... [--threads 1,2,4] [--runs 100] [--warmup N] [--min-secs S]
//                 [--fp16-hint] [--input IMAGE|random] [--profile-ops] [--isa CAP]
//                 [--backends ...] [--json FILE] [--csv FILE] [--markdown FILE]`:
// per model and thread count, file size, load time, first inference, warm-up
// mean, then mean/median/p90/p99/std/min/max over the timed runs, peak RSS and
// RSS growth; one comparison table for all models, the machine in the JSON.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/core/version.hpp>
#include <opencv2/imgcodecs.hpp>

#include "engine/interpreter.h"
#include "engine/model.h"
#include "tools/bench_stats.h"
#include "tools/commands.h"
#include "tools/engine_options.h"
#include "tools/image_input.h"

namespace edgepipe::tools {
namespace {

using engine::DType;
using engine::TensorView;
using nlohmann::json;

struct BenchOptions {
  std::vector<std::string> models;
  std::vector<int> threads = {1};
  int runs = 100;
  int warmup = 5;
  double min_secs = 0;
  bool fp16_hint = false;
  std::string input = "random";
  bool profile_ops = false;
  EngineCliOptions engine;
  std::string json_path, csv_path, markdown_path;
};

// kB of a field ("VmRSS", "VmHWM") of /proc/self/status; 0 when unreadable.
long ProcStatusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field, 0) == 0 && line.size() > std::strlen(field) && line[std::strlen(field)] == ':')
      return std::atol(line.c_str() + std::strlen(field) + 1);
  return 0;
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

json MachineInfo() {
  json m;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    auto value = [&] { return line.substr(line.find(':') + 2); };
    if (line.find(':') == std::string::npos || line.find(':') + 2 > line.size()) continue;
    if (!m.contains("cpu_model") && (line.rfind("model name", 0) == 0)) m["cpu_model"] = value();
    if (!m.contains("cpu_flags") && (line.rfind("flags", 0) == 0 || line.rfind("Features", 0) == 0))
      m["cpu_flags"] = value();
  }
  m["cores"] = sysconf(_SC_NPROCESSORS_ONLN);
  const std::string governor = ReadFirstLine("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  m["governor"] = governor.empty() ? json(nullptr) : json(governor);
  m["versions"] = {{"edgepipe", EDGEPIPE_VERSION}, {"opencv", CV_VERSION}};
#ifdef EDGEPIPE_GIT_HASH
  m["versions"]["edgepipe_git"] = EDGEPIPE_GIT_HASH;
#endif
  return m;
}

// Fills every input: an image ([1,H,W,3], as `infer` does with its default
// mean and std) resized; other inputs, and all with --input random, with
// uniform random bytes (quantized) or values in [-1, 1] (float).
Status FillInputs(const BenchOptions& o, engine::Interpreter& interpreter) {
  cv::Mat image;
  if (o.input != "random") {
    image = cv::imread(o.input, cv::IMREAD_COLOR);
    if (image.empty()) return NotFoundError("--input: cannot read image '{}'", o.input);
  }
  std::mt19937 rng(1);
  for (size_t i = 0; i < interpreter.num_inputs(); ++i) {
    TensorView& t = interpreter.input(i);
    const bool pixel_dtype = t.dtype == DType::kUInt8 || t.dtype == DType::kInt8 || t.dtype == DType::kFloat32;
    if (!image.empty() && IsImageInput(t) && pixel_dtype) {
      EP_RETURN_IF_ERROR(FillImageInput(image, 127.5f, 127.5f, t));
      continue;
    }
    if (t.dtype == DType::kFloat32) {
      std::uniform_real_distribution<float> dist(-1.f, 1.f);
      for (size_t k = 0; k < t.num_elements(); ++k) t.as<float>()[k] = dist(rng);
    } else {
      auto* bytes = static_cast<uint8_t*>(t.data);
      for (size_t k = 0; k < t.num_bytes(); ++k) bytes[k] = static_cast<uint8_t>(rng());
    }
  }
  return OkStatus();
}

double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

json StatsJson(const LatencyStats& s) {
  return {{"count", s.count}, {"mean_ms", s.mean}, {"median_ms", s.median}, {"p90_ms", s.p90}, {"p99_ms", s.p99},
          {"std_ms", s.std},  {"min_ms", s.min},   {"max_ms", s.max}};
}

// Per-op and per-op-type time from the step profile, with where each op runs.
json OpProfile(engine::Interpreter& interpreter, int runs) {
  std::map<int, double> op_us;
  interpreter.set_profile_listener([&](const engine::StepProfile& step) {
    // A step holding several ops (a fused XNNPACK subgraph) is charged to its first op.
    if (!step.op_indices.empty()) op_us[step.op_indices.front()] += step.microseconds;
  });
  for (int r = 0; r < runs; ++r)
    if (!interpreter.Invoke().ok()) break;
  interpreter.set_profile_listener({});
  json ops = json::array();
  std::map<std::string, double> by_type, by_backend;
  for (const engine::OpPlacement& p : interpreter.placements()) {
    const double ms = op_us.count(p.op_index) ? op_us[p.op_index] / runs / 1000.0 : 0.0;
    ops.push_back({{"op", p.op_index}, {"name", p.op_name}, {"backend", p.backend}, {"variant", p.variant},
                   {"mean_ms", ms}});
    by_type[p.op_name] += ms;
    by_backend[p.variant.empty() ? p.backend : p.backend + "/" + p.variant] += ms;
  }
  return {{"runs", runs}, {"ops", ops}, {"by_op_type_ms", by_type}, {"by_backend_ms", by_backend}};
}

Result<json> BenchOne(const BenchOptions& o, const std::string& path, int threads, bool progress) {
  const long rss_before = ProcStatusKb("VmRSS");
  auto start = std::chrono::steady_clock::now();
  EP_ASSIGN_OR_RETURN(auto model, engine::Model::Load(path));
  engine::InterpreterOptions options{.num_threads = threads, .fp16_inference = o.fp16_hint};
  EP_RETURN_IF_ERROR(ApplyEngineOptions(o.engine, options));
  auto created = engine::Interpreter::Create(model, options);
  if (!created.ok()) return created.status().WithContext(path);
  auto interpreter = std::move(*created);
  const double load_ms = MsSince(start);
  EP_RETURN_IF_ERROR(FillInputs(o, *interpreter));

  start = std::chrono::steady_clock::now();
  EP_RETURN_IF_ERROR(interpreter->Invoke().WithContext(path));
  const double first_ms = MsSince(start);
  EP_ASSIGN_OR_RETURN(std::vector<double> warmup,
                      TimeRuns([&] { return interpreter->Invoke(); }, SteadyClock(), o.warmup, 0));
  const std::string name = std::filesystem::path(path).filename().string();
  auto show = [&](int done) {
    if (progress && (done % 10 == 0 || done == o.runs))
      fmt::print(stderr, "\r{} x{}: {}/{} runs", name, threads, done, o.runs);
  };
  EP_ASSIGN_OR_RETURN(std::vector<double> durations,
                      TimeRuns([&] { return interpreter->Invoke(); }, SteadyClock(), o.runs, o.min_secs * 1000, show));
  if (progress) fmt::print(stderr, "\r\033[K");
  const long rss_after = ProcStatusKb("VmRSS");

  json r = {{"model", path},
            {"name", name},
            {"file_bytes", std::filesystem::file_size(path)},
            {"threads", threads},
            {"fp16_active", interpreter->fp16_inference_active()},
            {"load_ms", load_ms},
            {"first_inference_ms", first_ms},
            {"warmup_mean_ms", Summarize(warmup).mean},
            {"warmup_runs", warmup.size()},
            {"latency", StatsJson(Summarize(durations))},
            {"samples_ms", durations},
            {"peak_rss_kb", ProcStatusKb("VmHWM")},
            {"rss_growth_kb", rss_after - rss_before}};
  if (o.profile_ops) {
    engine::InterpreterOptions per_op = options;
    per_op.profile_per_op = true;
    EP_ASSIGN_OR_RETURN(auto profiled, engine::Interpreter::Create(model, per_op));
    EP_RETURN_IF_ERROR(FillInputs(o, *profiled));
    r["profile"] = OpProfile(*profiled, std::max(1, std::min(o.runs, 20)));
  }
  return r;
}

Status WriteText(const std::string& path, const std::string& text, const char* what) {
  std::ofstream out(path, std::ios::trunc);
  if (out) out << text;
  if (!out) return InvalidArgumentError("{}: cannot write '{}'", what, path);
  return OkStatus();
}

std::string MarkdownTable(const json& results) {
  std::string t =
      "| model | size (KB) | threads | load (ms) | first (ms) | mean (ms) | median | p90 | p99 | std | min | max | "
      "peak RSS (MB) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const json& r : results) {
    const json& l = r["latency"];
    t += fmt::format("| {} | {:.0f} | {} | {:.1f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | "
                     "{:.2f} | {:.1f} |\n",
                     r["name"].get<std::string>(), r["file_bytes"].get<double>() / 1024, r["threads"].get<int>(),
                     r["load_ms"].get<double>(), r["first_inference_ms"].get<double>(), l["mean_ms"].get<double>(),
                     l["median_ms"].get<double>(), l["p90_ms"].get<double>(), l["p99_ms"].get<double>(),
                     l["std_ms"].get<double>(), l["min_ms"].get<double>(), l["max_ms"].get<double>(),
                     r["peak_rss_kb"].get<double>() / 1024);
  }
  return t;
}

std::string Csv(const json& results) {
  std::string t = "model,file_bytes,threads,load_ms,first_inference_ms,warmup_mean_ms,mean_ms,median_ms,p90_ms,"
                  "p99_ms,std_ms,min_ms,max_ms,runs,peak_rss_kb,rss_growth_kb\n";
  for (const json& r : results) {
    const json& l = r["latency"];
    t += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", r["model"].get<std::string>(),
                     r["file_bytes"].get<size_t>(), r["threads"].get<int>(), r["load_ms"].get<double>(),
                     r["first_inference_ms"].get<double>(), r["warmup_mean_ms"].get<double>(),
                     l["mean_ms"].get<double>(), l["median_ms"].get<double>(), l["p90_ms"].get<double>(),
                     l["p99_ms"].get<double>(), l["std_ms"].get<double>(), l["min_ms"].get<double>(),
                     l["max_ms"].get<double>(), l["count"].get<int>(), r["peak_rss_kb"].get<long>(),
                     r["rss_growth_kb"].get<long>());
  }
  return t;
}

// Output paths are checked before the (long) runs, so a typo fails at once.
Status CheckWritable(const std::string& path, const char* what) {
  if (path.empty()) return OkStatus();
  const bool existed = std::filesystem::exists(path);
  { std::ofstream probe(path, std::ios::app); if (!probe) return InvalidArgumentError("{}: cannot write '{}'", what, path); }
  if (!existed) std::filesystem::remove(path);
  return OkStatus();
}

Status RunBench(const BenchOptions& o) {
  if (o.runs <= 0) return InvalidArgumentError("--runs must be at least 1 (got {})", o.runs);
  if (o.warmup < 0) return InvalidArgumentError("--warmup must not be negative (got {})", o.warmup);
  for (int t : o.threads)
    if (t <= 0) return InvalidArgumentError("--threads: every thread count must be at least 1 (got {})", t);
  for (const std::string& m : o.models)
    if (!std::filesystem::is_regular_file(m)) return NotFoundError("model '{}' does not exist", m);
  EP_RETURN_IF_ERROR(CheckWritable(o.json_path, "--json"));
  EP_RETURN_IF_ERROR(CheckWritable(o.csv_path, "--csv"));
  EP_RETURN_IF_ERROR(CheckWritable(o.markdown_path, "--markdown"));

  const bool progress = isatty(STDERR_FILENO);
  json results = json::array();
  for (const std::string& m : o.models)
    for (int t : o.threads) {
      EP_ASSIGN_OR_RETURN(json r, BenchOne(o, m, t, progress));
      results.push_back(std::move(r));
    }
  const std::string table = MarkdownTable(results);
  fmt::print("{}", table);
  json report = {{"machine", MachineInfo()},
                 {"settings",
                  {{"runs", o.runs}, {"warmup", o.warmup}, {"min_secs", o.min_secs}, {"fp16_hint", o.fp16_hint},
                   {"input", o.input}, {"isa", o.engine.isa}, {"backends", o.engine.backends}}},
                 {"results", results}};
  if (!o.json_path.empty()) EP_RETURN_IF_ERROR(WriteText(o.json_path, report.dump(2) + "\n", "--json"));
  if (!o.csv_path.empty()) EP_RETURN_IF_ERROR(WriteText(o.csv_path, Csv(results), "--csv"));
  if (!o.markdown_path.empty()) EP_RETURN_IF_ERROR(WriteText(o.markdown_path, table, "--markdown"));
  return OkStatus();
}

}  // namespace

void AddBenchCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Benchmark .tflite models: load, first inference, latency percentiles, RSS");
  static BenchOptions o;
  cmd->add_option("models", o.models, "One or more .tflite files (one comparison table)")->required();
  cmd->add_option("--threads", o.threads, "Thread counts to run, e.g. 1,2,4 (default 1)")->delimiter(',');
  cmd->add_option("--runs", o.runs, "Timed runs per model and thread count (at least; default 100)");
  cmd->add_option("--warmup", o.warmup, "Untimed runs after the first inference (default 5)");
  cmd->add_option("--min-secs", o.min_secs, "Keep running until this many seconds have passed (default 0)");
  cmd->add_flag("--fp16-hint", o.fp16_hint, "Ask XNNPACK to compute in fp16 where the CPU supports it");
  cmd->add_option("--input", o.input, "An image for [1,H,W,3] inputs, or 'random' (default)");
  cmd->add_flag("--profile-ops", o.profile_ops, "Also time each op (one step per op), by op type and backend");
  AddEngineOptions(cmd, o.engine);
  cmd->add_option("--json", o.json_path, "Write the full report (machine, settings, results) as JSON");
  cmd->add_option("--csv", o.csv_path, "Write one CSV row per model and thread count");
  cmd->add_option("--markdown", o.markdown_path, "Write the comparison table as Markdown");
  cmd->callback([] {
    Status s = RunBench(o);
    if (!s.ok()) {
      fmt::print(stderr, "error: {}\n", s.ToString());
      ExitCode() = 1;
    }
  });
}

}  // namespace edgepipe::tools
