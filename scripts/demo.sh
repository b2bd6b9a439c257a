#!/usr/bin/env bash
# The main job of yidi, for now: the settlement engine over the embedded policies.
# Checks the embedded data, quotes the six spec examples, then streams realistic bills from
# every insured region to every treatment province and shows what funds and patients pay.
set -euo pipefail
YIDI="$1"
SHARED="$2"
echo "== embedded data"
"$YIDI" check-data
if [ -d "$SHARED/spec/examples" ]; then
    echo
    echo "== the examples of settlement.md"
    for case in "$SHARED"/spec/examples/*.case.json; do
        name=$(basename "$case" .case.json)
        expected="${case%.case.json}.expected.json"
        if python3 - "$YIDI" "$case" "$expected" <<'PY'
import json, subprocess, sys
yidi, case, expected = sys.argv[1:]
got = json.loads(subprocess.run([yidi, "quote", case], check=True, capture_output=True).stdout)
want = json.load(open(expected))
def same(w, g):
    return all(same(v, g.get(k, {})) if isinstance(v, dict) else g.get(k) == v for k, v in w.items())
sys.exit(0 if same(want, got) else 1)
PY
        then echo "  ok   $name"; else echo "  FAIL $name"; exit 1; fi
    done
fi
echo
echo "== a realistic stream: 20,000 discharges per insured region, treated in Guangdong"
for insured in 110000 120000 310000 441900; do
    for scheme in 310 390; do
        echo "-- insured $insured scheme $scheme → treatment 440000"
        "$YIDI" sample-case --insured "$insured" --scheme "$scheme" --treatment 440000 \
            --count 10000 --seed "$insured$scheme" | "$YIDI" quote --summary | sed 's/^/   /'
    done
done
echo
echo "One case, in full:  $YIDI sample-case --insured 120000 --treatment 440000 | $YIDI quote"
