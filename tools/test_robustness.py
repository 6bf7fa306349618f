"""Corrupted accuracy on CIFAR-10-C / CIFAR-100-C (paper Table 6).

Usage::

    python tools/test_robustness.py CONFIG CHECKPOINT
        [--dataset CIFAR100C|CIFAR10C] [--data-root data/CIFAR-100-C]
        [--corruptions gaussian_noise fog ... | all]
        [--severities 1 2 3 4 5] [--batch-size 128] [--work-dir DIR]
        [--out results.json] [--resume]

Evaluates the checkpoint on every (corruption, severity) of CIFAR-C, each
set built separately with ``corruptions=[c], severities=[s]`` from
:mod:`mmmiamix.datasets.cifar_c`, and prints a per-corruption table. The
"corrupted accuracy" is the mean top-1 over all corruptions and severities.
Default corruptions: the 15 benchmark corruptions of Hendrycks & Dietterich
(``all`` adds the 4 extra ones).

Before building the model it checks every input it will need and reports
all problems at once (exit status 2): the config's keys, the checkpoint
(exists, not empty, truncated or altered: see
:mod:`mmmiamix.resume`), ``labels.npy`` and every selected
``<corruption>.npy`` (present, shape ``(5 * N, 32, 32, 3)`` uint8 matching
``labels.npy``; read from the ``.npy`` headers only), the severities and the
output folder. A missing corruption file is therefore reported before
anything is evaluated.

Output. Results are written as each corruption finishes (all its
severities), so an interrupted run keeps what it computed; ``--resume``
reuses the corruptions an earlier run of the same checkpoint and dataset
finished. Two files (each replaced atomically):

* ``--out`` (default ``<work-dir>/robustness_<dataset>.json``, work dir
  default ``work_dirs/<config name>``), a JSON object::

      {"dataset": "CIFAR100C", "checkpoint": "...", "data_root": "...",
       "corruptions": [requested, in order], "severities": [1, 2, 3, 4, 5],
       "complete": false,            # true once every corruption is done
       "accuracy": {"fog": {"1": 71.2, ..., "5": 40.3}, ...},  # top-1 %
       "mean_per_corruption": {"fog": 60.1, ...},
       "mean_per_severity": {"1": 70.0, ...},   # over finished corruptions
       "mean": 55.4}                 # over finished corruptions x severities

  ``accuracy`` holds only finished corruptions; the means are over them.
* the same path with ``.csv``: header ``corruption,severity,top1`` and one
  row per finished (corruption, severity), in evaluation order.

The test pipeline is the config's ``test_dataloader.dataset.pipeline``
without ``LoadImageFromFile`` (CIFAR-C items already carry the image, RGB, as
mmpretrain's CIFAR datasets do). Checkpoints load on torch >= 2.6 through
:func:`mmmiamix.resume.setup_torch_load_compat` (trusted checkpoints only).
"""
import argparse
import json
import os.path as osp
import sys
from copy import deepcopy

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmengine.utils import import_modules_from_strings
from torch.utils.data import DataLoader

from mmmiamix.datasets.cifar_c import BENCHMARK_CORRUPTIONS, EXTRA_CORRUPTIONS
from mmmiamix.resume import (
    atomic_write,
    install_safe_loader,
    setup_torch_load_compat,
)
from mmmiamix.utils import preflight


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Mean top-1 over the corruptions and severities of '
        'CIFAR-C')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument(
        '--dataset', choices=['CIFAR100C', 'CIFAR10C'], default='CIFAR100C')
    parser.add_argument(
        '--data-root',
        help='folder with <corruption>.npy and labels.npy (default: '
        'data/CIFAR-100-C or data/CIFAR-10-C)')
    parser.add_argument(
        '--corruptions', nargs='+',
        help='corruptions to test (default: the 15 benchmark ones; "all": '
        'all 19)')
    parser.add_argument(
        '--severities', nargs='+', type=int, default=[1, 2, 3, 4, 5])
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument('--device', help='default: cuda if available')
    parser.add_argument(
        '--work-dir',
        help='folder of the default --out (default: work_dirs/<config '
        'name>)')
    parser.add_argument(
        '--out',
        help='results JSON, rewritten after each corruption; a .csv with the '
        'same stem is written next to it (default: '
        '<work-dir>/robustness_<dataset>.json)')
    parser.add_argument(
        '--resume', action='store_true',
        help='reuse the corruptions already finished in --out (same '
        'checkpoint, dataset and severities)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings')
    args = parser.parse_args(argv)
    if args.data_root is None:
        args.data_root = osp.join(
            'data', 'CIFAR-100-C' if args.dataset == 'CIFAR100C' else
            'CIFAR-10-C')
    if args.corruptions is None:
        args.corruptions = list(BENCHMARK_CORRUPTIONS)
    elif args.corruptions == ['all']:
        args.corruptions = list(BENCHMARK_CORRUPTIONS + EXTRA_CORRUPTIONS)
    if args.work_dir is None:
        args.work_dir = osp.join(
            'work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.out is None:
        args.out = osp.join(args.work_dir, f'robustness_{args.dataset}.json')
    return args


def build_model(cfg, checkpoint, device):
    from mmpretrain.registry import MODELS
    model_cfg = deepcopy(cfg.model)
    # As mmengine's Runner does: a top-level data_preprocessor (the
    # project's dataset base files put mean/std there) is the model's unless
    # the model names its own.
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', deepcopy(
            cfg.data_preprocessor))
    model = MODELS.build(model_cfg)
    load_checkpoint(model, checkpoint, map_location='cpu')
    return model.to(device).eval()


def test_pipeline(cfg):
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    pipeline = deepcopy(loader.dataset.pipeline) if loader else None
    if not pipeline:
        return [dict(type='PackInputs')]
    return [t for t in pipeline if 'LoadImage' not in str(t.get('type'))]


@torch.no_grad()
def evaluate(model, dataset, batch_size, num_workers):
    """Top-1 accuracy (%) of ``model`` on ``dataset``."""
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        collate_fn=pseudo_collate)
    correct = total = 0
    for data in loader:
        for sample in model.test_step(data):
            pred = sample.pred_label
            gt = sample.gt_label
            correct += int((pred.view(-1)[0] == gt.view(-1)[0]).item())
            total += 1
    return 100.0 * correct / max(total, 1)


def format_table(results, severities):
    head = '| Corruption | ' + ' | '.join(f's{s}' for s in severities) + \
        ' | Mean |'
    lines = [head, '| --- ' + '| ---: ' * (len(severities) + 1) + '|']
    for name, per_sev in results['accuracy'].items():
        cells = ' | '.join(f'{per_sev[str(s)]:.2f}' for s in severities)
        lines.append(f'| {name} | {cells} | '
                     f"{results['mean_per_corruption'][name]:.2f} |")
    cells = ' | '.join(f"{results['mean_per_severity'][str(s)]:.2f}"
                       for s in severities)
    lines.append(f"| **mean** | {cells} | **{results['mean']:.2f}** |")
    return '\n'.join(lines)


def _npy_header(path):
    """(shape, dtype) of a .npy file, from its header only."""
    arr = np.load(path, mmap_mode='r')  # reads the header, maps the data
    return tuple(arr.shape), arr.dtype


def check_inputs(cfg, args):
    """Raise :class:`~mmmiamix.utils.preflight.PreflightError` listing every
    missing or unusable input, before anything is built or evaluated."""
    problems = preflight.check_config_keys(cfg, ('model', ))
    if not (cfg.get('test_dataloader') or cfg.get('val_dataloader')):
        problems.append('the config has neither `test_dataloader` nor '
                        '`val_dataloader` (its pipeline is used)')
    problems += preflight.check_checkpoint_arg(args.checkpoint,
                                               'checkpoint')
    bad = [s for s in args.severities if not 1 <= s <= 5]
    if bad or not args.severities:
        problems.append(f'--severities must be in 1..5, got '
                        f'{args.severities}')
    unknown = [c for c in args.corruptions
               if c not in BENCHMARK_CORRUPTIONS + EXTRA_CORRUPTIONS]
    if unknown:
        problems.append(
            f'unknown corruption(s) {unknown}; known: '
            f'{list(BENCHMARK_CORRUPTIONS + EXTRA_CORRUPTIONS)} or "all"')
    root = args.data_root
    if not osp.isdir(root):
        problems.append(f'--data-root {root!r} is not a folder')
    else:
        rows = None
        labels = osp.join(root, 'labels.npy')
        if not osp.isfile(labels):
            problems.append(f'{labels!r} not found')
        else:
            try:
                shape, _ = _npy_header(labels)
                if len(shape) != 1 or shape[0] % 5:
                    problems.append(
                        f'{labels!r} has shape {shape}, expected (5 * N,)')
                else:
                    rows = shape[0]
            except (OSError, ValueError) as e:
                problems.append(f'{labels!r} is not a readable .npy: {e}')
        for c in args.corruptions:
            if c in unknown:
                continue
            path = osp.join(root, f'{c}.npy')
            if not osp.isfile(path):
                problems.append(f'corruption file {path!r} not found')
                continue
            try:
                shape, dtype = _npy_header(path)
            except (OSError, ValueError) as e:
                problems.append(f'{path!r} is not a readable .npy: {e}')
                continue
            want = (rows if rows is not None else shape[0], 32, 32, 3)
            if tuple(shape) != want or dtype != np.uint8:
                problems.append(
                    f'{path!r} holds {dtype} {tuple(shape)}, expected uint8 '
                    f'{want} (5 severities x N images, as labels.npy)')
    problems += preflight.check_writable(
        osp.dirname(osp.abspath(args.out)), '--out folder')
    preflight.raise_if('tools/test_robustness.py', problems)


def summarize(acc, meta):
    """The results dict (see the module docstring) for accuracies ``acc``
    ({corruption: {str(severity): top1}}) of the finished corruptions."""
    sev_keys = [str(s) for s in meta['severities']]
    results = dict(meta)
    results['complete'] = list(acc) == list(meta['corruptions'])
    results['accuracy'] = acc
    results['mean_per_corruption'] = {
        c: sum(v.values()) / len(v) for c, v in acc.items()}
    results['mean_per_severity'] = {
        s: sum(acc[c][s] for c in acc) / len(acc) for s in sev_keys
    } if acc else {}
    results['mean'] = sum(sum(v.values()) for v in acc.values()) / (
        len(acc) * len(sev_keys)) if acc else None
    return results


def csv_path(out):
    return osp.splitext(out)[0] + '.csv'


def write_results(results, out):
    """Write ``out`` (JSON) and its .csv, each replaced atomically."""
    atomic_write(json.dumps(results, indent=2).encode(), out, digest=False)
    lines = ['corruption,severity,top1']
    for c, per_sev in results['accuracy'].items():
        for s, v in per_sev.items():
            lines.append(f'{c},{s},{v:.4f}')
    atomic_write(('\n'.join(lines) + '\n').encode(), csv_path(out),
                 digest=False)


def _previous(args, meta):
    """Finished corruptions of an earlier run to reuse with --resume."""
    if not (args.resume and osp.isfile(args.out)):
        return {}
    with open(args.out) as f:
        old = json.load(f)
    for key in ('dataset', 'checkpoint', 'severities'):
        if old.get(key) != meta[key]:
            raise preflight.PreflightError(
                'tools/test_robustness.py',
                [f'--resume: {args.out!r} is for {key}={old.get(key)!r}, '
                 f'this run has {meta[key]!r}'])
    sev_keys = {str(s) for s in meta['severities']}
    return {c: v for c, v in old.get('accuracy', {}).items()
            if c in meta['corruptions'] and set(v) == sev_keys}


def main(argv=None):
    args = parse_args(argv)
    setup_torch_load_compat()
    install_safe_loader()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    check_inputs(cfg, args)
    meta = dict(dataset=args.dataset, checkpoint=args.checkpoint,
                data_root=args.data_root, corruptions=list(args.corruptions),
                severities=list(args.severities))
    done = _previous(args, meta)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    from mmpretrain.registry import DATASETS

    import mmmiamix.datasets  # noqa: F401  (registers CIFAR10C/CIFAR100C)

    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    model = build_model(cfg, args.checkpoint, device)
    pipeline = test_pipeline(cfg)

    acc = {}
    for c in args.corruptions:
        if c in done:
            acc[c] = done[c]
            print(f'{c:>20s} (from {args.out})', flush=True)
            continue
        per_sev = {}
        for s in args.severities:
            dataset = DATASETS.build(
                dict(type=args.dataset, data_root=args.data_root,
                     corruptions=[c], severities=[s], pipeline=pipeline,
                     test_mode=True,
                     # mmengine's serialization runs gc.collect() per set:
                     # half the time of a small model's evaluation
                     serialize_data=False))
            per_sev[str(s)] = evaluate(model, dataset, args.batch_size,
                                       args.num_workers)
            print(f'{c:>20s} severity {s}: {per_sev[str(s)]:.2f}',
                  flush=True)
        acc[c] = per_sev
        write_results(summarize(acc, meta), args.out)
    results = summarize(acc, meta)
    write_results(results, args.out)
    print(format_table(results, args.severities))
    print(f"corrupted accuracy (mean top-1 over {len(acc)} corruptions x "
          f"{len(args.severities)} severities): {results['mean']:.2f}")
    print(f'results: {args.out} and {csv_path(args.out)}')
    return results


if __name__ == '__main__':
    try:
        main()
    except preflight.PreflightError as e:
        print(e, file=sys.stderr)
        sys.exit(2)
