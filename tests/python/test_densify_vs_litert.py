"""Sparse constant weights (TFLite DENSIFY) in edgepipe against LiteRT.

Each test writes a small model with TFLite's own schema builder (the one the
ai-edge-litert wheel ships): input [1, 8] float32 -> FULLY_CONNECTED with a
[4, 8] weight stored sparse and passed through DENSIFY (fp16 weights also
through DEQUANTIZE) -> output [1, 4]. Both runtimes run it on the same inputs;
edgepipe must fold the DENSIFY at load time and agree within 1e-5.

Run: PYTHONPATH=<src>/python:<build>/python pytest tests/python
`python3 test_densify_vs_litert.py DIR` writes the models into DIR instead
(scripts/fuzz.sh seeds the reader fuzzer with them).
"""
import sys

import numpy as np
import pytest

if __name__ != "__main__":
    edgepipe = pytest.importorskip("edgepipe", reason="build the _edgepipe module and set PYTHONPATH")
    litert = pytest.importorskip("ai_edge_litert.interpreter", reason="pip install ai-edge-litert")
schema = pytest.importorskip("ai_edge_litert.schema_py_generated", reason="pip install ai-edge-litert")
flatbuffers = pytest.importorskip("flatbuffers", reason="pip install flatbuffers")

INDEX_VECTORS = {
    np.int32: (schema.SparseIndexVector.Int32Vector, schema.Int32VectorT),
    np.uint16: (schema.SparseIndexVector.Uint16Vector, schema.Uint16VectorT),
    np.uint8: (schema.SparseIndexVector.Uint8Vector, schema.Uint8VectorT),
}


def expanded(dense, block_map, block_sizes):
    """The dense tensor with each blocked dimension split into (blocks, block):
    dims 0..n-1 count blocks where blocked, dims n..n+k-1 index inside a block."""
    n = dense.ndim
    outer = list(dense.shape)
    for d, b in zip(block_map, block_sizes):
        assert outer[d] % b == 0
        outer[d] //= b
    shape = outer + list(block_sizes)
    coords = np.indices(shape)
    original = [coords[d] for d in range(n)]
    for j, (d, b) in enumerate(zip(block_map, block_sizes)):
        original[d] = original[d] * b + coords[n + j]
    return dense[tuple(original)]


def encode_sparse(dense, traversal_order, formats, block_map=(), block_sizes=(), index_dtype=np.int32):
    """TFLite SparsityParameters and stored values for `dense`: walks the
    expanded dims in traversal order, level by level; a SPARSE_CSR level keeps
    only the coordinates whose sub-tensor has a non-zero."""
    tree = expanded(dense, block_map, block_sizes).transpose(traversal_order)
    nodes = [tree]
    dim_metadata = []
    for level, fmt in enumerate(formats):
        size = tree.shape[level]
        meta = schema.DimensionMetadataT()
        meta.format = fmt
        if fmt == schema.DimensionType.DENSE:
            meta.denseSize = size
            nodes = [node[i] for node in nodes for i in range(size)]
        else:
            segments, indices, children = [0], [], []
            for node in nodes:
                for i in range(size):
                    if np.any(node[i] != 0):
                        indices.append(i)
                        children.append(node[i])
                segments.append(len(indices))
            nodes = children
            kind, table = INDEX_VECTORS[index_dtype]
            for attr, values in (("arraySegments", segments), ("arrayIndices", indices)):
                vector = table()
                vector.values = np.array(values, dtype=index_dtype).tolist()
                setattr(meta, attr + "Type", kind)
                setattr(meta, attr, vector)
        dim_metadata.append(meta)
    sparsity = schema.SparsityParametersT()
    sparsity.traversalOrder = list(traversal_order)
    sparsity.blockMap = list(block_map) if block_map else None
    sparsity.dimMetadata = dim_metadata
    values = np.array([float(leaf) for leaf in nodes], dtype=dense.dtype)
    return sparsity, values


def tensor(shape, tensor_type, buffer, name, sparsity=None):
    t = schema.TensorT()
    t.shape = list(shape)
    t.type = tensor_type
    t.buffer = buffer
    t.name = name
    t.sparsity = sparsity
    return t


def build_model(weights, sparsity, values, bias, fc_reads_sparse=False):
    """input [1, 8] -> (DENSIFY [-> DEQUANTIZE]) -> FULLY_CONNECTED -> output [1, 4]."""
    fp16 = weights.dtype == np.float16
    weight_type = schema.TensorType.FLOAT16 if fp16 else schema.TensorType.FLOAT32
    buffers = [schema.BufferT() for _ in range(3)]
    buffers[1].data = np.frombuffer(values.tobytes(), dtype=np.uint8).tolist()
    buffers[2].data = np.frombuffer(bias.astype(np.float32).tobytes(), dtype=np.uint8).tolist()
    tensors = [
        tensor([1, 8], schema.TensorType.FLOAT32, 0, "input"),
        tensor(weights.shape, weight_type, 1, "weights_sparse", sparsity),
        tensor([4], schema.TensorType.FLOAT32, 2, "bias"),
        tensor([1, 4], schema.TensorType.FLOAT32, 0, "output"),
    ]
    codes, operators = [], []

    def add_op(code, inputs, outputs, options_type=0, options=None):
        if code not in [c.builtinCode for c in codes]:
            oc = schema.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = 1
            codes.append(oc)
        op = schema.OperatorT()
        op.opcodeIndex = [c.builtinCode for c in codes].index(code)
        op.inputs, op.outputs = inputs, outputs
        op.builtinOptionsType, op.builtinOptions = options_type, options
        operators.append(op)

    weight = 1
    if not fc_reads_sparse:
        tensors.append(tensor(weights.shape, weight_type, 0, "weights_dense"))
        add_op(schema.BuiltinOperator.DENSIFY, [1], [len(tensors) - 1],
               schema.BuiltinOptions.DensifyOptions, schema.DensifyOptionsT())
        weight = len(tensors) - 1
        if fp16:
            tensors.append(tensor(weights.shape, schema.TensorType.FLOAT32, 0, "weights_fp32"))
            add_op(schema.BuiltinOperator.DEQUANTIZE, [weight], [len(tensors) - 1])
            weight = len(tensors) - 1
    add_op(schema.BuiltinOperator.FULLY_CONNECTED, [0, weight, 2], [3],
           schema.BuiltinOptions.FullyConnectedOptions, schema.FullyConnectedOptionsT())

    subgraph = schema.SubGraphT()
    subgraph.tensors, subgraph.inputs, subgraph.outputs = tensors, [0], [3]
    subgraph.operators = operators
    model = schema.ModelT()
    model.version = 3
    model.operatorCodes, model.subgraphs, model.buffers = codes, [subgraph], buffers
    model.description = "densify test"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def sparse_weights(rng, dtype, zero_blocks=None):
    """[4, 8] weights, about half zeros; with zero_blocks=(bh, bw) whole blocks are zero."""
    w = rng.uniform(-1.0, 1.0, (4, 8)).astype(np.float32)
    if zero_blocks:
        bh, bw = zero_blocks
        keep = rng.random((4 // bh, 8 // bw)) < 0.5
        keep[0, 0] = True
        w *= np.kron(keep, np.ones((bh, bw), dtype=np.float32))
    else:
        w[rng.random((4, 8)) < 0.5] = 0.0
        w[1, :] = 0.0  # an empty row: a zero-length segment
    return w.astype(dtype)


VARIANTS = {
    # name: (weight dtype, traversal_order, formats, block_map, block_sizes, index dtype)
    "csr_f32": (np.float32, [0, 1], ["D", "S"], (), (), np.int32),
    "csr_f32_uint8": (np.float32, [0, 1], ["D", "S"], (), (), np.uint8),
    "csr_f32_column_major": (np.float32, [1, 0], ["D", "S"], (), (), np.uint16),
    "block2x2_f32": (np.float32, [0, 1, 2, 3], ["D", "S", "D", "D"], (0, 1), (2, 2), np.int32),
    "block1x4_f32_uint16": (np.float32, [0, 1, 2], ["D", "S", "D"], (1,), (4,), np.uint16),
    "csr_f16": (np.float16, [0, 1], ["D", "S"], (), (), np.int32),
    "block2x2_f16": (np.float16, [0, 1, 2, 3], ["D", "S", "D", "D"], (0, 1), (2, 2), np.uint8),
}


def make_variant(name, seed=0):
    dtype, traversal, formats, block_map, block_sizes, index_dtype = VARIANTS[name]
    rng = np.random.default_rng(seed)
    bh_bw = None
    if block_sizes:
        full = [1, 1]
        for d, b in zip(block_map, block_sizes):
            full[d] = b
        bh_bw = tuple(full)
    weights = sparse_weights(rng, dtype, bh_bw)
    fmt = {"D": schema.DimensionType.DENSE, "S": schema.DimensionType.SPARSE_CSR}
    sparsity, values = encode_sparse(weights, traversal, [fmt[f] for f in formats], block_map, block_sizes,
                                     index_dtype)
    assert values.size < weights.size, "the weights must really be sparse"
    bias = rng.uniform(-0.5, 0.5, 4).astype(np.float32)
    return weights, sparsity, values, bias


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_densify_matches_litert(name, tmp_path):
    weights, sparsity, values, bias = make_variant(name)
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(build_model(weights, sparsity, values, bias))

    ref = litert.Interpreter(model_path=str(path), num_threads=1)
    ref.allocate_tensors()
    ours = edgepipe.Interpreter(str(path), num_threads=1)
    assert any("DENSIFY" in r for r in ours.rewrites), ours.rewrites

    rng = np.random.default_rng(1)
    for _ in range(3):
        x = rng.uniform(-1.0, 1.0, (1, 8)).astype(np.float32)
        ref.set_tensor(ref.get_input_details()[0]["index"], x)
        ref.invoke()
        expected = ref.get_tensor(ref.get_output_details()[0]["index"])
        ours.set_input(0, x)
        ours.invoke()
        got = ours.get_output(0)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
        # And both against the dense weights themselves: the encoding is what we think.
        direct = x @ weights.astype(np.float32).T + bias
        np.testing.assert_allclose(got, direct, rtol=1e-5, atol=1e-5)


def test_sparse_weights_read_directly_are_an_error(tmp_path):
    weights, sparsity, values, bias = make_variant("csr_f32")
    path = tmp_path / "fc_sparse.tflite"
    path.write_bytes(build_model(weights, sparsity, values, bias, fc_reads_sparse=True))
    with pytest.raises(Exception, match=r"FULLY_CONNECTED.*'weights_sparse' is a sparse constant"):
        edgepipe.Interpreter(str(path))


def test_malformed_sparsity_names_the_tensor(tmp_path):
    weights, sparsity, values, bias = make_variant("csr_f32")
    sparsity.dimMetadata[1].arrayIndices.values[0] = 8  # column 8 of an 8-wide matrix
    path = tmp_path / "bad_index.tflite"
    path.write_bytes(build_model(weights, sparsity, values, bias))
    with pytest.raises(Exception, match=r"'weights_sparse'.*array_indices\[0\] = 8 is out of range"):
        edgepipe.Interpreter(str(path))


if __name__ == "__main__":
    from pathlib import Path

    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    for variant in sorted(VARIANTS):
        (out_dir / f"densify_{variant}.tflite").write_bytes(build_model(*make_variant(variant)))
