"""Builds the small ONNX files that the tests in libruntime/src/model/proto decode (onnx_test.zig).

Run from the repository root with the project venv, which has the onnx package:
    .cache/venv/bin/python libruntime/src/model/proto/testdata/make_testdata.py libruntime/src/model/proto/testdata
The files were made with onnx 1.23.1 (IR version 14); the tests assert the values written here.
"""
import sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

out = sys.argv[1]

def if_model():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])
    cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])
    then_out = helper.make_tensor_value_info("then_y", TensorProto.FLOAT, ["batch", 3])
    else_out = helper.make_tensor_value_info("else_y", TensorProto.FLOAT, ["batch", 3])
    # raw_data initializer (numpy_helper writes raw_data)
    w = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), name="w")
    # typed-field initializer (float_data) and int64_data
    b = helper.make_tensor("b", TensorProto.FLOAT, [3], [0.5, -1.25, 2.0], raw=False)
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 3], raw=False)
    then_graph = helper.make_graph(
        [helper.make_node("Add", ["x", "b"], ["then_y"], name="then_add")],
        "then_branch", [], [then_out])
    inner_if = helper.make_node(
        "If", ["cond"], ["else_y"], name="inner_if",
        then_branch=helper.make_graph(
            [helper.make_node("Identity", ["x"], ["else_y"], name="deep_identity")], "deep_then", [], [else_out]),
        else_branch=helper.make_graph(
            [helper.make_node("Neg", ["x"], ["else_y"], name="deep_neg")], "deep_else", [], [else_out]))
    else_graph = helper.make_graph([inner_if], "else_branch", [], [else_out])
    nodes = [
        helper.make_node("If", ["cond"], ["y0"], name="top_if", then_branch=then_graph, else_branch=else_graph),
        helper.make_node("Reshape", ["y0", "shape"], ["y1"], name="reshape", allowzero=0),
        helper.make_node("Gemm", ["y1", "w"], ["y"], name="gemm", alpha=0.25, transB=1,
                         doc_string="a gemm"),
    ]
    graph = helper.make_graph(nodes, "if_graph", [x, cond], [y], initializer=[w, b, shape],
                              doc_string="graph doc")
    graph.value_info.append(helper.make_tensor_value_info("y0", TensorProto.FLOAT, ["batch", None]))
    model = helper.make_model(graph, producer_name="tessera-test", producer_version="1.2",
                              opset_imports=[helper.make_opsetid("", 21)], doc_string="if model")
    model.model_version = 7
    model.domain = "ai.tessera.test"
    helper.set_model_props(model, {"author": "proto-test", "license": "none"})
    return model

def function_model():
    # A model-local function with an attribute default and an attribute reference.
    fn = helper.make_function(
        "custom", "ScaledAdd", ["a", "b"], ["c"],
        [helper.make_node("Constant", [], ["s"], name="const_s"),
         helper.make_node("Mul", ["b", "s"], ["bs"]),
         helper.make_node("Add", ["a", "bs"], ["c"])],
        [helper.make_opsetid("", 21)], attributes=["mode"],
        attribute_protos=[helper.make_attribute("scale", 2.5)], doc_string="fn doc")
    fn.node[0].attribute.append(
        helper.make_attribute_ref("value_float", onnx.AttributeProto.FLOAT, ref_attr_name="scale"))
    # External-data initializer: entries only, no file needed for decoding.
    ext = TensorProto(name="ext", data_type=TensorProto.FLOAT, dims=[4])
    ext.data_location = TensorProto.EXTERNAL
    for key, value in [("location", "weights.bin"), ("offset", "4096"), ("length", "16")]:
        entry = ext.external_data.add()
        entry.key = key
        entry.value = value
    sparse = helper.make_sparse_tensor(
        helper.make_tensor("sp_values", TensorProto.FLOAT, [2], [1.5, -3.0]),
        helper.make_tensor("sp_indices", TensorProto.INT64, [2], [1, 6]), [2, 4])
    inner = helper.make_graph([helper.make_node("Identity", ["a"], ["z"])], "attr_graph",
                              [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1])])
    kitchen = helper.make_node(
        "Everything", ["x"], ["k"], name="kitchen", domain="custom",
        f=0.5, i=-42, s=b"bytes", t=helper.make_tensor("t", TensorProto.INT32, [2], [7, -8]),
        g=inner, sp=sparse,
        tp=helper.make_tensor_type_proto(TensorProto.FLOAT16, [2, "n"]),
        floats=[1.0, 2.5], ints=[3, -4, 5], strings=[b"p", b"q"],
        tensors=[helper.make_tensor("d", TensorProto.DOUBLE, [1], [3.25]),
                 helper.make_tensor("u", TensorProto.UINT64, [1], [2**63 + 5]),
                 helper.make_tensor("str", TensorProto.STRING, [2], [b"hello", b"world"])],
        graphs=[inner], sparse_tensors=[sparse],
        type_protos=[helper.make_sequence_type_proto(helper.make_tensor_type_proto(TensorProto.INT64, None)),
                     helper.make_map_type_proto(TensorProto.STRING,
                                                helper.make_tensor_type_proto(TensorProto.FLOAT, [])),
                     helper.make_optional_type_proto(helper.make_tensor_type_proto(TensorProto.BOOL, [None])),
                     helper.make_sparse_tensor_type_proto(TensorProto.FLOAT, [3, 3])])
    call = helper.make_node("ScaledAdd", ["x", "ext"], ["y"], name="call", domain="custom", mode=1)
    graph = helper.make_graph([call, kitchen], "function_graph",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
                              initializer=[ext], sparse_initializer=[sparse])
    model = helper.make_model(graph, functions=[fn],
                              opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("custom", 1)])
    return model

# The If model is a valid standard model; the function model uses a made-up "custom" op on purpose.
onnx.checker.check_model(if_model(), full_check=True)
for name, model in [("if_model", if_model()), ("function_model", function_model())]:
    data = model.SerializeToString()
    with open(f"{out}/{name}.onnx", "wb") as f:
        f.write(data)
    print(name, len(data), "bytes")
