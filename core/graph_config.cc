// Loading graph configs (text format with file:line errors), the subgraph
// registry and subgraph expansion.
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <fstream>
#include <set>
#include <shared_mutex>
#include <sstream>

#include "core/file_access.h"
#include "core/graph.h"
#include "core/stream_name.h"

namespace edgepipe {

namespace {

class CollectingErrorPrinter : public google::protobuf::io::ErrorCollector {
 public:
  explicit CollectingErrorPrinter(std::string source) : source_(std::move(source)) {}
  void AddError(int line, int column, const std::string& message) override {
    if (!errors_.empty()) errors_ += "\n";
    errors_ += fmt::format("{}:{}:{}: {}", source_, line + 1, column + 1, message);
  }
  void AddWarning(int line, int column, const std::string& message) override {
    AddError(line, column, "warning: " + message);
  }
  const std::string& errors() const { return errors_; }

 private:
  std::string source_;
  std::string errors_;
};

void RecordNodeLocations(GraphConfig* config, const google::protobuf::TextFormat::ParseInfoTree& tree,
                         const std::string& source) {
  const auto* descriptor = GraphConfig::descriptor();
  const auto* node_field = descriptor->FindFieldByName("node");
  for (int i = 0; i < config->node_size(); ++i) {
    auto location = tree.GetLocation(node_field, i);
    if (location.line >= 0 && !config->node(i).has_source_location()) {
      config->mutable_node(i)->set_source_location(fmt::format("{}:{}", source, location.line + 1));
    }
  }
  const auto* subgraph_field = descriptor->FindFieldByName("subgraph");
  for (int i = 0; i < config->subgraph_size(); ++i) {
    if (const auto* nested = tree.GetTreeForNested(subgraph_field, i)) {
      RecordNodeLocations(config->mutable_subgraph(i), *nested, source);
    }
  }
}

}  // namespace

Result<GraphConfig> ParseGraphConfig(const std::string& text, const std::string& source_name) {
  GraphConfig config;
  google::protobuf::TextFormat::Parser parser;
  CollectingErrorPrinter errors(source_name);
  google::protobuf::TextFormat::ParseInfoTree tree;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(text, &config)) {
    return InvalidArgumentError("invalid graph config:\n{}", errors.errors());
  }
  RecordNodeLocations(&config, tree, source_name);
  return config;
}

Result<GraphConfig> LoadGraphConfigFile(const std::string& path) {
  EP_RETURN_IF_ERROR(CheckReadableFile(path, "graph config"));
  std::ifstream file(path);
  if (!file) return NotFoundError("cannot open graph config \"{}\"", path);
  std::stringstream text;
  text << file.rdbuf();
  EP_ASSIGN_OR_RETURN(GraphConfig config, ParseGraphConfig(text.str(), path));
  // An empty or comment-only file parses as an empty graph, which would "run"
  // zero frames successfully: a file given as a graph must have nodes.
  if (config.node_size() == 0) {
    return InvalidArgumentError("graph config \"{}\" has no nodes ({})", path,
                                text.str().find_first_not_of(" \t\r\n") == std::string::npos ? "the file is empty"
                                                                                            : "only comments or settings");
  }
  return config;
}

// ---- Subgraphs --------------------------------------------------------------

SubgraphRegistry& SubgraphRegistry::Global() {
  static SubgraphRegistry* registry = new SubgraphRegistry();
  return *registry;
}

namespace {
// Subgraphs may be registered while other threads expand graphs. Entries are
// never replaced nor removed, so a pointer Find returned stays valid and unchanged.
std::shared_mutex& SubgraphRegistryMutex() {
  static std::shared_mutex mutex;
  return mutex;
}
}  // namespace

Status SubgraphRegistry::Register(const GraphConfig& subgraph) {
  if (subgraph.type().empty()) return InvalidArgumentError("a subgraph needs a `type:` (its calculator name)");
  std::unique_lock lock(SubgraphRegistryMutex());
  auto [it, inserted] = subgraphs_.emplace(subgraph.type(), subgraph);
  if (!inserted && it->second.SerializeAsString() != subgraph.SerializeAsString()) {
    return AlreadyExistsError("subgraph \"{}\" is already registered with a different config", subgraph.type());
  }
  return OkStatus();
}

const GraphConfig* SubgraphRegistry::Find(std::string_view type) const {
  std::shared_lock lock(SubgraphRegistryMutex());
  auto it = subgraphs_.find(type);
  return it == subgraphs_.end() ? nullptr : &it->second;
}

std::vector<std::string> SubgraphRegistry::Names() const {
  std::shared_lock lock(SubgraphRegistryMutex());
  std::vector<std::string> names;
  for (const auto& [name, _] : subgraphs_) names.push_back(name);
  return names;
}

namespace {

using NameMap = std::map<std::string, std::string>;  // "TAG:index" → outer name

// Maps the subgraph's declared boundary ("TAG:index:inner") onto the node's
// connections ("TAG:index:outer").
Result<std::map<std::string, std::string>> MapBoundary(
    const google::protobuf::RepeatedPtrField<std::string>& declared,
    const google::protobuf::RepeatedPtrField<std::string>& connected, const Node& node, const char* what) {
  std::map<std::string, std::string> outer_by_tag_index;
  EP_ASSIGN_OR_RETURN(auto connected_specs, ParseStreamList(connected));
  for (const StreamSpec& parsed : connected_specs) outer_by_tag_index[parsed.TagIndex()] = parsed.name;
  std::map<std::string, std::string> inner_to_outer;
  EP_ASSIGN_OR_RETURN(auto declared_specs, ParseStreamList(declared));
  for (const StreamSpec& parsed : declared_specs) {
    auto it = outer_by_tag_index.find(parsed.TagIndex());
    if (it != outer_by_tag_index.end()) {
      inner_to_outer[parsed.name] = it->second;
      outer_by_tag_index.erase(it);
    }
  }
  if (!outer_by_tag_index.empty()) {
    return InvalidArgumentError("node \"{}\" ({}): subgraph {} has no {} \"{}\"", node.name(),
                                node.source_location(), node.calculator(), what,
                                outer_by_tag_index.begin()->first);
  }
  return inner_to_outer;
}

Status ExpandInto(const GraphConfig& config, const std::map<std::string, const GraphConfig*>& local,
                  GraphConfig* out, int depth) {
  if (depth > 32) return InvalidArgumentError("subgraphs nest more than 32 levels (a subgraph uses itself?)");
  for (int i = 0; i < config.node_size(); ++i) {
    const Node& node = config.node(i);
    const GraphConfig* subgraph = nullptr;
    if (auto it = local.find(node.calculator()); it != local.end()) subgraph = it->second;
    if (!subgraph) subgraph = SubgraphRegistry::Global().Find(node.calculator());
    if (!subgraph) {
      *out->add_node() = node;
      continue;
    }
    const std::string prefix = (node.name().empty() ? fmt::format("{}_{}", node.calculator(), i) : node.name());
    EP_ASSIGN_OR_RETURN(auto streams, MapBoundary(subgraph->input_stream(), node.input_stream(), node, "input_stream"));
    EP_ASSIGN_OR_RETURN(auto outputs, MapBoundary(subgraph->output_stream(), node.output_stream(), node, "output_stream"));
    streams.insert(outputs.begin(), outputs.end());
    EP_ASSIGN_OR_RETURN(auto sides, MapBoundary(subgraph->input_side_packet(), node.input_side_packet(), node,
                                                "input_side_packet"));
    EP_ASSIGN_OR_RETURN(auto out_sides, MapBoundary(subgraph->output_side_packet(), node.output_side_packet(), node,
                                                    "output_side_packet"));
    sides.insert(out_sides.begin(), out_sides.end());

    auto rename = [&](std::string* spec, const std::map<std::string, std::string>& mapping) -> Status {
      EP_ASSIGN_OR_RETURN(StreamSpec parsed, ParseStreamSpec(*spec));
      auto it = mapping.find(parsed.name);
      parsed.name = it != mapping.end() ? it->second : prefix + "__" + parsed.name;
      *spec = parsed.ToString();
      return OkStatus();
    };
    GraphConfig renamed = *subgraph;
    renamed.clear_input_stream();
    renamed.clear_output_stream();
    for (Node& inner : *renamed.mutable_node()) {
      for (auto& s : *inner.mutable_input_stream()) EP_RETURN_IF_ERROR(rename(&s, streams));
      for (auto& s : *inner.mutable_output_stream()) EP_RETURN_IF_ERROR(rename(&s, streams));
      for (auto& s : *inner.mutable_input_side_packet()) EP_RETURN_IF_ERROR(rename(&s, sides));
      for (auto& s : *inner.mutable_output_side_packet()) EP_RETURN_IF_ERROR(rename(&s, sides));
      inner.set_name(prefix + "/" + (inner.name().empty() ? inner.calculator() : inner.name()));
      if (!inner.has_executor() && node.has_executor()) inner.set_executor(node.executor());
    }
    std::map<std::string, const GraphConfig*> nested_local = local;
    for (const GraphConfig& definition : subgraph->subgraph()) nested_local[definition.type()] = &definition;
    EP_RETURN_IF_ERROR(ExpandInto(renamed, nested_local, out, depth + 1));
  }
  return OkStatus();
}

}  // namespace

Result<GraphConfig> ExpandSubgraphs(const GraphConfig& config) {
  std::map<std::string, const GraphConfig*> local;
  for (const GraphConfig& definition : config.subgraph()) {
    if (definition.type().empty()) return InvalidArgumentError("a subgraph definition needs a `type:`");
    local[definition.type()] = &definition;
  }
  GraphConfig expanded = config;
  expanded.clear_node();
  expanded.clear_subgraph();
  EP_RETURN_IF_ERROR(ExpandInto(config, local, &expanded, 0));
  return expanded;
}

}  // namespace edgepipe
