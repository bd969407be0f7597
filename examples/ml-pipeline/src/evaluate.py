"""Stage `evaluate`: score the model on the held-out test set.

Reads  model/model.json and data/clean/test.csv.
Writes metrics.json (accuracy, precision, recall, n_test; sorted keys, floats
rounded to 4 places so the file is byte-for-byte reproducible).
"""
import json
import os
import sys

MODEL_PATH = os.path.join("model", "model.json")
TEST_PATH = os.path.join("data", "clean", "test.csv")
METRICS_PATH = "metrics.json"


def fail(msg):
    print(f"evaluate: error: {msg}", file=sys.stderr)
    sys.exit(1)


def load_model():
    try:
        with open(MODEL_PATH, encoding="utf-8") as f:
            model = json.load(f)
    except OSError as e:
        fail(f"cannot read {MODEL_PATH}: {e.strerror} (run the train stage first)")
    except json.JSONDecodeError as e:
        fail(f"{MODEL_PATH} is not valid JSON: {e}")
    try:
        w = [float(v) for v in model["weights"]]
        b = float(model["bias"])
        features = list(model["features"])
    except (KeyError, TypeError, ValueError):
        fail(f"{MODEL_PATH}: expected keys 'features', 'weights', 'bias'")
    if len(w) != len(features):
        fail(f"{MODEL_PATH}: {len(w)} weights for {len(features)} features")
    return features, w, b


def load_test(features):
    try:
        with open(TEST_PATH, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        fail(f"cannot read {TEST_PATH}: {e.strerror} (run the clean stage first)")
    if not lines or lines[0].split(",") != features + ["label"]:
        fail(f"{TEST_PATH}: header does not match model features {features!r}")
    rows = []
    for n, line in enumerate(lines[1:], start=2):
        fields = line.split(",")
        try:
            if len(fields) != len(features) + 1:
                raise ValueError
            rows.append(([float(v) for v in fields[:-1]], int(fields[-1])))
        except ValueError:
            fail(f"{TEST_PATH}:{n}: malformed row {line!r}")
    if not rows:
        fail(f"{TEST_PATH} has no rows")
    return rows


def main():
    features, w, b = load_model()
    rows = load_test(features)
    tp = fp = tn = fn = 0
    for x, y in rows:
        z = b + sum(wj * xj for wj, xj in zip(w, x))
        pred = 1 if z >= 0 else 0  # sigmoid(z) >= 0.5
        if pred and y:
            tp += 1
        elif pred:
            fp += 1
        elif y:
            fn += 1
        else:
            tn += 1
    n = len(rows)
    metrics = {
        "accuracy": round((tp + tn) / n, 4),
        "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
        "n_test": n,
    }
    parent = os.path.dirname(METRICS_PATH)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(METRICS_PATH, "w", encoding="utf-8", newline="\n") as f:
        json.dump(metrics, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"evaluate: n_test={n} accuracy={metrics['accuracy']} "
          f"precision={metrics['precision']} recall={metrics['recall']}")
    print(f"evaluate: wrote {METRICS_PATH}")


if __name__ == "__main__":
    main()
