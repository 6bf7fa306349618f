"""What the benchmark tools share: batches, round-robin timing, op counts,
the ResNet-18 CIFAR training step, and the targets with their verdicts.

``tools/benchmark_mixing.py`` and ``tools/gpu_check.py`` print these; every
time goes through :func:`mmmiamix.utils.profiling.call_ms`.
"""
import contextlib
import math
import platform
import statistics
import time
from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core import MiAMix, host
from ..utils.profiling import (
    call_ms,
    count_ops,
    host_reads,
    on_meta,
    sync_ops,
)

NUM_CLASSES = 100
#: the sync-free path's targets: aten ops per call at any batch size, host
#: ms of a call at OPS_SMALL
OPS_TARGET = 300
HOST_MS_TARGET = 2.0
OPS_SMALL = (8, 32, 32)


@contextlib.contextmanager
def sync_free_choices(gpu: bool = False):
    """Within the block, calls read nothing back to the host on any device
    (:mod:`mmmiamix.core.host`), so the CPU runs its sync-free path (FMix's
    ``kthvalue``, the selecting blend), what it would run compiled whole;
    ``gpu``: also a GPU's choices of fewest ops (boxes at warped
    coordinates, FMix's sort), to measure the GPU's path here."""
    saved = host.arithmetic_bound, host.host_reads_free
    host.host_reads_free = lambda device: False
    if gpu:
        host.arithmetic_bound = lambda device: False
    try:
        yield
    finally:
        host.arithmetic_bound, host.host_reads_free = saved


def make_batch(b, h, w, device, seed=0):
    """``(x, y)``: ``x`` (b, 3, h, w) float32 standard normal, ``y`` (b,
    NUM_CLASSES) one-hot float32, on ``device``; the same for a ``seed``."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, 3, h, w, generator=g).to(device)
    labels = torch.randint(0, NUM_CLASSES, (b, ), generator=g)
    y = F.one_hot(labels, NUM_CLASSES).float().to(device)
    return x, y


def cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def round_robin(cands, device, warmup, repeats, budget_s=None):
    """Median ms per candidate. ``cands``: name -> (fn, repeats or None).

    Every candidate is warmed up, then timed one call per round; a candidate
    with its own (smaller) repeat count drops out of later rounds.
    """
    for fn, _ in cands.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in cands}
    start = time.perf_counter()
    for r in range(repeats):
        for name, (fn, reps) in cands.items():
            if reps is not None and r >= reps:
                continue
            times[name].append(call_ms(fn, sync_device=device))
        if budget_s is not None and r >= 2 and \
                time.perf_counter() - start > budget_s:
            break
    return {name: statistics.median(t) for name, t in times.items()}


def measure_ops(fn, x, y, draws, seed=0, meta=False):
    """Op counts of ``draws`` calls (one per seed) after one warm-up call
    (which may do one-time work such as moving tables to the device);
    ``meta``: on ``meta`` copies of ``x, y``, the path of a GPU, and its
    host reads by :func:`~mmmiamix.utils.profiling.host_reads` (any read of
    a device value fails there) rather than by op names.

    Returns ``dict(min, max, counts, sync, top)``: the fewest and most ops,
    every call's total, the syncing ops seen in any call, and the 12 most
    frequent ops of the last call as ``(name, count)`` pairs."""
    if meta:
        x, y = on_meta((x, y))
    fn(x, y)
    totals, syncing = [], set()
    for i in range(draws):
        torch.manual_seed(seed + i)
        total, counts = count_ops(fn, x, y)
        totals.append(total)
        syncing.update(host_reads(fn, x, y) if meta else sync_ops(counts))
    return dict(min=min(totals), max=max(totals), counts=totals,
                sync=sorted(syncing), top=counts.most_common(12))


def fmt_range(r):
    lo, hi = r['min'], r['max']
    return f'{lo:,}' if lo == hi else f'{lo:,} – {hi:,}'


class CifarNet(nn.Module):
    """mmpretrain's ResNet_CIFAR (depth 18) + global pooling + linear."""

    def __init__(self, num_classes=10):
        super().__init__()
        from mmpretrain.models.backbones import ResNet_CIFAR
        self.backbone = ResNet_CIFAR(depth=18)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        feat = self.backbone(x)[-1]
        return self.fc(F.adaptive_avg_pool2d(feat, 1).flatten(1))


def bench_training(device, quick, num_classes=10, batch=100, repeats=None,
                   warmup=None, call_repeats=None):
    """Median ms of a ResNet-18 CIFAR training step (forward, backward, SGD)
    on a ``batch``x3x32x32 batch, without and with MiAMix, interleaved;
    ``repeats``/``warmup``/``call_repeats`` override the defaults (CPU 20/1,
    CUDA 100/10; ``quick``: CPU 3, CUDA 20). The measured ratio is the
    median over the pairs of (step with MiAMix) / (step without), each pair
    run back to back, so that a drift of the machine's speed cancels."""
    torch.manual_seed(0)
    model = CifarNet(num_classes).to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9,
                          weight_decay=5e-4)
    b = batch
    g = torch.Generator().manual_seed(1)
    x = torch.randn(b, 3, 32, 32, generator=g).to(device)
    y = F.one_hot(torch.randint(0, num_classes, (b, ), generator=g),
                  num_classes).float().to(device)
    aug = MiAMix()

    def step(mix):
        inputs, scores = aug(x, y) if mix else (x, y)
        logits = model(inputs)
        loss = -(scores * F.log_softmax(logits, dim=1)).sum(1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    if warmup is None:
        warmup = 1 if device.type == 'cpu' else 10
    if repeats is None:
        repeats = (3 if quick else 20) if device.type == 'cpu' else (
            20 if quick else 100)
    if call_repeats is None:
        call_repeats = 10 if quick else 30
    for _ in range(warmup):
        step(False)
        step(True)
    vanilla, mixed = [], []
    for r in range(repeats):
        # alternate the order so neither always runs second
        order = (False, True) if r % 2 == 0 else (True, False)
        for mix in order:
            t = call_ms(step, mix, sync_device=device)
            (mixed if mix else vanilla).append(t)
    # The cost of the augment alone, on this batch, same session.
    aug_ms = round_robin({'aug': (lambda: aug(x, y), None)}, device, 3,
                         call_repeats)['aug']
    v, m = statistics.median(vanilla), statistics.median(mixed)
    paired = statistics.median(a / b for a, b in zip(mixed, vanilla))
    return {'batch': b, 'repeats': repeats,
            'vanilla_ms': v, 'miamix_ms': m, 'ratio_measured': paired,
            'miamix_call_ms': aug_ms, 'ratio_components': (v + aug_ms) / v,
            'vanilla_all': vanilla, 'miamix_all': mixed}


def verdict(value, op, target):
    if value is None or target is None or (isinstance(value, float)
                                           and math.isnan(value)):
        return 'n/a'
    ok = value <= target if op == '<=' else value >= target
    return 'MET' if ok else 'MISSED'

def ops_checks(small: Dict[str, dict], free: Dict[str, dict],
               name: str) -> dict:
    """The sync-free path's targets from :func:`measure_ops` results:
    ``small`` maps augment names to their result at OPS_SMALL (with
    ``host_ms``), ``free`` sizes to the result of augment ``name``."""
    worst = max(r['max'] for r in free.values())
    totals = {t for r in free.values() for t in r['counts']}
    return {
        'ops_max': worst,
        'ops_le_300': worst <= OPS_TARGET,
        'ops_constant': len(totals) == 1,
        'host_ms_8x32': small[name]['host_ms'],
        'host_ms_le_2': small[name]['host_ms'] <= HOST_MS_TARGET,
        'sync_free': not any(r['sync'] for r in free.values())
        and not small[name]['sync'],
    }


def target_rows(checks: dict):
    """``[(target, measured, status), ...]`` of :func:`ops_checks`, status
    ``'MET'``, ``'MISSED'`` or ``'—'`` (reported, no target)."""
    yes = {True: 'MET', False: 'MISSED'}
    b, h, w = OPS_SMALL
    return [
        (f'ops per call <= {OPS_TARGET} at every size above',
         f"{checks['ops_max']:,} (most)", yes[checks['ops_le_300']]),
        ('same op count at every size and draw',
         'yes' if checks['ops_constant'] else 'no', '—'),
        (f'host time at {b}x3x{h}x{w} <= {HOST_MS_TARGET} ms',
         f"{checks['host_ms_8x32']:.2f} ms", yes[checks['host_ms_le_2']]),
        ('no syncing op in a call',
         'none' if checks['sync_free'] else 'some', yes[checks['sync_free']]),
    ]
