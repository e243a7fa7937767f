// What a calculator declares about itself, in one place: its ports (tag, index,
// payload type, optional or required), side packets, options message, timestamp
// offset, input stream handler and a one-paragraph doc. The graph validates
// configs against it; the catalogue and `edgepipe describe` print it.
#pragma once

#include <google/protobuf/message.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/packet.h"
#include "core/status.h"

namespace edgepipe {

class CalculatorOptions;

// One declared port. A port with `repeated` accepts any number of indexed
// streams (TAG:0, TAG:1, …); otherwise only index 0.
struct PortSpec {
  std::string tag;  // "" for untagged ports
  TypeId type;
  bool optional = false;
  bool repeated = false;
  // For outputs: the type is that of the input with this tag (e.g. pass-through).
  std::optional<std::string> same_type_as_input;
  std::string doc;
  // For outputs of large packets (full video frames): the queues of this stream's
  // consumers hold at most this many packets unless the node or the graph sets
  // max_queue_size, so that a fast source keeps only a few frames in memory.
  std::optional<int> queue_limit;

  PortSpec& Optional() { optional = true; return *this; }
  PortSpec& Repeated() { repeated = true; return *this; }
  PortSpec& SameTypeAs(std::string input_tag) { same_type_as_input = std::move(input_tag); return *this; }
  PortSpec& Doc(std::string text) { doc = std::move(text); return *this; }
  PortSpec& QueueLimit(int packets) { queue_limit = packets; return *this; }
};

enum class InputHandlerKind {
  // Runs for timestamp T once T is settled on every input and some input has a packet at T.
  kDefault,
  // Runs for each arriving packet, in timestamp order per input, without synchronising inputs.
  kImmediate,
};

class CalculatorContract {
 public:
  CalculatorContract() = default;
  // Built for a concrete node: `options` are the node's options (or nullptr to use defaults).
  explicit CalculatorContract(const CalculatorOptions* node_options) : node_options_(node_options) {}

  PortSpec& AddInput(std::string tag, TypeId type);
  PortSpec& AddOutput(std::string tag, TypeId type);
  PortSpec& AddInputSidePacket(std::string tag, TypeId type);
  PortSpec& AddOutputSidePacket(std::string tag, TypeId type);
  template <typename T>
  PortSpec& Input(std::string tag) { return AddInput(std::move(tag), TypeId::Of<T>()); }
  template <typename T>
  PortSpec& Output(std::string tag) { return AddOutput(std::move(tag), TypeId::Of<T>()); }
  template <typename T>
  PortSpec& InputSidePacket(std::string tag) { return AddInputSidePacket(std::move(tag), TypeId::Of<T>()); }
  template <typename T>
  PortSpec& OutputSidePacket(std::string tag) { return AddOutputSidePacket(std::move(tag), TypeId::Of<T>()); }

  // Declares the options message and makes the node's options available.
  template <typename OptionsT>
  void UseOptions() {
    options_prototype_ = &OptionsT::default_instance();
  }
  // The node's options as the declared type (defaults when the node has none).
  // Valid only after UseOptions<OptionsT>() and when OptionsT matches.
  template <typename OptionsT>
  const OptionsT& Options() {
    return static_cast<const OptionsT&>(ResolvedOptions());
  }
  const google::protobuf::Message* options_prototype() const { return options_prototype_; }

  // Outputs are at input timestamp + offset: bounds propagate without packets.
  void SetTimestampOffset(int64_t offset) { timestamp_offset_ = offset; }
  void SetInputHandler(InputHandlerKind kind) { input_handler_ = kind; }
  // Process is also called when input bounds advance without packets (all inputs empty).
  void SetProcessTimestampBounds(bool enabled) { process_timestamp_bounds_ = enabled; }
  void SetDoc(std::string doc) { doc_ = std::move(doc); }
  void SetExampleConfig(std::string config) { example_ = std::move(config); }

  const std::vector<PortSpec>& inputs() const { return inputs_; }
  const std::vector<PortSpec>& outputs() const { return outputs_; }
  const std::vector<PortSpec>& input_side_packets() const { return input_side_packets_; }
  const std::vector<PortSpec>& output_side_packets() const { return output_side_packets_; }
  std::optional<int64_t> timestamp_offset() const { return timestamp_offset_; }
  std::optional<InputHandlerKind> input_handler() const { return input_handler_; }
  bool process_timestamp_bounds() const { return process_timestamp_bounds_; }
  const std::string& doc() const { return doc_; }
  const std::string& example() const { return example_; }

  // The resolved options message for this node (owned by the contract).
  const google::protobuf::Message& ResolvedOptions();
  // Set by the graph when resolving fails (e.g. the node's options hold another type).
  const Status& options_status() const { return options_status_; }

 private:
  const CalculatorOptions* node_options_ = nullptr;
  const google::protobuf::Message* options_prototype_ = nullptr;
  std::shared_ptr<google::protobuf::Message> resolved_options_;
  Status options_status_;
  std::vector<PortSpec> inputs_, outputs_, input_side_packets_, output_side_packets_;
  std::optional<int64_t> timestamp_offset_;
  std::optional<InputHandlerKind> input_handler_;
  bool process_timestamp_bounds_ = false;
  std::string doc_;
  std::string example_;

};

}  // namespace edgepipe
