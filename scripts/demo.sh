#!/bin/sh
# `make demo`: makes the bundled default model once — the real DeepSeek-V3
# tokenizer and chat template on a small DeepSeek-V3-shaped body with random
# weights (no trained weights can be downloaded here, so its replies are
# noise) — shows what it is, then starts `dseek chat` on it.
set -e
BUILD="${1:-build}"
MODEL="$BUILD/models/deepseek-demo"
if [ ! -f "$MODEL/model.safetensors" ]; then
  "$BUILD/dseek" synth --config deepseek-demo --dtype bf16 --seed 1 --out "$MODEL" \
    --tokenizer assets/tokenizers/deepseek-v3
fi
"$BUILD/dseek" info "$MODEL"
echo
exec "$BUILD/dseek" chat "$MODEL" -n 64
