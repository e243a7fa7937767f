// JsonLinesWriterCalculator: writes results as JSON lines, one line per
// timestamp: {"timestamp_us": T, "<stream>": <value>, …}.
//
// Inputs  "" (any, repeated): streams to record; each must hold a type with a
//         JSON serializer (numbers, strings, vectors, Tensor, ImageFrame
//         metadata, VideoHeader, LetterboxTransform, and whatever other
//         calculators register with RegisterJsonSerializer<T>()).
// Side    OUTPUT_PATH (string, optional): overrides options.path. Connected
//         but unset (or ""), with no options.path, the writer is off: it
//         consumes its inputs and writes nothing (docs/graphs.md).
// Options JsonLinesWriterCalculatorOptions: path ("-" = stdout), flush_each_line.
//
// Inputs are synchronised: a line holds every stream's packet at that timestamp
// (streams without one are left out).
//
//   node {
//     calculator: "JsonLinesWriterCalculator"
//     input_stream: "detections"
//     input_side_packet: "OUTPUT_PATH:output_path"
//   }
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "calculators/io/json_lines_writer_calculator.pb.h"
#include "calculators/types/json_serialization.h"
#include "calculators/types/side_packet_values.h"
#include "core/calculator.h"
#include "core/file_access.h"

namespace edgepipe {

class JsonLinesWriterCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<JsonLinesWriterCalculatorOptions>();
    cc->AddInput("", TypeId::Any()).Repeated().Doc("streams to write (any serialisable type)");
    cc->AddInputSidePacket("OUTPUT_PATH", TypeId::Any()).Optional().Doc("file to write (string); connected but unset: off");
    cc->SetDoc(
        "Writes one JSON object per timestamp, {\"timestamp_us\": T, \"<stream name>\": value, …}, to a "
        "file or standard output. Any payload type with a registered JSON serializer can be written; "
        "an unserialisable type is an error naming it.");
    cc->SetExampleConfig(R"(node {
  calculator: "JsonLinesWriterCalculator"
  input_stream: "detections"
  input_side_packet: "OUTPUT_PATH:output_path"
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    const auto& options = cc->Options<JsonLinesWriterCalculatorOptions>();
    EP_ASSIGN_OR_RETURN(std::optional<std::string> side_path, StringSidePacket(*cc, "OUTPUT_PATH"));
    path_ = side_path.value_or(options.path());
    flush_each_line_ = options.flush_each_line();
    if (path_.empty() && SidePacketConnected(*cc, "OUTPUT_PATH")) {
      off_ = true;  // the graph's json_path-style side packet was left unset
      return OkStatus();
    }
    if (path_.empty()) {
      return InvalidArgumentError("JsonLinesWriterCalculator has no file to write: set options.path or the OUTPUT_PATH side packet");
    }
    if (path_ != "-") {
      EP_RETURN_IF_ERROR(CheckWritableFile(path_, "JSON lines"));
      file_.open(path_, std::ios::out | std::ios::trunc);
      if (!file_) return NotFoundError("cannot write JSON lines to '{}' (missing directory or no permission)", path_);
    }
    for (int i = 0; i < cc->Inputs().NumEntries(); ++i) names_.push_back(cc->Inputs().Index(i).name());
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    if (off_) return OkStatus();
    nlohmann::json line = {{"timestamp_us", cc->InputTimestamp().Value()}};
    for (int i = 0; i < cc->Inputs().NumEntries(); ++i) {
      const InputStreamView& input = cc->Inputs().Index(i);
      if (input.IsEmpty()) continue;
      auto value = JsonSerializerRegistry::Global().Serialize(input.Value());
      if (!value.ok()) return value.status().WithContext(fmt::format("stream \"{}\"", names_[i]));
      line[names_[i]] = std::move(*value);
    }
    std::ostream& out = path_ == "-" ? std::cout : file_;
    out << line.dump() << '\n';
    if (flush_each_line_) out.flush();
    if (!out) return DataLossError("writing JSON lines to '{}' failed (disk full?)", path_);
    return OkStatus();
  }

  Status Close(CalculatorContext*) override {
    if (off_) return OkStatus();
    if (file_.is_open()) {
      file_.close();
      if (!file_) return DataLossError("closing '{}' failed", path_);
    } else {
      std::cout.flush();
    }
    return OkStatus();
  }

 private:
  std::string path_;
  bool flush_each_line_ = false;
  bool off_ = false;
  std::ofstream file_;
  std::vector<std::string> names_;
};

EDGEPIPE_REGISTER_CALCULATOR(JsonLinesWriterCalculator);

}  // namespace edgepipe
