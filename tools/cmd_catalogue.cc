// `edgepipe calculators [--json|--markdown]` and `edgepipe describe NAME [--json]`:
// the calculator catalogue, generated from the registry and each calculator's
// contract (ports, types, options with defaults and docs, example config).
// docs/calculators.md is the --markdown output, checked for staleness by a test.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <cstdio>
#include <iostream>
#include <regex>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/calculator.h"
#include "core/graph_config.pb.h"
#include "tools/commands.h"

namespace edgepipe::tools {

namespace {

using google::protobuf::FieldDescriptor;
using nlohmann::ordered_json;

// Readable names for the types ports declare (demangled names of std types are long).
std::string PrettyTypeName(const TypeId& type) {
  std::string name = type.name();
  static const std::vector<std::pair<std::regex, std::string>> kRewrites = {
      {std::regex(R"(std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >)"), "std::string"},
      {std::regex(R"(std::__cxx11::)"), "std::"},
      {std::regex(R"(, std::allocator<[^<>]*(<[^<>]*>)?[^<>]*> >)"), ">"},
      {std::regex(R"(^long$)"), "int64_t"},
      {std::regex(R"(^unsigned long$)"), "uint64_t"},
      {std::regex(R"(\blong\b)"), "int64_t"},
  };
  for (const auto& [pattern, replacement] : kRewrites) name = std::regex_replace(name, pattern, replacement);
  return name;
}

// The doc's first sentence (abbreviations such as "e.g." do not end it).
std::string FirstSentence(const std::string& doc) {
  for (size_t end = doc.find(". "); end != std::string::npos; end = doc.find(". ", end + 1)) {
    const std::string before = doc.substr(0, end);
    const bool abbreviation = before.ends_with("e.g") || before.ends_with("i.e") || before.ends_with("etc") ||
                              before.ends_with("vs");
    if (!abbreviation) return doc.substr(0, end + 1);
  }
  return doc;
}

std::string FieldTypeName(const FieldDescriptor* field) {
  switch (field->type()) {
    case FieldDescriptor::TYPE_ENUM: return field->enum_type()->name();
    case FieldDescriptor::TYPE_MESSAGE:
    case FieldDescriptor::TYPE_GROUP: return field->message_type()->name();
    default: return field->type_name();
  }
}

std::string FieldDefault(const FieldDescriptor* field) {
  if (field->is_repeated()) return "[]";
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: return std::to_string(field->default_value_int32());
    case FieldDescriptor::CPPTYPE_INT64: return std::to_string(field->default_value_int64());
    case FieldDescriptor::CPPTYPE_UINT32: return std::to_string(field->default_value_uint32());
    case FieldDescriptor::CPPTYPE_UINT64: return std::to_string(field->default_value_uint64());
    case FieldDescriptor::CPPTYPE_DOUBLE: return fmt::format("{}", field->default_value_double());
    case FieldDescriptor::CPPTYPE_FLOAT: return fmt::format("{}", field->default_value_float());
    case FieldDescriptor::CPPTYPE_BOOL: return field->default_value_bool() ? "true" : "false";
    case FieldDescriptor::CPPTYPE_ENUM: return field->default_value_enum()->name();
    case FieldDescriptor::CPPTYPE_STRING: return "\"" + field->default_value_string() + "\"";
    case FieldDescriptor::CPPTYPE_MESSAGE: return "{}";
  }
  return "";
}

ordered_json PortsJson(const std::vector<PortSpec>& ports) {
  ordered_json list = ordered_json::array();
  for (const PortSpec& port : ports) {
    ordered_json entry;
    entry["tag"] = port.tag;
    entry["type"] = port.same_type_as_input ? fmt::format("same as input \"{}\"", *port.same_type_as_input)
                                            : PrettyTypeName(port.type);
    entry["optional"] = port.optional;
    entry["repeated"] = port.repeated;
    entry["doc"] = port.doc;
    list.push_back(entry);
  }
  return list;
}

ordered_json OptionsJson(const google::protobuf::Message* prototype) {
  if (prototype == nullptr) return nullptr;
  const auto* descriptor = prototype->GetDescriptor();
  ordered_json options;
  options["message"] = descriptor->full_name();
  // The extension that carries this message inside CalculatorOptions, for the config syntax.
  options["config_syntax"] = fmt::format("options {{ [{}.ext] {{ ... }} }}", descriptor->full_name());
  ordered_json fields = ordered_json::array();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    ordered_json entry;
    entry["name"] = field->name();
    entry["type"] = (field->is_repeated() ? "repeated " : "") + FieldTypeName(field);
    entry["default"] = field->has_default_value() || field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE
                           ? FieldDefault(field) : "";
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
      ordered_json values = ordered_json::array();
      for (int v = 0; v < field->enum_type()->value_count(); ++v) values.push_back(field->enum_type()->value(v)->name());
      entry["values"] = values;
    }
    entry["doc"] = field->options().GetExtension(edgepipe::doc);
    fields.push_back(entry);
  }
  options["fields"] = fields;
  return options;
}

std::string SourceFile(const std::string& file) {
  // Registrations record __FILE__ (absolute); keep it relative to the repository.
  for (const char* root : {"calculators/", "python/", "tools/"}) {
    const size_t at = file.rfind(std::string("/") + root);
    if (at != std::string::npos) return file.substr(at + 1);
  }
  return file;
}

Result<ordered_json> DescribeCalculator(const CalculatorRegistration& registration) {
  CalculatorContract contract;
  Status status = registration.get_contract(&contract);
  if (!status.ok()) return status.WithContext(fmt::format("{}::GetContract", registration.name));
  ordered_json info;
  info["name"] = registration.name;
  info["summary"] = FirstSentence(contract.doc());
  info["doc"] = contract.doc();
  info["source"] = SourceFile(registration.source_file);
  info["inputs"] = PortsJson(contract.inputs());
  info["outputs"] = PortsJson(contract.outputs());
  info["input_side_packets"] = PortsJson(contract.input_side_packets());
  info["output_side_packets"] = PortsJson(contract.output_side_packets());
  info["options"] = OptionsJson(contract.options_prototype());
  info["input_handler"] = contract.input_handler() && *contract.input_handler() == InputHandlerKind::kImmediate
                              ? "immediate" : "default";
  info["timestamp_offset"] = contract.timestamp_offset() ? ordered_json(*contract.timestamp_offset()) : ordered_json(nullptr);
  info["example"] = contract.example();
  return info;
}

Result<ordered_json> DescribeAll() {
  ordered_json all = ordered_json::array();
  const CalculatorRegistry& registry = CalculatorRegistry::Global();
  for (const std::string& name : registry.Names()) {
    EP_ASSIGN_OR_RETURN(ordered_json info, DescribeCalculator(*registry.Find(name)));
    all.push_back(std::move(info));
  }
  return all;
}

std::string PortLabel(const ordered_json& port) {
  std::string tag = port["tag"].get<std::string>();
  if (tag.empty()) tag = "(untagged)";
  std::string flags;
  if (port["optional"].get<bool>()) flags += ", optional";
  if (port["repeated"].get<bool>()) flags += ", repeated";
  return fmt::format("{} : {}{}", tag, port["type"].get<std::string>(), flags);
}

// Plain-text description for `edgepipe describe`.
std::string DescribeText(const ordered_json& info) {
  std::string out = fmt::format("{}\n\n{}\n", info["name"].get<std::string>(), info["doc"].get<std::string>());
  auto section = [&out](const char* title, const ordered_json& ports) {
    if (ports.empty()) return;
    out += fmt::format("\n{}:\n", title);
    for (const auto& port : ports) {
      out += fmt::format("  {}", PortLabel(port));
      if (!port["doc"].get<std::string>().empty()) out += "  — " + port["doc"].get<std::string>();
      out += "\n";
    }
  };
  section("Inputs", info["inputs"]);
  section("Outputs", info["outputs"]);
  section("Input side packets", info["input_side_packets"]);
  section("Output side packets", info["output_side_packets"]);
  if (!info["options"].is_null()) {
    out += fmt::format("\nOptions ({}):\n", info["options"]["message"].get<std::string>());
    for (const auto& field : info["options"]["fields"]) {
      out += fmt::format("  {} : {} = {}", field["name"].get<std::string>(), field["type"].get<std::string>(),
                         field["default"].get<std::string>());
      if (field.contains("values")) {
        std::vector<std::string> values = field["values"].get<std::vector<std::string>>();
        out += fmt::format(" (one of {})", fmt::join(values, ", "));
      }
      if (!field["doc"].get<std::string>().empty()) out += "\n      " + field["doc"].get<std::string>();
      out += "\n";
    }
  }
  out += fmt::format("\nInput handler: {}", info["input_handler"].get<std::string>());
  if (!info["timestamp_offset"].is_null()) out += fmt::format("; outputs at input timestamp + {}", info["timestamp_offset"].get<int64_t>());
  out += "\n";
  if (!info["example"].get<std::string>().empty()) out += "\nExample:\n" + info["example"].get<std::string>() + "\n";
  out += fmt::format("\nSource: {}\n", info["source"].get<std::string>());
  return out;
}

std::string EscapeTableCell(std::string text) {
  std::string escaped;
  for (char c : text) {
    if (c == '|') escaped += "\\|";
    else if (c == '\n') escaped += ' ';
    else escaped += c;
  }
  return escaped;
}

std::string MarkdownPorts(const char* title, const ordered_json& ports) {
  if (ports.empty()) return "";
  std::string out = fmt::format("\n**{}**\n\n| tag | type | | doc |\n|---|---|---|---|\n", title);
  for (const auto& port : ports) {
    std::string tag = port["tag"].get<std::string>();
    std::string flags;
    if (port["optional"].get<bool>()) flags += "optional ";
    if (port["repeated"].get<bool>()) flags += "repeated";
    out += fmt::format("| `{}` | `{}` | {} | {} |\n", tag.empty() ? "(untagged)" : tag,
                       EscapeTableCell(port["type"].get<std::string>()), flags, EscapeTableCell(port["doc"].get<std::string>()));
  }
  return out;
}

// The whole catalogue as Markdown (docs/calculators.md).
std::string CatalogueMarkdown(const ordered_json& all) {
  std::string out =
      "# Calculator catalogue\n\n"
      "<!-- Generated by `edgepipe calculators --markdown > docs/calculators.md`; do not edit by hand.\n"
      "     tests/tools checks that this file matches the registry. -->\n\n"
      "| calculator | summary |\n|---|---|\n";
  for (const auto& info : all) {
    const std::string name = info["name"].get<std::string>();
    std::string anchor = name;
    std::transform(anchor.begin(), anchor.end(), anchor.begin(), [](unsigned char c) { return std::tolower(c); });
    out += fmt::format("| [{}](#{}) | {} |\n", name, anchor, EscapeTableCell(info["summary"].get<std::string>()));
  }
  for (const auto& info : all) {
    out += fmt::format("\n## {}\n\n{}\n\nSource: `{}`\n", info["name"].get<std::string>(), info["doc"].get<std::string>(),
                       info["source"].get<std::string>());
    out += MarkdownPorts("Inputs", info["inputs"]);
    out += MarkdownPorts("Outputs", info["outputs"]);
    out += MarkdownPorts("Input side packets", info["input_side_packets"]);
    out += MarkdownPorts("Output side packets", info["output_side_packets"]);
    if (!info["options"].is_null()) {
      out += fmt::format("\n**Options** (`{}`)\n\n| field | type | default | doc |\n|---|---|---|---|\n",
                         info["options"]["message"].get<std::string>());
      for (const auto& field : info["options"]["fields"]) {
        std::string type = field["type"].get<std::string>();
        if (field.contains("values")) {
          type += ": " + fmt::format("{}", fmt::join(field["values"].get<std::vector<std::string>>(), ", "));
        }
        out += fmt::format("| `{}` | {} | `{}` | {} |\n", field["name"].get<std::string>(), EscapeTableCell(type),
                           EscapeTableCell(field["default"].get<std::string>()), EscapeTableCell(field["doc"].get<std::string>()));
      }
    }
    if (!info["example"].get<std::string>().empty()) {
      out += "\n**Example**\n\n```\n" + info["example"].get<std::string>() + "\n```\n";
    }
  }
  return out;
}

int Fail(const Status& status) {
  std::fprintf(stderr, "edgepipe: %s\n", status.ToString().c_str());
  ExitCode() = 1;
  return 1;
}

}  // namespace

void AddCatalogueCommands(CLI::App& app) {
  struct ListFlags {
    bool json = false;
    bool markdown = false;
  };
  auto list_flags = std::make_shared<ListFlags>();
  CLI::App* list = app.add_subcommand("calculators", "List every registered calculator with a one-line summary");
  list->add_flag("--json", list_flags->json, "Full catalogue as JSON (ports, types, options, docs, examples)");
  list->add_flag("--markdown", list_flags->markdown, "Full catalogue as Markdown (this is docs/calculators.md)");
  list->callback([list_flags] {
    auto all = DescribeAll();
    if (!all.ok()) {
      Fail(all.status());
      return;
    }
    if (list_flags->json) {
      std::cout << all->dump(2) << "\n";
    } else if (list_flags->markdown) {
      std::cout << CatalogueMarkdown(*all);
    } else {
      size_t width = 0;
      for (const auto& info : *all) width = std::max(width, info["name"].get<std::string>().size());
      for (const auto& info : *all) {
        std::cout << fmt::format("{:<{}}  {}\n", info["name"].get<std::string>(), width, info["summary"].get<std::string>());
      }
      std::cout << fmt::format("\n{} calculators; `edgepipe describe NAME` shows one in full.\n", all->size());
    }
  });

  struct DescribeFlags {
    std::string name;
    bool json = false;
  };
  auto describe_flags = std::make_shared<DescribeFlags>();
  CLI::App* describe = app.add_subcommand("describe", "Show a calculator's ports, types, options with defaults and an example");
  describe->add_option("name", describe_flags->name, "Calculator name, e.g. FlowLimiterCalculator")->required();
  describe->add_flag("--json", describe_flags->json, "As JSON");
  describe->callback([describe_flags] {
    const CalculatorRegistry& registry = CalculatorRegistry::Global();
    const CalculatorRegistration* registration = registry.Find(describe_flags->name);
    if (registration == nullptr) {
      const std::string closest = registry.ClosestName(describe_flags->name);
      Fail(NotFoundError("no calculator named \"{}\"{}; `edgepipe calculators` lists them all", describe_flags->name,
                         closest.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", closest)));
      return;
    }
    auto info = DescribeCalculator(*registration);
    if (!info.ok()) {
      Fail(info.status());
      return;
    }
    std::cout << (describe_flags->json ? info->dump(2) + "\n" : DescribeText(*info));
  });
}

}  // namespace edgepipe::tools
