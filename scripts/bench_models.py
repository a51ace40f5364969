"""Writes the benchmark models as ONNX files: torchvision CNNs, a small BERT-style encoder, BERT-mini
as Hugging Face transformers builds it, and a small recurrent voice-activity detector (whole clip,
and streaming chunks with state), all with seeded random weights (no weights can be downloaded
here, and speed does not depend on their values). Each model is exported at opset 17 through the
TorchScript exporter, which keeps the plain op set (Gemm, Conv, Erf, LayerNormalization, LSTM...)
that ONNX Runtime and Tessera both read.

Usage: python3 scripts/bench_models.py OUT_DIR [name...]   (default: every model)
Run by scripts/bench-models inside .cache/bench-venv; existing files are left alone.
"""
import math
import os
import sys

import onnx
import torch
import torchvision
import transformers

OPSET = 17
SEED = 20261121


class Export:
    """A model, its example inputs (which fix the exported shapes) and its input and output names."""

    def __init__(self, model, example, inputs=("input",), outputs=("output",)):
        self.model, self.example, self.inputs, self.outputs = model, example, list(inputs), list(outputs)


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


class BertMini(torch.nn.Module):
    """BERT-mini (hidden 256, 4 layers, 4 heads, FFN 1024; BERT's vocabulary) from transformers'
    own BertModel, with its default attention, so the graph is what an export of a Hugging Face
    checkpoint gives. The wrapper passes the three inputs by name (the exporter passes them by
    position) and returns the two outputs as a tuple."""

    def __init__(self):
        super().__init__()
        config = transformers.BertConfig(hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                                         intermediate_size=1024)
        self.bert = transformers.BertModel(config)

    def forward(self, input_ids, attention_mask, token_type_ids):
        out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return out.last_hidden_state, out.pooler_output


def bert_mini():
    # Example inputs only fix the shapes; the benchmark feeds its own seeded token ids.
    ids = torch.randint(0, 30522, (1, 128))
    return Export(BertMini(), (ids, torch.ones_like(ids), torch.zeros_like(ids)),
                  ["input_ids", "attention_mask", "token_type_ids"], ["last_hidden_state", "pooler_output"])


class VoiceActivity(torch.nn.Module):
    """A small voice-activity detector in the shape of Silero VAD: an STFT as a Conv1d over a fixed
    Hann-windowed Fourier basis (256-sample window, hop 128: 16 ms frames at 16 kHz), log
    magnitude, four Conv1d + ReLU layers (one with stride 2), a 128-wide LSTM and a sigmoid head
    giving one speech probability per 16 ms."""

    WINDOW = 256
    HOP = 128
    HIDDEN = 128

    def __init__(self):
        super().__init__()
        bins = self.WINDOW // 2 + 1
        n = torch.arange(self.WINDOW, dtype=torch.float64)
        angle = 2 * math.pi * torch.arange(bins, dtype=torch.float64)[:, None] * n / self.WINDOW
        hann = 0.5 - 0.5 * torch.cos(2 * math.pi * n / self.WINDOW)
        # Real parts on the first `bins` output channels, imaginary parts on the rest.
        basis = torch.cat([torch.cos(angle) * hann, -torch.sin(angle) * hann]).float()
        self.register_buffer("basis", basis[:, None, :])
        self.bins = bins
        conv = torch.nn.Conv1d
        self.encoder = torch.nn.Sequential(
            conv(bins, 128, 3, padding=1), torch.nn.ReLU(),
            conv(128, 64, 3, stride=2, padding=1), torch.nn.ReLU(),
            conv(64, 64, 3, padding=1), torch.nn.ReLU(),
            conv(64, self.HIDDEN, 3, padding=1), torch.nn.ReLU())
        self.lstm = torch.nn.LSTM(self.HIDDEN, self.HIDDEN, batch_first=True)
        self.head = torch.nn.Conv1d(self.HIDDEN, 1, 1)

    def features(self, audio):
        """[batch, samples] -> [batch, frames, HIDDEN]."""
        spectrum = torch.nn.functional.conv1d(audio[:, None, :], self.basis, stride=self.HOP)
        real, imag = spectrum[:, :self.bins], spectrum[:, self.bins:]
        magnitude = torch.sqrt(real * real + imag * imag)
        return self.encoder(torch.log(magnitude + 1e-3)).transpose(1, 2)

    def probability(self, lstm_out):
        """[batch, frames, HIDDEN] -> [batch, frames]."""
        return torch.sigmoid(self.head(torch.relu(lstm_out).transpose(1, 2)))[:, 0]

    def forward(self, audio):
        out, _ = self.lstm(self.features(audio))
        return self.probability(out)


class StreamingVoiceActivity(VoiceActivity):
    """The same detector run as Silero VAD is, on 512-sample chunks (32 ms) with the LSTM's state
    [h; c] as a [2, 1, 128] input and output, and one probability per chunk."""

    def forward(self, audio, state):
        out, (h, c) = self.lstm(self.features(audio), (state[0:1], state[1:2]))
        return self.probability(out[:, -1:]), torch.cat([h, c])


def vision(factory):
    return lambda: Export(factory(weights=None), (torch.randn(1, 3, 224, 224),))


MODELS = {
    "resnet50": vision(torchvision.models.resnet50),
    "mobilenetv2": vision(torchvision.models.mobilenet_v2),
    "squeezenet1_1": vision(torchvision.models.squeezenet1_1),
    "efficientnet_b0": vision(torchvision.models.efficientnet_b0),
    "bert_encoder": lambda: Export(Encoder(), (torch.randn(1, 128, 256),)),
    "bert_mini": bert_mini,
    "vad_lstm": lambda: Export(VoiceActivity(), (torch.randn(1, 16000) * 0.1,), ["audio"], ["speech"]),
    "vad_stream": lambda: Export(StreamingVoiceActivity(), (torch.randn(1, 512) * 0.1, torch.zeros(2, 1, 128)),
                                 ["audio", "state"], ["speech", "state_out"]),
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
    spec = MODELS[name]()
    model = spec.model.eval()
    with torch.no_grad():
        randomize_batchnorm(model)
        tmp = path + ".tmp"
        torch.onnx.export(model, spec.example, tmp, dynamo=False, opset_version=OPSET,
                          input_names=spec.inputs, output_names=spec.outputs, do_constant_folding=True)
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
