#include "engine/model.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include <flatbuffers/flatbuffers.h>
#include <fmt/ranges.h>

#include "engine/schema/tflite_subset_generated.h"

namespace edgepipe::engine {
namespace fb = tflite_fb;

namespace {

Result<DType> ConvertType(fb::TensorType type) {
  switch (type) {
    case fb::TensorType::FLOAT32: return DType::kFloat32;
    case fb::TensorType::FLOAT16: return DType::kFloat16;
    case fb::TensorType::INT32: return DType::kInt32;
    case fb::TensorType::UINT8: return DType::kUInt8;
    case fb::TensorType::INT8: return DType::kInt8;
    case fb::TensorType::INT64: return DType::kInt64;
    case fb::TensorType::INT16: return DType::kInt16;
    case fb::TensorType::BOOL: return DType::kBool;
    default: break;
  }
  const char* name = fb::EnumNameTensorType(type);
  return UnimplementedError("element type {} is not supported",
                            name != nullptr && *name != '\0' ? name
                                                             : std::to_string(static_cast<int>(type)));
}

Activation ConvertActivation(fb::ActivationFunctionType a) {
  switch (a) {
    case fb::ActivationFunctionType::RELU: return Activation::kRelu;
    case fb::ActivationFunctionType::RELU_N1_TO_1: return Activation::kReluN1To1;
    case fb::ActivationFunctionType::RELU6: return Activation::kRelu6;
    case fb::ActivationFunctionType::TANH: return Activation::kTanh;
    case fb::ActivationFunctionType::SIGN_BIT: return Activation::kSignBit;
    default: return Activation::kNone;
  }
}

Padding ConvertPadding(fb::Padding p) {
  return p == fb::Padding::VALID ? Padding::kValid : Padding::kSame;
}

template <typename T>
std::vector<int32_t> ToIntVector(const flatbuffers::Vector<T>* v) {
  std::vector<int32_t> out;
  if (v == nullptr) return out;
  out.reserve(v->size());
  for (auto x : *v) out.push_back(static_cast<int32_t>(x));
  return out;
}

// Reads the options table matching the operator's union type into OpOptions.
Status ParseOptions(const fb::Operator& op, OpOptions& o) {
  using BO = fb::BuiltinOptions;
  // The verifier accepts a union type without its table; the options are then
  // the format's defaults, as TFLite reads them.
  if (op.builtin_options() == nullptr) return OkStatus();
  switch (op.builtin_options_type()) {
    case BO::Conv2DOptions: {
      auto* t = op.builtin_options_as_Conv2DOptions();
      o.padding = ConvertPadding(t->padding());
      o.stride_w = t->stride_w();
      o.stride_h = t->stride_h();
      o.activation = ConvertActivation(t->fused_activation_function());
      o.dilation_w = t->dilation_w_factor();
      o.dilation_h = t->dilation_h_factor();
      break;
    }
    case BO::DepthwiseConv2DOptions: {
      auto* t = op.builtin_options_as_DepthwiseConv2DOptions();
      o.padding = ConvertPadding(t->padding());
      o.stride_w = t->stride_w();
      o.stride_h = t->stride_h();
      o.depth_multiplier = t->depth_multiplier();
      o.activation = ConvertActivation(t->fused_activation_function());
      o.dilation_w = t->dilation_w_factor();
      o.dilation_h = t->dilation_h_factor();
      break;
    }
    case BO::Pool2DOptions: {
      auto* t = op.builtin_options_as_Pool2DOptions();
      o.padding = ConvertPadding(t->padding());
      o.stride_w = t->stride_w();
      o.stride_h = t->stride_h();
      o.filter_w = t->filter_width();
      o.filter_h = t->filter_height();
      o.activation = ConvertActivation(t->fused_activation_function());
      break;
    }
    case BO::FullyConnectedOptions: {
      auto* t = op.builtin_options_as_FullyConnectedOptions();
      o.activation = ConvertActivation(t->fused_activation_function());
      o.keep_num_dims = t->keep_num_dims();
      o.asymmetric_quantize_inputs = t->asymmetric_quantize_inputs();
      if (t->weights_format() != 0)
        return UnimplementedError("shuffled fully-connected weights are not supported");
      break;
    }
    case BO::SoftmaxOptions: o.beta = op.builtin_options_as_SoftmaxOptions()->beta(); break;
    case BO::ConcatenationOptions: {
      auto* t = op.builtin_options_as_ConcatenationOptions();
      o.axis = t->axis();
      o.activation = ConvertActivation(t->fused_activation_function());
      break;
    }
    case BO::AddOptions:
      o.activation = ConvertActivation(op.builtin_options_as_AddOptions()->fused_activation_function());
      break;
    case BO::SubOptions:
      o.activation = ConvertActivation(op.builtin_options_as_SubOptions()->fused_activation_function());
      break;
    case BO::MulOptions:
      o.activation = ConvertActivation(op.builtin_options_as_MulOptions()->fused_activation_function());
      break;
    case BO::DivOptions:
      o.activation = ConvertActivation(op.builtin_options_as_DivOptions()->fused_activation_function());
      break;
    case BO::ResizeBilinearOptions: {
      auto* t = op.builtin_options_as_ResizeBilinearOptions();
      o.align_corners = t->align_corners();
      o.half_pixel_centers = t->half_pixel_centers();
      break;
    }
    case BO::ResizeNearestNeighborOptions: {
      auto* t = op.builtin_options_as_ResizeNearestNeighborOptions();
      o.align_corners = t->align_corners();
      o.half_pixel_centers = t->half_pixel_centers();
      break;
    }
    case BO::ReshapeOptions: o.new_shape = ToIntVector(op.builtin_options_as_ReshapeOptions()->new_shape()); break;
    case BO::ReducerOptions: o.keep_dims = op.builtin_options_as_ReducerOptions()->keep_dims(); break;
    case BO::SqueezeOptions:
      o.squeeze_dims = ToIntVector(op.builtin_options_as_SqueezeOptions()->squeeze_dims());
      break;
    case BO::StridedSliceOptions: {
      auto* t = op.builtin_options_as_StridedSliceOptions();
      o.begin_mask = t->begin_mask();
      o.end_mask = t->end_mask();
      o.ellipsis_mask = t->ellipsis_mask();
      o.new_axis_mask = t->new_axis_mask();
      o.shrink_axis_mask = t->shrink_axis_mask();
      o.offset = t->offset();
      break;
    }
    case BO::SplitOptions: o.num_splits = op.builtin_options_as_SplitOptions()->num_splits(); break;
    case BO::CastOptions: {
      auto out = ConvertType(op.builtin_options_as_CastOptions()->out_data_type());
      if (out.ok()) o.output_type = *out;
      break;
    }
    case BO::ArgMaxOptions: {
      EP_ASSIGN_OR_RETURN(o.output_type, ConvertType(op.builtin_options_as_ArgMaxOptions()->output_type()));
      break;
    }
    case BO::PackOptions: {
      auto* t = op.builtin_options_as_PackOptions();
      o.values_count = t->values_count();
      o.axis = t->axis();
      break;
    }
    case BO::UnpackOptions: {
      auto* t = op.builtin_options_as_UnpackOptions();
      o.values_count = t->num();
      o.axis = t->axis();
      break;
    }
    case BO::GatherOptions: o.axis = op.builtin_options_as_GatherOptions()->axis(); break;
    case BO::LeakyReluOptions: o.alpha = op.builtin_options_as_LeakyReluOptions()->alpha(); break;
    case BO::DepthToSpaceOptions:
      o.block_size = op.builtin_options_as_DepthToSpaceOptions()->block_size();
      break;
    case BO::UnidirectionalSequenceLSTMOptions: {
      auto* t = op.builtin_options_as_UnidirectionalSequenceLSTMOptions();
      o.activation = ConvertActivation(t->fused_activation_function());
      o.cell_clip = t->cell_clip();
      o.proj_clip = t->proj_clip();
      o.time_major = t->time_major();
      o.diagonal_recurrent_tensors = t->diagonal_recurrent_tensors();
      break;
    }
    default: break;
  }
  return OkStatus();
}

// One array_segments / array_indices union member, read in place.
Result<kernels::SparseIndexArray> ReadIndexVector(fb::SparseIndexVector type, const void* table, const char* what) {
  if (table == nullptr) return kernels::SparseIndexArray();
  switch (type) {
    case fb::SparseIndexVector::NONE: return kernels::SparseIndexArray();
    case fb::SparseIndexVector::Int32Vector: {
      const auto* values = static_cast<const fb::Int32Vector*>(table)->values();
      if (values == nullptr) return kernels::SparseIndexArray();
      return kernels::SparseIndexArray(std::span<const int32_t>(values->data(), values->size()));
    }
    case fb::SparseIndexVector::Uint16Vector: {
      const auto* values = static_cast<const fb::Uint16Vector*>(table)->values();
      if (values == nullptr) return kernels::SparseIndexArray();
      return kernels::SparseIndexArray(std::span<const uint16_t>(values->data(), values->size()));
    }
    case fb::SparseIndexVector::Uint8Vector: {
      const auto* values = static_cast<const fb::Uint8Vector*>(table)->values();
      if (values == nullptr) return kernels::SparseIndexArray();
      return kernels::SparseIndexArray(std::span<const uint8_t>(values->data(), values->size()));
    }
  }
  return DataLossError("{}: unknown index vector type {}", what, static_cast<int>(type));
}

// The tensor's SparsityParameters as the kernels take them (not yet checked
// against the shape: CheckSparsity does that).
Result<kernels::SparsityParams> ReadSparsity(const fb::SparsityParameters& sparsity) {
  kernels::SparsityParams params;
  params.traversal_order = ToIntVector(sparsity.traversal_order());
  params.block_map = ToIntVector(sparsity.block_map());
  if (const auto* dims = sparsity.dim_metadata()) {
    for (flatbuffers::uoffset_t i = 0; i < dims->size(); ++i) {
      const fb::DimensionMetadata* m = dims->Get(i);
      if (m == nullptr) return DataLossError("dim_metadata[{}] is missing", i);
      kernels::SparseDimension dim;
      switch (m->format()) {
        case fb::DimensionType::DENSE: dim.format = kernels::SparseDimFormat::kDense; break;
        case fb::DimensionType::SPARSE_CSR: dim.format = kernels::SparseDimFormat::kSparseCsr; break;
        default:
          return UnimplementedError("dim_metadata[{}]: unknown dimension format {}", i,
                                    static_cast<int>(m->format()));
      }
      dim.dense_size = m->dense_size();
      auto segments = ReadIndexVector(m->array_segments_type(), m->array_segments(), "array_segments");
      if (!segments.ok()) return segments.status().WithContext(fmt::format("dim_metadata[{}]", i));
      auto indices = ReadIndexVector(m->array_indices_type(), m->array_indices(), "array_indices");
      if (!indices.ok()) return indices.status().WithContext(fmt::format("dim_metadata[{}]", i));
      dim.segments = *segments;
      dim.indices = *indices;
      params.dim_metadata.push_back(dim);
    }
  }
  return params;
}

// Arena placement and every byte count after load add tensor sizes; bounded
// per tensor, no sum of them can overflow 64 bits. No device running this
// engine holds a tensor near this size.
constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 40;

Status CheckByteSize(const TensorInfo& info) {
  uint64_t bytes = DTypeSize(info.dtype);
  for (int32_t d : info.shape) {
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes) || bytes > kMaxTensorBytes)
      return InvalidArgumentError("shape [{}] of {} is more than {} bytes", fmt::join(info.shape, ","),
                                  DTypeName(info.dtype), kMaxTensorBytes);
  }
  return OkStatus();
}

// real = scale * (q - zero_point): a scale that is zero, negative, NaN or
// infinite maps every value to nothing meaningful, and a zero point outside
// the element type cannot be stored in it.
Status CheckQuantization(const TensorInfo& info) {
  for (size_t k = 0; k < info.quant.scale.size(); ++k) {
    const float scale = info.quant.scale[k];
    if (!std::isfinite(scale) || !(scale > 0.0f))
      return InvalidArgumentError("quantization scale {} is {}; scales must be finite and > 0", k, scale);
  }
  int64_t lo = 0, hi = 0;
  switch (info.dtype) {
    case DType::kInt8: lo = -128, hi = 127; break;
    case DType::kUInt8: lo = 0, hi = 255; break;
    case DType::kInt16: lo = -32768, hi = 32767; break;
    default: return OkStatus();
  }
  for (size_t k = 0; k < info.quant.zero_point.size(); ++k) {
    const int64_t zero_point = info.quant.zero_point[k];
    if (zero_point < lo || zero_point > hi)
      return InvalidArgumentError("quantization zero point {} is {}, outside {}'s range [{}, {}]", k, zero_point,
                                  DTypeName(info.dtype), lo, hi);
  }
  return OkStatus();
}

std::string TensorLabel(const std::vector<TensorInfo>& tensors, int index) {
  if (index >= 0 && static_cast<size_t>(index) < tensors.size())
    return fmt::format("tensor {} '{}'", index, tensors[index].name);
  return fmt::format("tensor {}", index);
}

}  // namespace

std::string BuiltinOperatorName(int32_t code) {
  if (code >= static_cast<int32_t>(fb::BuiltinOperator::MIN) &&
      code <= static_cast<int32_t>(fb::BuiltinOperator::MAX)) {
    const char* name = fb::EnumNameBuiltinOperator(static_cast<fb::BuiltinOperator>(code));
    if (name != nullptr && *name != '\0') return name;
  }
  return fmt::format("BUILTIN_{}", code);
}

const char* ActivationName(Activation activation) {
  switch (activation) {
    case Activation::kNone: return "NONE";
    case Activation::kRelu: return "RELU";
    case Activation::kReluN1To1: return "RELU_N1_TO_1";
    case Activation::kRelu6: return "RELU6";
    case Activation::kTanh: return "TANH";
    case Activation::kSignBit: return "SIGN_BIT";
  }
  return "?";
}

TensorView TensorInfo::View() const {
  TensorView view;
  view.dtype = dtype;
  view.shape = shape;
  view.data = const_cast<uint8_t*>(data);  // constant: callers only read through it
  view.quant = quant;
  view.name = name;
  return view;
}

Model::~Model() {
  if (mapping_ != nullptr) munmap(mapping_, size_);
}

std::span<const uint8_t> Model::metadata(const std::string& name) const {
  for (size_t i = 0; i < metadata_names_.size(); ++i)
    if (metadata_names_[i] == name) return metadata_[i];
  return {};
}

Result<std::shared_ptr<const Model>> Model::Load(const std::string& path, const OpVersions& supported) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFoundError("cannot open model '{}': {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return InternalError("cannot stat model '{}': {}", path, std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgumentError("model '{}' is not a regular file", path);
  }
  auto model = std::shared_ptr<Model>(new Model());
  model->source_ = path;
  model->size_ = static_cast<size_t>(st.st_size);
  if (model->size_ > 0) {
    void* map = ::mmap(nullptr, model->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return InternalError("cannot map model '{}': {}", path, std::strerror(err));
    }
    model->mapping_ = map;
    model->base_ = static_cast<const uint8_t*>(map);
  }
  ::close(fd);
  auto parsed = Parse(std::move(model), supported);
  if (!parsed.ok()) return parsed.status().WithContext(fmt::format("model '{}'", path));
  return parsed;
}

Result<std::shared_ptr<const Model>> Model::FromBuffer(std::vector<uint8_t> bytes, const OpVersions& supported) {
  auto model = std::shared_ptr<Model>(new Model());
  model->source_ = "<buffer>";
  model->owned_ = std::move(bytes);
  model->base_ = model->owned_.data();
  model->size_ = model->owned_.size();
  return Parse(std::move(model), supported);
}

Result<std::shared_ptr<const Model>> Model::Parse(std::shared_ptr<Model> m, const OpVersions& supported) {
  // Structure first: identifier, then the verifier, before any field is read.
  if (m->size_ < 8)
    return DataLossError("file is {} bytes, too small to be a TFLite model (truncated?)", m->size_);
  if (!flatbuffers::BufferHasIdentifier(m->base_, fb::ModelIdentifier())) {
    std::string id;
    for (int i = 4; i < 8; ++i) {
      char c = static_cast<char>(m->base_[i]);
      id += (c >= 32 && c < 127) ? std::string(1, c) : fmt::format("\\x{:02x}", m->base_[i]);
    }
    return InvalidArgumentError("not a TFLite model: file identifier is '{}', expected 'TFL3'", id);
  }
  if (m->size_ >= FLATBUFFERS_MAX_BUFFER_SIZE)
    return UnimplementedError("models of 2 GB or more are not supported");
  flatbuffers::Verifier verifier(m->base_, m->size_, /*max_depth=*/64, /*max_tables=*/10000000);
  if (!fb::VerifyModelBuffer(verifier))
    return DataLossError("the model's FlatBuffer failed verification ({} bytes): the file is "
                         "truncated or corrupted",
                         m->size_);

  const fb::Model* model = fb::GetModel(m->base_);
  m->schema_version_ = model->version();
  if (m->schema_version_ != 3)
    return UnimplementedError("TFLite schema version {} is not supported (expected 3)",
                              m->schema_version_);
  if (model->description() != nullptr) m->description_ = model->description()->str();
  const auto* subgraphs = model->subgraphs();
  if (subgraphs == nullptr || subgraphs->size() == 0) return InvalidArgumentError("model has no subgraph");
  m->num_subgraphs_ = subgraphs->size();
  const size_t num_buffers = model->buffers() != nullptr ? model->buffers()->size() : 0;

  // Buffer contents: inline data, or offset/size into the file past the FlatBuffer.
  auto buffer_bytes = [&](uint32_t index) -> Result<std::span<const uint8_t>> {
    if (index >= num_buffers)
      return OutOfRangeError("buffer index {} out of range (model has {} buffers)", index, num_buffers);
    const fb::Buffer* buffer = model->buffers()->Get(index);
    if (buffer == nullptr) return std::span<const uint8_t>{};
    if (buffer->data() != nullptr && buffer->data()->size() > 0)
      return std::span<const uint8_t>(buffer->data()->data(), buffer->data()->size());
    if (buffer->offset() > 1) {
      uint64_t offset = buffer->offset(), size = buffer->size();
      if (offset > m->size_ || size > m->size_ - offset)
        return DataLossError("buffer {} lies outside the file (offset {}, size {}, file {} bytes)",
                             index, offset, size, m->size_);
      return std::span<const uint8_t>(m->base_ + offset, size);
    }
    return std::span<const uint8_t>{};
  };

  // Tensors.
  const fb::SubGraph* graph = subgraphs->Get(0);
  if (graph->tensors() == nullptr) return InvalidArgumentError("subgraph 0 has no tensors");
  const int num_tensors = static_cast<int>(graph->tensors()->size());
  m->tensors_.reserve(num_tensors);
  for (int i = 0; i < num_tensors; ++i) {
    const fb::Tensor* t = graph->tensors()->Get(i);
    TensorInfo info;
    info.index = i;
    info.name = t->name() != nullptr ? t->name()->str() : fmt::format("tensor_{}", i);
    auto context = [&] { return fmt::format("tensor {} '{}'", i, info.name); };
    auto dtype = ConvertType(t->type());
    if (!dtype.ok()) return dtype.status().WithContext(context());
    info.dtype = *dtype;
    info.shape = ToIntVector(t->shape());
    info.shape_signature = ToIntVector(t->shape_signature());
    for (int32_t d : info.shape)
      if (d < 0) return InvalidArgumentError("{}: negative dimension {} in shape", context(), d);
    EP_RETURN_IF_ERROR(CheckByteSize(info).WithContext(context()));
    info.is_variable = t->is_variable();
    if (const fb::QuantizationParameters* q = t->quantization()) {
      if (q->scale() != nullptr) info.quant.scale.assign(q->scale()->begin(), q->scale()->end());
      if (q->zero_point() != nullptr)
        info.quant.zero_point.assign(q->zero_point()->begin(), q->zero_point()->end());
      info.quant.axis = q->quantized_dimension();
      if (!info.quant.scale.empty()) {
        if (info.quant.zero_point.empty()) info.quant.zero_point.assign(info.quant.scale.size(), 0);
        if (info.quant.zero_point.size() != info.quant.scale.size())
          return DataLossError("{}: {} quantization scales but {} zero points", context(),
                               info.quant.scale.size(), info.quant.zero_point.size());
        EP_RETURN_IF_ERROR(CheckQuantization(info).WithContext(context()));
        if (info.quant.per_channel()) {
          if (info.quant.axis < 0 || info.quant.axis >= static_cast<int>(info.shape.size()))
            return DataLossError("{}: quantized dimension {} out of range for rank {}", context(),
                                 info.quant.axis, info.shape.size());
          if (static_cast<size_t>(info.shape[info.quant.axis]) != info.quant.scale.size())
            return DataLossError("{}: {} per-channel scales for dimension {} of size {}", context(),
                                 info.quant.scale.size(), info.quant.axis,
                                 info.shape[info.quant.axis]);
        }
      }
    }
    auto bytes = buffer_bytes(t->buffer());
    if (!bytes.ok()) return bytes.status().WithContext(context());
    if (const fb::SparsityParameters* sparsity = t->sparsity()) {
      // Checked here, once, so that nothing later can index past the file.
      auto params = ReadSparsity(*sparsity);
      if (!params.ok()) return params.status().WithContext(context() + ": sparsity");
      auto stored = kernels::CheckSparsity(*params, info.shape);
      if (!stored.ok()) return stored.status().WithContext(context() + ": sparsity");
      // Without data there is nothing to densify (TFLite only densifies constants).
      if (bytes->empty())
        return InvalidArgumentError("{}: has sparsity parameters but no constant data", context());
      const size_t expected = *stored * DTypeSize(info.dtype);
      if (bytes->size() != expected)
        return DataLossError("{}: sparse constant data is {} bytes, but its sparsity stores {} values of {} ({} bytes)",
                             context(), bytes->size(), *stored, DTypeName(info.dtype), expected);
      info.sparsity = std::move(*params);
    } else if (!bytes->empty()) {
      size_t expected = info.num_elements() * DTypeSize(info.dtype);
      if (bytes->size() != expected)
        return DataLossError("{}: constant data is {} bytes, but shape [{}] of {} needs {}",
                             context(), bytes->size(), fmt::join(info.shape, ","),
                             DTypeName(info.dtype), expected);
    }
    if (!bytes->empty()) {
      info.data = bytes->data();
      info.data_size = bytes->size();
    }
    m->tensors_.push_back(std::move(info));
  }

  auto check_tensor_list = [&](const flatbuffers::Vector<int32_t>* list, const char* what,
                               bool allow_omitted, std::vector<int>& out) -> Status {
    out.clear();
    if (list == nullptr) return OkStatus();
    for (size_t k = 0; k < list->size(); ++k) {
      int32_t index = list->Get(k);
      if (index == -1 && allow_omitted) {
        out.push_back(-1);
        continue;
      }
      if (index < 0 || index >= num_tensors)
        return OutOfRangeError("{} {} refers to tensor {}, but the subgraph has {} tensors", what, k,
                               index, num_tensors);
      out.push_back(index);
    }
    return OkStatus();
  };
  EP_RETURN_IF_ERROR(check_tensor_list(graph->inputs(), "model input", false, m->inputs_));
  EP_RETURN_IF_ERROR(check_tensor_list(graph->outputs(), "model output", false, m->outputs_));

  // Operator codes: the real code is the larger of the byte and the int32 field
  // (old files only have the byte; codes >= 127 only fit the int32 field).
  const auto* codes = model->operator_codes();
  const size_t num_codes = codes != nullptr ? codes->size() : 0;
  if (graph->operators() != nullptr) {
    const int num_ops = static_cast<int>(graph->operators()->size());
    m->operators_.reserve(num_ops);
    for (int i = 0; i < num_ops; ++i) {
      const fb::Operator* op = graph->operators()->Get(i);
      OperatorInfo info;
      info.index = i;
      if (op->opcode_index() >= num_codes)
        return OutOfRangeError("operator {}: opcode index {} out of range (model has {} operator codes)",
                               i, op->opcode_index(), num_codes);
      const fb::OperatorCode* code = codes->Get(op->opcode_index());
      info.builtin_code = std::max<int32_t>(static_cast<int32_t>(code->deprecated_builtin_code()),
                                            static_cast<int32_t>(code->builtin_code()));
      info.version = code->version();
      if (info.builtin_code == builtin::kCustom) {
        info.name = code->custom_code() != nullptr ? code->custom_code()->str() : "<unnamed custom op>";
      } else {
        info.name = BuiltinOperatorName(info.builtin_code);
      }
      auto context = [&] { return fmt::format("operator {} ({})", i, info.name); };
      if (!supported.accept_all) {
        const bool custom = info.is_custom();
        std::optional<int32_t> highest;
        if (custom) {
          if (auto it = supported.custom.find(info.name); it != supported.custom.end()) highest = it->second;
        } else if (auto it = supported.builtin.find(info.builtin_code); it != supported.builtin.end()) {
          highest = it->second;
        }
        if (!highest.has_value()) {
          if (custom) return UnimplementedError("{}: custom operator '{}' is not supported", context(), info.name);
          return UnimplementedError("{}: operator is not supported by any backend", context());
        }
        if (info.version > *highest)
          return UnimplementedError("{}: version {} is not supported (up to {})", context(), info.version, *highest);
      }
      Status s = check_tensor_list(op->inputs(), "input", true, info.inputs);
      if (s.ok()) s = check_tensor_list(op->outputs(), "output", false, info.outputs);
      if (s.ok()) s = check_tensor_list(op->intermediates(), "intermediate", false, info.intermediates);
      if (!s.ok()) return s.WithContext(context());
      Status parsed = ParseOptions(*op, info.options);
      if (!parsed.ok()) return parsed.WithContext(context());
      if (op->custom_options() != nullptr) {
        info.custom_options = {op->custom_options()->data(), op->custom_options()->size()};
      } else if (op->large_custom_options_size() > 0) {
        uint64_t offset = op->large_custom_options_offset(), size = op->large_custom_options_size();
        if (offset > m->size_ || size > m->size_ - offset)
          return DataLossError("{}: custom options lie outside the file", context());
        info.custom_options = {m->base_ + offset, size};
      }
      // A variable or constant may not be written by an operator.
      for (int out : info.outputs)
        if (m->tensors_[out].is_constant())
          return InvalidArgumentError("{}: output {} is a constant", context(),
                                      TensorLabel(m->tensors_, out));
      m->operators_.push_back(std::move(info));
    }
  }

  // Signatures and metadata.
  if (const auto* sigs = model->signature_defs()) {
    for (const fb::SignatureDef* sig : *sigs) {
      SignatureInfo info;
      if (sig->signature_key() != nullptr) info.key = sig->signature_key()->str();
      info.subgraph_index = sig->subgraph_index();
      auto read_maps = [&](const auto* maps, auto& out) -> Status {
        if (maps == nullptr) return OkStatus();
        for (const fb::TensorMap* map : *maps) {
          // Only subgraph 0's indices can be checked against our tensor table.
          if (info.subgraph_index == 0 && map->tensor_index() >= static_cast<uint32_t>(num_tensors))
            return OutOfRangeError("signature '{}': tensor index {} out of range", info.key,
                                   map->tensor_index());
          out.emplace_back(map->name() != nullptr ? map->name()->str() : std::string(),
                           static_cast<int>(map->tensor_index()));
        }
        return OkStatus();
      };
      EP_RETURN_IF_ERROR(read_maps(sig->inputs(), info.inputs));
      EP_RETURN_IF_ERROR(read_maps(sig->outputs(), info.outputs));
      m->signatures_.push_back(std::move(info));
    }
  }
  if (const auto* metas = model->metadata()) {
    for (const fb::Metadata* meta : *metas) {
      std::string name = meta->name() != nullptr ? meta->name()->str() : std::string();
      auto bytes = buffer_bytes(meta->buffer());
      if (!bytes.ok()) return bytes.status().WithContext(fmt::format("metadata '{}'", name));
      m->metadata_names_.push_back(std::move(name));
      m->metadata_.push_back(*bytes);
    }
  }
  return std::shared_ptr<const Model>(std::move(m));
}

}  // namespace edgepipe::engine

namespace edgepipe::engine {

void OpVersions::Add(int32_t code, std::string_view custom_name, int32_t version) {
  int32_t& highest = custom_name.empty() ? builtin[code] : custom[std::string(custom_name)];
  highest = std::max(highest, version);
}

}  // namespace edgepipe::engine
