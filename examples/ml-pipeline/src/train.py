"""Stage `train`: logistic regression by full-batch gradient descent.

Reads  data/clean/train.csv and params.yaml (section `train`: lr, epochs, l2).
Writes model/model.json.

Pure Python (no numpy). Full-batch updates in a fixed order, so the result is
bit-for-bit reproducible for the same inputs.
"""
import json
import math
import os
import sys

import yaml

TRAIN_PATH = os.path.join("data", "clean", "train.csv")
MODEL_DIR = "model"
MODEL_PATH = os.path.join(MODEL_DIR, "model.json")
PARAMS_PATH = "params.yaml"


def fail(msg):
    print(f"train: error: {msg}", file=sys.stderr)
    sys.exit(1)


def load_params():
    try:
        with open(PARAMS_PATH, encoding="utf-8") as f:
            params = yaml.safe_load(f) or {}
    except OSError as e:
        fail(f"cannot read {PARAMS_PATH}: {e.strerror}")
    except yaml.YAMLError as e:
        fail(f"{PARAMS_PATH} is not valid YAML: {e}")
    tp = params.get("train") if isinstance(params, dict) else None
    if not isinstance(tp, dict):
        fail(f"{PARAMS_PATH}: missing 'train' section")

    def number(name, lo, integer=False):
        v = tp.get(name)
        ok_type = int if integer else (int, float)
        if isinstance(v, bool) or not isinstance(v, ok_type) or v < lo:
            kind = "an integer" if integer else "a number"
            fail(f"{PARAMS_PATH}: train.{name} must be {kind} >= {lo}, got {v!r}")
        return v

    lr = float(number("lr", 0))
    if lr == 0:
        fail(f"{PARAMS_PATH}: train.lr must be > 0")
    return lr, number("epochs", 1, integer=True), float(number("l2", 0))


def load_data(path):
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror} (run the clean stage first)")
    if not lines or lines[0].split(",")[-1] != "label":
        fail(f"{path}: missing or unexpected header")
    header = lines[0].split(",")
    xs, ys = [], []
    for n, line in enumerate(lines[1:], start=2):
        fields = line.split(",")
        try:
            if len(fields) != len(header):
                raise ValueError
            xs.append([float(v) for v in fields[:-1]])
            ys.append(int(fields[-1]))
        except ValueError:
            fail(f"{path}:{n}: malformed row {line!r}")
    if not xs:
        fail(f"{path} has no rows")
    return header[:-1], xs, ys


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def main():
    lr, epochs, l2 = load_params()
    features, xs, ys = load_data(TRAIN_PATH)
    n, k = len(xs), len(features)
    w, b = [0.0] * k, 0.0
    for _ in range(epochs):
        gw, gb = [0.0] * k, 0.0
        for x, y in zip(xs, ys):
            err = sigmoid(b + sum(wj * xj for wj, xj in zip(w, x))) - y
            for j in range(k):
                gw[j] += err * x[j]
            gb += err
        w = [w[j] - lr * (gw[j] / n + l2 * w[j]) for j in range(k)]
        b -= lr * gb / n

    loss = 0.0
    for x, y in zip(xs, ys):
        p = min(max(sigmoid(b + sum(wj * xj for wj, xj in zip(w, x))), 1e-12), 1 - 1e-12)
        loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
    loss = loss / n + 0.5 * l2 * sum(wj * wj for wj in w)

    model = {
        "type": "logistic_regression",
        "features": features,
        "weights": [round(v, 10) for v in w],
        "bias": round(b, 10),
        "params": {"lr": lr, "epochs": epochs, "l2": l2},
        "train_loss": round(loss, 6),
        "n_train": n,
    }
    os.makedirs(MODEL_DIR, exist_ok=True)
    with open(MODEL_PATH, "w", encoding="utf-8", newline="\n") as f:
        json.dump(model, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"train: {epochs} epochs, lr={lr}, l2={l2} on {n} rows -> train loss {loss:.4f}")
    print(f"train: wrote {MODEL_PATH}")


if __name__ == "__main__":
    main()
