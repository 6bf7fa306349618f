"""Train a classifier with mmengine's Runner (mmpretrain's usual flags).

Usage::

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--no-validate] [--cfg-options k=v ...]
        [--launcher {none,pytorch,slurm,mpi}]

On top of mmpretrain's ``tools/train.py`` this script

* lets mmengine resume / ``load_from`` on torch >= 2.6, where ``torch.load``
  defaults to ``weights_only=True`` (see :mod:`mmmiamix.resume.allow_list`;
  trusted checkpoints only);
* runs distributed on machines without CUDA: with a launcher and no GPU it
  initialises a ``gloo`` process group and wraps the model in DDP with
  ``device_ids=None`` (see :mod:`mmmiamix.utils.dist`);
* warns when several ranks share one seed while a batch augment is used;
* adds ``RandomStateHook`` and ``SafeCheckpointHook``
  (:mod:`mmmiamix.resume.hooks`) to ``custom_hooks`` when the config
  does not list them: exact resume (the random states of every rank are in
  each epoch checkpoint), atomic checkpoints with a SHA-256, checked
  loading, and ``--resume`` falling back to the newest intact checkpoint
  (``docs/faults.md``);
* checks before building anything that the config has the keys training
  needs, that the datasets' folders and files exist, that ``--resume PATH``
  / ``load_from`` / a local pretrained checkpoint exist and are intact, and
  that the work directory is writable: all problems in one error
  (:mod:`mmmiamix.utils.preflight`), exit status 2.
"""
import argparse
import os
import os.path as osp
import sys
from copy import deepcopy

import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmmiamix.resume import install_safe_loader, setup_torch_load_compat
from mmmiamix.utils import (
    check_rank_seed,
    preflight,
    setup_cpu_distributed,
    teardown_distributed,
)

RESUME_HOOKS = ('RandomStateHook', 'SafeCheckpointHook')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint; without a path, resume from the '
        'latest checkpoint in the work directory')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual total batch size over '
        '`auto_scale_lr.base_batch_size` of the config')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='disable pin_memory in dataloaders')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='disable persistent_workers in dataloaders')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. `optim_wrapper.optimizer.lr=0.1`'
        ' or key="[a,b]" (quotes needed, no white space)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or
    # --local_rank; torchrun sets $LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def _set_dataloader_defaults(cfg, field, args):
    loader = cfg.get(field, None)
    if loader is None:
        return
    defaults = ConfigDict(
        pin_memory=torch.cuda.is_available(),
        persistent_workers=True,
        collate_fn=dict(type='default_collate'))
    merged = deepcopy(defaults)
    merged.update(loader)
    if args.no_pin_memory:
        merged.pin_memory = False
    if args.no_persistent_workers or not merged.get('num_workers', 0):
        # DataLoader refuses persistent workers without workers
        merged.persistent_workers = False
    cfg[field] = merged


def merge_args(cfg, args):
    """Merge the command-line arguments into the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    cfg.launcher = args.launcher
    # work_dir: CLI > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.auto_scale_lr:
        if cfg.get('auto_scale_lr', None) is None or \
                'base_batch_size' not in cfg.auto_scale_lr:
            raise ValueError(
                '--auto-scale-lr needs `auto_scale_lr = dict('
                'base_batch_size=...)` in the config: the total batch size '
                'its learning rate was set for')
        cfg.auto_scale_lr.enable = True

    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        _set_dataloader_defaults(cfg, field, args)

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def _hook_type_name(hook):
    t = hook.get('type') if hasattr(hook, 'get') else None
    name = t if isinstance(t, str) else getattr(t, '__name__', '')
    return name.split('.')[-1]


def add_resume_hooks(cfg):
    """Append the hooks of :data:`RESUME_HOOKS` missing from
    ``cfg.custom_hooks``; return the names added."""
    hooks = list(cfg.get('custom_hooks', None) or [])
    present = {_hook_type_name(h) for h in hooks}
    scope = cfg.get('default_scope', None)
    added = []
    for name in RESUME_HOOKS:
        if name not in present:
            hooks.append(ConfigDict(
                type=name if scope in (None, 'mmpretrain') else
                f'mmpretrain.{name}'))
            added.append(name)
    cfg.custom_hooks = hooks
    return added


def _pretrained_checkpoints(node, where='model'):
    """(where, path) of every ``init_cfg=dict(type='Pretrained', ...)``."""
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained' and \
                isinstance(node.get('checkpoint'), str):
            yield where, node['checkpoint']
        for k, v in node.items():
            yield from _pretrained_checkpoints(v, f'{where}.{k}')
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _pretrained_checkpoints(v, f'{where}[{i}]')


def check_inputs(cfg):
    """Raise :class:`~mmmiamix.utils.preflight.PreflightError` listing
    every missing or unusable input of the training."""
    problems = preflight.check_config_keys(
        cfg, ('model', 'train_dataloader', 'train_cfg', 'optim_wrapper'))
    val = [cfg.get(k, None) is not None
           for k in ('val_dataloader', 'val_cfg', 'val_evaluator')]
    if any(val) and not all(val):
        problems.append(
            'val_dataloader, val_cfg and val_evaluator must be all set or '
            'all None (--no-validate sets them to None)')
    problems += preflight.check_dataset_paths(
        cfg, ('train_dataloader', 'val_dataloader'))
    if cfg.get('resume', False) and cfg.get('load_from', None):
        problems += preflight.check_checkpoint_arg(cfg.load_from,
                                                   '--resume checkpoint')
    elif cfg.get('load_from', None):
        problems += preflight.check_checkpoint_arg(cfg.load_from,
                                                   'load_from checkpoint')
    for where, path in _pretrained_checkpoints(cfg.get('model', None)):
        problems += preflight.check_checkpoint_arg(
            path, f'{where}.checkpoint')
    problems += preflight.check_writable(cfg.get('work_dir', None),
                                         'work_dir')
    preflight.raise_if('tools/train.py', problems)


def _world_size_from_env(launcher):
    if launcher == 'none':
        return 1
    for key in ('WORLD_SIZE', 'SLURM_NTASKS', 'OMPI_COMM_WORLD_SIZE'):
        if key in os.environ:
            return int(os.environ[key])
    return 1


def build_runner(cfg):
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def main(argv=None):
    args = parse_args(argv)
    setup_torch_load_compat()
    install_safe_loader()

    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    add_resume_hooks(cfg)
    check_inputs(cfg)
    setup_cpu_distributed(cfg, args.launcher)
    check_rank_seed(cfg, _world_size_from_env(args.launcher))

    runner = build_runner(cfg)
    runner.train()
    teardown_distributed()


if __name__ == '__main__':
    try:
        main()
    except preflight.PreflightError as e:
        print(e, file=sys.stderr)
        sys.exit(2)
