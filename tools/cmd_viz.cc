// `edgepipe viz GRAPH -o FILE.svg|.png|.dot [--expand]`
//
// Draws a graph config with Graphviz: each node a box with its input ports on
// top and output ports below, each stream an edge from port to port labelled
// with its name, graph inputs and outputs as ovals, nodes of a named executor
// in a cluster, back edges dashed. Subgraph nodes are drawn as one double-bordered
// box; --expand draws their inner nodes instead. .dot writes the DOT text;
// .svg and .png run Graphviz's `dot`.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "core/graph.h"
#include "core/stream_name.h"
#include "tools/commands.h"

namespace edgepipe::tools {
namespace {

struct VizFlags {
  std::string graph_path;
  std::string output;
  bool expand = false;
};

// Text inside a record label: the record syntax characters are escaped.
std::string RecordText(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::string_view("{}|<>\"\\ ").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::string Quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) out += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

std::string PortLabel(const StreamSpec& spec) {
  if (spec.tag.empty()) return std::to_string(spec.index);
  return spec.index == 0 ? spec.tag : fmt::format("{}:{}", spec.tag, spec.index);
}

std::string Ports(const std::vector<StreamSpec>& specs, char prefix) {
  std::string out;
  for (size_t i = 0; i < specs.size(); ++i) {
    out += fmt::format("{}<{}{}> {}", i ? "|" : "", prefix, i, RecordText(PortLabel(specs[i])));
  }
  return out;
}

bool IsBackEdge(const Node& node, const StreamSpec& spec) {
  for (const InputStreamInfo& info : node.input_stream_info()) {
    if (!info.back_edge()) continue;
    const std::string& tag_index = info.tag_index();
    const size_t colon = tag_index.find(':');
    const std::string tag = tag_index.substr(0, colon);
    const int index = colon == std::string::npos ? 0 : std::atoi(tag_index.c_str() + colon + 1);
    if (tag == spec.tag && index == spec.index) return true;
  }
  return false;
}

bool IsSubgraph(const GraphConfig& config, const std::string& type) {
  for (const GraphConfig& subgraph : config.subgraph()) {
    if (subgraph.type() == type) return true;
  }
  return SubgraphRegistry::Global().Find(type) != nullptr;
}

Result<std::string> GraphToDot(const GraphConfig& config) {
  std::string dot = "digraph edgepipe {\n  rankdir=TB;\n  node [shape=record, fontname=\"Helvetica\", fontsize=10];\n"
                    "  edge [fontname=\"Helvetica\", fontsize=9];\n";
  // Where each stream comes from: "node:port" or a graph input oval.
  std::map<std::string, std::string> producers;
  for (const std::string& spec_text : config.input_stream()) {
    EP_ASSIGN_OR_RETURN(StreamSpec spec, ParseStreamSpec(spec_text));
    const std::string id = Quoted("input " + spec.name);
    dot += fmt::format("  {} [shape=ellipse, style=filled, fillcolor=\"#e8f0fe\", label={}];\n", id, Quoted(spec.name));
    producers[spec.name] = id;
  }
  std::map<std::string, std::vector<std::string>> clusters;  // executor → node lines
  std::vector<std::vector<StreamSpec>> inputs(config.node_size());
  for (int i = 0; i < config.node_size(); ++i) {
    const Node& node = config.node(i);
    auto in = ParseStreamList(node.input_stream());
    if (!in.ok()) return in.status().WithContext(fmt::format("node {} input_stream", i));
    auto out = ParseStreamList(node.output_stream());
    if (!out.ok()) return out.status().WithContext(fmt::format("node {} output_stream", i));
    inputs[i] = *in;
    const std::string name = node.name().empty() ? node.calculator() : node.name();
    std::string label = RecordText(name);
    if (!node.name().empty()) label += "\\n" + RecordText(node.calculator());
    std::string record = "{";
    if (!in->empty()) record += "{" + Ports(*in, 'i') + "}|";
    record += label;
    if (!out->empty()) record += "|{" + Ports(*out, 'o') + "}";
    record += "}";
    const bool subgraph = IsSubgraph(config, node.calculator());
    clusters[node.executor()].push_back(fmt::format("n{} [label={}{}];", i, Quoted(record),
                                                    subgraph ? ", peripheries=2, style=filled, fillcolor=\"#fff4e0\""
                                                             : ""));
    for (size_t slot = 0; slot < out->size(); ++slot) producers[(*out)[slot].name] = fmt::format("n{}:o{}", i, slot);
  }
  for (const auto& [executor, lines] : clusters) {
    const bool cluster = !executor.empty();
    if (cluster) {
      dot += fmt::format("  subgraph {} {{\n    label={};\n    style=rounded; color=\"#888888\";\n",
                         Quoted("cluster_" + executor), Quoted("executor " + executor));
    }
    for (const std::string& line : lines) dot += (cluster ? "    " : "  ") + line + "\n";
    if (cluster) dot += "  }\n";
  }
  for (int i = 0; i < config.node_size(); ++i) {
    for (size_t slot = 0; slot < inputs[i].size(); ++slot) {
      const StreamSpec& spec = inputs[i][slot];
      auto producer = producers.find(spec.name);
      if (producer == producers.end()) {
        return InvalidArgumentError("node {} (\"{}\"): input stream \"{}\" has no producer", i,
                                    config.node(i).calculator(), spec.name);
      }
      const bool back = IsBackEdge(config.node(i), spec);
      dot += fmt::format("  {} -> n{}:i{} [label={}{}];\n", producer->second, i, slot, Quoted(spec.name),
                         back ? ", style=dashed, constraint=false" : "");
    }
  }
  for (const std::string& spec_text : config.output_stream()) {
    EP_ASSIGN_OR_RETURN(StreamSpec spec, ParseStreamSpec(spec_text));
    auto producer = producers.find(spec.name);
    if (producer == producers.end()) return InvalidArgumentError("graph output \"{}\" has no producer", spec.name);
    const std::string id = Quoted("output " + spec.name);
    dot += fmt::format("  {} [shape=ellipse, style=filled, fillcolor=\"#e6f4ea\", label={}];\n", id, Quoted(spec.name));
    dot += fmt::format("  {} -> {};\n", producer->second, id);
  }
  return dot + "}\n";
}

Status RunViz(const VizFlags& flags) {
  EP_ASSIGN_OR_RETURN(GraphConfig config, LoadGraphConfigFile(flags.graph_path));
  if (flags.expand) {
    EP_ASSIGN_OR_RETURN(config, ExpandSubgraphs(config));
  }
  EP_ASSIGN_OR_RETURN(std::string dot, GraphToDot(config));
  const std::string extension = std::filesystem::path(flags.output).extension().string();
  if (extension == ".dot" || extension == ".gv") {
    std::ofstream file(flags.output);
    file << dot;
    if (!file) return UnavailableError("cannot write {}", flags.output);
    return OkStatus();
  }
  if (extension != ".svg" && extension != ".png") {
    return InvalidArgumentError("{}: the output must end in .svg, .png or .dot", flags.output);
  }
  const std::string quoted = "'" + flags.output + "'";
  if (flags.output.find('\'') != std::string::npos) return InvalidArgumentError("{}: a ' in the path", flags.output);
  const std::string command = fmt::format("dot -T{} -o {}", extension.substr(1), quoted);
  std::FILE* pipe = popen(command.c_str(), "w");
  if (pipe == nullptr) return UnavailableError("cannot run Graphviz's dot (install graphviz)");
  std::fwrite(dot.data(), 1, dot.size(), pipe);
  const int status = pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return UnavailableError("`{}` failed (exit {}); is Graphviz installed (apt install graphviz)?", command,
                            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  return OkStatus();
}

}  // namespace

void AddVizCommand(CLI::App& app) {
  auto flags = std::make_shared<VizFlags>();
  CLI::App* viz = app.add_subcommand("viz", "Draw a graph config (Graphviz): nodes with ports, streams, executors");
  viz->add_option("graph", flags->graph_path, "Graph config (.pbtxt)")->required();
  viz->add_option("--output,-o", flags->output, "FILE.svg, FILE.png or FILE.dot")->required();
  viz->add_flag("--expand", flags->expand, "Draw the nodes inside subgraphs instead of one box per subgraph");
  viz->callback([flags] {
    Status status = RunViz(*flags);
    if (!status.ok()) {
      std::fprintf(stderr, "edgepipe viz: error: %s\n", status.ToString().c_str());
      ExitCode() = 1;
    }
  });
}

}  // namespace edgepipe::tools
