#!/usr/bin/env bash
# make bench: the Go benchmarks of the readers and the engine, then the end-to-end harness
# (bench/harness) against the emulator on loopback; the numbers go into BENCHMARKS.md.
#
#   scripts/bench.sh            everything (about 45 minutes on 2 cores), rewrites BENCHMARKS.md
#   scripts/bench.sh --quick    a smoke check in a few minutes; BENCHMARKS.md is left alone
#
# Raw output goes to out/bench/: go.txt, readfirst.json (and .txt), harness.md and the tools' logs.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-out/bench}
quick=
case "${1:-}" in
--quick) quick=1 ;;
"") ;;
*) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac
mkdir -p "$out"
rm -rf "$out/logs"

echo "== make build"
make --no-print-directory build

# The boto3 contenders run under the python3 on PATH that has boto3, else Debian's
# /usr/bin/python3 (python3-boto3); bulklink's peak RSS comes from GNU time. Install them
# when missing and we may; the harness skips what is still missing.
missing=()
python3 -c 'import boto3' 2>/dev/null || /usr/bin/python3 -c 'import boto3' 2>/dev/null || missing+=(python3-boto3)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== apt-get install ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
      echo "== could not install ${missing[*]}: the harness skips what needs them"
  else
    echo "== missing ${missing[*]} (not root or no apt-get): the harness skips what needs them"
  fi
fi

echo "== go benchmarks (input readers, engine in-process and through the SDK against the emulator)"
go test -run '^$' -bench . -benchmem -count 1 ./input ./job ./plan ./report | tee "$out/go.txt"
echo "== read-first in process (job's TestReadFirstTable: issue 21's nightly file at full size, on a fake clock)"
go test -count 1 -run '^TestReadFirstTable$' -v ./job -args -readfirsttable="$(cd "$out" && pwd)/readfirst.json" >"$out/readfirst.txt" || { tail -40 "$out/readfirst.txt"; exit 1; }

echo "== end-to-end harness (bench/harness): pacing, over-asking, memory, resume, side by side, sharing the quota with an application (steady, step), a quota of 50 without one, a nightly file read first"
args=(-go-bench "$out/go.txt" -read-first "$out/readfirst.json" -out "$out/harness.md" -logs "$out/logs")
if [ -n "$quick" ]; then
  args+=(-quick)
else
  args+=(-write BENCHMARKS.md)
fi
go run ./bench/harness "${args[@]}"
echo "== results in $out/ (go.txt, harness.md, logs/)${quick:+; BENCHMARKS.md unchanged (--quick)}"
