// Packet payloads ↔ Python values, shared by the graph bindings and Python
// calculators.
//
// Images and tensors cross as numpy arrays without copying when the layout
// allows: a uint8 array with packed pixels (any row stride) becomes an
// ImageFrame over the array's memory, and a C-contiguous, 64-byte aligned
// numeric array a Tensor over it (the array is kept alive, and must not be
// written while the graph may read it); images, tensors and masks coming out
// are read-only numpy views of the packet's buffer. Result types (detections,
// classifications, landmarks, …) become dicts and lists as the JSON writer
// writes them.
#pragma once

#include <pybind11/pybind11.h>

#include <string>

#include "core/packet.h"

namespace edgepipe::python {

// How a Python value is turned into a packet (a port's declared kind).
enum class ValueKind {
  kAuto,        // bool, int, float, str, uint8 image arrays, other numeric arrays as tensors
  kImage,       // a uint8 HxW or HxWxC array → ImageFrame
  kTensor,      // a numeric array → Tensor
  kTensors,     // a list of numeric arrays → std::vector<Tensor>
  kDetections,  // a list of detection dicts (as FromPacket gives them) → std::vector<Detection>
};

// Parses "any", "image", "tensor", "tensors", "detections" (and the types of
// ValueKindType); an error naming the known kinds otherwise.
Result<ValueKind> ParseValueKind(const std::string& name);
// The payload type a port of `kind_name` carries ("any" → TypeId::Any()).
Result<TypeId> ValueKindType(const std::string& kind_name);

// `image_format` (GRAY8, RGB, BGR, RGBA; "" = from the channel count) applies to images.
// Raises edgepipe.Error subclasses when the value cannot be converted.
Packet ToPacket(const pybind11::handle& value, const std::string& image_format = "",
                ValueKind kind = ValueKind::kAuto);
pybind11::object FromPacket(const Packet& packet);

// Registers the buffer holder classes behind the numpy views; call once.
void BindNumpyInterop(pybind11::module_& m);

}  // namespace edgepipe::python
