"""Quantized benchmark models, made with onnxruntime's own quantization tool from the float
exports of bench_models.py (never committed):

- resnet50_int8.onnx: static quantization in the QOperator format (QLinearConv, QLinearMatMul,
  QuantizeLinear/DequantizeLinear around what stays float), u8 activations, s8 weights per
  output channel, calibrated (MinMax) on seeded random normal inputs.
- bert_encoder_int8.onnx: dynamic quantization (DynamicQuantizeLinear + MatMulInteger), s8
  weights per output channel.

Only the operators of the ONNX domain are asked for: onnxruntime's com.microsoft operators
(QLinearAdd, QGemm, QLinearGlobalAveragePool...) are its own, not ONNX's. A model that exists
is kept; delete it to make it again.

Usage: python quantize_bench_models.py MODEL_DIR
"""

import os
import sys

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)

CALIBRATION_SAMPLES = 8


class RandomImages(CalibrationDataReader):
    """Seeded standard normal inputs, like the benchmark's own (normalized images)."""

    def __init__(self, model_path: str):
        model = onnx.load(model_path, load_external_data=False)
        graph_input = model.graph.input[0]
        self.name = graph_input.name
        self.shape = [d.dim_value or 1 for d in graph_input.type.tensor_type.shape.dim]
        self.rng = np.random.default_rng(1234)
        self.left = CALIBRATION_SAMPLES

    def get_next(self):
        if self.left == 0:
            return None
        self.left -= 1
        return {self.name: self.rng.standard_normal(self.shape).astype(np.float32)}


def static_resnet(source: str, target: str) -> None:
    quantize_static(
        source,
        target,
        RandomImages(source),
        quant_format=QuantFormat.QOperator,
        # Relu and MaxPool keep the quantized tensors flowing between the convolutions; Add,
        # GlobalAveragePool and Gemm have no ONNX-domain QLinear form and stay float.
        op_types_to_quantize=["Conv", "MatMul", "Relu", "MaxPool"],
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        calibrate_method=CalibrationMethod.MinMax,
    )


def dynamic_bert(source: str, target: str) -> None:
    quantize_dynamic(
        source,
        target,
        op_types_to_quantize=["MatMul"],
        weight_type=QuantType.QInt8,
        per_channel=True,
    )


def main() -> None:
    folder = sys.argv[1]
    jobs = [
        ("resnet50.onnx", "resnet50_int8.onnx", static_resnet),
        ("bert_encoder.onnx", "bert_encoder_int8.onnx", dynamic_bert),
    ]
    for source_name, target_name, quantize in jobs:
        source = os.path.join(folder, source_name)
        target = os.path.join(folder, target_name)
        if os.path.exists(target) or not os.path.exists(source):
            continue
        print(f"quantizing {source_name} -> {target_name}", file=sys.stderr)
        quantize(source, target + ".partial")
        os.replace(target + ".partial", target)


if __name__ == "__main__":
    main()
