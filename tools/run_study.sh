#!/usr/bin/env bash
# The digits studies of docs/results.md: every method x seed on a small,
# class-balanced training split of the embedded digits, clean and corrupted
# accuracy, training cost, figures. CPU only, no download.
#
#   bash tools/run_study.sh [WORK_DIR]          # default work_dirs/digits_study
#
# Without LENGTHS it is the one-length digits study (EPOCHS epochs, every
# method x seed, results under WORK_DIR). With LENGTHS it is the
# training-length study: each length L gets its own folder WORK_DIR/e<L>/
# with the same warm-up + cosine schedule stretched to L epochs, and the runs
# go in this order, so that whatever finishes answers the most:
#   1. every METHOD x SEEDS at every length but the longest;
#   2. FIRST_METHODS x LONG_SEEDS at the longest length;
#   3. the view axis (TWO_VIEW): VIEW_METHOD on one view and on two views;
#   4. the other METHODS x LONG_SEEDS at the longest length.
# After each step the tables, the paired differences (mmmiamix.experiments.
# paired: WORK_DIR/study.md, .csv) and the figures are written again.
#
# Settings (environment variables, defaults in brackets):
#   BASE       base config   [configs/quickstart/vanilla_resnet18_digits.py]
#   PER_CLASS  training images per class, 0 = the whole training set
#              (the subset is taken from the Digits labels)  [30]
#   TRAIN_BATCH  training batch size                          [32]
#   EPOCHS     epochs of the one-length study                 [40]
#   LENGTHS    training lengths in epochs, e.g. "40 120 400"  [unset]
#   SEEDS      seeds                                          [0 1 2 3 4]
#   LONG_SEEDS seeds at the longest length                    [SEEDS]
#   METHODS    methods (tools/sweep.py --methods)
#              [vanilla Mixup CutMix FMix GridMix GMix AGMix MiAMix]
#   FIRST_METHODS  methods run first at the longest length    [vanilla MiAMix]
#   TWO_VIEW   none | auto (the finished length where VIEW_METHOD's mean
#              clean final top-1 is best) | a length          [none]
#   VIEW_METHOD    the one-view method of the view axis       [MiAMix]
#   VIEW_SEEDS     seeds of the view axis   [SEEDS; LONG_SEEDS at the longest]
#   VAL_LAST   validate only the last N epochs, 0 = every epoch
#              [0 without LENGTHS, 10 with]
#   CKPT_INTERVAL  checkpoint every N epochs (and the last)   [40]
#   EXACT_RESUME   1: RandomStateHook + SafeCheckpointHook (a killed run
#              resumes exactly, docs/faults.md)  [0 without LENGTHS, 1 with]
#   TEST_BATCH batch size of the corrupted-set evaluation     [128]
#   JOBS       trainings at once                              [2]
#   SEVERITY_SEED  seed of the corrupted test set             [0]
# It is resumable: run it again after an interruption; finished runs and the
# corrupted set are kept, a killed run continues from its last checkpoint.
# Everything is written under WORK_DIR:
#   digits_c/              the corrupted test set (CIFAR-C layout), shared
#   [e<L>/]study_base.py   the base config of one length
#   [e<L>/]runs/           tools/sweep.py's work dir of one length
#   [e<L>/]results.md, results.csv, runs.csv, curves.png, robustness.png
#   e<L>/twoview.py        the two-view config (on top of the one-view one)
#   study.md, study.csv, study_length_top1.png, study_length_paired.png
set -euo pipefail

WORK_DIR=${1:-work_dirs/digits_study}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BASE=${BASE:-$ROOT/configs/quickstart/vanilla_resnet18_digits.py}
PER_CLASS=${PER_CLASS:-30}
TRAIN_BATCH=${TRAIN_BATCH:-32}
EPOCHS=${EPOCHS:-40}
SEEDS=${SEEDS:-"0 1 2 3 4"}
LONG_SEEDS=${LONG_SEEDS:-$SEEDS}
METHODS=${METHODS:-"vanilla Mixup CutMix FMix GridMix GMix AGMix MiAMix"}
FIRST_METHODS=${FIRST_METHODS:-"vanilla MiAMix"}
TWO_VIEW=${TWO_VIEW:-none}
VIEW_METHOD=${VIEW_METHOD:-MiAMix}
CKPT_INTERVAL=${CKPT_INTERVAL:-40}
TEST_BATCH=${TEST_BATCH:-128}
JOBS=${JOBS:-2}
SEVERITY_SEED=${SEVERITY_SEED:-0}
if [ -z "${LENGTHS:-}" ]; then
    FLAT=1; LENGTHS=$EPOCHS
    VAL_LAST=${VAL_LAST:-0}; EXACT_RESUME=${EXACT_RESUME:-0}
else
    FLAT=0
    VAL_LAST=${VAL_LAST:-10}; EXACT_RESUME=${EXACT_RESUME:-1}
fi
LENGTHS=$(printf '%s\n' $LENGTHS | sort -n -u | tr '\n' ' ')
LONGEST=$(printf '%s\n' $LENGTHS | tail -n 1)
PY=${PYTHON:-python}
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
[ -f "$BASE" ] || { echo "error: BASE $BASE not found" >&2; exit 2; }
BASE="$(cd "$(dirname "$BASE")" && pwd)/$(basename "$BASE")"
case "$TWO_VIEW" in
    none|auto) ;;
    *[!0-9]*|'') echo "error: TWO_VIEW must be none, auto or a length," \
                      "got '$TWO_VIEW'" >&2; exit 2 ;;
esac
VIEW_LABEL=${VIEW_METHOD%%=*}   # LABEL=SPEC or a plain name
TWO_LABEL=${VIEW_LABEL}_twoview

mkdir -p "$WORK_DIR"
WORK_DIR="$(cd "$WORK_DIR" && pwd)"
START=$(date +%s)
log() { echo "[study $(date -u +%H:%M:%S)] $*"; }
len_dir() { if [ "$FLAT" = 1 ]; then echo "$WORK_DIR"; \
            else echo "$WORK_DIR/e$1"; fi; }

# The base config of one length: BASE on the first PER_CLASS training
# digits of every class (mmengine's `indices` argument of the dataset), L
# epochs with the quick start's schedule (one warm-up epoch, then cosine to
# 0), validation on the test set in the last VAL_LAST epochs, a checkpoint
# every CKPT_INTERVAL epochs, no picture hook.
write_base() {  # L DIR
    mkdir -p "$2"
    "$PY" - "$2/study_base.py" "$BASE" "$PER_CLASS" "$1" "$VAL_LAST" \
        "$CKPT_INTERVAL" "$EXACT_RESUME" "$TRAIN_BATCH" <<'EOF'
import sys
import numpy as np

out, base = sys.argv[1], sys.argv[2]
per_class, epochs, val_last, ckpt, exact, batch = map(int, sys.argv[3:])
dataset = ''
if per_class > 0:
    from sklearn.datasets import load_digits
    from mmmiamix.datasets.digits import digits_split
    labels = np.asarray(load_digits().target)
    train, _ = digits_split(labels)   # the Digits train split, in its order
    train_labels = labels[train]
    indices = sorted(int(i) for c in range(10)
                     for i in np.flatnonzero(train_labels == c)[:per_class])
    dataset = f', dataset=dict(indices={indices})'
cosine = '''
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0.0,
         by_epoch=True, begin=1, end=max_epochs),''' if epochs > 1 else ''
val_begin = (f', val_begin={max(1, epochs - val_last + 1)}'
             if val_last > 0 else '')
hooks = ("[dict(type='RandomStateHook'), dict(type='SafeCheckpointHook')]"
         if exact else '[]')
text = f'''# Written by tools/run_study.sh: the digits study's base config.
_base_ = [{base!r}]
max_epochs = {epochs}
# {per_class or 'all'} training images per class (positions in the train split)
train_dataloader = dict(batch_size={batch}{dataset})
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),{cosine}
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1{val_begin})
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='CheckpointHook', interval={min(ckpt, epochs)},
                    max_keep_ckpts=1, save_best=None))
custom_hooks = {hooks}
'''
with open(out, 'w') as f:
    f.write(text)
EOF
}

# The two-view config of one length: the sweep's one-view config of
# VIEW_METHOD with the train pipeline's transforms (all but PackInputs)
# made twice (MultiView, num_views=2) and TwoViewClsDataPreprocessor, which
# hands the second view to the augment, as
# configs/quickstart/miamix_twoview_resnet18_digits.py does.
write_twoview() {  # ONE_VIEW_CONFIG OUT
    "$PY" - "$1" "$2" <<'EOF'
import pprint
import sys
from mmengine.config import Config

one, out = sys.argv[1], sys.argv[2]
cfg = Config.fromfile(one)
pipeline = [dict(t) for t in cfg.train_dataloader.dataset.pipeline]
tail = [t for t in pipeline[-1:] if t.get('type') == 'PackInputs']
views = pipeline[:len(pipeline) - len(tail)]
new = [dict(type='MultiView', num_views=2, transforms=[views])] + \
    (tail or [dict(type='PackInputs')])
where = 'model' if cfg.model.get('data_preprocessor') is not None else 'top'
pre = "dict(data_preprocessor=dict(type='TwoViewClsDataPreprocessor'))"
text = f'''# Written by tools/run_study.sh: two views on top of the one-view config.
_base_ = [{one!r}]
train_dataloader = dict(dataset=dict(
    pipeline={pprint.pformat(new, sort_dicts=False)}))
'''
text += (f'model = {pre}\n' if where == 'model' else
         "data_preprocessor = dict(type='TwoViewClsDataPreprocessor')\n")
with open(out, 'w') as f:
    f.write(text)
EOF
}

# Every method x seed of one length, JOBS seeds per sweep call (so that the
# early seeds of every method finish first), each final checkpoint then on
# the corrupted set.
sweep_at() {  # L "METHODS" "SEEDS"
    local dir chunk=() s
    dir=$(len_dir "$1")
    [ -n "$2" ] && [ -n "$3" ] || return 0
    for s in $3 ''; do
        [ -n "$s" ] && chunk+=("$s")
        if [ ${#chunk[@]} -ge "$JOBS" ] || { [ -z "$s" ] && \
                [ ${#chunk[@]} -gt 0 ]; }; then
            log "e$1: $2 x seeds ${chunk[*]}"
            # shellcheck disable=SC2086
            "$PY" "$ROOT/tools/sweep.py" "$dir/study_base.py" \
                --methods $2 --seeds "${chunk[@]}" --jobs "$JOBS" \
                --work-dir "$dir/runs" \
                --corrupted "$WORK_DIR/digits_c" --corrupted-dataset CIFAR10C \
                --corruptions all \
                --robustness-args "--num-workers 0 --batch-size $TEST_BATCH" \
                || log "e$1: some runs failed (see their train.log)"
            chunk=()
        fi
    done
}

# The tables and figures of one length, then those of the whole study.
summarize_at() {  # L
    local dir
    dir=$(len_dir "$1")
    [ -d "$dir/runs" ] || return 0
    "$PY" "$ROOT/tools/summarize.py" "$dir/runs" --last 10 \
        --out "$dir/results.md" --csv "$dir/results.csv" \
        --runs-csv "$dir/runs.csv" --curves "$dir/curves.png" \
        --bars "$dir/robustness.png" > /dev/null \
        || log "e$1: no summary yet"
}
report() {
    [ "$FLAT" = 0 ] || return 0
    "$PY" -m mmmiamix.experiments.paired report "$WORK_DIR" \
        --baseline vanilla --pair "$TWO_LABEL:$VIEW_LABEL" \
        --out "$WORK_DIR/study.md" --csv "$WORK_DIR/study.csv" \
        --figures "$WORK_DIR/study_length" > /dev/null \
        || log "no study report yet"
}

# Methods of a list that are (not) in FIRST_METHODS.
pick() {  # in|out "LIST"
    local m f hit out=()
    for m in $2; do
        hit=0
        for f in $FIRST_METHODS; do [ "$m" = "$f" ] && hit=1; done
        if [ "$1" = in ] && [ $hit = 1 ]; then out+=("$m"); fi
        if [ "$1" = out ] && [ $hit = 0 ]; then out+=("$m"); fi
    done
    echo "${out[*]:-}"
}

# 0. The base configs and the corrupted test set: 19 corruptions x 5
#    severities of BASE's test set (tools/make_corrupted.py; meta.json is
#    written last), made once for every length.
for L in $LENGTHS; do write_base "$L" "$(len_dir "$L")"; done
if [ ! -f "$WORK_DIR/digits_c/meta.json" ]; then
    "$PY" "$ROOT/tools/make_corrupted.py" "$BASE" \
        "$WORK_DIR/digits_c" --format npy --seed "$SEVERITY_SEED" \
        --workers "$JOBS" --no-progress
fi

# 1. Every method x seed at every length but the longest (at the only one).
for L in $LENGTHS; do
    if [ "$FLAT" = 1 ] || [ "$L" != "$LONGEST" ]; then
        sweep_at "$L" "$METHODS" "$SEEDS"; summarize_at "$L"; report
    fi
done
# 2. The first methods at the longest length.
if [ "$FLAT" = 0 ]; then
    sweep_at "$LONGEST" "$(pick in "$METHODS")" "$LONG_SEEDS"
    summarize_at "$LONGEST"; report
fi

# 3. The view axis.
if [ "$TWO_VIEW" != none ]; then
    VL=$TWO_VIEW
    if [ "$TWO_VIEW" = auto ]; then
        n_short=$(echo $SEEDS | wc -w); n_long=$(echo $LONG_SEEDS | wc -w)
        VL=$("$PY" -m mmmiamix.experiments.paired best-length "$WORK_DIR" \
            --method "$VIEW_LABEL" --min-runs $(( n_short < n_long ? \
            n_short : n_long ))) || VL=''
    fi
    if [ -z "$VL" ]; then
        log "two views: no finished length of $VIEW_LABEL; skipped"
    else
        if [ -n "${VIEW_SEEDS:-}" ]; then VS=$VIEW_SEEDS
        elif [ "$VL" = "$LONGEST" ]; then VS=$LONG_SEEDS
        else VS=$SEEDS; fi
        [ -f "$(len_dir "$VL")/study_base.py" ] || \
            write_base "$VL" "$(len_dir "$VL")"
        log "two views at $VL epochs, seeds $VS"
        sweep_at "$VL" "$VIEW_METHOD" "$VS"
        D=$(len_dir "$VL")
        write_twoview "$D/runs/configs/$VIEW_LABEL.py" "$D/twoview.py"
        sweep_at "$VL" "$TWO_LABEL=$D/twoview.py" "$VS"
        summarize_at "$VL"; report
    fi
fi

# 4. The other methods at the longest length.
if [ "$FLAT" = 0 ]; then
    sweep_at "$LONGEST" "$(pick out "$METHODS")" "$LONG_SEEDS"
    summarize_at "$LONGEST"; report
fi

log "study: $(( $(date +%s) - START )) s; results in $WORK_DIR"
