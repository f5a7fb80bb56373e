#!/bin/sh
# Side by side on the same GGUF files, same threads, one engine right after
# the other: llama.cpp's llama-bench (built from source outside this
# repository, path given) and `dseek bench`. Prints one line per run.
# Usage: bench/compare_llamacpp.sh LLAMA_BENCH DSEEK "-p 512 -n 128 -d 0 -r 2" FILE...
set -eu
LB=$1; DS=$2; ARGS=$3; shift 3
T=${THREADS:-2}
for f in "$@"; do
  echo "== $f ($ARGS, $T threads) load $(cut -d' ' -f1-3 /proc/loadavg)"
  "$LB" -m "$f" $ARGS -t "$T" -o md 2>/dev/null | grep -E '^\|' | tail -n +3 | \
    awk -F'|' '{printf "llama.cpp %-14s %s\n", $(NF-2), $(NF-1)}'
  "$DS" bench "$f" $ARGS -t "$T" --repack-cache 2>&1 | grep -E '^\| (pp|tg)|loaded' | sed 's/^/dseek     /'
done
