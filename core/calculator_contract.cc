#include "core/calculator_contract.h"

#include <google/protobuf/descriptor.h>

#include "core/graph_config.pb.h"

namespace edgepipe {

namespace {
PortSpec& AddPort(std::vector<PortSpec>& ports, std::string tag, TypeId type) {
  PortSpec port;
  port.tag = std::move(tag);
  port.type = type;
  ports.push_back(std::move(port));
  return ports.back();
}
}  // namespace

PortSpec& CalculatorContract::AddInput(std::string tag, TypeId type) { return AddPort(inputs_, std::move(tag), type); }
PortSpec& CalculatorContract::AddOutput(std::string tag, TypeId type) { return AddPort(outputs_, std::move(tag), type); }
PortSpec& CalculatorContract::AddInputSidePacket(std::string tag, TypeId type) {
  return AddPort(input_side_packets_, std::move(tag), type);
}
PortSpec& CalculatorContract::AddOutputSidePacket(std::string tag, TypeId type) {
  return AddPort(output_side_packets_, std::move(tag), type);
}

const google::protobuf::Message& CalculatorContract::ResolvedOptions() {
  if (resolved_options_) return *resolved_options_;
  if (options_prototype_ == nullptr) {
    options_status_ = InternalError("the calculator reads options but declared none (UseOptions<T>())");
    resolved_options_.reset(CalculatorOptions::default_instance().New());
    return *resolved_options_;
  }
  resolved_options_.reset(options_prototype_->New());
  if (node_options_ == nullptr) return *resolved_options_;

  // The node's options hold at most one extension; it must be of the declared type.
  const google::protobuf::Reflection* reflection = node_options_->GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(*node_options_, &fields);
  for (const google::protobuf::FieldDescriptor* field : fields) {
    if (field->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE) continue;
    if (field->message_type() == options_prototype_->GetDescriptor()) {
      resolved_options_->CopyFrom(reflection->GetMessage(*node_options_, field));
    } else {
      options_status_ = InvalidArgumentError("options are {} but this calculator takes {}",
                                             field->message_type()->full_name(),
                                             options_prototype_->GetDescriptor()->full_name());
    }
  }
  return *resolved_options_;
}

}  // namespace edgepipe
