// Calculators written in Python, registered by name and used in graph configs
// next to C++ calculators:
//
//   class ScoreFilter(edgepipe.Calculator):
//       inputs = {"DETECTIONS": "detections"}
//       outputs = {"DETECTIONS": "detections"}
//       input_side_packets = {"MIN_SCORE": "float?"}     # "?": optional
//       def open(self, ctx): self.min_score = ctx.side_packets.get("MIN_SCORE", 0.5)
//       def process(self, ctx):
//           ctx.output("DETECTIONS", [d for d in ctx.inputs["DETECTIONS"] if d["score"] >= self.min_score])
//   edgepipe.register_calculator("ScoreFilter", ScoreFilter)
//
// The contract (ports, kinds, doc) is read from the class once, at
// registration; the graph validates configs against it like any other. Each
// node makes its own instance in Open. Python code runs with the GIL taken
// only for the call; everything else in the graph runs without it. An
// exception in open/process/close fails the run with an error naming the node
// (raised as an edgepipe.Error by wait_until_done); StopIteration from a
// source's process ends the source. Calls that wait for a graph raise
// edgepipe.DeadlockError from inside a Python calculator (callback_scope.h).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/calculator.h"
#include "python/callback_scope.h"
#include "python/errors.h"
#include "python/numpy_interop.h"

namespace py = pybind11;

namespace edgepipe::python {
namespace {

struct PortDecl {
  std::string tag;
  std::string kind_name;
  ValueKind kind = ValueKind::kAuto;
  TypeId type;
  bool optional = false;
};

struct PythonCalculatorSpec {
  std::string name;
  std::shared_ptr<PyOwned> cls;
  std::string doc;
  std::vector<PortDecl> inputs, outputs, input_side_packets, output_side_packets;
  std::optional<int64_t> timestamp_offset;
};

// What a Python calculator's code sees: plain values, no pointer into the
// running graph (a context kept after the call is harmless).
class PyCalculatorContext {
 public:
  py::dict inputs;
  py::dict side_packets;
  py::object timestamp_us = py::none();
  std::string node_name;
  std::vector<std::tuple<std::string, py::object, std::optional<int64_t>>> outputs;
  std::vector<std::pair<std::string, py::object>> output_side_packets;
};

// The spec of a registered name; re-registering the name from Python replaces
// it for graphs built afterwards (running nodes keep the spec they started with).
struct SpecSlot {
  std::mutex mutex;
  std::shared_ptr<const PythonCalculatorSpec> spec;
  std::shared_ptr<const PythonCalculatorSpec> Get() {
    std::lock_guard lock(mutex);
    return spec;
  }
};

std::map<std::string, std::shared_ptr<SpecSlot>>& Slots() {
  static auto* slots = new std::map<std::string, std::shared_ptr<SpecSlot>>();  // never destroyed
  return *slots;
}

const PortDecl* FindPort(const std::vector<PortDecl>& ports, const std::string& tag) {
  for (const PortDecl& port : ports) {
    if (port.tag == tag) return &port;
  }
  return nullptr;
}

std::string PortList(const std::vector<PortDecl>& ports) {
  std::string list;
  for (const PortDecl& port : ports) list += (list.empty() ? "" : ", ") + port.tag;
  return list.empty() ? "none" : list;
}

Status PythonError(const PythonCalculatorSpec& spec, const char* method, const std::string& what) {
  return UnknownError("Python calculator {} raised in {}(): {}", spec.name, method, what);
}

class PyCalculator final : public CalculatorBase {
 public:
  explicit PyCalculator(std::shared_ptr<const PythonCalculatorSpec> spec) : spec_(std::move(spec)) {}

  Status Open(CalculatorContext* cc) override {
    return CallPython(cc, "open", [&](PyCalculatorContext& context, const py::object& ctx) {
      py::dict side_packets;
      for (const PortDecl& port : spec_->input_side_packets) {
        const Packet& packet = cc->InputSidePackets().Tag(port.tag);
        if (!packet.IsEmpty()) side_packets[py::str(port.tag)] = FromPacket(packet);
      }
      side_packets_ = std::make_unique<PyOwned>(side_packets);
      instance_ = std::make_unique<PyOwned>(spec_->cls->get()());
      context.side_packets = side_packets;
      if (py::hasattr(instance_->get(), "open")) instance_->get().attr("open")(ctx);
      return OkStatus();
    });
  }

  Status Process(CalculatorContext* cc) override {
    return CallPython(cc, "process", [&](PyCalculatorContext& context, const py::object& ctx) {
      for (const PortDecl& port : spec_->inputs) {
        const InputStreamView& input = cc->Inputs().Tag(port.tag);
        context.inputs[py::str(port.tag)] = input.IsConnected() && !input.IsEmpty() ? FromPacket(input.Value()) : py::none();
      }
      context.side_packets = py::reinterpret_borrow<py::dict>(side_packets_->get());
      context.timestamp_us = py::int_(cc->InputTimestamp().Value());
      py::object returned;
      try {
        returned = instance_->get().attr("process")(ctx);
      } catch (py::error_already_set& error) {
        if (error.matches(PyExc_StopIteration)) return StopProcessing();
        throw;
      }
      if (py::isinstance<py::dict>(returned)) {
        for (const auto& [tag, value] : py::reinterpret_borrow<py::dict>(returned)) {
          context.outputs.emplace_back(tag.cast<std::string>(), py::reinterpret_borrow<py::object>(value), std::nullopt);
        }
      } else if (!returned.is_none()) {
        return InvalidArgumentError("Python calculator {}: process() returned a {}; return None or a dict {{tag: value}}",
                                    spec_->name, py::str(returned.get_type()).cast<std::string>());
      }
      return OkStatus();
    });
  }

  Status Close(CalculatorContext* cc) override {
    if (instance_ == nullptr) return OkStatus();
    Status status = CallPython(cc, "close", [&](PyCalculatorContext& context, const py::object& ctx) {
      context.side_packets = py::reinterpret_borrow<py::dict>(side_packets_->get());
      if (py::hasattr(instance_->get(), "close")) instance_->get().attr("close")(ctx);
      return OkStatus();
    });
    instance_.reset();  // PyOwned takes the GIL (or leaks the object while the interpreter exits)
    side_packets_.reset();
    return status;
  }

 private:
  // Runs `call` with the GIL, then hands what the Python code output to the graph.
  template <typename Call>
  Status CallPython(CalculatorContext* cc, const char* method, Call&& call) {
    // Taking the GIL while the interpreter exits ends the thread by a forced
    // unwind, which the runtime's exception guards would turn into an abort.
    if (InterpreterExiting()) return CancelledError("Python calculator {}: the interpreter is exiting", spec_->name);
    py::gil_scoped_acquire gil;
    CallbackScope scope(CallbackScope::AnyGraph());
    try {
      // Shared with Python: a context kept after the call stays valid (and unread).
      auto context = std::make_shared<PyCalculatorContext>();
      context->node_name = cc->NodeName();
      Status status = call(*context, py::cast(context));
      if (!status.ok()) return status;
      return Deliver(cc, *context);
    } catch (py::error_already_set& error) {
      return PythonError(*spec_, method, error.what());
    } catch (const std::exception& error) {
      return PythonError(*spec_, method, error.what());
    }
  }

  Status Deliver(CalculatorContext* cc, PyCalculatorContext& context) {
    for (auto& [tag, value, timestamp_us] : context.outputs) {
      const PortDecl* port = FindPort(spec_->outputs, tag);
      if (port == nullptr) {
        return InvalidArgumentError("Python calculator {} output \"{}\" is not declared (outputs: {})", spec_->name, tag,
                                    PortList(spec_->outputs));
      }
      OutputStreamHandle& output = cc->Outputs().Tag(tag);
      if (!output.IsConnected()) continue;
      Timestamp timestamp = timestamp_us ? Timestamp(*timestamp_us) : cc->InputTimestamp();
      EP_RETURN_IF_ERROR(output.Add(ToPacket(value, "", port->kind).At(timestamp)));
    }
    for (auto& [tag, value] : context.output_side_packets) {
      const PortDecl* port = FindPort(spec_->output_side_packets, tag);
      if (port == nullptr) {
        return InvalidArgumentError("Python calculator {} output side packet \"{}\" is not declared (declared: {})",
                                    spec_->name, tag, PortList(spec_->output_side_packets));
      }
      EP_RETURN_IF_ERROR(cc->OutputSidePackets().Set(tag, ToPacket(value, "", port->kind)));
    }
    return OkStatus();
  }

  std::shared_ptr<const PythonCalculatorSpec> spec_;
  std::unique_ptr<PyOwned> instance_;
  std::unique_ptr<PyOwned> side_packets_;
};

// {"TAG": "kind"} or ["TAG", …] (kind "any"); a kind ending in "?" is optional.
std::vector<PortDecl> ParsePorts(const py::object& cls, const char* attribute) {
  std::vector<PortDecl> ports;
  if (!py::hasattr(cls, attribute)) return ports;
  py::object declared = cls.attr(attribute);
  auto add = [&](const std::string& tag, std::string kind) {
    PortDecl port;
    port.tag = tag;
    if (!kind.empty() && kind.back() == '?') {
      port.optional = true;
      kind.pop_back();
    }
    port.kind_name = kind;
    auto parsed = ParseValueKind(kind);
    auto type = ValueKindType(kind);
    if (!parsed.ok() || !type.ok()) {
      RaiseError(StatusCode::kInvalidArgument,
                 fmt::format("{}[\"{}\"]: {}", attribute, tag, (parsed.ok() ? type.status() : parsed.status()).message()));
    }
    port.kind = *parsed;
    port.type = *type;
    ports.push_back(std::move(port));
  };
  if (py::isinstance<py::dict>(declared)) {
    for (const auto& [tag, kind] : py::reinterpret_borrow<py::dict>(declared)) add(tag.cast<std::string>(), kind.cast<std::string>());
  } else if (py::isinstance<py::str>(declared)) {
    RaiseError(StatusCode::kInvalidArgument, fmt::format("{} must be a dict {{tag: kind}} or a list of tags, not a str", attribute));
  } else {
    for (const py::handle tag : declared) add(tag.cast<std::string>(), "any");
  }
  return ports;
}

std::shared_ptr<const PythonCalculatorSpec> ReadSpec(const std::string& name, const py::object& cls) {
  if (!PyType_Check(cls.ptr())) RaiseError(StatusCode::kInvalidArgument, "register_calculator takes a class");
  if (!py::hasattr(cls, "process")) {
    RaiseError(StatusCode::kInvalidArgument, fmt::format("Python calculator {} has no process(self, ctx) method", name));
  }
  auto spec = std::make_shared<PythonCalculatorSpec>();
  spec->name = name;
  spec->cls = std::make_shared<PyOwned>(cls);
  py::object doc = cls.attr("__doc__");
  spec->doc = doc.is_none() ? "A calculator written in Python." : doc.cast<std::string>();
  spec->inputs = ParsePorts(cls, "inputs");
  spec->outputs = ParsePorts(cls, "outputs");
  spec->input_side_packets = ParsePorts(cls, "input_side_packets");
  spec->output_side_packets = ParsePorts(cls, "output_side_packets");
  if (py::hasattr(cls, "timestamp_offset") && !cls.attr("timestamp_offset").is_none()) {
    spec->timestamp_offset = cls.attr("timestamp_offset").cast<int64_t>();
  }
  return spec;
}

Status GetContract(const PythonCalculatorSpec& spec, CalculatorContract* cc) {
  using Add = PortSpec& (CalculatorContract::*)(std::string, TypeId);
  const std::pair<const std::vector<PortDecl>*, Add> kinds[] = {
      {&spec.inputs, &CalculatorContract::AddInput},
      {&spec.outputs, &CalculatorContract::AddOutput},
      {&spec.input_side_packets, &CalculatorContract::AddInputSidePacket},
      {&spec.output_side_packets, &CalculatorContract::AddOutputSidePacket},
  };
  for (const auto& [ports, add] : kinds) {
    for (const PortDecl& port : *ports) {
      PortSpec& added = (cc->*add)(port.tag, port.type).Doc(port.kind_name);
      if (port.optional) added.Optional();
    }
  }
  if (spec.timestamp_offset) cc->SetTimestampOffset(*spec.timestamp_offset);
  cc->SetDoc(spec.doc);
  return OkStatus();
}

void RegisterCalculator(const std::string& name, const py::object& cls) {
  auto spec = ReadSpec(name, cls);
  auto& slots = Slots();
  if (auto it = slots.find(name); it != slots.end()) {
    std::lock_guard lock(it->second->mutex);
    it->second->spec = std::move(spec);
    return;
  }
  auto slot = std::make_shared<SpecSlot>();
  slot->spec = std::move(spec);
  CalculatorRegistration registration;
  registration.name = name;
  registration.get_contract = [slot](CalculatorContract* cc) { return GetContract(*slot->Get(), cc); };
  registration.create = [slot]() -> std::unique_ptr<CalculatorBase> { return std::make_unique<PyCalculator>(slot->Get()); };
  registration.source_file = fmt::format("Python class {}.{}", py::str(cls.attr("__module__")).cast<std::string>(),
                                         py::str(cls.attr("__qualname__")).cast<std::string>());
  ThrowIfError(CalculatorRegistry::Global().Register(std::move(registration)));
  slots.emplace(name, std::move(slot));
}

}  // namespace
}  // namespace edgepipe::python

void BindPythonCalculators(py::module_& m) {
  using edgepipe::python::PyCalculatorContext;
  py::class_<PyCalculatorContext, std::shared_ptr<PyCalculatorContext>>(m, "CalculatorContext", R"doc(What a Python calculator's open/process/close see.

    inputs        {tag: value or None} for the current timestamp (process only)
    side_packets  {tag: value} of the connected input side packets
    timestamp_us  the input timestamp (process only)
    node_name     the node's name in the graph
    output(tag, value, timestamp_us=None)   adds a packet (default: the input timestamp)
    set_side_packet(tag, value)             sets an output side packet (open or close))doc")
      .def_readonly("inputs", &PyCalculatorContext::inputs)
      .def_readonly("side_packets", &PyCalculatorContext::side_packets)
      .def_readonly("timestamp_us", &PyCalculatorContext::timestamp_us)
      .def_readonly("node_name", &PyCalculatorContext::node_name)
      .def(
          "output",
          [](PyCalculatorContext& context, const std::string& tag, py::object value, std::optional<int64_t> timestamp_us) {
            context.outputs.emplace_back(tag, std::move(value), timestamp_us);
          },
          py::arg("tag"), py::arg("value"), py::arg("timestamp_us") = py::none(),
          "Adds a packet to output `tag`, converted by the port's kind, at timestamp_us (default: the input "
          "timestamp). Delivered when the call returns.")
      .def(
          "set_side_packet",
          [](PyCalculatorContext& context, const std::string& tag, py::object value) {
            context.output_side_packets.emplace_back(tag, std::move(value));
          },
          py::arg("tag"), py::arg("value"), "Sets output side packet `tag` (from open or close).");
  m.def("register_calculator", &edgepipe::python::RegisterCalculator, py::arg("name"), py::arg("cls"),
        R"doc(Registers Python class `cls` as calculator `name`, usable in graph configs.

The class declares its ports as class attributes: inputs, outputs,
input_side_packets, output_side_packets, each a dict {TAG: kind} (or a list of
tags, kind "any"). Kinds: any, image, tensor, tensors, detections, bool, int,
float, str; a trailing "?" makes the port optional. Optional attribute
timestamp_offset (int). Methods: open(self, ctx), process(self, ctx) (required;
may return {tag: value}), close(self, ctx). Registering a name again with
another class replaces it for graphs built afterwards; a C++ calculator's name
raises edgepipe.AlreadyExistsError.)doc");
}
