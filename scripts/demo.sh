#!/bin/sh
# `make demo`: builds a small random-weight DeepSeek-V3-style model once (its
# weights are random, so its "text" is noise: this shows the engine running,
# not a trained model), prints what it is, then generates greedily from it.
set -e
BUILD="${1:-build}"
MODEL="$BUILD/models/deepseek-small-fp8"
if [ ! -f "$MODEL/config.json" ]; then
  "$BUILD/dseek" synth --config deepseek-small --dtype fp8 --seed 1 --out "$MODEL"
fi
echo "== dseek info (random weights: a generated model, not a trained one) =="
"$BUILD/dseek" info "$MODEL"
echo "== dseek generate --greedy (prompt ids 1,2,3) =="
"$BUILD/dseek" generate "$MODEL" --ids 1,2,3 -n 16 --greedy --verbose
