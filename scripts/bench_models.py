"""Writes the benchmark models as ONNX files: torchvision CNNs and a small BERT-style encoder, all
with seeded random weights (no weights can be downloaded here, and speed does not depend on their
values). Each model is exported at opset 17 through the TorchScript exporter, which keeps the
plain op set (Gemm, Conv, Erf, LayerNormalization...) that ONNX Runtime and Tessera both read.

Usage: python3 scripts/bench_models.py OUT_DIR [name...]   (default: every model)
Run by scripts/bench-models inside .cache/bench-venv; existing files are left alone.
"""
import math
import os
import sys

import onnx
import torch
import torchvision

OPSET = 17
SEED = 20261121


class EncoderLayer(torch.nn.Module):
    """One BERT layer as Hugging Face's BertLayer computes it: separate Q, K and V projections,
    scaled dot-product attention, output projection, residual + LayerNorm, exact (erf) GELU FFN,
    residual + LayerNorm. Written out (not torch.nn.TransformerEncoderLayer, whose eval fast path
    does not export) so the graph has the MatMul/Add/Softmax/Erf/LayerNormalization shape of a
    real BERT export."""

    def __init__(self, hidden, heads, ffn):
        super().__init__()
        self.heads = heads
        self.scale = 1.0 / math.sqrt(hidden // heads)
        self.query = torch.nn.Linear(hidden, hidden)
        self.key = torch.nn.Linear(hidden, hidden)
        self.value = torch.nn.Linear(hidden, hidden)
        self.attention_out = torch.nn.Linear(hidden, hidden)
        self.attention_norm = torch.nn.LayerNorm(hidden, eps=1e-12)
        self.intermediate = torch.nn.Linear(hidden, ffn)
        self.output = torch.nn.Linear(ffn, hidden)
        self.output_norm = torch.nn.LayerNorm(hidden, eps=1e-12)

    def split_heads(self, x):
        batch, seq, hidden = x.shape
        return x.view(batch, seq, self.heads, hidden // self.heads).transpose(1, 2)

    def forward(self, x):
        batch, seq, hidden = x.shape
        q, k, v = (self.split_heads(f(x)) for f in (self.query, self.key, self.value))
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        context = torch.matmul(torch.softmax(scores, dim=-1), v)
        context = context.transpose(1, 2).reshape(batch, seq, hidden)
        x = self.attention_norm(x + self.attention_out(context))
        ffn = self.output(torch.nn.functional.gelu(self.intermediate(x)))
        return self.output_norm(x + ffn)


class Encoder(torch.nn.Module):
    """A BERT-style encoder: 4 layers, hidden 256, 4 heads, FFN 1024. The input is the embedded
    sequence, float32 [1, 128, 256], so the benchmark times the encoder rather than a lookup."""

    def __init__(self, hidden=256, heads=4, ffn=1024, layers=4):
        super().__init__()
        self.layers = torch.nn.ModuleList(EncoderLayer(hidden, heads, ffn) for _ in range(layers))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def vision(factory):
    return lambda: (factory(weights=None), torch.randn(1, 3, 224, 224))


MODELS = {
    "resnet50": vision(torchvision.models.resnet50),
    "mobilenetv2": vision(torchvision.models.mobilenet_v2),
    "squeezenet1_1": vision(torchvision.models.squeezenet1_1),
    "efficientnet_b0": vision(torchvision.models.efficientnet_b0),
    "bert_encoder": lambda: (Encoder(), torch.randn(1, 128, 256)),
}


def randomize_batchnorm(model):
    """Default BatchNorm statistics (mean 0, var 1, weight 1, bias 0) make BN a no-op, which would
    let a runtime skip work a real model has; give them plausible random values instead."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n) * 0.1)
            module.running_var.copy_(torch.rand(n) * 0.5 + 0.75)
            module.weight.data.copy_(torch.rand(n) * 0.5 + 0.75)
            module.bias.data.copy_(torch.randn(n) * 0.1)


def export(name, path):
    torch.manual_seed(SEED)
    model, example = MODELS[name]()
    model.eval()
    with torch.no_grad():
        randomize_batchnorm(model)
        tmp = path + ".tmp"
        torch.onnx.export(model, (example,), tmp, dynamo=False, opset_version=OPSET,
                          input_names=["input"], output_names=["output"], do_constant_folding=True)
    checked = onnx.load(tmp)
    onnx.checker.check_model(checked)
    # ORT 1.30 reads IR up to 13; the exporter writes lower, but say so if that ever changes.
    assert checked.ir_version <= 13, f"{name}: IR {checked.ir_version} is newer than ORT 1.30 reads"
    os.replace(tmp, path)
    params = sum(math.prod(t.dims) for t in checked.graph.initializer)
    print(f"{name}: {path} ({params / 1e6:.1f} M parameters, {len(checked.graph.node)} nodes)", file=sys.stderr)


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or list(MODELS)
    os.makedirs(out, exist_ok=True)
    for name in names:
        if name not in MODELS:
            sys.exit(f"unknown model '{name}'; known: {', '.join(MODELS)}")
        path = os.path.join(out, name + ".onnx")
        if not os.path.exists(path):
            export(name, path)


if __name__ == "__main__":
    main()
