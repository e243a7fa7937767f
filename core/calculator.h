// Calculators: the nodes of a graph. A calculator class provides
//   static Status GetContract(CalculatorContract* cc);   // ports, options, doc
//   Status Open(CalculatorContext* cc);                   // once, before packets
//   Status Process(CalculatorContext* cc);                // per input timestamp
//   Status Close(CalculatorContext* cc);                  // once, at the end
// and is registered by name with EDGEPIPE_REGISTER_CALCULATOR(ClassName).
//
// A source (a calculator without input streams) is called repeatedly and says it
// is finished by returning StopProcessing().
#pragma once

#include <google/protobuf/message.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/calculator_contract.h"
#include "core/packet.h"
#include "core/status.h"
#include "core/timestamp.h"

namespace edgepipe {

// Returned by a source's Process when it has nothing more to emit; returned by
// any other calculator it closes that node's outputs early.
Status StopProcessing();
bool IsStopProcessing(const Status& status);

// Tag → list of stream slots, shared by every context of a node.
class PortLayout {
 public:
  // `tag_index_pairs` in slot order.
  explicit PortLayout(std::vector<std::pair<std::string, int>> tag_index_pairs = {});
  // Slot of TAG:index, or -1 when not connected.
  int Slot(std::string_view tag, int index = 0) const;
  int NumEntries(std::string_view tag) const;
  int size() const { return static_cast<int>(tags_.size()); }
  const std::string& tag(int slot) const { return tags_[slot]; }
  int index(int slot) const { return indices_[slot]; }
  std::string Describe(int slot) const;  // "TAG:1" or "2" for untagged

 private:
  std::vector<std::string> tags_;
  std::vector<int> indices_;
  std::map<std::string, std::vector<int>, std::less<>> slots_by_tag_;
};

class InputStreamView {
 public:
  const Packet& Value() const { return *packet_; }
  bool IsEmpty() const { return packet_->IsEmpty(); }
  bool IsConnected() const { return connected_; }
  template <typename T>
  Result<const T*> Get() const {
    auto result = packet_->Get<T>();
    if (!result.ok()) return result.status().WithContext(fmt::format("input {}", name_));
    return result;
  }
  const Packet& Header() const { return *header_; }
  const std::string& name() const { return name_; }
  // The lowest timestamp a later packet on this input can have (what is
  // settled on it), as of this call.
  Timestamp NextTimestampBound() const { return bound_ ? *bound_ : Timestamp::Unstarted(); }

 private:
  friend class CalculatorContext;
  friend class InputSet;
  const Packet* packet_ = nullptr;
  const Packet* header_ = nullptr;
  const Timestamp* bound_ = nullptr;
  std::string name_;
  bool connected_ = false;
};

class InputSet {
 public:
  const InputStreamView& Tag(std::string_view tag) const { return Get(tag, 0); }
  const InputStreamView& Get(std::string_view tag, int index) const;
  const InputStreamView& Index(int slot) const;
  bool HasTag(std::string_view tag) const { return layout_->NumEntries(tag) > 0; }
  int NumEntries(std::string_view tag) const { return layout_->NumEntries(tag); }
  int NumEntries() const { return layout_->size(); }

 private:
  friend class CalculatorContext;
  const PortLayout* layout_ = nullptr;
  std::vector<InputStreamView> views_;
};

// One output stream of one Process call: packets and bound changes are
// collected here and delivered downstream when the call returns.
class OutputStreamHandle {
 public:
  // Adds a packet; its timestamp must be allowed and not below the stream's bound.
  Status Add(Packet packet);
  template <typename T>
  Status Add(T value, Timestamp timestamp) {
    return Add(MakePacket<std::decay_t<T>>(std::move(value)).At(timestamp));
  }
  // Promises that no packet below `bound` will follow.
  Status SetNextTimestampBound(Timestamp bound);
  void Close();
  // Stream header (e.g. a video's size and frame rate); only in Open.
  Status SetHeader(Packet header);
  bool IsConnected() const { return connected_; }
  const std::string& name() const { return name_; }

  // Delivery state, read by the graph after the call.
  std::vector<Packet>& packets() { return packets_; }
  Timestamp next_bound() const { return next_bound_; }
  bool closed() const { return closed_; }
  const Packet& header() const { return header_; }

 private:
  friend class CalculatorContext;
  friend class GraphRuntime;
  friend class OutputSet;
  std::vector<Packet> packets_;
  Timestamp next_bound_ = Timestamp::Unstarted();
  Packet header_;
  bool closed_ = false;
  bool connected_ = false;
  bool header_allowed_ = false;
  std::string name_;
  const std::string* node_name_ = nullptr;
};

class OutputSet {
 public:
  OutputStreamHandle& Tag(std::string_view tag) { return Get(tag, 0); }
  OutputStreamHandle& Get(std::string_view tag, int index);
  OutputStreamHandle& Index(int slot);
  bool HasTag(std::string_view tag) const { return layout_->NumEntries(tag) > 0; }
  int NumEntries(std::string_view tag) const { return layout_->NumEntries(tag); }
  int NumEntries() const { return layout_->size(); }

 private:
  friend class CalculatorContext;
  friend class GraphRuntime;
  const PortLayout* layout_ = nullptr;
  std::vector<OutputStreamHandle> handles_;
  OutputStreamHandle disconnected_;
};

class SidePacketSet {
 public:
  const Packet& Tag(std::string_view tag) const { return Get(tag, 0); }
  const Packet& Get(std::string_view tag, int index) const;
  const Packet& Index(int slot) const;
  bool HasTag(std::string_view tag) const { return layout_->NumEntries(tag) > 0; }
  int NumEntries() const { return layout_->size(); }

 private:
  friend class CalculatorContext;
  friend class GraphRuntime;
  const PortLayout* layout_ = nullptr;
  std::vector<Packet> packets_;
};

class OutputSidePacketSet {
 public:
  // Sets the side packet produced by this node (in Open or Close).
  Status Set(std::string_view tag, Packet packet) { return Set(tag, 0, std::move(packet)); }
  Status Set(std::string_view tag, int index, Packet packet);
  int NumEntries() const { return layout_->size(); }

 private:
  friend class CalculatorContext;
  friend class GraphRuntime;
  const PortLayout* layout_ = nullptr;
  std::vector<Packet> packets_;
  const std::string* node_name_ = nullptr;
};

class CalculatorContext {
 public:
  const InputSet& Inputs() const { return inputs_; }
  OutputSet& Outputs() { return outputs_; }
  const SidePacketSet& InputSidePackets() const { return input_side_packets_; }
  OutputSidePacketSet& OutputSidePackets() { return output_side_packets_; }

  template <typename OptionsT>
  const OptionsT& Options() const {
    return static_cast<const OptionsT&>(*options_);
  }
  // The timestamp of the current Process call (Unstarted in Open, Done in Close).
  Timestamp InputTimestamp() const { return input_timestamp_; }
  const std::string& NodeName() const { return *node_name_; }
  const std::string& CalculatorName() const { return *calculator_name_; }
  // Flow control: counts packets this call dropped (statistics, trace instant events).
  void CountDropped(int64_t count = 1) { dropped_ += count; }

 private:
  friend class GraphRuntime;
  friend struct NodeState;
  void Setup(const std::string* node_name, const std::string* calculator_name,
             const google::protobuf::Message* options, const PortLayout* inputs,
             const std::vector<std::string>& input_names, const PortLayout* outputs,
             const std::vector<std::string>& output_names, const PortLayout* input_side,
             const PortLayout* output_side);

  InputSet inputs_;
  OutputSet outputs_;
  SidePacketSet input_side_packets_;
  OutputSidePacketSet output_side_packets_;
  std::vector<Packet> input_packets_;
  std::vector<Packet> input_headers_;
  std::vector<Timestamp> input_bounds_;
  const google::protobuf::Message* options_ = nullptr;
  Timestamp input_timestamp_ = Timestamp::Unstarted();
  const std::string* node_name_ = nullptr;
  const std::string* calculator_name_ = nullptr;
  int64_t dropped_ = 0;
};

class CalculatorBase {
 public:
  virtual ~CalculatorBase() = default;
  virtual Status Open(CalculatorContext*) { return OkStatus(); }
  virtual Status Process(CalculatorContext* cc) = 0;
  virtual Status Close(CalculatorContext*) { return OkStatus(); }
};

// ---- Registration ---------------------------------------------------------

// Functions rather than function pointers, so that calculators defined at run
// time (e.g. Python classes, python/python_calculator.cc) can register too.
struct CalculatorRegistration {
  std::string name;
  std::function<Status(CalculatorContract*)> get_contract;
  std::function<std::unique_ptr<CalculatorBase>()> create;
  std::string source_file;
};

class CalculatorRegistry {
 public:
  // The process-wide registry, holding every built-in calculator of the
  // libraries linked in (registered from a generated list, so a static library
  // cannot drop any) plus those registered by applications.
  static CalculatorRegistry& Global();

  // Registering the same name twice is an error unless it is the same calculator.
  Status Register(CalculatorRegistration registration);
  const CalculatorRegistration* Find(std::string_view name) const;
  std::vector<std::string> Names() const;
  // The registered name closest to `name` (edit distance), for "did you mean".
  std::string ClosestName(std::string_view name) const;

 private:
  std::map<std::string, CalculatorRegistration, std::less<>> registrations_;
};

// Edit distance used for "did you mean" suggestions (case-insensitive).
size_t EditDistance(std::string_view a, std::string_view b);

namespace internal {
template <typename Calculator>
CalculatorRegistration MakeRegistration(const char* name, const char* file) {
  return CalculatorRegistration{
      name, &Calculator::GetContract,
      []() -> std::unique_ptr<CalculatorBase> { return std::make_unique<Calculator>(); }, file};
}
struct StaticRegistrar {
  explicit StaticRegistrar(CalculatorRegistration registration);
};
}  // namespace internal

// Defines edgepipe_register_<Class>(registry), which the generated built-in list
// calls, and registers the calculator at static-initialisation time as well
// (for calculators compiled into an application rather than the library).
#define EDGEPIPE_REGISTER_CALCULATOR(Class)                                                  \
  void edgepipe_register_##Class(::edgepipe::CalculatorRegistry& registry) {                 \
    (void)registry.Register(::edgepipe::internal::MakeRegistration<Class>(#Class, __FILE__)); \
  }                                                                                          \
  static ::edgepipe::internal::StaticRegistrar edgepipe_static_registrar_##Class(            \
      ::edgepipe::internal::MakeRegistration<Class>(#Class, __FILE__))

}  // namespace edgepipe
