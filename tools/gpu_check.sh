#!/usr/bin/env bash
# The GPU check, at most 5 minutes on one CUDA GPU:
# MiAMix at 128x3x224x224 and 100x3x32x32 under
# torch.cuda.set_sync_debug_mode('error'), its CUDA time and op count, and
# the ResNet-18 CIFAR training cost (batch 100) with and without MiAMix,
# and one call captured in a CUDA graph and replayed.
# Prints a markdown block to paste into docs/benchmarks.md.
#
# Usage: tools/gpu_check.sh [--out gpu_check.json]
#        tools/gpu_check.sh --device cpu --quick   # checks the script only
# Exit: 0 no host sync, 1 a call synced, 2 no CUDA, 124 past 300 s.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
timeout -k 10 300 "${PYTHON:-python}" "$ROOT/tools/gpu_check.py" "$@"
rc=$?
if [ "$rc" -eq 124 ]; then
    echo "gpu_check: stopped after 300 s" >&2
fi
exit "$rc"
