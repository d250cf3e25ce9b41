#!/usr/bin/env bash
# Runs the benchmarks of two git revisions alternately in one session and prints, for every figure, the median
# and the range over the runs of each: "no regression beyond noise" is a B median inside (or below) A's range.
#
#   benchmarks/compare_refs.sh [-n RUNS] [-o DIR] [-f a|b] REF_A REF_B [BENCHMARK ...]
#
#   -n RUNS   runs of each revision (default 5); run i goes A then B, run i+1 B then A (ABBA), so that a drift
#             in the machine's load falls on both sides alike (2 shared cores: expect 5-15 % between runs)
#   -o DIR    where the outputs are kept (default: a new temporary directory, printed at the end)
#   -f a|b    run the benchmark scripts of one side against both sides' src/ (default: each side its own
#             benchmarks/); use it when the scripts themselves changed between the revisions and still run on
#             both (a benchmark that imports a private module may not)
#   BENCHMARK a benchmark and its options, quoted, e.g. "errors_bench.py --requests 2000 --rounds 7";
#             default: the main ones, as docs/benchmarks.md records them (about 6 minutes a run of both)
#
# Each revision gets a worktree of its own (git worktree add --detach), removed at the end; each run uses
# PYTHON (default: python3) with PYTHONPATH=<worktree>/src, so the revision's own backendkit is measured
# whatever the virtualenv has installed. The virtualenv needs the bench extra: pip install -e ".[bench]".
# Example, from the repository's root:
#   PYTHON=.venv/bin/python benchmarks/compare_refs.sh -n 5 main HEAD "errors_bench.py --rounds 7"
set -euo pipefail

runs=5 out="" from=""
while getopts "n:o:f:" opt; do
  case $opt in
    n) runs=$OPTARG ;;
    o) out=$OPTARG ;;
    f) from=$OPTARG ;;
    *) sed -n '2,21p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { sed -n '2,21p' "$0" >&2; exit 2; }
ref_a=$1 ref_b=$2
shift 2
if [ $# -gt 0 ]; then benches=("$@"); else
  benches=(
    "errors_bench.py --requests 2000 --rounds 7"
    "logging_bench.py --records 20000 --rounds 7"
    "ratelimit_bench.py --rounds 5 --cases 1,2,3,4,5"
    "health_bench.py --only readyz,cached"
    "auth_bench.py --no-stages"
    "idempotency_bench.py --only fastapi,flask,trips"
    "pagination_bench.py --rows 200000 --rounds 7 --skip-postgres"
  )
fi
python=${PYTHON:-python3}
root=$(git rev-parse --show-toplevel)
work=$(mktemp -d -t compare-refs-XXXXXX)
out=${out:-$work/results}
mkdir -p "$out"

cleanup() {
  git -C "$root" worktree remove --force "$work/a" >/dev/null 2>&1 || true
  git -C "$root" worktree remove --force "$work/b" >/dev/null 2>&1 || true
}
trap cleanup EXIT
git -C "$root" worktree add --quiet --detach "$work/a" "$ref_a"
git -C "$root" worktree add --quiet --detach "$work/b" "$ref_b"
echo "A = $ref_a ($(git -C "$work/a" rev-parse --short HEAD)), B = $ref_b ($(git -C "$work/b" rev-parse --short HEAD))"
echo "$runs runs of each, alternating (ABBA); outputs in $out"

run_one() {  # side, run, index of the benchmark
  local side=$1 run=$2 index=$3 scripts
  scripts=$work/${from:-$side}
  local -a bench
  read -r -a bench <<<"${benches[$index]}"
  local name=${bench[0]%.py}
  PYTHONPATH="$work/$side/src" "$python" "$scripts/benchmarks/${bench[0]}" "${bench[@]:1}" \
    >"$out/$name.$side.$run.txt" 2>"$out/$name.$side.$run.err" \
    || echo "  $name on $side, run $run, failed: see $out/$name.$side.$run.err" >&2
}

for run in $(seq 1 "$runs"); do
  if [ $((run % 2)) -eq 1 ]; then order="a b"; else order="b a"; fi
  for index in "${!benches[@]}"; do
    for side in $order; do
      run_one "$side" "$run" "$index"
    done
  done
  echo "  run $run of $runs done ($(date +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))"
done

# Every line that carries figures, its figures replaced by '#' to name it: per figure, A's and B's median and range.
"$python" - "$out" "$runs" "${benches[@]}" <<'EOF'
import re
import statistics
import sys
from pathlib import Path

out, runs, benches = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
number = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")
skip = ("machine:", "versions:", "load average", "total time", "redis-server", "python-jose keys", "1a.", "1b.")


def figures(path: Path) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    seen: dict[str, int] = {}
    for line in path.read_text().splitlines():
        text = line.strip()
        if not text or text.startswith(skip) or not number.search(text):
            continue
        key = " ".join(number.sub("#", text).split())  # columns padded to the figures' widths: spaces ignored
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:  # the same shape again (another case's table, another status): told apart by order
            key += f" [{seen[key]}]"
        found[key] = [float(n.replace(",", "")) for n in number.findall(text)]
    return found


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):>10.2f} [{min(values):.2f}-{max(values):.2f}]"


for bench in benches:
    name = bench.split()[0].removesuffix(".py")
    sides = {}
    for side in "ab":
        per_run = [figures(p) for p in sorted(out.glob(f"{name}.{side}.*.txt")) if p.stat().st_size]
        sides[side] = per_run
    if not sides["a"] or not sides["b"]:
        print(f"\n{name}: no output on one side (see the .err files)")
        continue
    print(f"\n{name}: median [range] over {len(sides['a'])} runs of A and {len(sides['b'])} of B; B/A of the medians")
    for key, first in sides["a"][0].items():
        for position in range(len(first)):
            columns = []
            for side in "ab":
                values = [run[key][position] for run in sides[side] if key in run and len(run[key]) > position]
                columns.append(values)
            if not all(columns):
                continue
            a, b = (statistics.median(values) for values in columns)
            change = f"{b / a:>7.3f}" if a else "      -"
            label = key[:70]
            print(f"  {label:<70} #{position + 1:<2} A{spread(columns[0])}  B{spread(columns[1])}  {change}")
EOF
echo
echo "outputs kept in $out"
