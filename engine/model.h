// A TensorFlow Lite model read straight from its FlatBuffer: tensors, operators
// with their parsed options, inputs/outputs, signatures and metadata names.
//
// Loading maps the file, checks the "TFL3" identifier, runs the FlatBuffers
// verifier over the whole buffer and then checks every index the format leaves
// unchecked (operator codes, tensors, buffers, quantization sizes, constant data
// sizes). Anything wrong is an error naming the operator index, operator name
// and tensor involved; nothing past Load() can read out of bounds.
//
// A Model is immutable and shared: several interpreters may run one Model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "engine/kernels/densify.h"
#include "engine/op_versions.h"
#include "engine/tensor_view.h"

namespace edgepipe::engine {

// TFLite builtin operator codes we name (values are the format's).
namespace builtin {
inline constexpr int32_t kAdd = 0;
inline constexpr int32_t kAveragePool2D = 1;
inline constexpr int32_t kConcatenation = 2;
inline constexpr int32_t kConv2D = 3;
inline constexpr int32_t kDepthwiseConv2D = 4;
inline constexpr int32_t kDepthToSpace = 5;
inline constexpr int32_t kDequantize = 6;
inline constexpr int32_t kFullyConnected = 9;
inline constexpr int32_t kLogistic = 14;
inline constexpr int32_t kMaxPool2D = 17;
inline constexpr int32_t kMul = 18;
inline constexpr int32_t kRelu = 19;
inline constexpr int32_t kReluN1To1 = 20;
inline constexpr int32_t kRelu6 = 21;
inline constexpr int32_t kReshape = 22;
inline constexpr int32_t kResizeBilinear = 23;
inline constexpr int32_t kSoftmax = 25;
inline constexpr int32_t kTanh = 28;
inline constexpr int32_t kCustom = 32;
inline constexpr int32_t kPad = 34;
inline constexpr int32_t kMean = 40;
inline constexpr int32_t kSub = 41;
inline constexpr int32_t kDiv = 42;
inline constexpr int32_t kSqueeze = 43;
inline constexpr int32_t kUnidirectionalSequenceLstm = 44;
inline constexpr int32_t kStridedSlice = 45;
inline constexpr int32_t kSplit = 49;
inline constexpr int32_t kCast = 53;
inline constexpr int32_t kPrelu = 54;
inline constexpr int32_t kMaximum = 55;
inline constexpr int32_t kArgMax = 56;
inline constexpr int32_t kMinimum = 57;
inline constexpr int32_t kArgMin = 79;
inline constexpr int32_t kSqrt = 75;
inline constexpr int32_t kPack = 83;
inline constexpr int32_t kUnpack = 88;
inline constexpr int32_t kFloorDiv = 90;
inline constexpr int32_t kSquare = 92;
inline constexpr int32_t kResizeNearestNeighbor = 97;
inline constexpr int32_t kLeakyRelu = 98;
inline constexpr int32_t kSplitV = 102;
inline constexpr int32_t kGatherNd = 107;
inline constexpr int32_t kQuantize = 114;
inline constexpr int32_t kHardSwish = 117;
inline constexpr int32_t kDensify = 124;
}  // namespace builtin

// The format's name of a builtin code ("CONV_2D"), or "BUILTIN_<n>" when unknown.
std::string BuiltinOperatorName(int32_t code);

enum class Activation : uint8_t { kNone, kRelu, kReluN1To1, kRelu6, kTanh, kSignBit };
enum class Padding : uint8_t { kSame, kValid };
const char* ActivationName(Activation activation);

// The builtin options edgepipe interprets, flattened into one struct: each
// operator fills the fields its options table has and leaves the rest at the
// format's defaults.
struct OpOptions {
  Padding padding = Padding::kSame;
  int32_t stride_w = 1;
  int32_t stride_h = 1;
  int32_t dilation_w = 1;
  int32_t dilation_h = 1;
  int32_t depth_multiplier = 1;
  int32_t filter_w = 0;
  int32_t filter_h = 0;
  Activation activation = Activation::kNone;
  int32_t axis = 0;
  float beta = 1.0f;
  float alpha = 0.0f;
  bool align_corners = false;
  bool half_pixel_centers = false;
  bool keep_dims = false;
  bool keep_num_dims = false;
  // FULLY_CONNECTED (hybrid, version 9+): quantize the float input with a zero
  // point instead of symmetrically.
  bool asymmetric_quantize_inputs = false;
  int32_t num_splits = 0;
  int32_t values_count = 0;
  int32_t block_size = 0;
  int32_t begin_mask = 0;
  int32_t end_mask = 0;
  int32_t ellipsis_mask = 0;
  int32_t new_axis_mask = 0;
  int32_t shrink_axis_mask = 0;
  bool offset = false;
  DType output_type = DType::kInt64;  // ARG_MAX/ARG_MIN output, CAST output
  std::vector<int32_t> new_shape;     // RESHAPE (may be empty: shape comes from input 1)
  std::vector<int32_t> squeeze_dims;  // SQUEEZE
  // UNIDIRECTIONAL_SEQUENCE_LSTM (0: no clipping).
  float cell_clip = 0.0f;
  float proj_clip = 0.0f;
  bool time_major = false;
  bool diagonal_recurrent_tensors = false;
};

struct TensorInfo {
  int index = 0;
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int32_t> shape;
  std::vector<int32_t> shape_signature;  // -1 marks a dynamic dimension
  Quantization quant;
  // Constant contents inside the model file (nullptr for activations and
  // variables); exactly num_elements * DTypeSize bytes, or for a sparse
  // constant the stored values only (CheckSparsity's count * DTypeSize).
  const uint8_t* data = nullptr;
  size_t data_size = 0;
  bool is_variable = false;
  // Set for a constant stored in TFLite's sparse format (it needs DENSIFY).
  // Verified against `shape` at load; its index arrays point into the model file.
  std::optional<kernels::SparsityParams> sparsity;

  bool is_constant() const { return data != nullptr; }
  bool is_sparse() const { return sparsity.has_value(); }
  size_t num_elements() const {
    size_t n = 1;
    for (int32_t d : shape) n *= static_cast<size_t>(d < 0 ? 0 : d);
    return n;
  }
  // A TensorView over the constant data (or with data == nullptr).
  TensorView View() const;
};

struct OperatorInfo {
  int index = 0;
  int32_t builtin_code = 0;  // builtin::kCustom for custom operators
  std::string name;          // "CONV_2D", or the custom code ("TFLite_Detection_PostProcess")
  int32_t version = 1;
  std::vector<int32_t> inputs;   // tensor indices; -1 marks an omitted optional input
  std::vector<int32_t> outputs;
  // Tensors that only carry quantization for the op's internal values (the
  // integer LSTM's gate and hidden scales); never read or written.
  std::vector<int32_t> intermediates;
  OpOptions options;
  std::span<const uint8_t> custom_options;  // FlexBuffers map for custom ops

  bool is_custom() const { return builtin_code == builtin::kCustom; }
};

struct SignatureInfo {
  std::string key;
  uint32_t subgraph_index = 0;
  std::vector<std::pair<std::string, int>> inputs;   // signature name -> tensor index
  std::vector<std::pair<std::string, int>> outputs;
};

class Model {
 public:
  // Maps the file read-only; the mapping lives as long as the Model.
  // Operators outside `supported` (or of a newer version) are refused.
  static Result<std::shared_ptr<const Model>> Load(const std::string& path,
                                                   const OpVersions& supported = RegisteredOpVersions());
  // Takes ownership of the bytes.
  static Result<std::shared_ptr<const Model>> FromBuffer(std::vector<uint8_t> bytes,
                                                         const OpVersions& supported = RegisteredOpVersions());

  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const std::string& source() const { return source_; }  // path, or "<buffer>"
  size_t file_size() const { return size_; }
  uint32_t schema_version() const { return schema_version_; }
  const std::string& description() const { return description_; }

  // The main subgraph (subgraph 0); other subgraphs are not executed.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::vector<OperatorInfo>& operators() const { return operators_; }
  const std::vector<int>& inputs() const { return inputs_; }
  const std::vector<int>& outputs() const { return outputs_; }
  size_t num_subgraphs() const { return num_subgraphs_; }

  const std::vector<SignatureInfo>& signatures() const { return signatures_; }
  const std::vector<std::string>& metadata_names() const { return metadata_names_; }
  // Raw bytes of the named metadata buffer (empty span when absent).
  std::span<const uint8_t> metadata(const std::string& name) const;

  // The FlatBuffer this model was read from (valid for the Model's lifetime).
  std::span<const uint8_t> bytes() const { return {base_, size_}; }

 private:
  Model() = default;
  static Result<std::shared_ptr<const Model>> Parse(std::shared_ptr<Model> model, const OpVersions& supported);

  std::string source_;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  void* mapping_ = nullptr;  // mmap base when loaded from a file
  std::vector<uint8_t> owned_;
  uint32_t schema_version_ = 0;
  std::string description_;
  size_t num_subgraphs_ = 0;
  std::vector<TensorInfo> tensors_;
  std::vector<OperatorInfo> operators_;
  std::vector<int> inputs_;
  std::vector<int> outputs_;
  std::vector<SignatureInfo> signatures_;
  std::vector<std::string> metadata_names_;
  std::vector<std::span<const uint8_t>> metadata_;
};

}  // namespace edgepipe::engine
