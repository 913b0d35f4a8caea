#!/usr/bin/env bash
# make bench: Go benchmarks of the readers and the engine. Numbers go into BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-out/bench}
mkdir -p "$out"
echo "== go benchmarks (input readers, engine in-process and through the SDK against the emulator)"
go test -run '^$' -bench . -benchmem -count 1 ./input ./job ./report | tee "$out/go.txt"
echo "== results in $out/go.txt"
