"""An augment under ``torch.compile`` (inductor) against the same call eager,
measured in a process of its own so that its compile is cold.

For one augment and one batch size: the eager ms per call; the compiled ms
as users get it (the project's augments run eagerly inside a CPU graph, a
deliberate graph break: :func:`mmmiamix.core.host.traced_whole`); and the
call traced whole into the graph, as on a GPU: its compile seconds (cold:
a fresh inductor cache, after a trivial compile has started inductor in
the process), ms per call, inductor's generated kernels (its
``generated_kernel_count``: loop nests, vectorised variants included), the
aten calls its compiled code still makes (extern kernels and allocations:
the top-level ``aten::`` events of a profiled call), the graphs and the
reasons of graph breaks, and the recompilations on a second call and at a
new batch size.

``python -m mmmiamix.experiments.compiled NAME B H W [--device D]``
prints the figures as one JSON line; :func:`measure_in_process` runs that
and reads it back.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from typing import Callable, Dict

import torch

from .benchmarks import make_batch

#: the augments measured, by the name the tools print
AUGMENTS = ('MiAMix', 'FMix', 'GridMix', 'GMix', 'AGMix', 'SaliencyMix',
            'SmoothMix', 'ResizeMix', 'mmpretrain Mixup', 'mmpretrain CutMix')


def build(name: str) -> Callable:
    """The augment ``name`` (one of :data:`AUGMENTS`), default settings as
    the tools use them (single methods and mmpretrain's at ``alpha=1``)."""
    from .. import core
    if name == 'MiAMix':
        return core.MiAMix()
    if name.startswith('mmpretrain '):
        from mmpretrain.models.utils import batch_augments
        return getattr(batch_augments, name.split()[1])(alpha=1.0)
    if name not in AUGMENTS:
        raise ValueError(f'name must be one of {AUGMENTS}, got {name!r}')
    return getattr(core, name)(alpha=1.0)


def _median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def _aten_calls(fn) -> int:
    """Top-level ``aten::`` events of one call (what compiled code leaves
    to aten: extern kernels, allocations, views)."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    events = [e for e in prof.events() if e.name.startswith('aten::')]
    top = Counter(e.name for e in events if e.cpu_parent is None
                  or not e.cpu_parent.name.startswith('aten::'))
    return sum(top.values())


def _compiled(aug, x, y, repeats: int, other) -> Dict[str, float]:
    """Compile ``aug`` (a fresh dynamo state) and measure it."""
    import torch._inductor.metrics as metrics
    from torch._dynamo.utils import counters
    torch._dynamo.reset()
    counters.clear()
    metrics.reset()
    compiled = torch.compile(lambda a, b: aug(a, b))
    start = time.perf_counter()
    compiled(x, y)
    compile_s = time.perf_counter() - start
    kernels = metrics.generated_kernel_count
    graphs = counters['stats']['unique_graphs']
    compiled(x, y)
    second = counters['stats']['unique_graphs'] - graphs
    ms = _median_ms(lambda: compiled(x, y), repeats)
    aten = _aten_calls(lambda: compiled(x, y))
    before = counters['stats']['unique_graphs']
    compiled(*other)  # a new batch size
    compiled(*other)
    return dict(compile_s=compile_s, ms=ms, kernels=kernels, graphs=graphs,
                graph_breaks=sorted(counters['graph_break']),
                recompiles_second_call=second,
                recompiles_new_batch=counters['stats']['unique_graphs'] -
                before, aten_calls=aten)


def measure(name: str, b: int, h: int, w: int, device='cpu',
            repeats: int = 10) -> dict:
    """Every figure of one augment at ``b x 3 x h x w``, in this process
    (call it in a fresh one for a cold compile: :func:`measure_in_process`)."""
    from ..core import host
    torch.compile(lambda t: t * 2 + 1)(torch.rand(4))  # start inductor
    device = torch.device(device)
    x, y = make_batch(b, h, w, device)
    other = make_batch(b // 2 + 1, h, w, device, seed=1)
    aug = build(name)
    eager = _median_ms(lambda: aug(x, y), repeats)
    users = _compiled(aug, x, y, repeats, other)
    traced = host.traced_whole
    host.traced_whole = lambda device: True
    try:
        whole = _compiled(aug, x, y, repeats, other)
    finally:
        host.traced_whole = traced
    return dict(name=name, size=f'{b}x3x{h}x{w}', device=device.type,
                eager_ms=eager, compiled_ms=users['ms'],
                compiled_breaks=[r.splitlines()[0][:80]
                                 for r in users['graph_breaks']],
                traced=whole)


def measure_in_process(name: str, b: int, h: int, w: int, device='cpu',
                       timeout: float = 900) -> dict:
    """:func:`measure` in a fresh Python process with a fresh inductor
    cache (a cold compile); the figures, or ``{'error': ...}``."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache,
                   TORCHINDUCTOR_COMPILE_THREADS='1')
        cmd = [sys.executable, '-m', __name__, name, str(b), str(h), str(w),
               '--device', str(device)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True,
                                  env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            return dict(name=name, error=f'timed out after {timeout:.0f} s')
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith('{')]
    if done.returncode or not lines:
        return dict(name=name, error=done.stderr.strip().splitlines()[-1:])
    return json.loads(lines[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('name', choices=AUGMENTS)
    parser.add_argument('b', type=int)
    parser.add_argument('h', type=int)
    parser.add_argument('w', type=int)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.name, args.b, args.h, args.w,
                             args.device)))


if __name__ == '__main__':
    main()
