"""Makes the main demo's model: a small CNN trained on scikit-learn's handwritten digits.

Usage: make_demo_model.py OUT_DIR   (scripts/demo and test/demo.test.ts use .cache/demo)

The digits (1,797 8x8 images, ships inside the scikit-learn wheel, so nothing is downloaded) are
split 80/20, stratified, with a fixed seed. The network is trained here in plain numpy, so the
forward pass that scores it is the reference the runtime is compared against:

    image [batch,1,8,8] -> Conv 3x3 (16) -> Relu -> MaxPool 2 -> Conv 3x3 (32) -> Relu
        -> MaxPool 2 -> Flatten -> Gemm (10) = logits -> Softmax = probabilities

It writes, into OUT_DIR:
    model.onnx            opset 17, IR version 8, so any ONNX runtime can read it
    test_images.pb        the held-out images, float32 [N,1,8,8] in [0,1] (an ONNX TensorProto)
    test_labels.pb        their labels, int64 [N]
    expected_logits.pb    numpy's logits for every held-out image, float32 [N,10]
    expected.json         numpy's accuracy, a few samples' logits, and how training went
    generator.sha256      this file's hash: a matching one means OUT_DIR is up to date

TensorProto files rather than .npy: Tessera reads them (rt.tensorFromOnnx), as does any ONNX tool.
onnxruntime cross-checks the exported file before anything is written, so a wrong export fails
here and not in the runtime's tests. When OUT_DIR is up to date it exits at once, before the
heavy imports, which keeps a second scripts/demo fast.
"""
import hashlib
import json
import os
import shutil
import sys
import time

SEED = 0
EPOCHS = 12
BATCH = 64
LEARNING_RATE = 1e-2
WEIGHT_DECAY = 1e-4
OPSET = 17
IR_VERSION = 8
SAMPLES_IN_JSON = 5


def generator_hash():
    with open(__file__, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def up_to_date(out_dir):
    try:
        with open(os.path.join(out_dir, "generator.sha256")) as f:
            return f.read().strip() == generator_hash()
    except FileNotFoundError:
        return False


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: make_demo_model.py OUT_DIR")
    # Checked before the imports below, which take about a second: an up-to-date run is instant.
    if up_to_date(sys.argv[1]):
        raise SystemExit(0)

# One BLAS thread: the matrices are tiny, so threads only add overhead (several times slower on
# a busy 2-core machine), and one thread sums in a fixed order, so every run trains the same net.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402 (after the freshness check, on purpose)
import onnx  # noqa: E402
import onnxruntime  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402


# --- the network, in numpy: forward with caches for backward, NCHW like ONNX -----------------

def im2col(x):
    """Patches of a 3x3 convolution with padding 1: (B,C,H,W) -> (B*H*W, C*9), ONNX weight order."""
    b, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))  # B,C,H,W,3,3
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(b * h * w, c * 9)


def col2im(cols, shape):
    """The gradient of im2col: each patch element flows back to the pixel it was read from."""
    b, c, h, w = shape
    grads = cols.reshape(b, h, w, c, 3, 3)
    padded = np.zeros((b, c, h + 2, w + 2), dtype=cols.dtype)
    for ky in range(3):
        for kx in range(3):
            padded[:, :, ky:ky + h, kx:kx + w] += grads[:, :, :, :, ky, kx].transpose(0, 3, 1, 2)
    return padded[:, :, 1:-1, 1:-1]


def conv_forward(x, weight, bias):
    b, _, h, w = x.shape
    cols = im2col(x)
    out = cols @ weight.reshape(weight.shape[0], -1).T + bias
    return out.reshape(b, h, w, -1).transpose(0, 3, 1, 2), cols


def conv_backward(grad, x_shape, cols, weight, need_input_grad):
    out_channels = weight.shape[0]
    g = grad.transpose(0, 2, 3, 1).reshape(-1, out_channels)
    grad_weight = (g.T @ cols).reshape(weight.shape)
    grad_input = col2im(g @ weight.reshape(out_channels, -1), x_shape) if need_input_grad else None
    return grad_input, grad_weight, g.sum(axis=0)


def pool_forward(x):
    """MaxPool 2x2, stride 2; keeps which element of each window won, for backward."""
    b, c, h, w = x.shape
    windows = x.reshape(b, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5)
    windows = windows.reshape(b, c, h // 2, w // 2, 4)
    winner = windows.argmax(axis=-1)[..., None]
    return np.take_along_axis(windows, winner, axis=-1)[..., 0], winner


def pool_backward(grad, winner, x_shape):
    b, c, h, w = x_shape
    windows = np.zeros((b, c, h // 2, w // 2, 4), dtype=grad.dtype)
    np.put_along_axis(windows, winner, grad[..., None], axis=-1)
    return windows.reshape(b, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(x_shape)


def forward(params, x):
    """Logits and what backward needs; this same function scores the held-out set."""
    a1, cols1 = conv_forward(x, params["conv1.weight"], params["conv1.bias"])
    r1 = np.maximum(a1, 0)
    p1, win1 = pool_forward(r1)
    a2, cols2 = conv_forward(p1, params["conv2.weight"], params["conv2.bias"])
    r2 = np.maximum(a2, 0)
    p2, win2 = pool_forward(r2)
    flat = p2.reshape(p2.shape[0], -1)
    logits = flat @ params["fc.weight"].T + params["fc.bias"]
    cache = (x, cols1, a1, win1, p1, cols2, a2, win2, p2, flat)
    return logits, cache


def backward(params, cache, grad_logits):
    x, cols1, a1, win1, p1, cols2, a2, win2, p2, flat = cache
    grads = {"fc.weight": grad_logits.T @ flat, "fc.bias": grad_logits.sum(axis=0)}
    g = (grad_logits @ params["fc.weight"]).reshape(p2.shape)
    g = pool_backward(g, win2, a2.shape) * (a2 > 0)
    g, grads["conv2.weight"], grads["conv2.bias"] = conv_backward(
        g, p1.shape, cols2, params["conv2.weight"], True)
    g = pool_backward(g, win1, a1.shape) * (a1 > 0)
    _, grads["conv1.weight"], grads["conv1.bias"] = conv_backward(
        g, x.shape, cols1, params["conv1.weight"], False)
    return grads


def initial_params(rng):
    """He initialisation for the ReLU layers, zero biases; float32 throughout, as exported."""
    shapes = {"conv1.weight": (16, 1, 3, 3), "conv2.weight": (32, 16, 3, 3), "fc.weight": (10, 128)}
    params = {}
    for name, shape in shapes.items():
        fan_in = int(np.prod(shape[1:]))
        params[name] = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        params[name.replace("weight", "bias")] = np.zeros(shape[0], dtype=np.float32)
    return params


def softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def train(x, y, rng):
    """Adam on softmax cross-entropy with L2 weight decay, shuffled mini-batches."""
    params = initial_params(rng)
    moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
    beta1, beta2, step = 0.9, 0.999, 0
    for _ in range(EPOCHS):
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH):
            batch = order[start:start + BATCH]
            logits, cache = forward(params, x[batch])
            grad_logits = softmax(logits)
            grad_logits[np.arange(len(batch)), y[batch]] -= 1
            grads = backward(params, cache, (grad_logits / len(batch)).astype(np.float32))
            step += 1
            for k, g in grads.items():
                g = g + WEIGHT_DECAY * params[k]
                m, v = moments[k]
                m[:] = beta1 * m + (1 - beta1) * g
                v[:] = beta2 * v + (1 - beta2) * g * g
                m_hat, v_hat = m / (1 - beta1 ** step), v / (1 - beta2 ** step)
                params[k] -= (LEARNING_RATE * m_hat / (np.sqrt(v_hat) + 1e-8)).astype(np.float32)
    return params


# --- export -----------------------------------------------------------------------------------

def onnx_model(params, accuracy, counts):
    nodes = [
        helper.make_node("Conv", ["image", "conv1.weight", "conv1.bias"], ["conv1"], name="conv1",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
        helper.make_node("MaxPool", ["relu1"], ["pool1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["pool1", "conv2.weight", "conv2.bias"], ["conv2"], name="conv2",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv2"], ["relu2"], name="relu2"),
        helper.make_node("MaxPool", ["relu2"], ["pool2"], name="pool2", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pool2"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "digits_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10])],
        initializer=[numpy_helper.from_array(v, k) for k, v in params.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="tessera make_demo_model.py", producer_version="1")
    model.ir_version = IR_VERSION
    model.doc_string = "8x8 handwritten digits (scikit-learn load_digits), 0-9; pixels scaled to [0,1]"
    helper.set_model_props(model, {
        "dataset": "scikit-learn load_digits",
        "held_out_accuracy": f"{accuracy:.4f}",
        "train_test": f"{counts[0]}/{counts[1]}",
        "seed": str(SEED),
    })
    onnx.checker.check_model(model, full_check=True)
    return model


def cross_check(model_bytes, x_test, logits):
    """onnxruntime must agree with numpy on the exported file: else the export is wrong."""
    session = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    ort_logits, ort_probabilities = session.run(None, {"image": x_test})
    diff = float(np.abs(ort_logits - logits).max())
    if diff > 1e-4 or not np.array_equal(ort_logits.argmax(1), logits.argmax(1)):
        raise SystemExit(f"onnxruntime disagrees with numpy on the exported model (max |diff| {diff:.3g})")
    if float(np.abs(ort_probabilities - softmax(logits)).max()) > 1e-5:
        raise SystemExit("onnxruntime's probabilities disagree with numpy's softmax")
    return diff


def write_outputs(out_dir, model_bytes, x_test, y_test, logits, summary):
    """Writes into a fresh folder beside OUT_DIR, then swaps it in: no half-written OUT_DIR."""
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    staging = os.path.join(parent, f".{os.path.basename(out_dir)}.{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    files = {
        "model.onnx": model_bytes,
        "test_images.pb": numpy_helper.from_array(x_test, "image").SerializeToString(),
        "test_labels.pb": numpy_helper.from_array(y_test, "label").SerializeToString(),
        "expected_logits.pb": numpy_helper.from_array(logits, "logits").SerializeToString(),
        "expected.json": (json.dumps(summary, indent=2) + "\n").encode(),
        "generator.sha256": (generator_hash() + "\n").encode(),
    }
    for name, data in files.items():
        with open(os.path.join(staging, name), "wb") as f:
            f.write(data)
    shutil.rmtree(out_dir, ignore_errors=True)
    try:
        os.replace(staging, out_dir)
    except OSError:
        # A generator running beside this one (scripts/demo and the test) got there first; it
        # trained the same net from the same seed, so its output will do.
        shutil.rmtree(staging, ignore_errors=True)
        if not up_to_date(out_dir):
            raise


def main(out_dir):
    started = time.perf_counter()
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=SEED)
    params = train(x_train, y_train, np.random.default_rng(SEED))
    train_seconds = time.perf_counter() - started

    logits = forward(params, x_test)[0].astype(np.float32)
    predictions = logits.argmax(axis=1)
    correct = int((predictions == y_test).sum())
    accuracy = correct / len(y_test)
    train_accuracy = float((forward(params, x_train)[0].argmax(axis=1) == y_train).mean())
    model_bytes = onnx_model(params, accuracy, (len(x_train), len(x_test))).SerializeToString()
    ort_diff = cross_check(model_bytes, x_test, logits)

    summary = {
        "dataset": "sklearn.datasets.load_digits", "seed": SEED, "epochs": EPOCHS,
        "train_count": len(x_train), "test_count": len(x_test),
        "train_accuracy": train_accuracy, "accuracy": accuracy, "correct": correct,
        "train_seconds": round(train_seconds, 2), "onnxruntime_max_abs_diff": ort_diff,
        "samples": [{"index": i, "label": int(y_test[i]), "logits": logits[i].tolist()}
                    for i in range(SAMPLES_IN_JSON)],
    }
    write_outputs(out_dir, model_bytes, x_test, y_test, logits, summary)
    print(f"[make_demo_model] trained in {train_seconds:.1f} s: held-out accuracy "
          f"{correct}/{len(y_test)} ({accuracy:.2%}), train {train_accuracy:.2%}; "
          f"onnxruntime agrees to {ort_diff:.1g}; wrote {out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
