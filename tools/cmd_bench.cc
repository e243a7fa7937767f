// `edgepipe bench MODEL... [--threads 1,2,4] [--runs 100] [--warmup N] [--min-secs S]
//                 [--fp16-hint] [--input IMAGE|DIR|random] [--profile-ops] [--isa CAP]
//                 [--backends ...] [--accuracy DIR|CSV] [--labels FILE] [--agreement REF.tflite]
//                 [--json FILE] [--csv FILE] [--markdown FILE] [--chart FILE.png]`:
// per model and thread count, file size, load time, first inference, warm-up
// mean, then mean/median/p90/p99/std/min/max over the timed runs, peak RSS and
// RSS growth; one comparison table for all models, the machine in the JSON.
// Per model, top-1/top-5 accuracy on labelled images and agreement with a
// reference model; --chart draws the JSON with bench/plot.py (matplotlib).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "engine/interpreter.h"
#include "engine/model.h"
#include "calculators/vision/label_map.h"
#include "tools/bench_chart.h"
#include "tools/bench_eval.h"
#include "tools/bench_inputs.h"
#include "tools/bench_stats.h"
#include "tools/commands.h"
#include "tools/engine_options.h"
#include "tools/machine_info.h"
#include "tools/model_labels.h"

namespace edgepipe::tools {
namespace {

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
  std::string accuracy, labels, agreement;
  float min_score = 0.5f;
  std::string json_path, csv_path, markdown_path, chart_path;
};

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

Result<json> BenchOne(const BenchOptions& o, const BenchInputs& inputs, const std::string& path, int threads,
                      bool progress) {
  const long rss_before = ProcStatusKb("VmRSS");
  auto start = std::chrono::steady_clock::now();
  EP_ASSIGN_OR_RETURN(auto model, engine::Model::Load(path));
  engine::InterpreterOptions options{.num_threads = threads, .fp16_inference = o.fp16_hint};
  EP_RETURN_IF_ERROR(ApplyEngineOptions(o.engine, options));
  auto created = engine::Interpreter::Create(model, options);
  if (!created.ok()) return created.status().WithContext(path);
  auto interpreter = std::move(*created);
  const double load_ms = MsSince(start);
  EP_RETURN_IF_ERROR(inputs.Fill(*interpreter, 0));

  start = std::chrono::steady_clock::now();
  EP_RETURN_IF_ERROR(interpreter->Invoke().WithContext(path));
  const double first_ms = MsSince(start);
  // With several images, each run takes the next one (filled outside the timing).
  size_t next_image = 1;
  std::function<Status(int)> next_input;
  if (inputs.num_images() > 1) next_input = [&](int) { return inputs.Fill(*interpreter, next_image++); };
  EP_ASSIGN_OR_RETURN(std::vector<double> warmup,
                      TimeRuns([&] { return interpreter->Invoke(); }, SteadyClock(), o.warmup, 0, {}, next_input));
  const std::string name = std::filesystem::path(path).filename().string();
  auto show = [&](int done) {
    if (progress && (done % 10 == 0 || done == o.runs))
      fmt::print(stderr, "\r{} x{}: {}/{} runs", name, threads, done, o.runs);
  };
  EP_ASSIGN_OR_RETURN(std::vector<double> durations,
                      TimeRuns([&] { return interpreter->Invoke(); }, SteadyClock(), o.runs, o.min_secs * 1000, show,
                               next_input));
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
    EP_RETURN_IF_ERROR(inputs.Fill(*profiled, 0));
    r["profile"] = OpProfile(*profiled, std::max(1, std::min(o.runs, 20)));
  }
  return r;
}

// The images accuracy and agreement are measured on: the --accuracy set (with
// its labels), else the --input images.
struct EvalSet {
  std::vector<cv::Mat> images;
  std::vector<std::string> labels;  // one per image with --accuracy
};

Result<EvalSet> LoadEvalSet(const BenchOptions& o, const BenchInputs& inputs) {
  EvalSet set;
  if (!o.accuracy.empty()) {
    EP_ASSIGN_OR_RETURN(std::vector<LabelledImage> labelled, LoadLabelledSet(o.accuracy));
    for (const LabelledImage& l : labelled) {
      cv::Mat image = cv::imread(l.path, cv::IMREAD_COLOR);
      if (image.empty()) return NotFoundError("--accuracy: cannot read image '{}'", l.path);
      set.images.push_back(std::move(image));
      set.labels.push_back(l.label);
    }
  } else if (inputs.random()) {
    return InvalidArgumentError("--agreement compares answers on images: give --input IMAGE|DIR or --accuracy DIR");
  } else {
    for (size_t i = 0; i < inputs.num_images(); ++i) set.images.push_back(inputs.image(i));
  }
  return set;
}

struct ModelAnswers {
  OutputKind kind;
  size_t num_classes;
  std::vector<Prediction> predictions;  // one per image of the EvalSet
};

Result<ModelAnswers> Answer(const BenchOptions& o, const std::string& path, const EvalSet& set) {
  EP_ASSIGN_OR_RETURN(auto model, engine::Model::Load(path));
  engine::InterpreterOptions options{.num_threads = o.threads.front(), .fp16_inference = o.fp16_hint};
  EP_RETURN_IF_ERROR(ApplyEngineOptions(o.engine, options));
  auto created = engine::Interpreter::Create(model, options);
  if (!created.ok()) return created.status().WithContext(path);
  EP_ASSIGN_OR_RETURN(OutputKind kind, KindOfOutputs(**created, path));
  auto predictions = PredictAll(**created, set.images, kind, o.min_score);
  if (!predictions.ok()) return predictions.status().WithContext(path);
  return ModelAnswers{kind, NumClasses(**created), std::move(*predictions)};
}

// {"accuracy": {...}, "agreement": {...}} of one model, as the options ask.
Result<json> Evaluate(const BenchOptions& o, const EvalSet& set, const std::vector<std::string>& label_map,
                      const std::optional<ModelAnswers>& reference, const std::string& path) {
  EP_ASSIGN_OR_RETURN(ModelAnswers answers, Answer(o, path, set));
  json e = json::object();
  if (!o.accuracy.empty()) {
    if (answers.kind != OutputKind::kClassifier)
      return InvalidArgumentError("--accuracy: '{}' is a detector; top-1/top-5 accuracy is for classifiers "
                                  "(compare detectors with --agreement REFERENCE.tflite)", path);
    // --labels, else the label file inside the model, else labels are class indices.
    std::vector<std::string> labels = label_map;
    if (labels.empty()) {
      EP_ASSIGN_OR_RETURN(labels, EmbeddedLabelMap(path));
    }
    std::vector<size_t> truth;
    for (size_t i = 0; i < set.labels.size(); ++i) {
      auto index = ClassIndexOfLabel(set.labels[i], labels, answers.num_classes);
      if (!index.ok()) return index.status().WithContext(fmt::format("--accuracy {} with '{}'", o.accuracy, path));
      truth.push_back(*index);
    }
    const Accuracy a = TopKAccuracy(answers.predictions, truth);
    e["accuracy"] = {{"images", a.images}, {"top1", a.top1}, {"top5", a.top5},
                     {"label_map", !o.labels.empty() ? o.labels : labels.empty() ? "class indices" : "in the model"}};
  }
  if (reference) {
    if (reference->kind != answers.kind)
      return InvalidArgumentError("--agreement: '{}' is a {} but the reference '{}' is a {}", path,
                                  OutputKindName(answers.kind), o.agreement, OutputKindName(reference->kind));
    json g = {{"reference", o.agreement}, {"images", set.images.size()}};
    if (answers.kind == OutputKind::kClassifier) {
      // A model with a background class (1001 ImageNet classes) against one without (1000).
      const long offset = static_cast<long>(reference->num_classes) - static_cast<long>(answers.num_classes);
      if (offset < -1 || offset > 1)
        return InvalidArgumentError("--agreement: '{}' has {} classes, the reference '{}' {}", path,
                                    answers.num_classes, o.agreement, reference->num_classes);
      g["kind"] = "top1";
      g["value"] = Top1Agreement(reference->predictions, answers.predictions, static_cast<int>(offset));
    } else {
      const DetectionAgreement d = MatchDetections(reference->predictions, answers.predictions, 0.5f);
      g["kind"] = "detections_iou_0.5";
      g["value"] = d.agreement;
      g["matched"] = d.matched;
      g["reference_boxes"] = d.reference_boxes;
      g["variant_boxes"] = d.variant_boxes;
      g["min_score"] = o.min_score;
    }
    e["agreement"] = g;
  }
  return e;
}

Status WriteText(const std::string& path, const std::string& text, const char* what) {
  std::ofstream out(path, std::ios::trunc);
  if (out) out << text;
  if (!out) return InvalidArgumentError("{}: cannot write '{}'", what, path);
  return OkStatus();
}

std::string MarkdownTable(const json& results) {
  bool accuracy = false, agreement = false;
  for (const json& r : results) accuracy |= r.contains("accuracy"), agreement |= r.contains("agreement");
  std::string t = fmt::format(
      "| model | size (KB) | threads | load (ms) | first (ms) | mean (ms) | median | p90 | p99 | std | min | max | "
      "peak RSS (MB) |{}{}\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|{}{}\n",
      accuracy ? " top-1 | top-5 |" : "", agreement ? " agreement |" : "", accuracy ? "---:|---:|" : "",
      agreement ? "---:|" : "");
  for (const json& r : results) {
    const json& l = r["latency"];
    t += fmt::format("| {} | {:.0f} | {} | {:.1f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | "
                     "{:.2f} | {:.1f} |\n",
                     r["name"].get<std::string>(), r["file_bytes"].get<double>() / 1024, r["threads"].get<int>(),
                     r["load_ms"].get<double>(), r["first_inference_ms"].get<double>(), l["mean_ms"].get<double>(),
                     l["median_ms"].get<double>(), l["p90_ms"].get<double>(), l["p99_ms"].get<double>(),
                     l["std_ms"].get<double>(), l["min_ms"].get<double>(), l["max_ms"].get<double>(),
                     r["peak_rss_kb"].get<double>() / 1024);
    t.pop_back();  // the row's newline, after the accuracy columns
    if (accuracy)
      t += r.contains("accuracy") ? fmt::format(" {:.3f} | {:.3f} |", r["accuracy"]["top1"].get<double>(),
                                                r["accuracy"]["top5"].get<double>())
                                  : " | |";
    if (agreement) t += r.contains("agreement") ? fmt::format(" {:.3f} |", r["agreement"]["value"].get<double>()) : " |";
    t += "\n";
  }
  return t;
}

std::string Csv(const json& results) {
  std::string t = "model,file_bytes,threads,load_ms,first_inference_ms,warmup_mean_ms,mean_ms,median_ms,p90_ms,"
                  "p99_ms,std_ms,min_ms,max_ms,runs,peak_rss_kb,rss_growth_kb,top1,top5,agreement\n";
  for (const json& r : results) {
    const json& l = r["latency"];
    t += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", r["model"].get<std::string>(),
                     r["file_bytes"].get<size_t>(), r["threads"].get<int>(), r["load_ms"].get<double>(),
                     r["first_inference_ms"].get<double>(), r["warmup_mean_ms"].get<double>(),
                     l["mean_ms"].get<double>(), l["median_ms"].get<double>(), l["p90_ms"].get<double>(),
                     l["p99_ms"].get<double>(), l["std_ms"].get<double>(), l["min_ms"].get<double>(),
                     l["max_ms"].get<double>(), l["count"].get<int>(), r["peak_rss_kb"].get<long>(),
                     r["rss_growth_kb"].get<long>());
    t.pop_back();
    const auto field = [&](const char* group, const char* key) {
      return r.contains(group) ? fmt::format(",{}", r[group][key].get<double>()) : std::string(",");
    };
    t += field("accuracy", "top1") + field("accuracy", "top5") + field("agreement", "value") + "\n";
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
  EP_RETURN_IF_ERROR(CheckWritable(o.chart_path, "--chart"));
  if (!o.agreement.empty() && !std::filesystem::is_regular_file(o.agreement))
    return NotFoundError("--agreement: reference model '{}' does not exist", o.agreement);
  EP_ASSIGN_OR_RETURN(BenchInputs inputs, BenchInputs::Load(o.input));
  // The labelled set, label map and reference answers come first: their errors should not wait for the timing.
  const bool evaluate = !o.accuracy.empty() || !o.agreement.empty();
  EvalSet set;
  std::vector<std::string> label_map;
  std::optional<ModelAnswers> reference;
  if (evaluate) {
    EP_ASSIGN_OR_RETURN(set, LoadEvalSet(o, inputs));
  }
  if (!o.labels.empty()) {
    EP_ASSIGN_OR_RETURN(label_map, ReadLabelMap(o.labels));
  }
  if (!o.agreement.empty()) {
    EP_ASSIGN_OR_RETURN(reference, Answer(o, o.agreement, set));
  }

  const bool progress = isatty(STDERR_FILENO);
  json results = json::array();
  for (const std::string& m : o.models) {
    json evaluation = json::object();
    if (evaluate) {
      EP_ASSIGN_OR_RETURN(evaluation, Evaluate(o, set, label_map, reference, m));
    }
    for (int t : o.threads) {
      EP_ASSIGN_OR_RETURN(json r, BenchOne(o, inputs, m, t, progress));
      r.update(evaluation);
      results.push_back(std::move(r));
    }
  }
  const std::string table = MarkdownTable(results);
  fmt::print("{}", table);
  json report = {{"machine", MachineInfo()},
                 {"settings",
                  {{"runs", o.runs}, {"warmup", o.warmup}, {"min_secs", o.min_secs}, {"fp16_hint", o.fp16_hint},
                   {"input", o.input}, {"input_images", inputs.paths()}, {"isa", o.engine.isa},
                   {"backends", o.engine.backends}, {"accuracy", o.accuracy}, {"labels", o.labels},
                   {"agreement", o.agreement}}},
                 {"results", results}};
  if (!o.json_path.empty()) EP_RETURN_IF_ERROR(WriteText(o.json_path, report.dump(2) + "\n", "--json"));
  if (!o.csv_path.empty()) EP_RETURN_IF_ERROR(WriteText(o.csv_path, Csv(results), "--csv"));
  if (!o.markdown_path.empty()) EP_RETURN_IF_ERROR(WriteText(o.markdown_path, table, "--markdown"));
  if (!o.chart_path.empty()) {
    // The chart is drawn from the JSON; without --json it goes next to the chart.
    std::string json_path = o.json_path;
    if (json_path.empty()) {
      json_path = o.chart_path + ".json";
      EP_RETURN_IF_ERROR(WriteText(json_path, report.dump(2) + "\n", "--chart"));
    }
    EP_RETURN_IF_ERROR(DrawBenchChart(json_path, o.chart_path));
  }
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
  cmd->add_option("--input", o.input,
                  "An image for [1,H,W,3] inputs, a directory of images (one per run, in turn), or 'random' (default)");
  cmd->add_flag("--profile-ops", o.profile_ops, "Also time each op (one step per op), by op type and backend");
  AddEngineOptions(cmd, o.engine);
  cmd->add_option("--accuracy", o.accuracy,
                  "Labelled images: a CSV file,label, a directory holding one, or one sub-folder per label; "
                  "reports top-1/top-5 of classifiers");
  cmd->add_option("--labels", o.labels,
                  "Label map (one label per line) naming the classes of --accuracy labels; default: the label "
                  "file inside the model (TFLite metadata), else labels are class indices");
  cmd->add_option("--agreement", o.agreement,
                  "Reference .tflite: how often each model's top-1 (classifiers) or detections at IoU >= 0.5 "
                  "(detectors) agree with it, on the --accuracy or --input images");
  cmd->add_option("--min-score", o.min_score, "Detectors: boxes scoring below this are ignored (default 0.5)");
  cmd->add_option("--json", o.json_path, "Write the full report (machine, settings, results) as JSON");
  cmd->add_option("--csv", o.csv_path, "Write one CSV row per model and thread count");
  cmd->add_option("--markdown", o.markdown_path, "Write the comparison table as Markdown");
  cmd->add_option("--chart", o.chart_path,
                  "Draw latency vs threads, latency per variant and size/accuracy/latency as a PNG "
                  "(bench/plot.py, python3 with matplotlib)");
  cmd->callback([] {
    Status s = RunBench(o);
    if (!s.ok()) {
      fmt::print(stderr, "error: {}\n", s.ToString());
      ExitCode() = 1;
    }
  });
}

}  // namespace edgepipe::tools
