"""Extra peak memory of one MiAMix call, in batch-sized float tensors.

Target (docs/design.md, "Targets"): at most 3 batch-sized float tensors
(``B x C x H x W`` in the input's dtype) beyond what existed before the call.

How it is measured:

- CPU: ``torch.profiler.profile(profile_memory=True)`` records every
  allocation and free of torch's CPU allocator as a ``[memory]`` event with
  its size (negative for a free). Summing them in time order gives the bytes
  the call holds at each instant; the maximum is the extra peak. This counts
  every tensor, including scratch buffers inside kernels (sort, FFT,
  grid_sample), and is exact and repeatable, unlike the process RSS.
- As a cross-check on CPU, a ``TorchDispatchMode`` counts the storages of
  every op's outputs alive at once (weakref finalizers on the storages):
  this misses kernels' internal scratch, so it is a lower bound.
- CUDA: ``torch.cuda.max_memory_allocated()`` after
  ``torch.cuda.reset_peak_memory_stats()``, minus the memory allocated
  before the call.

The output of the call (one batch-sized tensor) is part of the peak; the
numbers are also given without it.

``--path sync-free`` measures, on the CPU, the path a GPU takes (its
choices of :mod:`mmmiamix.core.host`: no host reads, boxes at warped
coordinates, FMix's sort, the selecting blend); the default is each
device's own.

Usage::

    python tools/benchmark_memory.py [--device cpu|cuda|all] [--out FILE]
        [--path own|sync-free]
"""
import argparse
import contextlib
import json
import weakref

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from mmmiamix.core.miamix import MiAMix
from mmmiamix.experiments.benchmarks import sync_free_choices

SIZES = ((100, 32, 32), (100, 64, 64), (64, 224, 224), (128, 224, 224))


def profiler_peak(fn, device_type='cpu') -> int:
    """Peak bytes held by ``fn()`` beyond what was held before it, from the
    profiler's allocation events. The call's result is kept alive until the
    profile ends, so it counts."""
    from torch.profiler import ProfilerActivity, profile
    acts = [ProfilerActivity.CPU]
    with profile(activities=acts, profile_memory=True) as prof:
        result = fn()  # noqa: F841  (held: the output is part of the peak)
    del result
    want = 0 if device_type == 'cpu' else 1  # c10 DeviceType CPU=0 CUDA=1
    events = [e for e in prof.profiler.kineto_results.events()
              if e.name() == '[memory]' and int(e.device_type()) == want]
    events.sort(key=lambda e: e.start_ns())
    held = peak = 0
    for e in events:
        held += e.nbytes()
        peak = max(peak, held)
    return peak


class _StorageTracker(TorchDispatchMode):
    """Counts the bytes of op outputs' storages alive at once."""

    def __init__(self):
        super().__init__()
        self.seen = set()
        self.held = self.peak = 0

    def _free(self, key, nbytes):
        self.seen.discard(key)
        self.held -= nbytes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in torch.utils._pytree.tree_leaves(out):
            if not isinstance(t, torch.Tensor) or t.device.type != 'cpu':
                continue
            st = t.untyped_storage()
            key = st.data_ptr()
            if key in self.seen or st.nbytes() == 0:
                continue
            # a storage created before the call (an input, a view of one)
            if self.pre is not None and key in self.pre:
                continue
            self.seen.add(key)
            self.held += st.nbytes()
            self.peak = max(self.peak, self.held)
            weakref.finalize(st, self._free, key, st.nbytes())
        return out


def dispatch_peak(fn, inputs) -> int:
    tracker = _StorageTracker()
    tracker.pre = {t.untyped_storage().data_ptr() for t in inputs}
    with tracker:
        result = fn()  # noqa: F841
    del result
    return tracker.peak


def measure(b, h, w, device, dtype=torch.float32):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(b, 3, h, w, generator=g).to(device, dtype)
    y = F.one_hot(torch.randint(0, 100, (b, ), generator=g),
                  100).float().to(device)
    unit = x.numel() * x.element_size()
    aug = MiAMix()
    out = {}
    for seed in range(3):  # a few draws: the peak depends on the methods
        torch.manual_seed(seed)
        aug(x, y)  # warm-up (lazy init, allocator)
        torch.manual_seed(seed)
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
            base = torch.cuda.memory_allocated(device)
            torch.cuda.reset_peak_memory_stats(device)
            result = aug(x, y)
            torch.cuda.synchronize(device)
            peak = torch.cuda.max_memory_allocated(device) - base
            del result
            vals = {'cuda_max_allocated': peak / unit}
        else:
            vals = {'profiler': profiler_peak(lambda: aug(x, y)) / unit}
            torch.manual_seed(seed)
            vals['dispatch'] = dispatch_peak(lambda: aug(x, y), [x, y]) / unit
        for k, v in vals.items():
            out[k] = max(out.get(k, 0.0), v)
    return unit, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='all',
                        choices=['all', 'cpu', 'cuda'])
    parser.add_argument('--path', default='own', choices=['own', 'sync-free'],
                        help="own: each device's own path; sync-free: a "
                        "GPU's choices, on any device")
    parser.add_argument('--out', help='write the numbers to this JSON file')
    args = parser.parse_args()
    devices = []
    if args.device in ('all', 'cpu'):
        devices.append(torch.device('cpu'))
    if args.device in ('all', 'cuda') and torch.cuda.is_available():
        devices.append(torch.device('cuda'))
    results = {}
    print(f'# extra peak memory of one MiAMix call (path {args.path}),'
          ' in batch-sized float32 tensors (B x 3 x H x W); worst of 3 '
          'seeded draws; target <= 3 (docs/design.md)')
    choices = sync_free_choices(gpu=True) if args.path == 'sync-free' else \
        contextlib.nullcontext()
    with choices:
        for device in devices:
            _device_rows(device, results)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)


def _device_rows(device, results):
    """Measure and print every size on ``device``."""
    for b, h, w in SIZES:
        key = f'{device.type} {b}x3x{h}x{w}'
        unit, vals = measure(b, h, w, device)
        results[key] = dict(unit_bytes=unit, **vals)
        main_key = 'profiler' if device.type == 'cpu' else \
            'cuda_max_allocated'
        peak = vals[main_key]
        verdict = 'MET' if peak <= 3 else 'MISSED'
        extra = '' if device.type != 'cpu' else \
            f", dispatch-mode lower bound {vals['dispatch']:.2f}"
        print(f'  {key:22s} unit {unit / 2**20:8.2f} MiB: peak '
              f'{peak:.2f} (without the output {peak - 1:.2f})'
              f'{extra}  target <= 3: {verdict}')


if __name__ == '__main__':
    main()
