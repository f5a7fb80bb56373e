#!/usr/bin/env python3
"""Makes the model the server tests use: `dseek synth` random weights of the
deepseek-demo shape with DeepSeek-R1's tokenizer, which is DeepSeek-V3's with
two placeholder tokens renamed to <think> (128798) and </think> (128799), as
R1 ships it. With a single </think> token a test can force the end of the
reasoning through logit_bias.

usage: make_serve_model.py DSEEK_BINARY V3_TOKENIZER_DIR OUT_DIR
"""
import json
import os
import shutil
import subprocess
import sys

RENAMES = {128798: "<think>", 128799: "</think>"}


def main():
    dseek, tok_dir, out = sys.argv[1:4]
    tok_out = os.path.join(out, "tokenizer-r1")
    model_out = os.path.join(out, "model")
    os.makedirs(tok_out, exist_ok=True)
    with open(os.path.join(tok_dir, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    for t in tok["added_tokens"]:
        if t["id"] in RENAMES:
            t["content"] = RENAMES[t["id"]]
            t["special"] = False
    with open(os.path.join(tok_out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(tok_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    for k, v in cfg.get("added_tokens_decoder", {}).items():
        if int(k) in RENAMES:
            v["content"] = RENAMES[int(k)]
            v["special"] = False
    with open(os.path.join(tok_out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False)
    if os.path.isdir(model_out):
        shutil.rmtree(model_out)
    subprocess.run([dseek, "synth", "--config", "deepseek-demo", "--dtype", "bf16", "--seed", "1",
                    "--out", model_out, "--tokenizer", tok_out], check=True)
    print("serve test model:", model_out)


if __name__ == "__main__":
    main()
