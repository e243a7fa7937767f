"""Small TFLite models that pass the FlatBuffer verifier but are wrong in what
they mean (strides, shapes, sizes, quantization), written with TFLite's own
schema builder (the one the ai-edge-litert wheel ships), as
tests/python/test_densify_vs_litert.py does. Each returns the model's bytes.
"""
import math

import numpy as np
from ai_edge_litert import schema_py_generated as schema
import flatbuffers


def _tensor(shape, tensor_type, buffer, name, scale=None, zero_point=0):
    t = schema.TensorT()
    t.shape = list(shape)
    t.type = tensor_type
    t.buffer = buffer
    t.name = name
    if scale is not None:
        q = schema.QuantizationParametersT()
        q.scale = [scale]
        q.zeroPoint = [zero_point]
        t.quantization = q
    return t


def _model(tensors, buffers, ops, inputs, outputs):
    """ops: (builtin code, inputs, outputs, options type, options)."""
    codes, operators = [], []
    for code, op_inputs, op_outputs, options_type, options in ops:
        if code not in [c.builtinCode for c in codes]:
            oc = schema.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = 1
            codes.append(oc)
        op = schema.OperatorT()
        op.opcodeIndex = [c.builtinCode for c in codes].index(code)
        op.inputs, op.outputs = list(op_inputs), list(op_outputs)
        op.builtinOptionsType, op.builtinOptions = options_type, options
        operators.append(op)
    subgraph = schema.SubGraphT()
    subgraph.tensors, subgraph.inputs, subgraph.outputs = tensors, inputs, outputs
    subgraph.operators = operators
    model = schema.ModelT()
    model.version = 3
    model.operatorCodes, model.subgraphs, model.buffers = codes, [subgraph], buffers
    model.description = "bad_input test"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _buffers(*arrays):
    buffers = [schema.BufferT()]
    for array in arrays:
        b = schema.BufferT()
        b.data = np.frombuffer(np.ascontiguousarray(array).tobytes(), dtype=np.uint8).tolist()
        buffers.append(b)
    return buffers


F32 = schema.TensorType.FLOAT32


def conv(stride=1, output_hw=None, padding=schema.Padding.VALID):
    """input [1,8,8,3] -> CONV_2D 3x3 (4 filters) -> output [1,H,W,4], float."""
    filters = np.linspace(-1, 1, 4 * 3 * 3 * 3, dtype=np.float32).reshape(4, 3, 3, 3)
    bias = np.zeros(4, np.float32)
    if output_hw is None:
        output_hw = max(1, (8 - 3) // stride + 1) if stride > 0 else 6
    tensors = [
        _tensor([1, 8, 8, 3], F32, 0, "image"),
        _tensor([4, 3, 3, 3], F32, 1, "conv_filter"),
        _tensor([4], F32, 2, "conv_bias"),
        _tensor([1, output_hw, output_hw, 4], F32, 0, "conv_out"),
    ]
    options = schema.Conv2DOptionsT()
    options.padding = padding
    options.strideW = options.strideH = stride
    options.dilationWFactor = options.dilationHFactor = 1
    ops = [(schema.BuiltinOperator.CONV_2D, [0, 1, 2], [3], schema.BuiltinOptions.Conv2DOptions, options)]
    return _model(tensors, _buffers(filters, bias), ops, [0], [3])


def reshape(shape_operand, output_shape=(1, 25)):
    """input [1,25] -> RESHAPE(shape operand) -> output."""
    tensors = [
        _tensor([1, 25], F32, 0, "values"),
        _tensor([len(shape_operand)], schema.TensorType.INT32, 1, "new_shape"),
        _tensor(list(output_shape), F32, 0, "reshaped"),
    ]
    options = schema.ReshapeOptionsT()
    options.newShape = list(shape_operand)
    ops = [(schema.BuiltinOperator.RESHAPE, [0, 1], [2], schema.BuiltinOptions.ReshapeOptions, options)]
    return _model(tensors, _buffers(np.array(shape_operand, np.int32)), ops, [0], [2])


def relu(shape):
    """input `shape` -> RELU -> output `shape`: a declared shape the engine must size."""
    tensors = [_tensor(shape, F32, 0, "wide_in"), _tensor(shape, F32, 0, "wide_out")]
    return _model(tensors, _buffers(), [(schema.BuiltinOperator.RELU, [0], [1], 0, None)], [0], [1])


def quantize(scale):
    """input [1,4] float -> QUANTIZE -> output [1,4] uint8 with the given scale."""
    tensors = [
        _tensor([1, 4], F32, 0, "real"),
        _tensor([1, 4], schema.TensorType.UINT8, 0, "quantized", scale=scale, zero_point=128),
    ]
    return _model(tensors, _buffers(), [(schema.BuiltinOperator.QUANTIZE, [0], [1], 0, None)], [0], [1])


# name -> (model bytes, words the error must contain). Each is one class of
# "passes the verifier, means nothing": every error names the op and tensor.
BAD_MODELS = {
    "conv_stride_negative": (lambda: conv(stride=-1), ["CONV_2D", "stride"]),
    "conv_stride_zero": (lambda: conv(stride=0), ["CONV_2D", "stride"]),
    "conv_stride_million": (lambda: conv(stride=1_000_000, output_hw=1), ["CONV_2D", "stride"]),
    "conv_output_shape_wrong": (lambda: conv(stride=1, output_hw=5), ["CONV_2D", "conv_out"]),
    "reshape_negative_shape": (lambda: reshape([-5, -5]), ["RESHAPE", "new_shape"]),
    "reshape_shape_mismatch": (lambda: reshape([2, 10], output_shape=(2, 10)), ["RESHAPE"]),
    "tensor_bytes_overflow": (lambda: relu([1 << 30, 1 << 30, 1 << 30, 1 << 30]), ["wide_in"]),
    "tensor_zero_dimension": (lambda: relu([1, 0, 4]), ["wide_in"]),
    "quant_scale_zero": (lambda: quantize(0.0), ["quantized", "scale"]),
    "quant_scale_nan": (lambda: quantize(math.nan), ["quantized", "scale"]),
    "quant_scale_inf": (lambda: quantize(math.inf), ["quantized", "scale"]),
    "quant_scale_negative": (lambda: quantize(-0.5), ["quantized", "scale"]),
}
