"""Small float .tflite models written with TFLite's own schema builder (the
object API the ai-edge-litert wheel ships), for the quantizer's tests.

    g = GraphBuilder()
    x = g.input("x", [1, 16, 16, 3])
    y = g.conv2d(x, rng.normal(size=(8, 3, 3, 3)), rng.normal(size=8), activation="RELU")
    g.output(g.softmax(g.fully_connected(g.reshape(y, [1, -1]), w, b)))
    path.write_bytes(g.finish())
"""
import numpy as np

from ai_edge_litert import schema_py_generated as schema
import flatbuffers

ACTIVATIONS = {None: 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3, "TANH": 4}
PADDING = {"SAME": schema.Padding.SAME, "VALID": schema.Padding.VALID}


class GraphBuilder:
    def __init__(self):
        self.buffers = [schema.BufferT()]
        self.tensors, self.codes, self.operators = [], [], []
        self.inputs, self.outputs = [], []
        self.shapes = []

    # ---- tensors
    def _tensor(self, name, shape, tensor_type=schema.TensorType.FLOAT32, data=None):
        t = schema.TensorT()
        t.name, t.shape, t.type = name, list(shape), tensor_type
        t.buffer = 0
        if data is not None:
            b = schema.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), dtype=np.uint8).tolist()
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        self.shapes.append(list(shape))
        return len(self.tensors) - 1

    def constant(self, values, name=None, dtype=np.float32):
        values = np.asarray(values, dtype=dtype)
        tensor_type = {np.float32: schema.TensorType.FLOAT32, np.int32: schema.TensorType.INT32}[dtype]
        return self._tensor(name or f"const_{len(self.tensors)}", values.shape, tensor_type, values)

    def input(self, name, shape):
        index = self._tensor(name, shape)
        self.inputs.append(index)
        return index

    def output(self, index):
        self.outputs.append(index)
        return index

    def shape(self, index):
        return self.shapes[index]

    # ---- operators
    def op(self, code, inputs, out_shape, options_type=0, options=None, name=None):
        if code not in [c.builtinCode for c in self.codes]:
            oc = schema.OperatorCodeT()
            oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code, min(code, 127), 1
            self.codes.append(oc)
        out = self._tensor(name or f"t{len(self.tensors)}", out_shape)
        o = schema.OperatorT()
        o.opcodeIndex = [c.builtinCode for c in self.codes].index(code)
        o.inputs, o.outputs = list(inputs), [out]
        o.builtinOptionsType, o.builtinOptions = options_type, options
        self.operators.append(o)
        return out

    def conv2d(self, x, weights, bias, stride=1, padding="SAME", activation=None):
        weights = np.asarray(weights, np.float32)  # [O, H, W, I]
        n, h, w, _ = self.shape(x)
        opt = schema.Conv2DOptionsT()
        opt.padding, opt.strideW, opt.strideH = PADDING[padding], stride, stride
        opt.fusedActivationFunction = ACTIVATIONS[activation]
        oh, ow = _out_size(h, weights.shape[1], stride, padding), _out_size(w, weights.shape[2], stride, padding)
        return self.op(schema.BuiltinOperator.CONV_2D, [x, self.constant(weights), self.constant(bias)],
                       [n, oh, ow, weights.shape[0]], schema.BuiltinOptions.Conv2DOptions, opt)

    def depthwise_conv2d(self, x, weights, bias, stride=1, padding="SAME", activation=None):
        weights = np.asarray(weights, np.float32)  # [1, H, W, C]
        n, h, w, c = self.shape(x)
        opt = schema.DepthwiseConv2DOptionsT()
        opt.padding, opt.strideW, opt.strideH = PADDING[padding], stride, stride
        opt.depthMultiplier = weights.shape[3] // c
        opt.fusedActivationFunction = ACTIVATIONS[activation]
        oh, ow = _out_size(h, weights.shape[1], stride, padding), _out_size(w, weights.shape[2], stride, padding)
        return self.op(schema.BuiltinOperator.DEPTHWISE_CONV_2D, [x, self.constant(weights), self.constant(bias)],
                       [n, oh, ow, weights.shape[3]], schema.BuiltinOptions.DepthwiseConv2DOptions, opt)

    def fully_connected(self, x, weights, bias, activation=None):
        weights = np.asarray(weights, np.float32)  # [O, I]
        opt = schema.FullyConnectedOptionsT()
        opt.fusedActivationFunction = ACTIVATIONS[activation]
        return self.op(schema.BuiltinOperator.FULLY_CONNECTED, [x, self.constant(weights), self.constant(bias)],
                       [self.shape(x)[0], weights.shape[0]], schema.BuiltinOptions.FullyConnectedOptions, opt)

    def add(self, a, b, activation=None):
        opt = schema.AddOptionsT()
        opt.fusedActivationFunction = ACTIVATIONS[activation]
        return self.op(schema.BuiltinOperator.ADD, [a, b], self.shape(a), schema.BuiltinOptions.AddOptions, opt)

    def concatenation(self, parts, axis):
        shape = list(self.shape(parts[0]))
        shape[axis] = sum(self.shape(p)[axis] for p in parts)
        opt = schema.ConcatenationOptionsT()
        opt.axis = axis
        return self.op(schema.BuiltinOperator.CONCATENATION, parts, shape,
                       schema.BuiltinOptions.ConcatenationOptions, opt)

    def pool(self, x, kind, size, stride, padding="VALID"):
        n, h, w, c = self.shape(x)
        opt = schema.Pool2DOptionsT()
        opt.padding, opt.strideW, opt.strideH = PADDING[padding], stride, stride
        opt.filterWidth = opt.filterHeight = size
        code = {"max": schema.BuiltinOperator.MAX_POOL_2D, "average": schema.BuiltinOperator.AVERAGE_POOL_2D}[kind]
        return self.op(code, [x], [n, _out_size(h, size, stride, padding), _out_size(w, size, stride, padding), c],
                       schema.BuiltinOptions.Pool2DOptions, opt)

    def resize_bilinear(self, x, height, width):
        n, _, _, c = self.shape(x)
        opt = schema.ResizeBilinearOptionsT()
        size = self.constant(np.array([height, width], np.int32), dtype=np.int32)
        return self.op(schema.BuiltinOperator.RESIZE_BILINEAR, [x, size], [n, height, width, c],
                       schema.BuiltinOptions.ResizeBilinearOptions, opt)

    def reshape(self, x, shape):
        shape = list(shape)
        if -1 in shape:
            known = int(np.prod([d for d in shape if d != -1]))
            shape[shape.index(-1)] = int(np.prod(self.shape(x))) // known
        opt = schema.ReshapeOptionsT()
        opt.newShape = shape
        return self.op(schema.BuiltinOperator.RESHAPE, [x, self.constant(np.array(shape, np.int32), dtype=np.int32)],
                       shape, schema.BuiltinOptions.ReshapeOptions, opt)

    def softmax(self, x, beta=1.0):
        opt = schema.SoftmaxOptionsT()
        opt.beta = beta
        return self.op(schema.BuiltinOperator.SOFTMAX, [x], self.shape(x), schema.BuiltinOptions.SoftmaxOptions, opt)

    def unary(self, code, x):
        return self.op(code, [x], self.shape(x))

    def finish(self, description="edgepipe quantizer test"):
        subgraph = schema.SubGraphT()
        subgraph.tensors, subgraph.inputs, subgraph.outputs = self.tensors, self.inputs, self.outputs
        subgraph.operators = self.operators
        model = schema.ModelT()
        model.version = 3
        model.operatorCodes, model.subgraphs, model.buffers = self.codes, [subgraph], self.buffers
        model.description = description
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def _out_size(size, kernel, stride, padding):
    return (size + stride - 1) // stride if padding == "SAME" else (size - kernel) // stride + 1
