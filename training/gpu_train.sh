#!/usr/bin/env bash
# The GPU run that produced the shipped model (README "Training"). Expects the packed data set
# at .devdata/qata (python -m training.pack) and writes the log, the learning curve and the best
# checkpoint (in 15 MB parts) to $OUT.
set -euo pipefail
OUT=${OUT:-runs/gpu}
mkdir -p "$OUT"
export PYTHONPATH=. PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c "import torch, PIL.features as f; print('torch', torch.__version__, 'webp', f.check('webp'))"
python3 -m medsegtext train --data "${DATA:-.devdata/qata}" --out /tmp/smoke --limit 64 --max-steps 2 \
  --batch-size 16 --epochs 1 --device cuda > "$OUT/smoke.log" 2>&1 || { cat "$OUT/smoke.log"; exit 1; }
python3 -m medsegtext train --data "${DATA:-.devdata/qata}" --out /tmp/gpu_run --epochs 400 --batch-size 32 \
  --lr 2e-3 --time-budget "${BUDGET:-420}" --device cuda ${WIDTHS:+--widths "$WIDTHS"} 2>&1 | tr '\r' '\n' | grep -v '^epoch' \
  | tee "$OUT/train.log" | grep -E '^\{' | cut -c1-220
cp /tmp/gpu_run/metrics.jsonl /tmp/gpu_run/config.json "$OUT/"
split -b 15M /tmp/gpu_run/best.pt "$OUT/best.pt.part-"
