#include "quantize/model_edit.h"

#include <cstring>
#include <map>

#include <flatbuffers/minireflect.h>

namespace edgepipe::quantize {
namespace {

// Fields present in the file that our schema subset does not declare would be
// dropped by UnPack/Pack (a newer op's options, builtin_options_2, a newer
// Tensor field): refuse the model instead of writing a different one. Walks
// every table reachable from the root with the schema's mini reflection.
Status CheckNothingLost(const uint8_t* table_start, const flatbuffers::TypeTable* tt, const std::string& path) {
  const auto* table = reinterpret_cast<const flatbuffers::Table*>(table_start);
  const uint8_t* vtable = table->GetVTable();
  const uint16_t vtable_bytes = flatbuffers::ReadScalar<uint16_t>(vtable);
  const size_t slots = (vtable_bytes - 4u) / 2u;
  for (size_t i = tt->num_elems; i < slots; ++i) {
    if (flatbuffers::ReadScalar<uint16_t>(vtable + 4 + 2 * i) != 0)
      return UnimplementedError("{} has field #{} that edgepipe's TFLite schema subset does not declare; "
                                "rewriting would drop it",
                                path, i);
  }
  for (size_t i = 0; i < tt->num_elems && i < slots; ++i) {
    const flatbuffers::TypeCode code = tt->type_codes[i];
    if (code.base_type != flatbuffers::ET_SEQUENCE || code.sequence_ref < 0) continue;
    const auto offset = static_cast<flatbuffers::voffset_t>(4 + 2 * i);
    const uint8_t* field = table->GetAddressOf(offset);
    if (field == nullptr) continue;
    const flatbuffers::TypeTable* ref = tt->type_refs[code.sequence_ref]();
    const std::string field_path = fmt::format("{}.{}", path, tt->names ? tt->names[i] : std::to_string(i));
    if (ref->st == flatbuffers::ST_TABLE) {
      const uint8_t* target = field + flatbuffers::ReadScalar<flatbuffers::uoffset_t>(field);
      if (!code.is_repeating) {
        EP_RETURN_IF_ERROR(CheckNothingLost(target, ref, field_path));
        continue;
      }
      const auto n = flatbuffers::ReadScalar<flatbuffers::uoffset_t>(target);
      for (flatbuffers::uoffset_t k = 0; k < n; ++k) {
        const uint8_t* slot = target + 4 + 4 * k;
        EP_RETURN_IF_ERROR(
            CheckNothingLost(slot + flatbuffers::ReadScalar<flatbuffers::uoffset_t>(slot), ref, fmt::format("{}[{}]", field_path, k)));
      }
    } else if (ref->st == flatbuffers::ST_UNION && i > 0) {
      const uint8_t type = table->GetField<uint8_t>(static_cast<flatbuffers::voffset_t>(4 + 2 * (i - 1)), 0);
      if (type == 0) continue;
      if (type >= ref->num_elems)
        return UnimplementedError("{} is union member #{}, which edgepipe's TFLite schema subset does not declare",
                                  field_path, type);
      const flatbuffers::TypeCode member = ref->type_codes[type];
      if (member.sequence_ref < 0) continue;
      const uint8_t* target = field + flatbuffers::ReadScalar<flatbuffers::uoffset_t>(field);
      EP_RETURN_IF_ERROR(CheckNothingLost(target, ref->type_refs[member.sequence_ref](), field_path));
    }
  }
  return OkStatus();
}

}  // namespace

std::unique_ptr<fb::QuantizationParametersT> MakeQuant(std::vector<float> scale, std::vector<int64_t> zero_point,
                                                       int32_t axis) {
  auto q = std::make_unique<fb::QuantizationParametersT>();
  q->scale = std::move(scale);
  q->zero_point = std::move(zero_point);
  q->quantized_dimension = axis;
  return q;
}

Result<std::unique_ptr<EditableModel>> EditableModel::Read(std::vector<uint8_t> bytes, const std::string& source) {
  // The engine's reader verifies the buffer and every index in it.
  const size_t size = bytes.size();
  EP_ASSIGN_OR_RETURN(auto checked, engine::Model::FromBuffer(std::move(bytes), engine::OpVersions::All()));
  const std::span<const uint8_t> data = checked->bytes();
  if (checked->num_subgraphs() != 1)
    return UnimplementedError("{}: {} subgraphs; the quantizer rewrites single-subgraph models only", source,
                              checked->num_subgraphs());
  const fb::Model* root = fb::GetModel(data.data());
  EP_RETURN_IF_ERROR(CheckNothingLost(data.data() + flatbuffers::ReadScalar<flatbuffers::uoffset_t>(data.data()),
                                      fb::ModelTypeTable(), source));
  std::unique_ptr<EditableModel> edit(new EditableModel);
  edit->model_.reset(root->UnPack());
  edit->original_size_ = size;
  for (const auto& buffer : edit->model_->buffers)
    if (buffer->offset != 0 || buffer->size != 0)
      return UnimplementedError("{}: buffers stored outside the FlatBuffer (models over 2 GB) are not rewritten",
                                source);
  for (const auto& t : edit->graph().tensors)
    if (t->sparsity) return UnimplementedError("{}: tensor '{}' is sparse; densify the model first", source, t->name);
  // Buffer 0 must be the format's empty buffer: ClearData points activations at it.
  auto& buffers = edit->model_->buffers;
  if (buffers.empty() || !buffers[0]->data.empty()) {
    buffers.insert(buffers.begin(), std::make_unique<fb::BufferT>());
    for (auto& t : edit->graph().tensors) ++t->buffer;
    for (auto& m : edit->model_->metadata) ++m->buffer;
    for (int32_t& b : edit->model_->metadata_buffer) ++b;
  }
  return edit;
}

int32_t EditableModel::BuiltinCode(const fb::OperatorT& op) const {
  const fb::OperatorCodeT& code = *model_->operator_codes[op.opcode_index];
  return std::max(static_cast<int32_t>(code.builtin_code), static_cast<int32_t>(code.deprecated_builtin_code));
}

std::string EditableModel::OpName(const fb::OperatorT& op) const {
  const int32_t code = BuiltinCode(op);
  if (code == engine::builtin::kCustom) return model_->operator_codes[op.opcode_index]->custom_code;
  return engine::BuiltinOperatorName(code);
}

std::span<const uint8_t> EditableModel::Data(int index) const {
  const uint32_t buffer = tensor(index).buffer;
  if (buffer == 0 || buffer >= model_->buffers.size()) return {};
  return model_->buffers[buffer]->data;
}

Result<std::vector<float>> EditableModel::FloatData(int index) const {
  const fb::TensorT& t = tensor(index);
  const auto bytes = Data(index);
  if (t.type != fb::TensorType::FLOAT32 || bytes.empty())
    return InvalidArgumentError("tensor {} '{}' is not a float32 constant", index, t.name);
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

uint32_t EditableModel::AddBuffer(std::vector<uint8_t> data) {
  auto buffer = std::make_unique<fb::BufferT>();
  buffer->data = std::move(data);
  model_->buffers.push_back(std::move(buffer));
  return static_cast<uint32_t>(model_->buffers.size() - 1);
}

int EditableModel::AddTensor(std::string name, fb::TensorType type, std::vector<int32_t> shape, uint32_t buffer,
                             std::unique_ptr<fb::QuantizationParametersT> quant) {
  auto t = std::make_unique<fb::TensorT>();
  t->name = std::move(name);
  t->type = type;
  t->shape = std::move(shape);
  t->buffer = buffer;
  t->quantization = std::move(quant);
  graph().tensors.push_back(std::move(t));
  return num_tensors() - 1;
}

void EditableModel::SetData(int index, std::vector<uint8_t> data) { tensor(index).buffer = AddBuffer(std::move(data)); }

void EditableModel::ClearData(int index) { tensor(index).buffer = 0; }

uint32_t EditableModel::OpcodeIndex(int32_t builtin_code, int32_t version) {
  auto& codes = model_->operator_codes;
  for (size_t i = 0; i < codes.size(); ++i) {
    const int32_t code = std::max(static_cast<int32_t>(codes[i]->builtin_code),
                                  static_cast<int32_t>(codes[i]->deprecated_builtin_code));
    if (code == builtin_code && code != engine::builtin::kCustom) {
      codes[i]->version = std::max(codes[i]->version, version);
      return static_cast<uint32_t>(i);
    }
  }
  auto code = std::make_unique<fb::OperatorCodeT>();
  code->builtin_code = static_cast<fb::BuiltinOperator>(builtin_code);
  code->deprecated_builtin_code = static_cast<int8_t>(std::min(builtin_code, 127));
  code->version = version;
  codes.push_back(std::move(code));
  return static_cast<uint32_t>(codes.size() - 1);
}

uint32_t EditableModel::ExactOpcodeIndex(int32_t builtin_code, int32_t version) {
  auto& codes = model_->operator_codes;
  for (size_t i = 0; i < codes.size(); ++i) {
    const int32_t code = std::max(static_cast<int32_t>(codes[i]->builtin_code),
                                  static_cast<int32_t>(codes[i]->deprecated_builtin_code));
    if (code == builtin_code && code != engine::builtin::kCustom && codes[i]->version == version)
      return static_cast<uint32_t>(i);
  }
  auto code = std::make_unique<fb::OperatorCodeT>();
  code->builtin_code = static_cast<fb::BuiltinOperator>(builtin_code);
  code->deprecated_builtin_code = static_cast<int8_t>(std::min(builtin_code, 127));
  code->version = version;
  codes.push_back(std::move(code));
  return static_cast<uint32_t>(codes.size() - 1);
}

void EditableModel::RaiseVersion(const fb::OperatorT& op, int32_t version) {
  auto& code = *model_->operator_codes[op.opcode_index];
  code.version = std::max(code.version, version);
}

std::unique_ptr<fb::OperatorT> EditableModel::MakeOp(int32_t builtin_code, int32_t version,
                                                     std::vector<int32_t> inputs, std::vector<int32_t> outputs) {
  auto op = std::make_unique<fb::OperatorT>();
  op->opcode_index = OpcodeIndex(builtin_code, version);
  op->inputs = std::move(inputs);
  op->outputs = std::move(outputs);
  return op;
}

void EditableModel::Prune() {
  fb::SubGraphT& g = graph();
  // Tensors: those operators, graph inputs and outputs refer to.
  std::vector<bool> used(g.tensors.size(), false);
  auto mark = [&](const std::vector<int32_t>& indices) {
    for (int32_t i : indices)
      if (i >= 0) used[static_cast<size_t>(i)] = true;
  };
  mark(g.inputs);
  mark(g.outputs);
  for (const auto& op : g.operators) {
    mark(op->inputs);
    mark(op->outputs);
    mark(op->intermediates);
  }
  std::vector<int32_t> tensor_map(g.tensors.size(), -1);
  std::vector<std::unique_ptr<fb::TensorT>> tensors;
  for (size_t i = 0; i < g.tensors.size(); ++i) {
    if (!used[i]) continue;
    tensor_map[i] = static_cast<int32_t>(tensors.size());
    tensors.push_back(std::move(g.tensors[i]));
  }
  g.tensors = std::move(tensors);
  auto remap = [&](std::vector<int32_t>& indices) {
    for (int32_t& i : indices)
      if (i >= 0) i = tensor_map[static_cast<size_t>(i)];
  };
  remap(g.inputs);
  remap(g.outputs);
  for (auto& op : g.operators) {
    remap(op->inputs);
    remap(op->outputs);
    remap(op->intermediates);
  }
  for (auto& signature : model_->signature_defs) {
    if (signature->subgraph_index != 0) continue;
    for (auto* maps : {&signature->inputs, &signature->outputs})
      for (auto& m : *maps) m->tensor_index = static_cast<uint32_t>(std::max(0, tensor_map[m->tensor_index]));
  }

  // Buffers: buffer 0 (the empty one), those of tensors and metadata.
  std::vector<bool> buffer_used(model_->buffers.size(), false);
  buffer_used[0] = true;
  for (const auto& t : g.tensors) buffer_used[t->buffer] = true;
  for (const auto& m : model_->metadata) buffer_used[m->buffer] = true;
  for (int32_t b : model_->metadata_buffer) buffer_used[static_cast<size_t>(b)] = true;
  std::vector<uint32_t> buffer_map(model_->buffers.size(), 0);
  std::vector<std::unique_ptr<fb::BufferT>> buffers;
  for (size_t i = 0; i < model_->buffers.size(); ++i) {
    if (!buffer_used[i]) continue;
    buffer_map[i] = static_cast<uint32_t>(buffers.size());
    buffers.push_back(std::move(model_->buffers[i]));
  }
  model_->buffers = std::move(buffers);
  for (auto& t : g.tensors) t->buffer = buffer_map[t->buffer];
  for (auto& m : model_->metadata) m->buffer = buffer_map[m->buffer];
  for (int32_t& b : model_->metadata_buffer) b = static_cast<int32_t>(buffer_map[static_cast<size_t>(b)]);

  // Operator codes no operator uses any more (a folded DEQUANTIZE).
  std::vector<bool> code_used(model_->operator_codes.size(), false);
  for (const auto& op : g.operators) code_used[op->opcode_index] = true;
  std::vector<uint32_t> code_map(model_->operator_codes.size(), 0);
  std::vector<std::unique_ptr<fb::OperatorCodeT>> codes;
  for (size_t i = 0; i < model_->operator_codes.size(); ++i) {
    if (!code_used[i]) continue;
    code_map[i] = static_cast<uint32_t>(codes.size());
    codes.push_back(std::move(model_->operator_codes[i]));
  }
  model_->operator_codes = std::move(codes);
  for (auto& op : g.operators) op->opcode_index = code_map[op->opcode_index];
}

std::vector<uint8_t> EditableModel::Finish() {
  Prune();
  flatbuffers::FlatBufferBuilder builder(original_size_ + 1024);
  fb::FinishModelBuffer(builder, fb::Model::Pack(builder, model_.get()));
  return {builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize()};
}

}  // namespace edgepipe::quantize
