#!/usr/bin/env bash
# The digits study of docs/results.md: every method x seed on a small,
# class-balanced training split of the embedded digits, clean and corrupted
# accuracy, training cost, two figures. CPU only, no download.
#
#   bash tools/run_study.sh [WORK_DIR]          # default work_dirs/digits_study
#
# Settings (environment variables, defaults in brackets):
#   PER_CLASS  training images per class            [30: 300 of the 1,438]
#   EPOCHS     epochs                               [60]
#   SEEDS      seeds                                [0 1 2 3 4]
#   METHODS    methods (tools/sweep.py --methods)   [vanilla Mixup CutMix FMix GridMix GMix AGMix MiAMix]
#   JOBS       trainings at once                    [2]
#   SEVERITY_SEED  seed of the corrupted test set   [0]
# It is resumable: run it again after an interruption; finished runs and the
# corrupted set are kept. Everything is written under WORK_DIR:
#   study_base.py          the base config (quick-start vanilla + the split)
#   digits_c/              the corrupted digits test set (CIFAR-C layout)
#   runs/                  tools/sweep.py's work dir
#   results.md, results.csv, runs.csv, curves.png, robustness.png
set -euo pipefail

WORK_DIR=${1:-work_dirs/digits_study}
PER_CLASS=${PER_CLASS:-30}
EPOCHS=${EPOCHS:-60}
SEEDS=${SEEDS:-"0 1 2 3 4"}
METHODS=${METHODS:-"vanilla Mixup CutMix FMix GridMix GMix AGMix MiAMix"}
JOBS=${JOBS:-2}
SEVERITY_SEED=${SEVERITY_SEED:-0}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY=${PYTHON:-python}
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

mkdir -p "$WORK_DIR"
WORK_DIR="$(cd "$WORK_DIR" && pwd)"
START=$(date +%s)

# 1. The base config: the quick-start vanilla ResNet (configs/quickstart) on
#    the first PER_CLASS training digits of every class (mmengine's
#    `indices` argument of the dataset), EPOCHS epochs with the quick
#    start's schedule, validation on the 359 test digits after every
#    epoch, one checkpoint at the end, no picture hook.
"$PY" - "$WORK_DIR/study_base.py" "$PER_CLASS" "$EPOCHS" "$ROOT" <<'EOF'
import sys
import numpy as np
from sklearn.datasets import load_digits
from mmmiamix.datasets.digits import digits_split

out, per_class, epochs, root = sys.argv[1], int(sys.argv[2]), \
    int(sys.argv[3]), sys.argv[4]
labels = np.asarray(load_digits().target)
train, _ = digits_split(labels)   # the Digits train split, in its order
train_labels = labels[train]
indices = sorted(int(i) for c in range(10)
                 for i in np.flatnonzero(train_labels == c)[:per_class])
text = f'''# Written by tools/run_study.sh: the digits study's base config.
_base_ = [{root + '/configs/quickstart/vanilla_resnet18_digits.py'!r}]
max_epochs = {epochs}
# {per_class} training images per class (positions in the Digits train split)
train_dataloader = dict(batch_size=32, dataset=dict(indices={indices}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0.0,
         by_epoch=True, begin=1, end=max_epochs),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs,
                    max_keep_ckpts=1, save_best=None))
custom_hooks = []
'''
with open(out, 'w') as f:
    f.write(text)
EOF

# 2. The corrupted test set: 19 corruptions x 5 severities of the 359 test
#    digits (tools/make_corrupted.py; meta.json is written last).
if [ ! -f "$WORK_DIR/digits_c/meta.json" ]; then
    "$PY" "$ROOT/tools/make_corrupted.py" \
        "$ROOT/configs/quickstart/vanilla_resnet18_digits.py" \
        "$WORK_DIR/digits_c" --format npy --seed "$SEVERITY_SEED" \
        --workers "$JOBS" --no-progress
fi

# 3. Every method x seed, then its final checkpoint on the corrupted set.
# shellcheck disable=SC2086
"$PY" "$ROOT/tools/sweep.py" "$WORK_DIR/study_base.py" \
    --methods $METHODS --seeds $SEEDS --jobs "$JOBS" \
    --work-dir "$WORK_DIR/runs" \
    --corrupted "$WORK_DIR/digits_c" --corrupted-dataset CIFAR10C \
    --corruptions all --robustness-args "--num-workers 0"

# 4. The tables and the figures.
"$PY" "$ROOT/tools/summarize.py" "$WORK_DIR/runs" --last 10 \
    --out "$WORK_DIR/results.md" --csv "$WORK_DIR/results.csv" \
    --runs-csv "$WORK_DIR/runs.csv" --curves "$WORK_DIR/curves.png" \
    --bars "$WORK_DIR/robustness.png"

echo "study: $(( $(date +%s) - START )) s; results in $WORK_DIR/results.md"
