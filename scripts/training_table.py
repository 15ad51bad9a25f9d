#!/usr/bin/env python3
"""Prints the Markdown table of docs/TRAINING.md from the committed models.

Runs `hefty eval --json` (f64 and --fixed-point) on every models/*.json and
reads the training facts each model file records. Usage (from the repo root,
after `cargo build --release`):

    HEFTY_MNIST_DIR=../shared/data/mnist python3 scripts/training_table.py
"""
import array
import glob
import json
import os
import struct
import subprocess

ORDER = [
    "relu-teacher", "relu-teacher-aug", "square", "swish-pow2", "relu-pow2",
    "quad-layer", "quad-channel", "quad-element",
    "quad-layer-kd", "quad-channel-kd", "quad-channel-kd12", "quad-element-kd",
    "quad-layer-aug", "quad-channel-aug", "quad-element-aug",
    "quad-layer-kd-aug", "quad-channel-kd-aug-lr1e-3", "quad-channel-kd-aug-lr2e-3",
    "quad-element-kd-aug",
    "pruned", "pruned-pow2", "pruned-aug", "pruned-pow2-aug",
]


CACHE = os.environ.get("HEFTY_EVAL_CACHE")


def evaluate(path, fixed):
    """`hefty eval --json` of a model (cached in $HEFTY_EVAL_CACHE when set,
    keyed by the model's file and its modification time)."""
    key = f"{os.path.basename(path)}-{os.path.getmtime(path):.0f}-{'fixed' if fixed else 'f64'}.json"
    if CACHE and os.path.exists(os.path.join(CACHE, key)):
        with open(os.path.join(CACHE, key)) as f:
            return json.load(f)
    if os.environ.get("HEFTY_TABLE_CACHED_ONLY"):
        return None
    args = ["./target/release/hefty", "eval", "--model", path, "--json"]
    if fixed:
        args.append("--fixed-point")
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        return None
    result = json.loads(out.stdout)
    if CACHE:
        os.makedirs(CACHE, exist_ok=True)
        with open(os.path.join(CACHE, key), "w") as f:
            json.dump(result, f)
    return result


def sparsity(graph_path, graph):
    """Fraction of exactly-zero conv/dense weights, read from the safetensors file."""
    path = os.path.join(os.path.dirname(graph_path), graph["weights"])
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    zero = total = 0
    for name, info in header.items():
        if name.endswith(".weight"):
            start, end = info["data_offsets"]
            values = array.array("f", data[8 + n + start:8 + n + end])
            zero += sum(1 for v in values if v == 0.0)
            total += len(values)
    return zero / total if total else 0.0


def main():
    rows = []
    for path in glob.glob("models/*.json"):
        with open(path) as f:
            graph = json.load(f)
        name = graph["name"].removeprefix("cryptonets-mnist-")
        facts = graph.get("training", {})
        f64 = evaluate(path, False)
        fixed = evaluate(path, True)
        rows.append((ORDER.index(name) if name in ORDER else 99, name, facts, f64, fixed, path))
    print("| model | activation | distilled | shifts | test accuracy (f64) | fixed point (bits) | sparsity | epochs | train time (2 cores) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for _, name, facts, f64, fixed, path in sorted(rows):
        acts = [l["function"] for l in json.load(open(path))["layers"] if l["op"] == "activation"]
        act = acts[0]["kind"] if acts else "-"
        if act == "poly":
            act = f"poly deg {acts[0]['degree']} ({acts[0]['granularity']})"
        if fixed:
            fx = f"{100 * fixed['accuracy']:.2f} % ({fixed['max_bits']})"
        else:
            fx = "n/a (ReLU)" if act == "relu" else "not run"
        print(
            f"| {name} | {act} | {'yes' if facts.get('distilled') else 'no'} | "
            f"{'±%d px' % facts['max_shift'] if facts.get('max_shift') else 'none'} | "
            f"{100 * (f64 or {'accuracy': facts.get('test_accuracy', 0)})['accuracy']:.2f} % | {fx} | {100 * sparsity(path, json.load(open(path))):.1f} % | "
            f"{facts.get('epochs', '-')} | {facts.get('train_seconds', 0):.0f} s |"
        )


if __name__ == "__main__":
    main()
