#!/usr/bin/env bash
# The bits a restructuring must not change: trains the cs231n softmax, the MNIST MLP and an
# Adam + batch norm + dropout FC net (cs231n-fcnet-best, shortened) on openblas and simd, and prints
# the sha256 of each run's metrics.jsonl (without its wall-clock "seconds") and best.ckpt (whose
# config names the runs folder, so the folder is fixed: /tmp/tsnn-same-bits). Run it before and after a change and diff:
#   bash tools/same_bits.sh > before.txt; …change…; bash tools/same_bits.sh > after.txt; diff before.txt after.txt
set -euo pipefail
cd "$(dirname "$0")/.."
out=/tmp/tsnn-same-bits
# One at a time on this machine: the folder is fixed (it is in the checkpoints).
exec 9>"$out.lock"
flock 9
rm -rf "$out" && mkdir -p "$out"
trap 'rm -rf "$out"' EXIT
run() { # name backend args…
  local name=$1 backend=$2; shift 2
  node bin/train.js "$@" --backend "$backend" --runs-dir "$out/$name-$backend" --name "$name" --quiet >/dev/null 2>"$out/err" ||
    { echo "$name on $backend failed:" >&2; cat "$out/err" >&2; exit 1; }
  local dir
  dir=$(ls -d "$out/$name-$backend"/*/)
  printf '%-14s %-9s metrics %s  best %s\n' "$name" "$backend" \
    "$(sed -E 's/,"seconds":[^,}]*//' "$dir/metrics.jsonl" | sha256sum | cut -c1-16)" "$(sha256sum "$dir/best.ckpt" | cut -c1-16)"
}
for backend in openblas simd; do
  run softmax "$backend" --config configs/cs231n-softmax.json
  run mnist-mlp "$backend" --config configs/mnist-mlp.json --epochs 5
  run fcnet "$backend" --config configs/cs231n-fcnet-best.json --epochs 2 --num-train 4000 --hidden 256,128
done
