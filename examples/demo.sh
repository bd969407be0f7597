#!/usr/bin/env bash
# The README's demo: copy examples/ml-pipeline into a fresh git repository
# (.demo/, ignored), run it, show a no-op, change a param, see what reruns.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
demo="$here/.demo"
rm -rf "$demo"
cp -r "$here/examples/ml-pipeline" "$demo"
cd "$demo"
git init -q
git -c user.email=demo@gitpipe -c user.name=demo add .
git -c user.email=demo@gitpipe -c user.name=demo commit -qm "example pipeline"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step gitpipe init
step gitpipe validate
step gitpipe dag
step gitpipe status
step gitpipe repro
step gitpipe repro            # nothing is stale: a no-op
sed -i.bak 's/lr: 0.1/lr: 0.5/' params.yaml && rm -f params.yaml.bak
echo; echo "# params.yaml: train.lr 0.1 -> 0.5"
step gitpipe status           # says why: params: train.lr 0.1 -> 0.5
step gitpipe repro            # reruns train and evaluate only
step cat metrics.json
step gitpipe runs
echo; echo "demo repository left in $demo"
