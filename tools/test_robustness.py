"""Corrupted accuracy on CIFAR-10-C / CIFAR-100-C (paper Table 6).

Usage::

    python tools/test_robustness.py CONFIG CHECKPOINT
        [--dataset CIFAR100C|CIFAR10C] [--data-root data/CIFAR-100-C]
        [--corruptions gaussian_noise fog ... | all]
        [--severities 1 2 3 4 5] [--batch-size 128] [--out results.json]

Evaluates the checkpoint on every (corruption, severity) of CIFAR-C, each
set built separately with ``corruptions=[c], severities=[s]`` from
:mod:`mmmiamix.datasets.cifar_c`, and prints a per-corruption table. The
"corrupted accuracy" is the mean top-1 over all corruptions and severities.
Default corruptions: the 15 benchmark corruptions of Hendrycks & Dietterich
(``all`` adds the 4 extra ones).

The test pipeline is the config's ``test_dataloader.dataset.pipeline``
without ``LoadImageFromFile`` (CIFAR-C items already carry the image, RGB, as
mmpretrain's CIFAR datasets do). Checkpoints load on torch >= 2.6 through
:func:`mmmiamix.utils.setup_torch_load_compat` (trusted checkpoints only).
"""
import argparse
import json
import os
import os.path as osp
import sys
from copy import deepcopy

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner import load_checkpoint  # noqa: E402
from mmengine.utils import import_modules_from_strings  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from mmmiamix.utils import setup_torch_load_compat  # noqa: E402

BENCHMARK_CORRUPTIONS = (
    'gaussian_noise', 'shot_noise', 'impulse_noise', 'defocus_blur',
    'glass_blur', 'motion_blur', 'zoom_blur', 'snow', 'frost', 'fog',
    'brightness', 'contrast', 'elastic_transform', 'pixelate',
    'jpeg_compression')
EXTRA_CORRUPTIONS = ('speckle_noise', 'gaussian_blur', 'spatter', 'saturate')


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
    parser.add_argument('--out', help='write the results as JSON')
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
    return args


def build_model(cfg, checkpoint, device):
    from mmpretrain.registry import MODELS
    model = MODELS.build(cfg.model)
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


def main(argv=None):
    args = parse_args(argv)
    setup_torch_load_compat()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    import mmmiamix.datasets  # noqa: F401  (registers CIFAR10C/CIFAR100C)
    from mmpretrain.registry import DATASETS

    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    model = build_model(cfg, args.checkpoint, device)
    pipeline = test_pipeline(cfg)

    acc = {}
    for c in args.corruptions:
        acc[c] = {}
        for s in args.severities:
            dataset = DATASETS.build(
                dict(type=args.dataset, data_root=args.data_root,
                     corruptions=[c], severities=[s], pipeline=pipeline,
                     test_mode=True))
            acc[c][str(s)] = evaluate(model, dataset, args.batch_size,
                                      args.num_workers)
            print(f'{c:>20s} severity {s}: {acc[c][str(s)]:.2f}',
                  flush=True)
    sev_keys = [str(s) for s in args.severities]
    results = dict(
        dataset=args.dataset,
        checkpoint=args.checkpoint,
        accuracy=acc,
        mean_per_corruption={
            c: sum(v.values()) / len(v)
            for c, v in acc.items()
        },
        mean_per_severity={
            s: sum(acc[c][s] for c in acc) / len(acc)
            for s in sev_keys
        },
    )
    results['mean'] = sum(
        sum(v.values()) for v in acc.values()) / (len(acc) * len(sev_keys))
    print(format_table(results, args.severities))
    print(f"corrupted accuracy (mean top-1 over {len(acc)} corruptions x "
          f"{len(sev_keys)} severities): {results['mean']:.2f}")
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == '__main__':
    main()
