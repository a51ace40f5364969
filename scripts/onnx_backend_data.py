"""Writes the ONNX backend test suite into a folder, as ONNX's own runner lays it out.

The onnx wheel ships the simple, pytorch-converted, pytorch-operator and light cases, but not the
per-operator node cases: those are generated here from onnx's test case definitions with the same
writer that onnx's cmd_tools uses. The light models ship as a bare model plus expected output;
onnx's runner makes their input on the fly, so this does the same and writes each as an ordinary
case folder (model.onnx, test_data_set_0, and data.json with onnx's tolerance for that model).
Usage: python onnx_backend_data.py OUTPUT_DIR [STAMP]  (STAMP goes to OUTPUT_DIR/VERSION)
"""
import argparse
import json
import os
import shutil
import sys

import onnx
import onnx.backend.test.case.model as model_cases
import onnx.backend.test.case.node as node_cases
from onnx import numpy_helper
from onnx.backend.test import cmd_tools
from onnx.backend.test.runner import Runner

SHIPPED = ["simple", "pytorch-converted", "pytorch-operator"]
SHIPPED_ROOT = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
# The light models are the "real" model cases whose url points into the wheel's data/light.
LIGHT_URL = "onnx/backend/test/data/light/"


def write_light(output: str, cases: list) -> None:
    """One case folder per light model, with the input onnx's runner generates for it."""
    root = os.path.join(output, "light")
    if os.path.exists(root):
        shutil.rmtree(root)
    for case in cases:
        if case.kind != "real" or not (case.url or "").startswith(LIGHT_URL):
            continue
        model_path = os.path.join(SHIPPED_ROOT, "light", os.path.basename(case.url))
        model = onnx.load(model_path)
        folder = os.path.join(root, case.name)
        data_set = os.path.join(folder, "test_data_set_0")
        os.makedirs(data_set)
        shutil.copy(model_path, os.path.join(folder, "model.onnx"))
        # As onnx's runner: every graph input that is not an initializer gets arange(n)/n as
        # float32, unknown dims set to 1 (Runner.generate_dummy_data with random=False).
        initializers = {i.name for i in model.graph.initializer}
        inputs = [x for x in model.graph.input if x.name not in initializers]
        for k, x in enumerate(inputs):
            value = Runner.generate_dummy_data(x, seed=0, name=case.model_name, random=False)
            with open(os.path.join(data_set, f"input_{k}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(value).SerializeToString())
        prefix = os.path.splitext(model_path)[0]
        for k in range(len(model.graph.output)):
            shutil.copy(f"{prefix}_output_{k}.pb", os.path.join(data_set, f"output_{k}.pb"))
        with open(os.path.join(folder, "data.json"), "w") as f:
            json.dump({"model_name": case.model_name, "rtol": case.rtol, "atol": case.atol}, f)


def main() -> None:
    output = sys.argv[1]
    os.makedirs(output, exist_ok=True)
    model_testcases = model_cases.collect_testcases()
    # cmd_tools writes whatever model_cases.collect_testcases() returns; point it at the node cases.
    model_cases.collect_testcases = node_cases.collect_testcases
    cmd_tools.generate_data(argparse.Namespace(output=output))
    for kind in SHIPPED:
        target = os.path.join(output, kind)
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.copytree(os.path.join(SHIPPED_ROOT, kind), target)
    write_light(output, model_testcases)
    with open(os.path.join(output, "VERSION"), "w") as stamp:
        stamp.write((sys.argv[2] if len(sys.argv) > 2 else f"onnx {onnx.__version__}") + "\n")


if __name__ == "__main__":
    main()
