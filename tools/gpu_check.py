"""The GPU check: MiAMix on one CUDA GPU, in < 5 minutes.

Measures, with MiAMix at its defaults (on CUDA its sync-free path):

- the call at 128x3x224x224 and 100x3x32x32: one warmed-up call under
  ``torch.cuda.set_sync_debug_mode('error')`` (any host-device sync raises;
  the first one is reported with the line of mmmiamix that caused it), its
  CUDA time per call (CUDA events around a loop of calls enqueued back to
  back), the host time to enqueue one, the aten ops it dispatches and the
  syncing ones among them (:mod:`mmmiamix.utils.profiling`), and the blend
  floor ``torch.add(x, x_partner, out=out)`` at the same size;
- the training cost: a ResNet-18 CIFAR step (mmpretrain ``ResNet_CIFAR``
  depth 18, forward + backward + SGD), batch 100, 32x32, with and without
  MiAMix, interleaved pairs, medians and the median ratio of a pair (the
  code of ``tools/benchmark_mixing.py``);
- one call at 128x3x224x224 captured in a CUDA graph (static input
  buffers, the default generator) and replayed: whether each replay draws
  new masks, whether a replay equals an eager call made from the same
  generator state, ms per replay beside ms per eager call
  (``torch.utils.benchmark.Timer``), and the same with a custom
  ``torch.Generator`` (or the error it gets)
  (:mod:`mmmiamix.experiments.cuda_graph`);
- MiAMix and mmpretrain's ``Mixup`` under ``torch.compile`` at 16x3x32x32
  and 128x3x224x224, each in a fresh process (eager and compiled ms, cold
  compile seconds, inductor's kernels, aten calls left, graphs, breaks,
  recompilations: :mod:`mmmiamix.experiments.compiled`); not with
  ``--quick``.

Prints one markdown block (a table and the JSON of every number) to paste
into ``docs/benchmarks.md``. Exit status: 0 when every call ran without a
host sync, 1 when one synced, 2 without CUDA (or on bad arguments).

``--device cpu --quick`` checks this script's logic on a CPU in seconds
(small batches, few repeats, no sync check: ``set_sync_debug_mode`` is
CUDA's); its numbers mean nothing.

Usage::

    tools/gpu_check.sh                      # or: python tools/gpu_check.py
    python tools/gpu_check.py [--device cuda|cpu] [--quick] [--out FILE]

``MMMIAMIX_COMMIT=<sha>`` names the commit in the report where the checkout
has no ``.git``.
"""
import argparse
import datetime
import json
import os
import os.path as osp
import subprocess
import sys
import time
import traceback

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

SHAPES = ((128, 3, 224, 224), (100, 3, 32, 32))
SHAPES_QUICK = ((4, 3, 64, 64), (8, 3, 32, 32))
TRAIN_BATCH, TRAIN_BATCH_QUICK = 100, 8
TARGETS = dict(cuda_ms_128x224=1.0, train_cost=1.03, ops=300)


def fail(message, code=2):
    print(f'gpu_check: {message}', file=sys.stderr)
    sys.exit(code)


def commit():
    """The short commit of the checkout (``$MMMIAMIX_COMMIT`` where the
    copy has no ``.git``), or None."""
    if os.environ.get('MMMIAMIX_COMMIT'):
        return os.environ['MMMIAMIX_COMMIT']
    try:
        out = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                             cwd=REPO, capture_output=True, text=True,
                             timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def first_mmmiamix_frame(exc):
    """``file:line in function`` of the innermost frame of mmmiamix in the
    traceback of ``exc`` (where the sync was asked for), or None."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f'{os.sep}mmmiamix{os.sep}' in f.filename]
    if not frames:
        return None
    f = frames[-1]
    return f'{osp.relpath(f.filename, REPO)}:{f.lineno} in {f.name}'


def check_sync(aug, x, y, device):
    """None on CPU; else dict(sync_free, error, where) of two calls under
    ``set_sync_debug_mode('error')``."""
    if device.type != 'cuda':
        return None
    torch.cuda.synchronize(device)
    torch.cuda.set_sync_debug_mode('error')
    try:
        for _ in range(2):
            aug(x, y)
        result = dict(sync_free=True, error=None, where=None)
    except RuntimeError as e:
        result = dict(sync_free=False, error=str(e).splitlines()[0],
                      where=first_mmmiamix_frame(e))
    finally:
        torch.cuda.set_sync_debug_mode('default')
    torch.cuda.synchronize(device)
    return result


def time_call(fn, device, repeats):
    """dict(cuda_ms, wall_ms, launch_ms) per call; on CPU only wall_ms."""
    from mmmiamix.utils.profiling import cuda_time, host_time
    if device.type == 'cuda':
        return cuda_time(fn, repeats=repeats, warmup=3)
    return dict(cuda_ms=None, launch_ms=None,
                wall_ms=host_time(fn, repeats=repeats, warmup=1,
                                  threads=None))


def check_call(shape, device, repeats):
    from mmmiamix.core import MiAMix
    from mmmiamix.experiments.benchmarks import make_batch
    from mmmiamix.utils.profiling import count_ops, sync_ops

    b, _, h, w = shape
    x, y = make_batch(b, h, w, device)
    aug = MiAMix()
    aug(x, y)  # warm-up: one-time work (tables on the device) may sync
    res = dict(shape='x'.join(map(str, shape)))
    res['sync'] = check_sync(aug, x, y, device)
    torch.manual_seed(0)
    total, counts = count_ops(aug, x, y)
    res['ops'] = total
    res['sync_ops'] = sync_ops(counts)
    res['top_ops'] = dict(counts.most_common(8))
    res.update(time_call(lambda: aug(x, y), device, repeats))
    partner = x[torch.randperm(b, device=device)]
    out = torch.empty_like(x)
    floor = time_call(lambda: torch.add(x, partner, out=out), device,
                      repeats)
    res['floor_ms'] = floor['cuda_ms'] if device.type == 'cuda' \
        else floor['wall_ms']
    return res


def check_graph(device, quick):
    """The CUDA-graph check of one call (skipped on a CPU)."""
    from mmmiamix.core import MiAMix
    from mmmiamix.experiments.benchmarks import make_batch
    from mmmiamix.experiments.cuda_graph import NO_CUDA, check_cuda_graph
    if device.type != 'cuda':
        return dict(skipped=NO_CUDA)
    b, _, h, w = (SHAPES_QUICK if quick else SHAPES)[0]
    x, y = make_batch(b, h, w, device)
    res = check_cuda_graph(MiAMix(), x, y, device,
                           min_run_time=0.05 if quick else 0.5)
    res['shape'] = f'{b}x3x{h}x{w}'
    return res


def graph_lines(graph):
    """The markdown lines of the CUDA-graph check."""
    if 'skipped' in graph:
        return ['', f"CUDA graph of one call: {graph['skipped']}."]
    lines = ['', f"| CUDA graph, {graph['shape'].replace('x', '×')} | new "
             'masks each replay | replay = eager from the same generator '
             'state (max abs diff) | ms per replay | ms per eager call |',
             '| --- | --- | --- | ---: | ---: |']
    for name, r in (('default generator', graph),
                    ('custom generator', graph.get('custom_generator'))):
        if r is None:
            continue
        if 'error' in r:
            lines.append(f"| {name} | **error**: {r['error']} | | | |")
            continue
        yes = {True: 'yes', False: '**no**'}
        lines.append(
            f"| {name} | {yes[r['new_masks']]} | {yes[r['equals_eager']]} "
            f"({r['max_abs_diff']:.3g}) | {fmt(r['replay_ms'])} | "
            f"{fmt(r['eager_ms'])} |")
    return lines


def check_training(device, quick):
    from mmmiamix.experiments.benchmarks import bench_training
    if quick:
        tr = bench_training(device, True, batch=TRAIN_BATCH_QUICK, repeats=2,
                            warmup=1, call_repeats=3)
    else:
        tr = bench_training(device, False, batch=TRAIN_BATCH)
    keep = ('batch', 'repeats', 'vanilla_ms', 'miamix_ms', 'ratio_measured',
            'miamix_call_ms', 'ratio_components', 'vanilla_all',
            'miamix_all')
    return {k: tr[k] for k in keep}


def check_compiled(device):
    """MiAMix and mmpretrain's Mixup under torch.compile, fresh processes
    (see the module docstring)."""
    from mmmiamix.experiments.compiled import measure_in_process
    rows = []
    for b, h, w in ((16, 32, 32), (128, 224, 224)):
        for name in ('MiAMix', 'mmpretrain Mixup'):
            t0 = time.perf_counter()
            rows.append(measure_in_process(name, b, h, w, device.type))
            print(f'# {name} {b}x3x{h}x{w} under torch.compile: '
                  f'{time.perf_counter() - t0:.0f} s', flush=True)
    return rows


def compiled_lines(rows):
    """The markdown table of :func:`check_compiled`."""
    if not rows:
        return []
    lines = ['', '| under torch.compile | eager ms | compiled ms | traced: '
             'compile s | ms | kernels | aten calls | graphs | recompiles '
             '(2nd, new batch) |', '| --- |' + ' ---: |' * 8]
    for r in rows:
        if 'error' in r:
            lines.append(f"| {r['name']} | error: {r['error']} |")
            continue
        t = r['traced']
        lines.append(
            f"| {r['name']} {r['size']} | {r['eager_ms']:.3f} | "
            f"{r['compiled_ms']:.3f} | {t['compile_s']:.1f} | {t['ms']:.3f} "
            f"| {t['kernels']} | {t['aten_calls']} | {t['graphs']} | "
            f"{t['recompiles_second_call']}, {t['recompiles_new_batch']} |")
    return lines


def rounded(obj, digits=4):
    """``obj`` with every float rounded to ``digits`` significant digits."""
    if isinstance(obj, float):
        return float(f'{obj:.{digits}g}')
    if isinstance(obj, dict):
        return {k: rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [rounded(v, digits) for v in obj]
    return obj


def fmt(v, digits=3):
    return '—' if v is None else f'{v:.{digits}f}'


def markdown(report):
    env = report['env']
    lines = [
        f"### GPU check, {env['date']}, commit {env['commit'] or '?'}, "
        f"{env['device_name']}, torch {env['torch']}",
        '',
        f"`{env['command']}` ({report['wall_s']:.0f} s"
        + (', --quick: a logic check, not numbers to report)'
           if env['quick'] else ')'),
        '',
        '| MiAMix call (defaults) | host sync under '
        "`set_sync_debug_mode('error')` | ms per call (CUDA events; CPU: "
        'wall) | host ms to enqueue | blend floor ms | aten ops | '
        'syncing ops recorded |',
        '| --- | --- | ---: | ---: | ---: | ---: | --- |',
    ]
    for c in report['calls']:
        s = c['sync']
        sync = 'not checked (CPU)' if s is None else (
            'none' if s['sync_free'] else
            f"**{s['error']}** at `{s['where']}`")
        shape = c['shape'].replace('x', '×')
        ms = c['cuda_ms'] if c['cuda_ms'] is not None else c['wall_ms']
        lines.append(
            f"| {shape} | {sync} | {fmt(ms)} | {fmt(c['launch_ms'])} | "
            f"{fmt(c['floor_ms'])} | {c['ops']:,} | "
            f"{', '.join(c['sync_ops']) or 'none'} |")
    tr = report['training']
    lines += [
        '',
        '| training step, ResNet-18 CIFAR, batch '
        f"{tr['batch']}, 32×32 | vanilla ms | with MiAMix ms | "
        'MiAMix / vanilla (median of pairs) | (vanilla + call) / vanilla |',
        '| --- | ---: | ---: | ---: | ---: |',
        f"| median of {tr['repeats']}, interleaved (call alone "
        f"{tr['miamix_call_ms']:.3f} ms) | {tr['vanilla_ms']:.2f} | "
        f"{tr['miamix_ms']:.2f} | {tr['ratio_measured']:.3f} | "
        f"{tr['ratio_components']:.3f} |",
    ] + graph_lines(report['graph']) + compiled_lines(
        report.get('compiled')) + [
        '',
        'Targets (docs/design.md): no host sync; ≤ '
        f"{TARGETS['cuda_ms_128x224']} ms at 128×3×224×224 (on an H100); "
        f"≤ {TARGETS['ops']} ops; training cost ≤ "
        f"{TARGETS['train_cost']}.",
        '',
        '```json',
        json.dumps(rounded(report), indent=1),
        '```',
    ]
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'],
                        help='cuda (default; the check) or cpu (to test '
                        'this script)')
    parser.add_argument('--quick', action='store_true',
                        help='small batches and few repeats (a logic check)')
    parser.add_argument('--out', help='also write the JSON to this file')
    args = parser.parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        fail('no CUDA device (torch.cuda.is_available() is False). Run this '
             'on a machine with a CUDA GPU; `--device cpu --quick` only '
             'checks the script.')
    import mmmiamix
    device = torch.device(args.device)
    if device.type == 'cpu':
        torch.set_num_threads(1)  # a logic check: keep off shared cores
    start = time.perf_counter()
    env = dict(
        date=datetime.date.today().isoformat(), commit=commit(),
        command='python tools/gpu_check.py' + (' ' + ' '.join(
            sys.argv[1:] if argv is None else argv)).rstrip(),
        torch=torch.__version__, quick=args.quick, device=args.device,
        device_name=torch.cuda.get_device_name(device)
        if device.type == 'cuda' else 'CPU',
        cuda=torch.version.cuda if device.type == 'cuda' else None,
        cudnn_benchmark=torch.backends.cudnn.benchmark,
        threads=torch.get_num_threads(), mmmiamix=osp.relpath(
            osp.dirname(mmmiamix.__file__), REPO))
    print(f"# gpu_check on {env['device_name']}, torch {env['torch']}",
          flush=True)
    repeats = 5 if args.quick else 50
    calls = []
    for shape in (SHAPES_QUICK if args.quick else SHAPES):
        t0 = time.perf_counter()
        calls.append(check_call(shape, device, repeats))
        print(f"# MiAMix {'x'.join(map(str, shape))}: "
              f'{time.perf_counter() - t0:.1f} s', flush=True)
    t0 = time.perf_counter()
    training = check_training(device, args.quick)
    print(f'# training cost: {time.perf_counter() - t0:.1f} s', flush=True)
    t0 = time.perf_counter()
    graph = check_graph(device, args.quick)
    print(f'# CUDA graph: {time.perf_counter() - t0:.1f} s', flush=True)
    compiled = [] if args.quick else check_compiled(device)
    report = dict(env=env, calls=calls, training=training, graph=graph,
                  compiled=compiled, wall_s=time.perf_counter() - start)
    print('\n----- paste into docs/benchmarks.md -----')
    print(markdown(report))
    print('----- end -----')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=1)
    synced = [c for c in calls if c['sync'] and not c['sync']['sync_free']]
    return 1 if synced else 0


if __name__ == '__main__':
    sys.exit(main())
