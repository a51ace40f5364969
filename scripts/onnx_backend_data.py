"""Writes the ONNX backend test suite into a folder, as ONNX's own runner lays it out.

The onnx wheel ships the simple, pytorch-converted, pytorch-operator, light and real cases, but
not the per-operator node cases: those are generated here from onnx's test case definitions with
the same writer that onnx's cmd_tools uses. Usage: python onnx_backend_data.py OUTPUT_DIR
"""
import argparse
import os
import shutil
import sys

import onnx
import onnx.backend.test.case.model as model_cases
import onnx.backend.test.case.node as node_cases
from onnx.backend.test import cmd_tools

SHIPPED = ["simple", "pytorch-converted", "pytorch-operator", "light"]


def main() -> None:
    output = sys.argv[1]
    os.makedirs(output, exist_ok=True)
    # cmd_tools writes whatever model_cases.collect_testcases() returns; point it at the node cases.
    model_cases.collect_testcases = node_cases.collect_testcases
    cmd_tools.generate_data(argparse.Namespace(output=output))
    shipped_root = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
    for kind in SHIPPED:
        target = os.path.join(output, kind)
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.copytree(os.path.join(shipped_root, kind), target)
    with open(os.path.join(output, "VERSION"), "w") as stamp:
        stamp.write(f"onnx {onnx.__version__}\n")


if __name__ == "__main__":
    main()
