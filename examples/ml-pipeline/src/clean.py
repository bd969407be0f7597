"""Stage `clean`: drop bad rows, split train/test, standardize features.

Reads  data/ingested.csv and params.yaml (section `prepare`: split, seed).
Writes data/clean/train.csv and data/clean/test.csv.

A row is dropped if it has the wrong number of fields, a blank, non-numeric or
non-finite feature value, an unknown label, or is an exact duplicate of an
earlier row. The remaining rows are shuffled with `prepare.seed`, a fraction
`prepare.split` goes to the test set, and every feature is standardized with the
mean/std of the *training* rows (the same transform is applied to test rows).
The label is written as 0 (versicolor) / 1 (virginica).
"""
import math
import os
import random
import sys

import yaml

IN_PATH = os.path.join("data", "ingested.csv")
OUT_DIR = os.path.join("data", "clean")
PARAMS_PATH = "params.yaml"
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
LABELS = {"versicolor": 0, "virginica": 1}


def fail(msg):
    print(f"clean: error: {msg}", file=sys.stderr)
    sys.exit(1)


def load_params():
    try:
        with open(PARAMS_PATH, encoding="utf-8") as f:
            params = yaml.safe_load(f) or {}
    except OSError as e:
        fail(f"cannot read {PARAMS_PATH}: {e.strerror}")
    except yaml.YAMLError as e:
        fail(f"{PARAMS_PATH} is not valid YAML: {e}")
    prep = params.get("prepare") if isinstance(params, dict) else None
    if not isinstance(prep, dict):
        fail(f"{PARAMS_PATH}: missing 'prepare' section")
    split, seed = prep.get("split"), prep.get("seed")
    if isinstance(split, bool) or not isinstance(split, (int, float)) or not 0 < split < 1:
        fail(f"{PARAMS_PATH}: prepare.split must be a number in (0, 1), got {split!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        fail(f"{PARAMS_PATH}: prepare.seed must be an integer, got {seed!r}")
    return float(split), seed


def read_rows():
    try:
        with open(IN_PATH, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        fail(f"cannot read {IN_PATH}: {e.strerror} (run the ingest stage first)")
    if not lines or lines[0].split(",") != FEATURES + ["species"]:
        fail(f"{IN_PATH}: missing or unexpected header")

    rows, seen = [], set()
    dropped = {"malformed": 0, "bad_value": 0, "bad_label": 0, "duplicate": 0}
    for line in lines[1:]:
        if not line.strip():
            continue
        fields = [x.strip() for x in line.split(",")]
        if len(fields) != len(FEATURES) + 1:
            dropped["malformed"] += 1
            continue
        try:
            x = [float(v) for v in fields[:-1]]
        except ValueError:  # blank or non-numeric
            dropped["bad_value"] += 1
            continue
        if not all(math.isfinite(v) for v in x):
            dropped["bad_value"] += 1
            continue
        if fields[-1] not in LABELS:
            dropped["bad_label"] += 1
            continue
        key = tuple(fields)
        if key in seen:
            dropped["duplicate"] += 1
            continue
        seen.add(key)
        rows.append((x, LABELS[fields[-1]]))
    return rows, dropped


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(",".join(FEATURES + ["label"]) + "\n")
        for x, y in rows:
            f.write(",".join(f"{v:.6f}" for v in x) + f",{y}\n")


def main():
    split, seed = load_params()
    rows, dropped = read_rows()
    n_test = int(round(len(rows) * split))
    if n_test < 1 or len(rows) - n_test < 2:
        fail(f"not enough clean rows ({len(rows)}) for split={split}")

    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    test = [rows[i] for i in sorted(order[:n_test])]
    train = [rows[i] for i in sorted(order[n_test:])]
    if len({y for _, y in train}) < 2:
        fail("training set contains only one class")

    # standardize with training statistics only
    k = len(FEATURES)
    means = [sum(x[j] for x, _ in train) / len(train) for j in range(k)]
    stds = []
    for j in range(k):
        var = sum((x[j] - means[j]) ** 2 for x, _ in train) / len(train)
        stds.append(math.sqrt(var) or 1.0)

    def scale(data):
        return [([(x[j] - means[j]) / stds[j] for j in range(k)], y) for x, y in data]

    os.makedirs(OUT_DIR, exist_ok=True)
    write_csv(os.path.join(OUT_DIR, "train.csv"), scale(train))
    write_csv(os.path.join(OUT_DIR, "test.csv"), scale(test))
    n_dropped = sum(dropped.values())
    detail = ", ".join(f"{k}={v}" for k, v in dropped.items() if v)
    print(f"clean: kept {len(rows)} rows, dropped {n_dropped} ({detail or 'none'})")
    print(f"clean: wrote {OUT_DIR}/train.csv ({len(train)} rows), {OUT_DIR}/test.csv ({len(test)} rows)")


if __name__ == "__main__":
    main()
