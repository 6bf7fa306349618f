"""Test (evaluate) a checkpoint with mmengine's Runner.

Usage::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--out-item {metrics,pred}] [--show-dir DIR] [--cfg-options k=v ...]
        [--launcher {none,pytorch,slurm,mpi}]

``--out x.json`` (or ``.yaml``) writes the metrics; any other suffix (e.g.
``.pkl``) dumps the per-sample predictions unless ``--out-item metrics``.
The metrics are also printed as one JSON line starting with ``metrics:``.

Loads checkpoints on torch >= 2.6 (trusted checkpoints only, see
:mod:`mmmiamix.resume.allow_list`) and runs distributed without CUDA over
gloo (see :mod:`mmmiamix.utils.dist`).

Before building the model and the dataset it checks that CHECKPOINT exists
and is intact (empty, truncated, or different from its ``<ckpt>.sha256``:
an error naming the file and the problem, see
:mod:`mmmiamix.resume`), that the config has
``test_dataloader``, ``test_evaluator`` and ``test_cfg``, that the test
dataset's files exist and that the work directory and ``--out`` folder are
writable; all problems are reported at once (exit status 2).
"""
import argparse
import json
import os
import os.path as osp
import sys
from copy import deepcopy

import mmengine
import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.dist import get_rank
from mmengine.evaluator import DumpResults
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmmiamix.resume import install_safe_loader, setup_torch_load_compat
from mmmiamix.utils import (
    preflight,
    setup_cpu_distributed,
    teardown_distributed,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs')
    parser.add_argument(
        '--out', help='file for the metrics (.json/.yaml) or predictions')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        help='what --out holds; default: metrics for .json/.yaml/.yml, '
        'pred otherwise')
    parser.add_argument(
        '--show-dir', help='save images with predictions to this directory')
    parser.add_argument(
        '--interval', type=int, default=1, help='visualize every N samples')
    parser.add_argument(
        '--amp', action='store_true', help='test with fp16 autocast')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='disable pin_memory in the dataloader')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. `test_dataloader.batch_size=64`')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if args.out is not None and args.out_item is None:
        args.out_item = 'metrics' if args.out.endswith(
            ('.json', '.yaml', '.yml')) else 'pred'
    return args


def merge_args(cfg, args):
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    cfg.resume = False

    if args.amp:
        cfg.test_cfg = cfg.get('test_cfg') or ConfigDict()
        cfg.test_cfg.fp16 = True

    if args.show_dir is not None:
        hooks = cfg.setdefault('default_hooks', ConfigDict())
        vis = hooks.get('visualization') or ConfigDict(
            type='VisualizationHook')
        vis.enable = True
        vis.out_dir = args.show_dir
        vis.interval = args.interval
        hooks.visualization = vis

    loader = cfg.get('test_dataloader', None)
    if loader is not None:
        merged = ConfigDict(
            pin_memory=torch.cuda.is_available(),
            collate_fn=dict(type='default_collate'))
        merged.update(deepcopy(loader))
        if args.no_pin_memory:
            merged.pin_memory = False
        cfg.test_dataloader = merged

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def check_inputs(cfg, args):
    """Raise :class:`~mmmiamix.utils.preflight.PreflightError` listing
    every missing or unusable input of the evaluation."""
    problems = preflight.check_config_keys(
        cfg, ('model', 'test_dataloader', 'test_evaluator', 'test_cfg'))
    problems += preflight.check_checkpoint_arg(args.checkpoint,
                                               'checkpoint')
    problems += preflight.check_dataset_paths(cfg, ('test_dataloader', ))
    problems += preflight.check_writable(cfg.get('work_dir', None),
                                         'work_dir')
    if args.out:
        problems += preflight.check_writable(
            osp.dirname(osp.abspath(args.out)), '--out folder')
    preflight.raise_if('tools/test.py', problems)


def main(argv=None):
    args = parse_args(argv)
    setup_torch_load_compat()
    install_safe_loader()

    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    check_inputs(cfg, args)
    setup_cpu_distributed(cfg, args.launcher)

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg \
        else RUNNERS.build(cfg)
    if args.out and args.out_item == 'pred':
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    metrics = runner.test()

    if get_rank() == 0:
        metrics = {k: float(v) if hasattr(v, '__float__') else v
                   for k, v in metrics.items()}
        if args.out and args.out_item == 'metrics':
            mmengine.dump(metrics, args.out)
        print('metrics: ' + json.dumps(metrics), flush=True)
    teardown_distributed()
    return metrics


if __name__ == '__main__':
    try:
        main()
    except preflight.PreflightError as e:
        print(e, file=sys.stderr)
        sys.exit(2)
