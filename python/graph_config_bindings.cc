// Adapting a ready graph (graphs/*.pbtxt) for use from Python, e.g. by the
// task API: its file source replaced by a graph input stream, its sinks
// dropped, node options overridden, relative paths in options resolved.
//
//   text = edgepipe.adapt_graph_config("graphs/face_detection_video.pbtxt",
//       inputs_from=["VideoFileSourceCalculator"],
//       drop=["AnnotationOverlayCalculator", "VideoWriterCalculator", "JsonLinesWriterCalculator"],
//       options={"TensorsToDetectionsCalculator": "min_score_thresh: 0.6"},
//       base_dir="/path/to/repo")
//   graph = edgepipe.Graph(text)
//
// The same graph, not a second copy of it: every node that stays is the ready
// graph's own, with its options.
#include <google/protobuf/text_format.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/stream_name.h"
#include "python/errors.h"

namespace py = pybind11;
namespace protobuf = google::protobuf;

namespace edgepipe::python {
namespace {

// The options extension message a node sets (nodes hold at most one), or nullptr.
protobuf::Message* NodeOptionsMessage(Node& node) {
  if (!node.has_options()) return nullptr;
  CalculatorOptions* options = node.mutable_options();
  std::vector<const protobuf::FieldDescriptor*> fields;
  options->GetReflection()->ListFields(*options, &fields);
  for (const protobuf::FieldDescriptor* field : fields) {
    if (field->type() == protobuf::FieldDescriptor::TYPE_MESSAGE && !field->is_repeated()) {
      return options->GetReflection()->MutableMessage(options, field);
    }
  }
  return nullptr;
}

// Relative string fields named *_path become base_dir/value when that file exists.
void ResolvePaths(protobuf::Message& message, const std::filesystem::path& base_dir) {
  const protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const protobuf::FieldDescriptor* field : fields) {
    if (field->type() == protobuf::FieldDescriptor::TYPE_MESSAGE && !field->is_repeated()) {
      ResolvePaths(*reflection->MutableMessage(&message, field), base_dir);
      continue;
    }
    const std::string& name = field->name();
    if (field->is_repeated() || field->type() != protobuf::FieldDescriptor::TYPE_STRING || name.size() < 5 ||
        name.compare(name.size() - 5, 5, "_path") != 0) {
      continue;
    }
    std::filesystem::path value = reflection->GetString(message, field);
    if (value.empty() || value.is_absolute()) continue;
    std::filesystem::path resolved = base_dir / value;
    std::error_code error;
    if (std::filesystem::exists(resolved, error)) reflection->SetString(&message, field, resolved.lexically_normal().string());
  }
}

std::string AdaptGraphConfig(const std::string& path, const std::vector<std::string>& inputs_from,
                             const std::vector<std::string>& drop, const std::map<std::string, std::string>& options,
                             const std::string& base_dir) {
  auto loaded = LoadGraphConfigFile(path);
  ThrowIfError(loaded.status());
  GraphConfig config = *loaded;
  const std::set<std::string> sources(inputs_from.begin(), inputs_from.end());
  const std::set<std::string> dropped(drop.begin(), drop.end());
  std::set<std::string> overridden;
  GraphConfig adapted = config;
  adapted.clear_node();
  for (const Node& node : config.node()) {
    if (sources.count(node.calculator()) != 0) {
      for (const std::string& output : node.output_stream()) {
        auto spec = ParseStreamSpec(output);
        ThrowIfError(spec.status());
        adapted.add_input_stream(spec->name);
      }
      continue;
    }
    if (dropped.count(node.calculator()) != 0) continue;
    Node* kept = adapted.add_node();
    *kept = node;
    for (const auto& [key, text] : options) {
      if (key != node.calculator() && key != node.name()) continue;
      protobuf::Message* message = NodeOptionsMessage(*kept);
      if (message == nullptr) {
        RaiseError(StatusCode::kInvalidArgument,
                   fmt::format("{}: node {} has no options to override with \"{}\"", path, key, text));
      }
      std::unique_ptr<protobuf::Message> given(message->New());
      if (!protobuf::TextFormat::ParseFromString(text, given.get())) {
        RaiseError(StatusCode::kInvalidArgument,
                   fmt::format("{}: \"{}\" is not valid text for {}'s {}", path, text, key,
                               message->GetDescriptor()->full_name()));
      }
      // A list given replaces the node's (merging would append to it, e.g. to allow_labels).
      std::vector<const protobuf::FieldDescriptor*> given_fields;
      given->GetReflection()->ListFields(*given, &given_fields);
      for (const protobuf::FieldDescriptor* field : given_fields) {
        if (field->is_repeated()) message->GetReflection()->ClearField(message, field);
      }
      message->MergeFrom(*given);
      overridden.insert(key);
    }
    if (!base_dir.empty()) {
      if (protobuf::Message* message = NodeOptionsMessage(*kept)) ResolvePaths(*message, base_dir);
    }
  }
  for (const auto& [key, text] : options) {
    if (overridden.count(key) == 0) {
      RaiseError(StatusCode::kNotFound, fmt::format("{}: no node named or running {} to override", path, key));
    }
  }
  std::string text;
  protobuf::TextFormat::PrintToString(adapted, &text);
  return text;
}

}  // namespace
}  // namespace edgepipe::python

void BindGraphConfigTools(py::module_& m) {
  m.def("adapt_graph_config", &edgepipe::python::AdaptGraphConfig, py::arg("path"),
        py::arg("inputs_from") = std::vector<std::string>(), py::arg("drop") = std::vector<std::string>(),
        py::arg("options") = std::map<std::string, std::string>(), py::arg("base_dir") = "",
        R"doc(A ready graph's config, adapted, as text for edgepipe.Graph.

inputs_from: calculators (e.g. VideoFileSourceCalculator) whose nodes are
removed, their output streams becoming graph input streams. drop: calculators
whose nodes are removed (sinks). options: {calculator or node name: text
format merged into that node's options; a repeated field given replaces the
node's list}. base_dir: relative *_path options
are resolved against it when the file exists there.)doc");
}
