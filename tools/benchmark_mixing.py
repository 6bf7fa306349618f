"""Speed of MiAMix against its peers, its reference loop and the memory floor.

Prints, for (B, H, W) in (100, 32, 32), (100, 64, 64) and (64, 224, 224), on
CPU and on CUDA when present, the median ms per batch of:

- MiAMix (default arguments) and MiAMix on the sync-free path (the choices
  a GPU takes, :mod:`mmmiamix.core.host`, here on the CPU: no host reads,
  boxes at warped coordinates, FMix's sort, the selecting blend);
- every single method: MiAMix restricted to one method (``methods=(m,),
  method_weights=(1,)``) and the single-method classes FMix, GridMix, GMix,
  AGMix, SaliencyMix (``alpha=1``);
- mmpretrain's ``Mixup`` and ``CutMix`` (``alpha=1.0``);
- the per-sample reference loop (:func:`mmmiamix.core.reference.
  reference_loop`: every stage, random draws included, one sample at a
  time), and the same loop on the batched draws of ``aug.sample``
  (:func:`~mmmiamix.core.reference.reference_apply`), fewer repeats;
- the blend's memory-traffic floor: ``torch.add(x, x_partner, out=out)``
  (reads two batch tensors, writes one, into a preallocated output; the
  partner batch is materialised beforehand), and for reference the same
  with the keep mask: ``torch.lerp(x_partner, x, keep, out=out)``;

and, first (alone with ``--ops-only``: seconds), the cost of a call on a
GPU as the host sees it: for every augment above (MiAMix with defaults on
this device and on its sync-free path, counted on ``meta`` tensors, which
take a GPU's code path; FMix, GridMix, GMix, AGMix, SaliencyMix, SmoothMix,
ResizeMix, mmpretrain ``Mixup``/``CutMix``) the aten ops one call
dispatches (views included; each is a kernel launch on CUDA) and the host
time of a call at 8x3x32x32 on ``--host-threads`` (default 1) thread, the
MiAMix op counts at 8, 100, 256 x3x32x32 and 32, 128 x3x224x224, and the
host reads among them (:mod:`mmmiamix.utils.profiling`);

with ``--compiled``, every augment under ``torch.compile`` (inductor)
against eager at 16x3x32x32 and 64x3x224x224, each in a fresh process
(:mod:`mmmiamix.experiments.compiled`): eager and compiled ms as users get
them, and the call traced whole (as on a GPU): cold compile seconds, ms,
inductor's generated kernels, aten calls left, graphs, breaks and
recompilations;

then the training cost of MiAMix: a ResNet-18 CIFAR step (mmpretrain
``ResNet_CIFAR`` depth 18 + global pooling + linear head, soft-target cross
entropy, SGD; batch 100, 32x32; forward + backward + step) with and without
MiAMix, interleaved; and the ratios against the targets (docs/design.md,
"Targets").

Timing: ``torch.set_num_threads(--threads)`` (default: the CPUs this process
may use), warm-up calls, then the candidates of one size are timed round
robin (one call each per round) so that a change of machine load hits them
all alike; the median over rounds is reported. The ratio MiAMix / Mixup
against its target comes from a round robin of those two alone at
64x3x224x224 (the round of every candidate is printed beside it): at that
size both are mostly first-touch page faults of fresh batch tensors, which
depend on what the previous candidate left to the allocator. On CUDA the
timed region is bracketed by ``torch.cuda.synchronize()`` and nothing else
syncs.

Usage::

    python tools/benchmark_mixing.py [--quick] [--device cpu|cuda|all]
        [--threads N] [--out results.json] [--skip-train]
        [--ops-only] [--host-threads N] [--compiled]
"""
import argparse
import contextlib
import json
import os
import time

import torch

from mmmiamix.core import (
    AGMix,
    FMix,
    GMix,
    GridMix,
    MiAMix,
    ResizeMix,
    SaliencyMix,
    SmoothMix,
)
from mmmiamix.core.reference import reference_apply, reference_loop
from mmmiamix.experiments.benchmarks import (
    OPS_SMALL,
    bench_training,
    cpu_name,
    fmt_range,
    make_batch,
    measure_ops,
    ops_checks,
    round_robin,
    sync_free_choices,
    target_rows,
    verdict,
)
from mmmiamix.experiments.compiled import AUGMENTS as COMPILED
from mmmiamix.experiments.compiled import measure_in_process
from mmmiamix.utils.profiling import host_time

SIZES = ((100, 32, 32), (100, 64, 64), (64, 224, 224))
SINGLE = ('mixup', 'cutmix', 'fmix', 'gridmix', 'gmix', 'agmix')
SINGLE_CLASSES = (FMix, GridMix, GMix, AGMix, SaliencyMix, SmoothMix,
                  ResizeMix)
#: (B, H, W) of the compiled figures
COMPILED_SIZES = ((16, 32, 32), (64, 224, 224))

TARGETS = {
    'miamix_over_mixup_64x224': (
        'MiAMix / mmpretrain Mixup, 64x3x224x224 (the two alone)', '<=', 1.0),
    'reference_over_miamix_100x32': (
        'reference loop / MiAMix, 100x3x32x32', '>=', 10.0),
    'miamix_over_floor_64x224': ('MiAMix / blend floor, 64x3x224x224', '<=',
                                 5.0),
    'sync_free_over_own_64x224': (
        'sync-free path / CPU path, eager, 64x3x224x224', '<=', 1.5),
    'train_cost': ('training step MiAMix / vanilla, ResNet-18 CIFAR b100',
                   '<=', None),  # 1.01 on CPU, 1.03 on CUDA
    'cuda_ms_128x224': ('MiAMix ms at 128x3x224x224 (CUDA)', '<=', 1.0),
}


# ----------------------------------------------------------------- helpers
# ------------------------------------------------------------ mixing speed
def bench_size(b, h, w, device, quick):
    from mmpretrain.models.utils.batch_augments import CutMix, Mixup

    x, y = make_batch(b, h, w, device)
    cands = {}
    miamix = MiAMix()
    cands['MiAMix'] = (lambda: miamix(x, y), None)

    def sync_free():
        with sync_free_choices():
            return miamix(x, y)

    cands['MiAMix, sync-free path'] = (sync_free, None)
    for m in SINGLE:
        aug = MiAMix(methods=(m, ), method_weights=(1, ))
        cands[f'MiAMix[{m}]'] = ((lambda a: lambda: a(x, y))(aug), None)
    for cls in SINGLE_CLASSES:
        aug = cls(alpha=1.0)
        cands[cls.__name__] = ((lambda a: lambda: a(x, y))(aug), None)
    mixup, cutmix = Mixup(alpha=1.0), CutMix(alpha=1.0)
    # mmpretrain's CutMix pastes into its input in place: give it a copy
    # made outside the timed region would need a hook; pasting into x itself
    # is what it does in training, and the values do not matter here.
    x_cut = x.clone()
    cands['mmpretrain Mixup'] = (lambda: mixup(x, y), None)
    cands['mmpretrain CutMix'] = (lambda: cutmix(x_cut, y), None)

    # The blend floor: read x and its partner batch, write the output.
    partner = x[torch.randperm(b, device=device)]
    out = torch.empty_like(x)
    keep = torch.rand(b, 1, h, w, device=device)
    cands['floor add(x, xp)'] = (lambda: torch.add(x, partner, out=out),
                                 None)
    cands['floor lerp(xp, x, keep)'] = (
        lambda: torch.lerp(partner, x, keep, out=out), None)

    # The obvious implementation: every stage per sample, draws included.
    big = h * w >= 224 * 224
    ref_reps = (2 if quick else 3) if big else (3 if quick else 7)
    cands['reference loop'] = (lambda: reference_loop(miamix, x, y),
                               ref_reps)

    # The same loop on the batched draws of MiAMix.sample (only the
    # rendering and mixing per sample).
    def reference_shared_draws():
        params = miamix.sample(b, (h, w), device)
        return reference_apply(miamix, x, y, params)

    cands['reference loop, batched draws'] = (reference_shared_draws,
                                              ref_reps)

    repeats = 5 if quick else (15 if big else 25)
    warmup = 1 if big else 3
    if device.type == 'cuda':
        repeats, warmup = repeats * 4, 10
    return round_robin(cands, device, warmup, repeats)


def bench_pair(b, h, w, device, quick):
    """MiAMix against mmpretrain's Mixup alone, round robin: the two share
    the allocator's state. (In the round of every candidate, the state one
    candidate leaves moves the next one's first-touch page faults: Mixup
    took 22 ms or 33-44 ms at 64x3x224x224 depending on its neighbours.)"""
    from mmpretrain.models.utils.batch_augments import Mixup

    x, y = make_batch(b, h, w, device)
    miamix, mixup = MiAMix(), Mixup(alpha=1.0)
    cands = {'MiAMix': (lambda: miamix(x, y), None),
             'mmpretrain Mixup': (lambda: mixup(x, y), None)}
    repeats = 9 if quick else 31
    return round_robin(cands, device, 3, repeats * (4 if device.type ==
                                                    'cuda' else 1))


def check_no_sync(device):
    """One MiAMix call (its defaults: the sync-free path on CUDA) under
    ``torch.cuda.set_sync_debug_mode('error')``: raises on any host sync."""
    x, y = make_batch(128, 224, 224, device)
    aug = MiAMix()
    aug(x, y)  # warm-up outside the check (lazy init may sync)
    torch.cuda.synchronize(device)
    torch.cuda.set_sync_debug_mode('error')
    try:
        aug(x, y)
        ok, msg = True, 'no host sync'
    except RuntimeError as e:  # the sync that was caught
        ok, msg = False, str(e).splitlines()[0]
    finally:
        torch.cuda.set_sync_debug_mode('default')
    torch.cuda.synchronize(device)
    return ok, msg


def bench_cuda_128(device, quick):
    x, y = make_batch(128, 224, 224, device)
    aug = MiAMix()
    partner = x[torch.randperm(128, device=device)]
    out = torch.empty_like(x)
    return round_robin(
        {'MiAMix 128x224': (lambda: aug(x, y), None),
         'floor add(x, xp) 128x224': (
             lambda: torch.add(x, partner, out=out), None)},
        device, warmup=10, repeats=20 if quick else 100)


# ------------------------------------------------- ops per call, host time
#: (B, H, W) of the MiAMix op counts (target: <= 300 at any batch size);
#: the host time and every augment's op count are taken at OPS_SMALL.
OPS_SIZES = ((8, 32, 32), (100, 32, 32), (256, 32, 32), (32, 224, 224),
             (128, 224, 224))
OPS_SIZES_QUICK = ((8, 32, 32), (100, 32, 32))
#: MiAMix's sync-free path (the target's path), counted on meta tensors
SYNC_FREE = 'MiAMix (sync-free path)'


def ops_augments():
    """name -> augment ``fn(x, y)``: every augment the tool reports."""
    from mmpretrain.models.utils.batch_augments import CutMix, Mixup

    augs = {'MiAMix (defaults)': MiAMix(), SYNC_FREE: MiAMix()}
    for cls in SINGLE_CLASSES:
        augs[cls.__name__] = cls()
    augs['mmpretrain Mixup'] = Mixup(alpha=1.0)
    # mmpretrain's CutMix pastes into its input in place; the values do
    # not matter here.
    augs['mmpretrain CutMix'] = CutMix(alpha=1.0)
    return augs


def bench_ops(device, quick, host_threads=1):
    """Every augment's ops per call and host time at OPS_SMALL, and the
    MiAMix op counts at OPS_SIZES (quick: OPS_SIZES_QUICK, fewer draws)."""
    draws = 2 if quick else 5
    repeats = 5 if quick else 30
    augs = ops_augments()
    small = {}
    x, y = make_batch(*OPS_SMALL, device)
    for name, aug in augs.items():
        free = name == SYNC_FREE
        r = measure_ops(aug, x, y, draws, meta=free)
        torch.manual_seed(0)
        # the sync-free path's host time: a GPU's choices, run here
        with sync_free_choices(gpu=True) if free else \
                contextlib.nullcontext():
            r['host_ms'] = host_time(aug, x, y, repeats=repeats, warmup=2,
                                     threads=host_threads)
        small[name] = r
    scaling = {name: {} for name in ('MiAMix (defaults)', SYNC_FREE)}
    for b, h, w in (OPS_SIZES_QUICK if quick else OPS_SIZES):
        x, y = make_batch(b, h, w, device)
        for name in scaling:
            scaling[name][f'{b}x3x{h}x{w}'] = measure_ops(
                augs[name], x, y, 2 if quick else 3, meta=name == SYNC_FREE)
    checks = ops_checks(small, scaling[SYNC_FREE], SYNC_FREE)
    return dict(small=small, scaling=scaling, checks=checks,
                host_threads=host_threads, draws=draws)


def print_ops(res, device):
    """The ops tables, as markdown."""
    small, scaling, checks = res['small'], res['scaling'], res['checks']
    b, h, w = OPS_SMALL
    print(f'\n## {device.type}: aten ops per call and host time, '
          f'{b}x3x{h}x{w}, {res["host_threads"]} thread(s)  '
          f'(ops: fewest – most over {res["draws"]} draws; host: median ms)')
    print()
    print(f'| augment | ops per call | host ms | syncing ops (recorded on '
          f'{device.type}) |')
    print('| --- | ---: | ---: | --- |')
    for name, r in small.items():
        print(f"| {name} | {fmt_range(r)} | {r['host_ms']:.2f} | "
              f"{', '.join(r['sync']) or 'none'} |")
    if device.type == 'cpu':
        print('\n  On the CPU, where a host read costs nothing, the '
              'augments read values back\n  (the blend\'s finiteness '
              "check, FMix's band select), which they skip on CUDA;\n  "
              f'{SYNC_FREE} is counted on meta tensors (a GPU\'s path), '
              'where any host read fails.')
    top = ', '.join(f'{op} {n}' for op, n in small[SYNC_FREE]['top'])
    print(f'\n  most frequent ops of one {SYNC_FREE} call: {top}')
    sizes = list(next(iter(scaling.values())))
    print(f'\n## {device.type}: MiAMix aten ops per call by batch size')
    print()
    print('| MiAMix | ' + ' | '.join(s.replace('x', '×') for s in sizes)
          + ' | syncing ops |')
    print('| --- |' + ' ---: |' * len(sizes) + ' --- |')
    for name, per in scaling.items():
        sync = sorted({op for r in per.values() for op in r['sync']})
        print(f'| {name} | ' + ' | '.join(fmt_range(r) for r in per.values())
              + f" | {', '.join(sync) or 'none'} |")
    print(f'\n## {device.type}: targets of the sync-free path {SYNC_FREE}'
          ' (docs/design.md, Targets)')
    print()
    print('| target | measured | status |')
    print('| --- | ---: | --- |')
    for row in target_rows(checks):
        print('| ' + ' | '.join(row) + ' |')


# ------------------------------------------------------------------- report
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='fewer repeats (a rough run in ~2-3 minutes; '
                        'with --ops-only a few seconds)')
    parser.add_argument('--device', default='all',
                        choices=['all', 'cpu', 'cuda'],
                        help='cpu, cuda, or all (cpu + cuda when present)')
    parser.add_argument('--threads', type=int,
                        default=len(os.sched_getaffinity(0)) if hasattr(
                            os, 'sched_getaffinity') else os.cpu_count(),
                        help='torch.set_num_threads (default: usable CPUs)')
    parser.add_argument('--skip-train', action='store_true',
                        help='skip the ResNet-18 training-cost measurement')
    parser.add_argument('--ops-only', action='store_true',
                        help='only the aten ops per call and host times '
                        '(seconds; with --quick, fewer sizes and repeats)')
    parser.add_argument('--host-threads', type=int, default=1,
                        help='torch.set_num_threads while timing the host '
                        'time of a call (default 1)')
    parser.add_argument('--compiled', action='store_true',
                        help='also every augment under torch.compile, one '
                        'fresh process each (about 10 minutes; with --quick '
                        'MiAMix and Mixup at 16x3x32x32)')
    parser.add_argument('--out', help='write every number to this JSON file')
    args = parser.parse_args(argv)
    devices = []
    if args.device in ('all', 'cpu'):
        devices.append(torch.device('cpu'))
    if args.device in ('all', 'cuda'):
        if torch.cuda.is_available():
            devices.append(torch.device('cuda'))
        elif args.device == 'cuda':
            parser.error('--device cuda: no CUDA device')
    return args, devices


def mixing_tables(device, quick, res):
    """The ms per batch of every candidate at SIZES, printed; the ratios
    that need them."""
    for b, h, w in SIZES:
        key = f'{b}x3x{h}x{w}'
        t0 = time.perf_counter()
        ms = bench_size(b, h, w, device, quick)
        res['mixing_ms'][key] = ms
        print(f'\n## {device.type} {key}  (ms per batch, median; '
              f'{time.perf_counter() - t0:.0f} s)')
        for name, v in ms.items():
            print(f'  {name:28s} {v:10.3f}')
    ratios = {}
    m224 = res['mixing_ms']['64x3x224x224']
    m32 = res['mixing_ms']['100x3x32x32']
    pair = res['pair_64x224'] = bench_pair(64, 224, 224, device, quick)
    ratios['miamix_over_mixup_64x224'] = \
        pair['MiAMix'] / pair['mmpretrain Mixup']
    ratios['miamix_over_mixup_64x224_all'] = \
        m224['MiAMix'] / m224['mmpretrain Mixup']
    print(f"\n## {device.type} 64x3x224x224, MiAMix and mmpretrain "
          f"Mixup alone, round robin: {pair['MiAMix']:.2f} ms, "
          f"{pair['mmpretrain Mixup']:.2f} ms (in the round of every "
          f"candidate above: {ratios['miamix_over_mixup_64x224_all']:.3f})")
    ratios['reference_over_miamix_100x32'] = \
        m32['reference loop'] / m32['MiAMix']
    ratios['miamix_over_floor_64x224'] = \
        m224['MiAMix'] / m224['floor add(x, xp)']
    ratios['sync_free_over_own_64x224'] = \
        m224['MiAMix, sync-free path'] / m224['MiAMix']
    return ratios


def compiled_table(device, quick):
    """Every augment under torch.compile at COMPILED_SIZES, printed as a
    markdown table; returns the figures."""
    names = ('MiAMix', 'mmpretrain Mixup') if quick else COMPILED
    sizes = COMPILED_SIZES[:1] if quick else COMPILED_SIZES
    rows = []
    print(f'\n## {device.type}: under torch.compile (inductor), each in a '
          'fresh process (traced: the call traced whole, as on a GPU; '
          'compile s cold, after a trivial compile)')
    print('\n| augment | size | eager ms | compiled ms | traced: compile s '
          '| ms | kernels | aten calls | graphs | breaks | recompiles '
          '(2nd call, new batch) |')
    print('| --- | --- |' + ' ---: |' * 9)
    for b, h, w in sizes:
        for name in names:
            r = measure_in_process(name, b, h, w, device.type)
            rows.append(r)
            if 'error' in r:
                print(f"| {name} | {b}x3x{h}x{w} | error: {r['error']} |")
                continue
            t = r['traced']
            print(f"| {name} | {r['size']} | {r['eager_ms']:.2f} | "
                  f"{r['compiled_ms']:.2f} | {t['compile_s']:.1f} | "
                  f"{t['ms']:.2f} | {t['kernels']} | {t['aten_calls']} | "
                  f"{t['graphs']} | {len(t['graph_breaks'])} | "
                  f"{t['recompiles_second_call']}, "
                  f"{t['recompiles_new_batch']} |")
    return rows


def cuda_tables(device, quick, res, ratios):
    c = bench_cuda_128(device, quick)
    res['cuda_128x224'] = c
    ratios['cuda_ms_128x224'] = c['MiAMix 128x224']
    res['no_sync'] = check_no_sync(device)
    print(f"\n## cuda 128x3x224x224: MiAMix {c['MiAMix 128x224']:.3f}"
          f" ms, blend floor {c['floor add(x, xp) 128x224']:.3f} ms;"
          f" sync check: {res['no_sync'][1]}")


def training_table(device, quick, res, ratios):
    t0 = time.perf_counter()
    tr = bench_training(device, quick)
    res['training'] = tr
    ratios['train_cost'] = tr['ratio_measured']
    ratios['train_cost_components'] = tr['ratio_components']
    print(f'\n## {device.type} training step, ResNet-18 CIFAR, '
          f'batch 100 ({time.perf_counter() - t0:.0f} s)')
    print(f"  vanilla {tr['vanilla_ms']:.1f} ms, with MiAMix "
          f"{tr['miamix_ms']:.1f} ms (medians of {len(tr['vanilla_all'])} "
          f"interleaved pairs); median ratio of a pair: "
          f"{tr['ratio_measured']:.3f}")
    print(f"  MiAMix call alone {tr['miamix_call_ms']:.2f} ms: "
          f"(vanilla + call) / vanilla = {tr['ratio_components']:.4f}")


def print_targets(device, res, ratios):
    print(f'\n## {device.type} targets (docs/design.md)')
    train_target = 1.01 if device.type == 'cpu' else 1.03
    for key, (label, op, target) in TARGETS.items():
        if key == 'train_cost':
            target = train_target
        if key not in ratios:
            continue
        v = ratios[key]
        print(f'  {label:58s} {v:9.4f}  target {op} {target}: '
              f'{verdict(v, op, target)}')
        if key == 'train_cost':
            v2 = ratios['train_cost_components']
            print(f"  {'  same, from components (1 + call / step)':58s}"
                  f' {v2:9.4f}  target {op} {target}: '
                  f'{verdict(v2, op, target)}')
    if device.type == 'cuda':
        ok, msg = res['no_sync']
        print(f"  {'MiAMix without host sync (CUDA)':58s} "
              f"{'MET' if ok else 'MISSED: ' + msg}")


def bench_device(device, args):
    """Every table of one device, printed; returns its numbers."""
    res = {'mixing_ms': {}}
    t0 = time.perf_counter()
    res['ops'] = bench_ops(device, args.quick, args.host_threads)
    print_ops(res['ops'], device)
    print(f'  ({time.perf_counter() - t0:.1f} s)')
    if args.compiled:
        res['compiled'] = compiled_table(device, args.quick)
    if args.ops_only:
        return res
    ratios = mixing_tables(device, args.quick, res)
    if device.type == 'cuda':
        cuda_tables(device, args.quick, res, ratios)
    if not args.skip_train:
        training_table(device, args.quick, res, ratios)
    res['ratios'] = ratios
    print_targets(device, res, ratios)
    return res


def main(argv=None):
    args, devices = parse_args(argv)
    torch.set_num_threads(args.threads)
    info = {
        'torch': torch.__version__, 'cpu': cpu_name(),
        'threads': torch.get_num_threads(),
        'loadavg_start': os.getloadavg(), 'quick': args.quick,
        'cuda': torch.cuda.get_device_name(0)
        if torch.cuda.is_available() else None,
    }
    print(f"# torch {info['torch']}, CPU: {info['cpu']}, "
          f"threads {info['threads']}, load average {info['loadavg_start']}"
          + (f", CUDA: {info['cuda']}" if info['cuda'] else ', no CUDA'))
    results = {'info': info, 'devices': {}}
    for device in devices:
        results['devices'][device.type] = bench_device(device, args)
    info['loadavg_end'] = os.getloadavg()
    print(f"\n# load average at the end {info['loadavg_end']}")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)
        print(f'# wrote {args.out}')


if __name__ == '__main__':
    main()
