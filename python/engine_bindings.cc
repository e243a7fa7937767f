// Python bindings of the TFLite engine: load a model, inspect inputs/outputs,
// set inputs from numpy, invoke, read outputs as numpy arrays. The interface
// mirrors LiteRT's Interpreter closely enough to compare the two in tests.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <string>

#include <fmt/ranges.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "engine/backend_registry.h"
#include "engine/interpreter.h"
#include "engine/model.h"
#include "python/errors.h"

namespace py = pybind11;
using namespace edgepipe;
using namespace edgepipe::engine;

namespace {

// Every error is an edgepipe.Error subclass (python/errors.h).
[[noreturn]] void Raise(const Status& status) { edgepipe::python::RaiseStatus(status); }

// Arrays and dtypes are made through numpy's Python API rather than
// pybind11's C-level helpers: Debian's pybind11 2.10 predates NumPy 2, whose
// dtype struct layout changed (pybind11 would read a wrong itemsize). Our
// dtype names (DTypeName) are numpy's.

py::object NumpyDType(DType dtype) { return py::module_::import("numpy").attr("dtype")(DTypeName(dtype)); }

// A new C-contiguous numpy array holding a copy of `bytes`.
template <typename Shape>
py::array NewArray(const Shape& shape, const char* dtype, const void* bytes, size_t size) {
  py::tuple dims(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) dims[i] = py::int_(static_cast<int64_t>(shape[i]));
  py::array out = py::module_::import("numpy").attr("empty")(dims, dtype);
  if (size > 0) std::memcpy(out.mutable_data(), bytes, size);
  return out;
}

template <typename T>
py::array ArrayOf(const std::vector<T>& values, const char* dtype) {
  return NewArray(std::vector<size_t>{values.size()}, dtype, values.data(), values.size() * sizeof(T));
}

py::dict Details(const TensorView& view, size_t index) {
  py::dict d;
  d["name"] = view.name;
  d["index"] = index;
  d["shape"] = ArrayOf(view.shape, "int32");
  d["dtype"] = NumpyDType(view.dtype);
  const bool per_tensor = view.quant.scale.size() == 1;
  d["quantization"] = py::make_tuple(per_tensor ? view.quant.scale[0] : 0.0f,
                                     per_tensor ? view.quant.zero_point[0] : int64_t{0});
  py::dict q;
  q["scales"] = ArrayOf(view.quant.scale, "float32");
  q["zero_points"] = ArrayOf(view.quant.zero_point, "int64");
  q["quantized_dimension"] = view.quant.axis;
  d["quantization_parameters"] = q;
  return d;
}

py::array ToNumpy(const TensorView& view) {
  return NewArray(view.shape, DTypeName(view.dtype), view.data, view.num_bytes());
}

class PyInterpreter {
 public:
  PyInterpreter(const std::string& model_path, int num_threads, bool fp16_inference, bool profile_per_op,
                bool preserve_all_tensors, std::vector<std::string> backends, std::optional<std::string> isa) {
    InterpreterOptions options;
    options.num_threads = num_threads;
    options.fp16_inference = fp16_inference;
    options.profile_per_op = profile_per_op;
    options.preserve_all_tensors = preserve_all_tensors;
    options.backends = std::move(backends);
    Status status;
    {
      py::gil_scoped_release release;  // loading and planning take a while
      status = Load(model_path, isa, options);
    }
    if (!status.ok()) Raise(status);
  }

  py::list InputDetails() const {
    py::list l;
    for (size_t i = 0; i < interpreter_->num_inputs(); ++i) l.append(Details(interpreter_->input(i), i));
    return l;
  }
  py::list OutputDetails() const {
    py::list l;
    for (size_t i = 0; i < interpreter_->num_outputs(); ++i) l.append(Details(interpreter_->output(i), i));
    return l;
  }

  void SetInput(size_t i, py::array value) {
    if (i >= interpreter_->num_inputs())
      edgepipe::python::RaiseError(StatusCode::kOutOfRange, fmt::format("input {} out of range ({} inputs)", i, interpreter_->num_inputs()));
    TensorView& view = interpreter_->input(i);
    if (!value.dtype().equal(py::dtype(std::string(DTypeName(view.dtype)))))
      edgepipe::python::RaiseError(StatusCode::kInvalidArgument, fmt::format("input {} '{}' is {}, got an array of {}", i, view.name,
                                        DTypeName(view.dtype), std::string(py::str(value.dtype()))));
    std::vector<int32_t> shape(value.shape(), value.shape() + value.ndim());
    if (shape != view.shape)
      edgepipe::python::RaiseError(StatusCode::kInvalidArgument, fmt::format("input {} '{}' has shape [{}], got [{}]", i, view.name,
                                        fmt::join(view.shape, ","), fmt::join(shape, ",")));
    py::array contiguous = py::array::ensure(value, py::array::c_style);
    if (!contiguous) throw py::error_already_set();
    std::memcpy(view.data, contiguous.data(), view.num_bytes());
  }

  py::array GetOutput(size_t i) const {
    if (i >= interpreter_->num_outputs())
      edgepipe::python::RaiseError(StatusCode::kOutOfRange, fmt::format("output {} out of range ({} outputs)", i, interpreter_->num_outputs()));
    return ToNumpy(interpreter_->output(i));
  }
  py::array GetInput(size_t i) const {
    if (i >= interpreter_->num_inputs())
      edgepipe::python::RaiseError(StatusCode::kOutOfRange, fmt::format("input {} out of range ({} inputs)", i, interpreter_->num_inputs()));
    return ToNumpy(interpreter_->input(i));
  }

  void Invoke() {
    Status status;
    {
      py::gil_scoped_release release;
      status = interpreter_->Invoke();
    }
    if (!status.ok()) Raise(status);
  }

  py::list Placements() const {
    py::list l;
    for (const OpPlacement& p : interpreter_->placements()) {
      py::dict d;
      d["op_index"] = p.op_index;
      d["op_name"] = p.op_name;
      d["backend"] = p.backend;
      d["variant"] = p.variant;
      d["step"] = p.step;
      l.append(d);
    }
    return l;
  }

  // Runs once with the profile listener attached and returns the step times.
  py::list ProfileInvoke() {
    std::vector<StepProfile> profiles;
    interpreter_->set_profile_listener([&](const StepProfile& p) { profiles.push_back(p); });
    Status status;
    {
      py::gil_scoped_release release;
      status = interpreter_->Invoke();
    }
    interpreter_->set_profile_listener(nullptr);
    if (!status.ok()) Raise(status);
    py::list l;
    for (const StepProfile& p : profiles) {
      py::dict d;
      d["step"] = p.step;
      d["backend"] = p.backend;
      d["op_indices"] = p.op_indices;
      d["op_names"] = p.op_names;
      d["microseconds"] = p.microseconds;
      l.append(d);
    }
    return l;
  }

  Interpreter& get() { return *interpreter_; }

 private:
  Status Load(const std::string& model_path, const std::optional<std::string>& isa, InterpreterOptions options) {
    EP_ASSIGN_OR_RETURN(auto model, Model::Load(model_path));
    if (isa.has_value()) {
      EP_ASSIGN_OR_RETURN(options.isa, ParseIsa(*isa));
    }
    EP_ASSIGN_OR_RETURN(interpreter_, Interpreter::Create(model, options));
    return OkStatus();
  }

  std::unique_ptr<Interpreter> interpreter_;
};

// Reads an image file as RGB uint8 [H, W, 3], resized (bilinear) when width
// and height are given. Tests and tools use it so that edgepipe and the
// reference runtime see exactly the same pixels.
py::array ReadImageRgb(const std::string& path, int width, int height) {
  cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  if (bgr.empty()) edgepipe::python::RaiseError(StatusCode::kNotFound, fmt::format("cannot read image '{}'", path));
  if (width > 0 && height > 0) cv::resize(bgr, bgr, cv::Size(width, height), 0, 0, cv::INTER_LINEAR);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  if (!rgb.isContinuous()) rgb = rgb.clone();
  return NewArray(std::vector<int>{rgb.rows, rgb.cols, 3}, "uint8", rgb.ptr(), rgb.total() * 3);
}

}  // namespace

void BindEngine(py::module_& m) {
  // Load numpy's C API now, with the module, rather than in the first
  // set_input (0.5 ms, which would count as model load time).
  py::array_t<uint8_t>(1);
  m.def(
      "cpu_info",
      [] {
        const engine::CpuFeatures& cpu = engine::HostCpu();
        py::dict d;
        d["name"] = cpu.name;
        d["arch"] = cpu.arch;
        py::list isas;
        for (Isa isa : ArchIsas())
          if (CpuRunsIsa(cpu, isa)) isas.append(std::string(IsaName(isa)));
        d["isas"] = isas;  // every level this CPU runs, lowest first
        d["best_isa"] = std::string(IsaName(BestIsa(cpu)));
        d["isa_cap"] = std::string(IsaName(EffectiveIsaCap(std::nullopt)));
        return d;
      },
      "The CPU, the instruction-set levels our kernels can use on it, and the current cap (EDGEPIPE_ISA).");
  m.def("backend_names",
        [] {
          py::list names;
          for (const BackendFactory& f : BackendFactories()) names.append(std::string(f.name));
          return names;
        },
        "Every backend, in the default order (not all are in the default list on every CPU).");
  m.def("read_image_rgb", &ReadImageRgb, py::arg("path"), py::arg("width") = 0, py::arg("height") = 0,
        "Reads an image as RGB uint8 [H, W, 3] with OpenCV, optionally resized (bilinear).");
  py::class_<PyInterpreter>(m, "Interpreter",
                            "Runs a .tflite model on edgepipe's engine (XNNPACK + own kernels).")
      .def(py::init<const std::string&, int, bool, bool, bool, std::vector<std::string>, std::optional<std::string>>(),
           py::arg("model_path"), py::arg("num_threads") = 1, py::arg("fp16_inference") = false,
           py::arg("profile_per_op") = false, py::arg("preserve_all_tensors") = false,
           py::arg("backends") = std::vector<std::string>{}, py::arg("isa") = std::nullopt,
           "backends: names in the order asked for each op (default: the list for this CPU); isa: the highest "
           "instruction set our kernels may use ('generic', 'avx2', 'avxvnni', 'avx512', 'neon', 'neondot').")
      .def(
          "get_tensor",
          [](PyInterpreter& self, int index) -> py::object {
            const TensorView* view = self.get().tensor(index);
            if (view == nullptr) return py::none();
            return ToNumpy(*view);
          },
          py::arg("index"), "A model tensor by index (intermediates need preserve_all_tensors=True), or None.")
      .def("get_input_details", &PyInterpreter::InputDetails)
      .def("get_output_details", &PyInterpreter::OutputDetails)
      .def("set_input", &PyInterpreter::SetInput, py::arg("index"), py::arg("value"))
      .def("get_input", &PyInterpreter::GetInput, py::arg("index"))
      .def("get_output", &PyInterpreter::GetOutput, py::arg("index"))
      .def("invoke", &PyInterpreter::Invoke)
      .def("profile_invoke", &PyInterpreter::ProfileInvoke,
           "Invoke once and return per-step times (per op with profile_per_op=True).")
      .def("placements", &PyInterpreter::Placements, "Which backend runs each model operator.")
      .def("reset_variable_tensors", [](PyInterpreter& self) { self.get().ResetVariableTensors(); })
      .def_property_readonly("rewrites", [](PyInterpreter& self) { return self.get().rewrites(); })
      .def_property_readonly("num_steps", [](PyInterpreter& self) { return self.get().num_steps(); })
      .def_property_readonly("arena_bytes", [](PyInterpreter& self) { return self.get().arena_bytes(); })
      .def_property_readonly("fp16_inference_active",
                             [](PyInterpreter& self) { return self.get().fp16_inference_active(); })
      .def_property_readonly("fp16_status", [](PyInterpreter& self) {
        const Status& s = self.get().fp16_status();
        return s.ok() ? std::string() : s.message();
      });
}
