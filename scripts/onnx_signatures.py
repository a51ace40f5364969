"""Writes what the onnx package reads as each suite model's signature, for the loading tests.

For every model.onnx (and light/*.onnx) under the suite folder: the graph's inputs (less those
that are initializers, which callers need not feed) and outputs, each with its type kind,
element type and dims (a number, a dim_param name, or null). Usage: python onnx_signatures.py SUITE
"""
import glob
import json
import os
import sys

import onnx


def type_of(type_proto):
    which = type_proto.WhichOneof("value")
    if which == "tensor_type":
        t = type_proto.tensor_type
        shape = None
        if t.HasField("shape"):
            shape = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in t.shape.dim]
        return {"kind": "tensor", "elem": t.elem_type, "shape": shape}
    if which in ("sequence_type", "optional_type"):
        return {"kind": which.split("_")[0], "elem": None, "shape": None}
    return {"kind": which or "unknown", "elem": None, "shape": None}


def signature(path):
    model = onnx.load(path, load_external_data=False)
    initializers = {t.name for t in model.graph.initializer}
    inputs = [{"name": v.name, **type_of(v.type)} for v in model.graph.input if v.name not in initializers]
    outputs = [{"name": v.name, **type_of(v.type)} for v in model.graph.output]
    return {"inputs": inputs, "outputs": outputs}


def main():
    suite = sys.argv[1]
    paths = sorted(glob.glob(os.path.join(suite, "*", "*", "model.onnx")) + glob.glob(os.path.join(suite, "light", "*.onnx")))
    result = {os.path.relpath(p, suite): signature(p) for p in paths}
    json.dump(result, sys.stdout, indent=0)


if __name__ == "__main__":
    main()
