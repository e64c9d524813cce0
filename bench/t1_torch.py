#!/usr/bin/python3
"""T1 in PyTorch: the book's TwoLayerNet (784-50-10, Affine -> Relu -> Affine,
softmax cross-entropy, batch 100, lr 0.1, 10,000 iterations) on the real
MNIST files, written the way a PyTorch user writes it (tensors with
requires_grad, loss.backward(), an SGD step under no_grad).  Times the
training loop only and prints one JSON object, for comparison with
`tgbench t1 --json` (train_seconds, f32_train_seconds) in the same sitting.

    python3 bench/t1_torch.py --dtype f32 --threads 1 [--data DIR]

Not built or run by meson: PyTorch is an optional reference
(Debian: python3-torch).
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import torch


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def find_data(given):
    here = os.path.dirname(os.path.abspath(__file__))
    for d in [given, os.environ.get("TAPEGRAD_MNIST"), "../shared/data/mnist",
              os.path.join(here, "..", "..", "shared", "data", "mnist")]:
        if d and os.path.exists(os.path.join(d, "train-images-idx3-ubyte.gz")):
            return d
    sys.exit("t1_torch: no MNIST files found (--data DIR)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtype", choices=["f32", "f64"], default="f32")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=10000)
    ap.add_argument("--data")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dt = torch.float32 if a.dtype == "f32" else torch.float64
    d = find_data(a.data)
    xtr = idx(os.path.join(d, "train-images-idx3-ubyte.gz")).reshape(-1, 784).to(dt) / 255
    ttr = idx(os.path.join(d, "train-labels-idx1-ubyte.gz")).long()
    xte = idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")).reshape(-1, 784).to(dt) / 255
    tte = idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz")).long()

    # the book's initialisation: 0.01 * N(0, 1) weights, zero biases
    w1 = (0.01 * torch.randn(784, 50, dtype=dt)).requires_grad_()
    b1 = torch.zeros(50, dtype=dt, requires_grad=True)
    w2 = (0.01 * torch.randn(50, 10, dtype=dt)).requires_grad_()
    b2 = torch.zeros(10, dtype=dt, requires_grad=True)
    params = [w1, b1, w2, b2]
    batches = torch.randint(0, xtr.shape[0], (a.iters, 100))

    start = time.perf_counter()
    for i in range(a.iters):
        k = batches[i]
        x, t = xtr[k], ttr[k]
        h = torch.relu(x @ w1 + b1)
        loss = torch.nn.functional.cross_entropy(h @ w2 + b2, t)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= 0.1 * p.grad
                p.grad = None
    seconds = time.perf_counter() - start

    with torch.no_grad():
        acc = ((torch.relu(xte @ w1 + b1) @ w2 + b2).argmax(1) == tte).double().mean().item()
    print(json.dumps({"workload": "T1-torch", "torch": torch.__version__, "dtype": a.dtype,
                      "threads": a.threads, "iterations": a.iters, "train_seconds": seconds,
                      "test_accuracy": acc, "loss_last": loss.item()}))


if __name__ == "__main__":
    main()
