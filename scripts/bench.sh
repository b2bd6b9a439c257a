#!/usr/bin/env bash
# Quote throughput: 100,000 realistic cases (Tianjin employees treated in Guangdong).
set -euo pipefail
YIDI="$1"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
"$YIDI" sample-case --insured 120000 --scheme 310 --treatment 440000 --count 100000 --seed 42 > "$WORK/cases.json"
echo "input: $(du -m "$WORK/cases.json" | cut -f1) MB, 100000 cases"
start=$(date +%s.%N)
"$YIDI" quote "$WORK/cases.json" > "$WORK/results.json"
end=$(date +%s.%N)
python3 -c "print(f'yidi quote (full JSON results): {($end-$start):.2f} s, {100000/($end-$start):.0f} cases/s, output $(du -m "$WORK/results.json" | cut -f1) MB')"
"$YIDI" quote --summary "$WORK/cases.json" | head -1 | sed 's/^cases */yidi quote --summary: /'
