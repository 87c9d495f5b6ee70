#!/bin/sh
# Train the shipped toxicity judge (judges/toxicity/minilm.npz) on every labelled OpenAI moderation sample.
# Same settings as benchmarks/toxicity_cv.py, whose k-fold figures are the held-out ones.
# Run from the repository root: nice -n 10 sh benchmarks/train_toxicity.sh [DATA]
D=${1:-../shared/data}
exec .venv/bin/safeeval judge train --target toxicity --seed 0 --epochs 3 --lr 2e-3 \
  --out judges/toxicity/minilm.npz --labels moderation:$D/openai-moderation/samples-1680.jsonl
