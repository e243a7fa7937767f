// Python bindings of the graph runtime: build a graph from a text config, feed
// packets (numbers, strings, numpy images), observe or poll outputs, run.
//
//   g = edgepipe.Graph(config_text)
//   g.observe("out", lambda value, timestamp_us: ...)
//   g.start({"input_path": "video.avi"})
//   g.add("in", numpy_rgb_image, timestamp_us=0, image_format="RGB")
//   g.close_all(); g.wait_until_done()
//
// Observers run on the graph's threads with the GIL taken; every blocking call
// releases the GIL so those threads can call back into Python.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <string>

#include "calculators/types/classification.h"
#include "calculators/types/image_frame.h"
#include "calculators/types/json_serialization.h"
#include "calculators/types/segmentation_mask.h"
#include "core/calculator.h"
#include "core/graph.h"

namespace py = pybind11;

namespace edgepipe {
namespace {

class GraphError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void ThrowIfError(const Status& status) {
  if (!status.ok()) throw GraphError(status.ToString());
}

// Python value → packet payload. Images come in as HxW or HxWxC uint8 arrays
// (anything with the buffer protocol); the pixels are copied once.
Packet ToPacket(const py::handle& value, const std::string& image_format) {
  if (py::isinstance<py::bool_>(value)) return MakePacket<bool>(value.cast<bool>());
  if (py::isinstance<py::int_>(value)) return MakePacket<int64_t>(value.cast<int64_t>());
  if (py::isinstance<py::float_>(value)) return MakePacket<double>(value.cast<double>());
  if (py::isinstance<py::str>(value)) return MakePacket<std::string>(value.cast<std::string>());
  if (py::isinstance<py::buffer>(value)) {
    py::buffer_info info = py::reinterpret_borrow<py::buffer>(value).request();
    if (info.itemsize != 1 || (info.ndim != 2 && info.ndim != 3)) {
      throw GraphError("an image must be a uint8 array of shape (height, width) or (height, width, channels)");
    }
    const int height = static_cast<int>(info.shape[0]);
    const int width = static_cast<int>(info.shape[1]);
    const int channels = info.ndim == 3 ? static_cast<int>(info.shape[2]) : 1;
    std::string format_name = image_format;
    if (format_name.empty()) format_name = channels == 1 ? "GRAY8" : channels == 4 ? "RGBA" : "RGB";
    auto format = ParseImageFormat(format_name);
    ThrowIfError(format.status());
    if (ImageFormatChannels(*format) != channels) {
      throw GraphError(fmt::format("image_format {} has {} channels, the array has {}", format_name,
                                   ImageFormatChannels(*format), channels));
    }
    auto frame = ImageFrame::Allocate(*format, width, height);
    ThrowIfError(frame.status());
    const auto* source = static_cast<const uint8_t*>(info.ptr);
    const size_t row_bytes = static_cast<size_t>(width) * channels;
    const bool rows_packed = info.strides[1] == channels && (info.ndim == 2 || info.strides[2] == 1);
    for (int y = 0; y < height; ++y) {
      uint8_t* target = frame->mat().data + y * frame->stride();
      const uint8_t* row = source + y * info.strides[0];
      if (rows_packed) {
        std::memcpy(target, row, row_bytes);
        continue;
      }
      for (int x = 0; x < width; ++x) {
        for (int c = 0; c < channels; ++c) {
          target[x * channels + c] = row[x * info.strides[1] + (info.ndim == 3 ? c * info.strides[2] : 0)];
        }
      }
    }
    return MakePacket<ImageFrame>(std::move(*frame));
  }
  throw GraphError(fmt::format("cannot send a Python {} as a packet (use bool, int, float, str or a uint8 image array)",
                               py::str(value.get_type()).cast<std::string>()));
}

// A dense 2-D cv::Mat (uint8 or float32) as a numpy array (a copy).
py::object MatToNumpy(const cv::Mat& mat) {
  const bool is_float = mat.depth() == CV_32F;
  const size_t row_bytes = static_cast<size_t>(mat.cols) * mat.elemSize();
  std::string bytes(row_bytes * mat.rows, '\0');
  for (int y = 0; y < mat.rows; ++y) std::memcpy(bytes.data() + y * row_bytes, mat.ptr(y), row_bytes);
  py::object numpy = py::module_::import("numpy");
  py::object array = numpy.attr("frombuffer")(py::bytes(bytes), is_float ? "float32" : "uint8");
  return array.attr("reshape")(py::make_tuple(mat.rows, mat.cols));
}

// Packet payload → Python value; images become numpy uint8 arrays (a copy);
// classifications a list of {"index", "score", "label"} dicts; a segmentation
// mask a dict {"kind": "labels"|"probability", "mask": HxW uint8 labels or
// float32 probabilities, "labels": label names}.
py::object FromPacket(const Packet& packet) {
  if (const auto* v = packet.TryGet<bool>()) return py::bool_(*v);
  if (const auto* v = packet.TryGet<int64_t>()) return py::int_(*v);
  if (const auto* v = packet.TryGet<int>()) return py::int_(*v);
  if (const auto* v = packet.TryGet<double>()) return py::float_(*v);
  if (const auto* v = packet.TryGet<float>()) return py::float_(*v);
  if (const auto* v = packet.TryGet<std::string>()) return py::str(*v);
  // Before any generic conversion: a mask is worth more as an array than as its JSON summary.
  if (const auto* mask = packet.TryGet<SegmentationMask>()) {
    py::dict result;
    result["kind"] = mask->kind == SegmentationMask::Kind::kLabels ? "labels" : "probability";
    result["mask"] = MatToNumpy(mask->mask);
    result["labels"] = mask->labels;
    return result;
  }
  if (const auto* classifications = packet.TryGet<std::vector<Classification>>()) {
    py::list result;
    for (const Classification& c : *classifications) {
      py::dict entry;
      entry["index"] = c.index;
      entry["score"] = c.score;
      entry["label"] = c.label;
      result.append(entry);
    }
    return result;
  }
  if (const auto* frame = packet.TryGet<ImageFrame>()) {
    const int channels = frame->channels();
    std::string pixels(static_cast<size_t>(frame->width()) * frame->height() * channels, '\0');
    for (int y = 0; y < frame->height(); ++y) {
      std::memcpy(pixels.data() + static_cast<size_t>(y) * frame->width() * channels,
                  frame->data() + y * frame->stride(), static_cast<size_t>(frame->width()) * channels);
    }
    // numpy through its Python API: Debian's pybind11 predates NumPy 2's C layout.
    py::object numpy = py::module_::import("numpy");
    py::object array = numpy.attr("frombuffer")(py::bytes(pixels), "uint8");
    py::tuple shape = channels == 1 ? py::make_tuple(frame->height(), frame->width())
                                    : py::make_tuple(frame->height(), frame->width(), channels);
    return array.attr("reshape")(shape);
  }
  // Result types (detections, landmarks, rects, …) arrive as the JSON writer
  // writes them, as dicts and lists: one conversion for every registered type.
  if (JsonSerializerRegistry::Global().Has(packet.type())) {
    auto json = JsonSerializerRegistry::Global().Serialize(packet);
    ThrowIfError(json.status());
    return py::module_::import("json").attr("loads")(json->dump());
  }
  throw GraphError(fmt::format("no Python conversion for packets of type {}", packet.TypeName()));
}

SidePackets ToSidePackets(const py::dict& values) {
  SidePackets side_packets;
  for (const auto& [key, value] : values) side_packets[key.cast<std::string>()] = ToPacket(value, "");
  return side_packets;
}

class PyGraph {
 public:
  explicit PyGraph(const std::string& config_text, const std::string& source_name) {
    auto config = ParseGraphConfig(config_text, source_name);
    ThrowIfError(config.status());
    ThrowIfError(graph_.Initialize(*config));
  }
  static std::unique_ptr<PyGraph> FromFile(const std::string& path) {
    auto config = LoadGraphConfigFile(path);
    ThrowIfError(config.status());
    auto graph = std::unique_ptr<PyGraph>(new PyGraph());
    ThrowIfError(graph->graph_.Initialize(*config));
    return graph;
  }
  ~PyGraph() {
    py::gil_scoped_release release;
    graph_.Cancel();
  }

  void Observe(const std::string& stream, py::function callback) {
    auto shared = std::make_shared<py::function>(std::move(callback));
    ThrowIfError(graph_.ObserveOutputStream(stream, [shared](const Packet& packet) -> Status {
      py::gil_scoped_acquire gil;
      try {
        (*shared)(FromPacket(packet), packet.timestamp().Value());
      } catch (const std::exception& error) {
        return UnknownError("Python observer raised: {}", error.what());
      }
      return OkStatus();
    }));
  }

  void Start(const py::dict& side_packets) {
    SidePackets values = ToSidePackets(side_packets);
    py::gil_scoped_release release;
    ThrowIfError(graph_.StartRun(values));
  }

  void Add(const std::string& stream, const py::object& value, int64_t timestamp_us, const std::string& image_format,
           bool block) {
    Packet packet = ToPacket(value, image_format).At(Timestamp(timestamp_us));
    py::gil_scoped_release release;
    ThrowIfError(graph_.AddPacketToInputStream(stream, std::move(packet),
                                               block ? AddMode::kBlockIfFull : AddMode::kFailIfFull));
  }

  void Close(const std::string& stream) { ThrowIfError(graph_.CloseInputStream(stream)); }
  void CloseAll() { ThrowIfError(graph_.CloseAllInputStreams()); }
  void WaitUntilIdle() {
    py::gil_scoped_release release;
    ThrowIfError(graph_.WaitUntilIdle());
  }
  void WaitUntilDone() {
    py::gil_scoped_release release;
    ThrowIfError(graph_.WaitUntilDone());
  }
  void Run(const py::dict& side_packets) {
    SidePackets values = ToSidePackets(side_packets);
    py::gil_scoped_release release;
    ThrowIfError(graph_.Run(values));
  }
  py::object SidePacket(const std::string& name) {
    auto packet = graph_.GetOutputSidePacket(name);
    ThrowIfError(packet.status());
    return FromPacket(*packet);
  }
  py::list Stats() const {
    py::list rows;
    for (const NodeStats& stats : graph_.Stats()) {
      py::dict row;
      row["node"] = stats.node;
      row["calculator"] = stats.calculator;
      row["process_calls"] = stats.process_calls;
      row["packets_in"] = stats.packets_in;
      row["packets_out"] = stats.packets_out;
      row["max_queue_seen"] = stats.max_queue_seen;
      rows.append(row);
    }
    return rows;
  }

 private:
  PyGraph() = default;
  Graph graph_;
};

}  // namespace
}  // namespace edgepipe

void BindGraph(py::module_& m) {
  using edgepipe::PyGraph;
  py::register_exception<edgepipe::GraphError>(m, "GraphError", PyExc_RuntimeError);
  py::class_<PyGraph>(m, "Graph", "A validated graph of calculators, built from a text-format config.")
      .def(py::init<const std::string&, const std::string&>(), py::arg("config"), py::arg("source_name") = "<python>")
      .def_static("from_file", &PyGraph::FromFile, py::arg("path"))
      .def("observe", &PyGraph::Observe, py::arg("stream"), py::arg("callback"),
           "Calls callback(value, timestamp_us) for every packet of `stream` (on a graph thread).")
      .def("start", &PyGraph::Start, py::arg("side_packets") = py::dict())
      .def("add", &PyGraph::Add, py::arg("stream"), py::arg("value"), py::arg("timestamp_us"),
           py::arg("image_format") = "", py::arg("block") = true,
           "Adds a packet: bool, int, float, str, or a uint8 image array (HxW or HxWxC).")
      .def("close", &PyGraph::Close, py::arg("stream"))
      .def("close_all", &PyGraph::CloseAll)
      .def("wait_until_idle", &PyGraph::WaitUntilIdle)
      .def("wait_until_done", &PyGraph::WaitUntilDone)
      .def("run", &PyGraph::Run, py::arg("side_packets") = py::dict())
      .def("side_packet", &PyGraph::SidePacket, py::arg("name"))
      .def("stats", &PyGraph::Stats);
}
