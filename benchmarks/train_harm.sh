#!/bin/sh
# Train the shipped harm judge (judges/harm/minilm.npz): the benchmarks/harm_loo.py design with GPTFuzz
# left out, on the same rows in the same order as `harm_loo.py --folds gptfuzz` (whose weights,
# gptfuzz-weights.npz, are the shipped ones). Add gptfuzz:$D/gptfuzz/train.csv to train on every source.
# Run from the repository root: nice -n 10 sh benchmarks/train_harm.sh [DATA]   (CPU: 10-40 min on 2 busy cores)
D=${1:-../shared/data}
A=$D/jailbreakbench/attack-artifacts/PAIR/black_box
exec .venv/bin/safeeval judge train --target harm --seed 0 --epochs 2 --lr 2e-3 \
  --cap gptfuzz=600 --cap xstest=250 --source-weight jsonl=0.5 --out judges/harm/minilm.npz \
  --labels jbb:$D/jailbreakbench/judge-comparison.csv \
  --labels xstest:$D/xstest/xstest_v2_completions_gpt4_streval.csv \
  --labels xstest:$D/xstest/xstest_v2_completions_llama2new_streval.csv \
  --labels xstest:$D/xstest/xstest_v2_completions_mistralinstruct_streval.csv \
  --labels jbb-artifacts:$A/gpt-3.5-turbo-1106.json --labels jbb-artifacts:$A/gpt-4-0125-preview.json \
  --labels jbb-artifacts:$A/llama-2-7b-chat-hf.json --labels jbb-artifacts:$A/vicuna-13b-v1.5.json \
  --labels jsonl:judges/harm/synthetic.jsonl
