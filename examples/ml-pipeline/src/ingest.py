"""Stage `ingest`: validate the raw CSV and copy it into the pipeline.

Usage: python src/ingest.py <raw.csv> <ingested.csv>

Checks that the input is UTF-8 text with the expected header and at least one
data row, then copies it byte-for-byte (line endings normalised to "\n").
Row-level problems (blank or non-numeric values, duplicates) are left for the
`clean` stage.
"""
import os
import sys

EXPECTED_HEADER = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]


def fail(msg):
    print(f"ingest: error: {msg}", file=sys.stderr)
    sys.exit(1)


def main(argv):
    if len(argv) != 3:
        fail("usage: python src/ingest.py <raw.csv> <ingested.csv>")
    src, dst = argv[1], argv[2]
    try:
        with open(src, "rb") as f:
            raw = f.read()
    except OSError as e:
        fail(f"cannot read {src}: {e.strerror}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"{src} is not valid UTF-8 ({e})")

    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    if not lines:
        fail(f"{src} is empty")
    header = [h.strip() for h in lines[0].split(",")]
    if header != EXPECTED_HEADER:
        fail(f"{src}: bad header {header!r}, expected {EXPECTED_HEADER!r}")
    n_rows = len(lines) - 1
    if n_rows == 0:
        fail(f"{src} has a header but no data rows")

    os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
    with open(dst, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print(f"ingest: {src} -> {dst}: header ok, {n_rows} rows")


if __name__ == "__main__":
    main(sys.argv)
