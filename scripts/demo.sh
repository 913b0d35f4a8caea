#!/usr/bin/env bash
# make demo: a sample migration against the built-in Cognito emulator, then its report.
set -euo pipefail
bin=${1:-bin/bulklink}
# The reports stay in out/demo (make clean removes it), where the summaries say they are.
work=out/demo
rm -rf "$work" && mkdir -p "$work"
trap 'kill "$emu" 2>/dev/null || true; wait 2>/dev/null || true; rm -f "$work/addr"' EXIT

# A local Cognito with a pool, two identity providers and a few users (testdata/demo/seed.json).
"$bin" emulate --listen 127.0.0.1:0 --addr-file "$work/addr" --seed testdata/demo/seed.json \
  --latency 20ms --fault-5xx 0.05 --log-level warn --log-format console &
emu=$!
for _ in $(seq 100); do [ -s "$work/addr" ] && break; sleep 0.1; done
if [ ! -s "$work/addr" ]; then
  echo "demo: bulklink emulate did not start within 10 s (its errors are above)" >&2
  exit 1
fi
url=$(cat "$work/addr")
echo "== emulator at $url (5% of write calls fail with a 500, every call takes 20ms)"

# The emulator accepts any credentials; the real service needs real ones.
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=any-secret-will-do AWS_REGION=us-east-1
# Every command logs in console lines and ends with the summary for a person, whether the
# demo's output is a terminal or a CI log (where the default, JSON lines, is for machines).
quiet=(--progress never --log-level warn --log-format console)

# A migration's links file can come from the pool itself: a second pool of the seed holds
# users of every case discover judges.
echo "== bulklink discover --user-pool-id us-east-1_DEMOSSO01 --provider Okta --by email --output $work/discovered.csv --endpoint-url $url"
set +e
"$bin" discover --user-pool-id us-east-1_DEMOSSO01 --provider Okta --by email --output "$work/discovered.csv" \
  --endpoint-url "$url" "${quiet[@]}"
code=$?
set -e
echo "== exit code $code (1: some candidates were refused); the links, then the refused users and why:"
cut -d, -f3,4,6 "$work/discovered.csv"
cut -d, -f2,5 "$work/discovered.refused.csv"
echo
echo "== bulklink run --input testdata/demo/links.csv --report $work/report.csv --user-pool-id us-east-1_DEMO2026 --endpoint-url $url --rate 20"
set +e
"$bin" run --input testdata/demo/links.csv --report "$work/report.csv" \
  --user-pool-id us-east-1_DEMO2026 --endpoint-url "$url" --rate 20 "${quiet[@]}"
code=$?
set -e
echo "== exit code $code (1: the run finished and some rows failed or were invalid, as this sample means them to)"
echo "== report (one record per input row, in the order rows finished), sorted by line:"
python3 - "$work/report.csv" <<'PY' 2>/dev/null || sort -t, -k1,1n "$work/report.csv"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
rows.sort(key=lambda r: int(r["line"]))
cols = ["line", "status", "error_code", "destination_user", "source_provider", "source_value", "error_message"]
w = [max(len(c), *(len(r[c]) for r in rows)) for c in cols[:-1]]
print("  ".join(c.ljust(n) for c, n in zip(cols, w + [0])))
for r in rows:
    print("  ".join(r[c].ljust(n) for c, n in zip(cols, w + [0]))[:160])
PY
echo
echo "== running it again: rows linked by the first run now settle as already_linked"
"$bin" run --input testdata/demo/links.csv --report "$work/again.csv" \
  --user-pool-id us-east-1_DEMO2026 --endpoint-url "$url" --rate 20 "${quiet[@]}" || true
echo
echo "== the same command with the first report resumes it: every row has a record, nothing is sent"
"$bin" run --input testdata/demo/links.csv --report "$work/report.csv" \
  --user-pool-id us-east-1_DEMO2026 --endpoint-url "$url" --rate 20 "${quiet[@]}" || true
echo
echo "== and taking it all back: bulklink undo --report $work/report.csv --undo-report $work/undo.csv --yes --endpoint-url $url --rate 20"
"$bin" undo --report "$work/report.csv" --undo-report "$work/undo.csv" --yes \
  --endpoint-url "$url" --rate 20 "${quiet[@]}" || true
echo "== the pool is as the seed made it again: every link the run made is gone, the older ones stay"
