// Packet payloads ↔ Python values (numpy_interop.h). Zero-copy in both
// directions where the layout allows:
// - numpy → ImageFrame: a cv::Mat over the array's memory whose UMatData holds
//   the Python buffer view (OpenCV's own bindings do the same), released with
//   the GIL when the last cv::Mat sharing it goes;
// - numpy → Tensor: a Tensor over the array's memory (64-byte aligned,
//   C-contiguous), the view released by the buffer's deleter;
// - ImageFrame / Tensor / mask → numpy: a read-only array over a holder object
//   that keeps the packet's buffer alive.
#include "python/numpy_interop.h"

#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <vector>

#include <opencv2/core.hpp>

#include "calculators/types/detection.h"
#include "calculators/types/image_frame.h"
#include "calculators/types/json_serialization.h"
#include "calculators/types/segmentation_mask.h"
#include "calculators/types/tensor.h"
#include "python/errors.h"

namespace py = pybind11;

namespace edgepipe::python {
namespace {

// Releases a buffer view taken with PyObject_GetBuffer from any thread (the
// GIL is taken; at interpreter exit the view is leaked rather than touched).
void ReleaseView(Py_buffer* view) {
  if (!Py_IsInitialized() || _Py_IsFinalizing()) return;
  py::gil_scoped_acquire gil;
  PyBuffer_Release(view);
  delete view;
}

// A cv::MatAllocator whose UMatData wraps a Python buffer view. Only wrapped
// memory goes through it; anything OpenCV allocates with it (a copy of such a
// Mat) is forwarded to the standard allocator.
class PyBufferAllocator final : public cv::MatAllocator {
 public:
  cv::UMatData* Wrap(Py_buffer* view, size_t bytes) const {
    auto* u = new cv::UMatData(this);
    u->data = u->origdata = static_cast<uchar*>(view->buf);
    u->size = bytes;
    u->userdata = view;
    return u;
  }
  cv::UMatData* allocate(int dims, const int* sizes, int type, void* data, size_t* step, cv::AccessFlag flags,
                         cv::UMatUsageFlags usage) const override {
    return cv::Mat::getStdAllocator()->allocate(dims, sizes, type, data, step, flags, usage);
  }
  bool allocate(cv::UMatData* data, cv::AccessFlag flags, cv::UMatUsageFlags usage) const override {
    return cv::Mat::getStdAllocator()->allocate(data, flags, usage);
  }
  void deallocate(cv::UMatData* u) const override {
    if (u == nullptr || u->refcount != 0) return;
    ReleaseView(static_cast<Py_buffer*>(u->userdata));
    delete u;
  }
};

const PyBufferAllocator& BufferAllocator() {
  static const auto* allocator = new PyBufferAllocator();  // outlives every Mat
  return *allocator;
}

// A strided view of `value`'s memory (with format), owned until released.
std::unique_ptr<Py_buffer, void (*)(Py_buffer*)> GetView(const py::handle& value) {
  auto view = std::unique_ptr<Py_buffer, void (*)(Py_buffer*)>(new Py_buffer(), [](Py_buffer* v) {
    PyBuffer_Release(v);
    delete v;
  });
  if (PyObject_GetBuffer(value.ptr(), view.get(), PyBUF_RECORDS_RO) != 0) throw py::error_already_set();
  return view;
}

struct DTypeFormat {
  TensorDType dtype;
  const char* numpy_name;
  const char* buffer_format;  // struct-module format, as numpy exports it
};
constexpr DTypeFormat kDTypes[] = {
    {TensorDType::kFloat32, "float32", "f"}, {TensorDType::kFloat16, "float16", "e"},
    {TensorDType::kInt32, "int32", "i"},     {TensorDType::kUInt8, "uint8", "B"},
    {TensorDType::kInt8, "int8", "b"},       {TensorDType::kInt64, "int64", "l"},
    {TensorDType::kInt16, "int16", "h"},     {TensorDType::kBool, "bool", "?"},
};

TensorDType DTypeOf(const py::handle& value, const Py_buffer& view) {
  std::string name;
  if (py::hasattr(value, "dtype")) name = py::str(value.attr("dtype").attr("name")).cast<std::string>();
  std::string format = view.format != nullptr ? view.format : "B";
  if (!format.empty() && (format[0] == '<' || format[0] == '=' || format[0] == '@')) format.erase(0, 1);
  if (format == "q") format = "l";
  for (const DTypeFormat& entry : kDTypes) {
    if (name == entry.numpy_name || (name.empty() && format == entry.buffer_format)) return entry.dtype;
  }
  RaiseError(StatusCode::kInvalidArgument,
             fmt::format("no tensor type for arrays of {} (float32, float16, int32, uint8, int8, int64, int16, bool)",
                         name.empty() ? format : name));
}

Packet ImageToPacket(const py::handle& value, const std::string& image_format) {
  auto view = GetView(value);
  if (view->itemsize != 1 || (view->ndim != 2 && view->ndim != 3)) {
    RaiseError(StatusCode::kInvalidArgument,
               "an image must be a uint8 array of shape (height, width) or (height, width, channels)");
  }
  const int height = static_cast<int>(view->shape[0]);
  const int width = static_cast<int>(view->shape[1]);
  const int channels = view->ndim == 3 ? static_cast<int>(view->shape[2]) : 1;
  std::string format_name = image_format;
  if (format_name.empty()) format_name = channels == 1 ? "GRAY8" : channels == 4 ? "RGBA" : "RGB";
  auto format = ParseImageFormat(format_name);
  ThrowIfError(format.status());
  if (ImageFormatChannels(*format) != channels) {
    RaiseError(StatusCode::kInvalidArgument, fmt::format("image_format {} has {} channels, the array has {}",
                                                         format_name, ImageFormatChannels(*format), channels));
  }
  const Py_ssize_t* strides = view->strides;
  const size_t row_bytes = static_cast<size_t>(width) * channels;
  const bool pixels_packed = strides[1] == channels && (view->ndim == 2 || strides[2] == 1);
  if (pixels_packed && strides[0] >= static_cast<Py_ssize_t>(row_bytes) && height > 0 && width > 0) {
    // Zero copy: the Mat's buffer is the array's, the view is held by its UMatData.
    cv::Mat mat(height, width, CV_8UC(channels), view->buf, static_cast<size_t>(strides[0]));
    mat.u = BufferAllocator().Wrap(view.get(), static_cast<size_t>(strides[0]) * height);
    mat.addref();
    view.release();  // owned by mat.u now
    auto frame = ImageFrame::FromMat(*format, std::move(mat));
    ThrowIfError(frame.status());
    return MakePacket<ImageFrame>(std::move(*frame));
  }
  auto frame = ImageFrame::Allocate(*format, width, height);
  ThrowIfError(frame.status());
  const auto* source = static_cast<const uint8_t*>(view->buf);
  for (int y = 0; y < height; ++y) {
    uint8_t* target = frame->mat().data + y * frame->stride();
    const uint8_t* row = source + y * strides[0];
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        target[x * channels + c] = row[x * strides[1] + (view->ndim == 3 ? c * strides[2] : 0)];
      }
    }
  }
  return MakePacket<ImageFrame>(std::move(*frame));
}

Tensor ArrayToTensor(const py::handle& value) {
  auto view = GetView(value);
  const TensorDType dtype = DTypeOf(value, *view);
  std::vector<int32_t> shape(view->shape, view->shape + view->ndim);
  if (shape.empty()) shape.push_back(1);  // a scalar array: one element
  const bool contiguous = PyBuffer_IsContiguous(view.get(), 'C') != 0;
  const bool aligned = reinterpret_cast<uintptr_t>(view->buf) % Tensor::kAlignment == 0;
  if (contiguous && aligned) {
    Py_buffer* held = view.release();
    auto buffer = std::shared_ptr<std::byte[]>(static_cast<std::byte*>(held->buf), [held](std::byte*) { ReleaseView(held); });
    auto tensor = Tensor::Wrap(dtype, std::move(shape), std::move(buffer));
    ThrowIfError(tensor.status());
    return std::move(*tensor);
  }
  auto tensor = Tensor::Create(dtype, std::move(shape));
  ThrowIfError(tensor.status());
  if (PyBuffer_ToContiguous(tensor->mutable_raw_data(), view.get(), static_cast<Py_ssize_t>(tensor->num_bytes()), 'C') != 0) {
    throw py::error_already_set();
  }
  return std::move(*tensor);
}

std::vector<Detection> DetectionsFromPython(const py::handle& value) {
  std::vector<Detection> detections;
  for (const py::handle item : value) {
    if (!py::isinstance<py::dict>(item)) {
      RaiseError(StatusCode::kInvalidArgument, "detections must be a list of dicts with xmin, ymin, width, height, score");
    }
    auto d = py::reinterpret_borrow<py::dict>(item);
    Detection detection;
    auto number = [&](const char* key, float fallback) {
      return d.contains(key) ? d[key].cast<float>() : fallback;
    };
    detection.xmin = number("xmin", 0);
    detection.ymin = number("ymin", 0);
    detection.width = number("width", 0);
    detection.height = number("height", 0);
    detection.score = number("score", 0);
    detection.label_id = d.contains("label_id") ? d["label_id"].cast<int>() : 0;
    if (d.contains("keypoints")) {
      for (const py::handle point : d["keypoints"]) {
        auto xy = point.cast<std::vector<float>>();
        if (xy.size() != 2) RaiseError(StatusCode::kInvalidArgument, "a keypoint is [x, y]");
        detection.keypoints.push_back({xy[0], xy[1]});
      }
    }
    detections.push_back(std::move(detection));
  }
  return detections;
}

// What a numpy view out of a packet points into; keeps that buffer alive.
struct ReadOnlyBuffer {
  std::shared_ptr<const void> owner;
  const void* data = nullptr;
  std::string format;
  py::ssize_t itemsize = 1;
  std::vector<py::ssize_t> shape, strides;
};

py::object AsArray(ReadOnlyBuffer buffer) {
  return py::module_::import("numpy").attr("asarray")(py::cast(std::move(buffer)));
}

// A 2-D (or HxWxC) cv::Mat as a read-only numpy view.
py::object MatView(const cv::Mat& mat) {
  ReadOnlyBuffer buffer;
  buffer.owner = std::make_shared<cv::Mat>(mat);  // shares the reference-counted pixels
  buffer.data = mat.data;
  buffer.itemsize = static_cast<py::ssize_t>(mat.elemSize1());
  buffer.format = mat.depth() == CV_32F ? "f" : "B";
  buffer.shape = {mat.rows, mat.cols};
  buffer.strides = {static_cast<py::ssize_t>(mat.step[0]), static_cast<py::ssize_t>(mat.elemSize())};
  if (mat.channels() > 1) {
    buffer.shape.push_back(mat.channels());
    buffer.strides.push_back(buffer.itemsize);
  }
  return AsArray(std::move(buffer));
}

py::object TensorView(const Tensor& tensor) {
  ReadOnlyBuffer buffer;
  buffer.owner = std::make_shared<Tensor>(tensor);  // shares the buffer
  buffer.data = tensor.raw_data();
  buffer.itemsize = static_cast<py::ssize_t>(TensorElementSize(tensor.dtype()));
  for (const DTypeFormat& entry : kDTypes) {
    if (entry.dtype == tensor.dtype()) buffer.format = entry.buffer_format;
  }
  py::ssize_t stride = buffer.itemsize;
  for (auto dim = tensor.shape().rbegin(); dim != tensor.shape().rend(); ++dim) {
    buffer.shape.insert(buffer.shape.begin(), *dim);
    buffer.strides.insert(buffer.strides.begin(), stride);
    stride *= *dim;
  }
  return AsArray(std::move(buffer));
}

}  // namespace

Result<ValueKind> ParseValueKind(const std::string& name) {
  if (name == "image") return ValueKind::kImage;
  if (name == "tensor") return ValueKind::kTensor;
  if (name == "tensors") return ValueKind::kTensors;
  if (name == "detections") return ValueKind::kDetections;
  if (name == "any" || name == "bool" || name == "int" || name == "float" || name == "str") return ValueKind::kAuto;
  return InvalidArgumentError("unknown port kind \"{}\" (any, image, tensor, tensors, detections, bool, int, float, str)",
                              name);
}

Result<TypeId> ValueKindType(const std::string& kind_name) {
  if (kind_name == "image") return TypeId::Of<ImageFrame>();
  if (kind_name == "tensor") return TypeId::Of<Tensor>();
  if (kind_name == "tensors") return TypeId::Of<std::vector<Tensor>>();
  if (kind_name == "detections") return TypeId::Of<std::vector<Detection>>();
  if (kind_name == "bool") return TypeId::Of<bool>();
  if (kind_name == "int") return TypeId::Of<int64_t>();
  if (kind_name == "float") return TypeId::Of<double>();
  if (kind_name == "str") return TypeId::Of<std::string>();
  if (kind_name == "any") return TypeId::Any();
  return ParseValueKind(kind_name).status();
}

Packet ToPacket(const py::handle& value, const std::string& image_format, ValueKind kind) {
  switch (kind) {
    case ValueKind::kImage: return ImageToPacket(value, image_format);
    case ValueKind::kTensor: return MakePacket<Tensor>(ArrayToTensor(value));
    case ValueKind::kTensors: {
      std::vector<Tensor> tensors;
      for (const py::handle item : value) tensors.push_back(ArrayToTensor(item));
      return MakePacket<std::vector<Tensor>>(std::move(tensors));
    }
    case ValueKind::kDetections: return MakePacket<std::vector<Detection>>(DetectionsFromPython(value));
    case ValueKind::kAuto: break;
  }
  if (py::isinstance<py::bool_>(value)) return MakePacket<bool>(value.cast<bool>());
  if (py::isinstance<py::int_>(value)) return MakePacket<int64_t>(value.cast<int64_t>());
  if (py::isinstance<py::float_>(value)) return MakePacket<double>(value.cast<double>());
  if (py::isinstance<py::str>(value)) return MakePacket<std::string>(value.cast<std::string>());
  if (PyObject_CheckBuffer(value.ptr())) {
    auto view = GetView(value);
    const bool image_like = view->itemsize == 1 && (view->ndim == 2 || view->ndim == 3) &&
                            DTypeOf(value, *view) == TensorDType::kUInt8 &&
                            (view->ndim == 2 || view->shape[2] == 1 || view->shape[2] == 3 || view->shape[2] == 4);
    view.reset();
    if (image_like) return ImageToPacket(value, image_format);
    return MakePacket<Tensor>(ArrayToTensor(value));
  }
  RaiseError(StatusCode::kInvalidArgument,
             fmt::format("cannot send a Python {} as a packet (use bool, int, float, str or a numpy array)",
                         py::str(value.get_type()).cast<std::string>()));
}

py::object FromPacket(const Packet& packet) {
  if (const auto* v = packet.TryGet<bool>()) return py::bool_(*v);
  if (const auto* v = packet.TryGet<int64_t>()) return py::int_(*v);
  if (const auto* v = packet.TryGet<int>()) return py::int_(*v);
  if (const auto* v = packet.TryGet<double>()) return py::float_(*v);
  if (const auto* v = packet.TryGet<float>()) return py::float_(*v);
  if (const auto* v = packet.TryGet<std::string>()) return py::str(*v);
  if (const auto* frame = packet.TryGet<ImageFrame>()) return MatView(frame->mat());
  if (const auto* tensor = packet.TryGet<Tensor>()) return TensorView(*tensor);
  if (const auto* tensors = packet.TryGet<std::vector<Tensor>>()) {
    py::list arrays;
    for (const Tensor& tensor : *tensors) arrays.append(TensorView(tensor));
    return arrays;
  }
  // Before any generic conversion: a mask is worth more as an array than as its JSON summary.
  if (const auto* mask = packet.TryGet<SegmentationMask>()) {
    py::dict result;
    result["kind"] = mask->kind == SegmentationMask::Kind::kLabels ? "labels" : "probability";
    result["mask"] = MatView(mask->mask);
    result["labels"] = mask->labels;
    return result;
  }
  // Result types (detections, landmarks, rects, …) arrive as the JSON writer
  // writes them, as dicts and lists: one conversion for every registered type.
  if (JsonSerializerRegistry::Global().Has(packet.type())) {
    auto json = JsonSerializerRegistry::Global().Serialize(packet);
    ThrowIfError(json.status());
    return py::module_::import("json").attr("loads")(json->dump());
  }
  RaiseError(StatusCode::kUnimplemented, fmt::format("no Python conversion for packets of type {}", packet.TypeName()));
}

void BindNumpyInterop(py::module_& m) {
  py::class_<ReadOnlyBuffer>(m, "_ReadOnlyBuffer", py::buffer_protocol(),
                             "The buffer of a packet (image, tensor, mask) behind a read-only numpy view.")
      .def_buffer([](ReadOnlyBuffer& buffer) {
        return py::buffer_info(const_cast<void*>(buffer.data), buffer.itemsize, buffer.format,
                               static_cast<py::ssize_t>(buffer.shape.size()), buffer.shape, buffer.strides,
                               /*readonly=*/true);
      });
}

}  // namespace edgepipe::python
