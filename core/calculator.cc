#include "core/calculator.h"

#include <algorithm>
#include <cctype>
#include <shared_mutex>

namespace edgepipe {

namespace {
constexpr char kStopMessage[] = "edgepipe: stop processing";
}

Status StopProcessing() { return Status(StatusCode::kOutOfRange, kStopMessage); }
bool IsStopProcessing(const Status& status) {
  return status.code() == StatusCode::kOutOfRange && status.message() == kStopMessage;
}

// ---- PortLayout -------------------------------------------------------------

PortLayout::PortLayout(std::vector<std::pair<std::string, int>> tag_index_pairs) {
  for (auto& [tag, index] : tag_index_pairs) {
    const int slot = static_cast<int>(tags_.size());
    tags_.push_back(tag);
    indices_.push_back(index);
    auto& slots = slots_by_tag_[tag];
    if (static_cast<int>(slots.size()) <= index) slots.resize(index + 1, -1);
    slots[index] = slot;
  }
}

int PortLayout::Slot(std::string_view tag, int index) const {
  auto it = slots_by_tag_.find(tag);
  if (it == slots_by_tag_.end() || index < 0 || index >= static_cast<int>(it->second.size())) return -1;
  return it->second[index];
}

int PortLayout::NumEntries(std::string_view tag) const {
  auto it = slots_by_tag_.find(tag);
  return it == slots_by_tag_.end() ? 0 : static_cast<int>(it->second.size());
}

std::string PortLayout::Describe(int slot) const {
  if (tags_[slot].empty()) return std::to_string(indices_[slot]);
  return indices_[slot] == 0 ? tags_[slot] : fmt::format("{}:{}", tags_[slot], indices_[slot]);
}

// ---- Inputs, outputs, side packets -----------------------------------------

namespace {
const Packet& EmptyPacket() {
  static const Packet empty;
  return empty;
}
}  // namespace

const InputStreamView& InputSet::Get(std::string_view tag, int index) const {
  const int slot = layout_->Slot(tag, index);
  return Index(slot);
}

const InputStreamView& InputSet::Index(int slot) const {
  if (slot < 0 || slot >= static_cast<int>(views_.size())) {
    // A port the node does not connect: always empty.
    static const Packet empty;
    static InputStreamView disconnected = [] {
      InputStreamView v;
      v.packet_ = &empty;
      v.header_ = &empty;
      v.name_ = "<not connected>";
      return v;
    }();
    return disconnected;
  }
  return views_[slot];
}

OutputStreamHandle& OutputSet::Get(std::string_view tag, int index) {
  return Index(layout_->Slot(tag, index));
}

OutputStreamHandle& OutputSet::Index(int slot) {
  if (slot < 0 || slot >= static_cast<int>(handles_.size())) {
    disconnected_.packets_.clear();
    return disconnected_;
  }
  return handles_[slot];
}

Status OutputStreamHandle::Add(Packet packet) {
  if (!connected_) return OkStatus();
  const Timestamp ts = packet.timestamp();
  if (closed_) {
    return FailedPreconditionError("node \"{}\": packet at {} added to closed output stream \"{}\"",
                                   *node_name_, ts.DebugString(), name_);
  }
  if (packet.IsEmpty()) {
    return InvalidArgumentError("node \"{}\": empty packet added to output stream \"{}\"", *node_name_, name_);
  }
  if (!ts.IsAllowedInStream()) {
    return InvalidArgumentError("node \"{}\": timestamp {} is not allowed on output stream \"{}\"",
                                *node_name_, ts.DebugString(), name_);
  }
  if (ts < next_bound_) {
    return InvalidArgumentError(
        "node \"{}\": timestamp {} on output stream \"{}\" is not above the previous packet or bound "
        "(next allowed: {}); timestamps must strictly increase",
        *node_name_, ts.DebugString(), name_, next_bound_.DebugString());
  }
  if ((ts == Timestamp::PreStream() || ts == Timestamp::PostStream()) && !packets_.empty()) {
    return InvalidArgumentError("node \"{}\": a {} packet must be the only packet on stream \"{}\"",
                                *node_name_, ts.DebugString(), name_);
  }
  next_bound_ = ts.NextAllowedInStream();
  packets_.push_back(std::move(packet));
  return OkStatus();
}

Status OutputStreamHandle::SetNextTimestampBound(Timestamp bound) {
  if (!connected_ || closed_) return OkStatus();
  if (bound > next_bound_) next_bound_ = bound;
  return OkStatus();
}

void OutputStreamHandle::Close() {
  if (!connected_) return;
  closed_ = true;
}

Status OutputStreamHandle::SetHeader(Packet header) {
  if (!connected_) return OkStatus();
  if (!header_allowed_) {
    return FailedPreconditionError("node \"{}\": header for stream \"{}\" may only be set in Open",
                                   *node_name_, name_);
  }
  header_ = std::move(header);
  return OkStatus();
}

const Packet& SidePacketSet::Get(std::string_view tag, int index) const {
  return Index(layout_ ? layout_->Slot(tag, index) : -1);
}

const Packet& SidePacketSet::Index(int slot) const {
  if (slot < 0 || slot >= static_cast<int>(packets_.size())) return EmptyPacket();
  return packets_[slot];
}

Status OutputSidePacketSet::Set(std::string_view tag, int index, Packet packet) {
  const int slot = layout_ ? layout_->Slot(tag, index) : -1;
  if (slot < 0) return OkStatus();  // not connected in this graph
  if (!packets_[slot].IsEmpty()) {
    return AlreadyExistsError("node \"{}\": output side packet {}:{} set twice", *node_name_, tag, index);
  }
  packets_[slot] = std::move(packet);
  return OkStatus();
}

void CalculatorContext::Setup(const std::string* node_name, const std::string* calculator_name,
                              const google::protobuf::Message* options, const PortLayout* inputs,
                              const std::vector<std::string>& input_names, const PortLayout* outputs,
                              const std::vector<std::string>& output_names, const PortLayout* input_side,
                              const PortLayout* output_side) {
  node_name_ = node_name;
  calculator_name_ = calculator_name;
  options_ = options;
  input_packets_.assign(inputs->size(), Packet());
  input_headers_.assign(inputs->size(), Packet());
  input_bounds_.assign(inputs->size(), Timestamp::Unstarted());
  inputs_.layout_ = inputs;
  inputs_.views_.resize(inputs->size());
  for (int i = 0; i < inputs->size(); ++i) {
    InputStreamView& view = inputs_.views_[i];
    view.packet_ = &input_packets_[i];
    view.header_ = &input_headers_[i];
    view.bound_ = &input_bounds_[i];
    view.name_ = input_names[i];
    view.connected_ = true;
  }
  outputs_.layout_ = outputs;
  outputs_.handles_.resize(outputs->size());
  for (int i = 0; i < outputs->size(); ++i) {
    OutputStreamHandle& handle = outputs_.handles_[i];
    handle.name_ = output_names[i];
    handle.connected_ = true;
    handle.node_name_ = node_name;
  }
  outputs_.disconnected_.node_name_ = node_name;
  input_side_packets_.layout_ = input_side;
  input_side_packets_.packets_.assign(input_side->size(), Packet());
  output_side_packets_.layout_ = output_side;
  output_side_packets_.packets_.assign(output_side->size(), Packet());
  output_side_packets_.node_name_ = node_name;
}

// ---- Registry ---------------------------------------------------------------

void RegisterBuiltinCalculators(CalculatorRegistry& registry);  // generated per library

namespace {
// Python registers calculators at run time while other threads build graphs.
// One lock for every registry (there is one in practice); entries are never
// removed, so a pointer Find returned stays valid after the lock is dropped.
std::shared_mutex& RegistryMutex() {
  static std::shared_mutex mutex;
  return mutex;
}
}  // namespace

CalculatorRegistry& CalculatorRegistry::Global() {
  static CalculatorRegistry* registry = [] {
    auto* r = new CalculatorRegistry();
    RegisterBuiltinCalculators(*r);
    return r;
  }();
  return *registry;
}

Status CalculatorRegistry::Register(CalculatorRegistration registration) {
  std::unique_lock lock(RegistryMutex());
  auto it = registrations_.find(registration.name);
  if (it != registrations_.end()) {
    // The same calculator seen twice (its static registrar and the built-in list).
    if (it->second.source_file == registration.source_file) return OkStatus();
    return AlreadyExistsError("calculator \"{}\" is registered twice ({} and {})", registration.name,
                              it->second.source_file, registration.source_file);
  }
  std::string name = registration.name;
  registrations_.emplace(std::move(name), std::move(registration));
  return OkStatus();
}

const CalculatorRegistration* CalculatorRegistry::Find(std::string_view name) const {
  std::shared_lock lock(RegistryMutex());
  auto it = registrations_.find(name);
  return it == registrations_.end() ? nullptr : &it->second;
}

std::vector<std::string> CalculatorRegistry::Names() const {
  std::shared_lock lock(RegistryMutex());
  std::vector<std::string> names;
  for (const auto& [name, _] : registrations_) names.push_back(name);
  return names;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string CalculatorRegistry::ClosestName(std::string_view name) const {
  std::shared_lock lock(RegistryMutex());
  std::string best;
  size_t best_distance = std::string::npos;
  for (const auto& [candidate, _] : registrations_) {
    const size_t distance = EditDistance(name, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

namespace internal {
StaticRegistrar::StaticRegistrar(CalculatorRegistration registration) {
  Status status = CalculatorRegistry::Global().Register(std::move(registration));
  if (!status.ok()) fmt::print(stderr, "edgepipe: {}\n", status.ToString());
}
}  // namespace internal

}  // namespace edgepipe
