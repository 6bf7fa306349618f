"""The quick start: train MiAMix on the embedded digits, test, report.

Usage::

    python tools/demo.py [--config CONFIG] [--work-dir DIR] [--epochs N]
        [--cfg-options key=value ...]

Trains ``configs/quickstart/miamix_resnet18_digits.py`` (a small ResNet-18
on scikit-learn's handwritten digits, which ship inside scikit-learn: no
download, a few minutes on 2 CPU cores) with mmengine's Runner, evaluates the
final model on the test split and prints the test accuracy, the checkpoint
and the picture of the mixed training batches. ``--config
configs/quickstart/vanilla_resnet18_digits.py`` runs the same without mixing.
"""
import argparse
import glob
import os.path as osp
import re
import time
import warnings

# mmcv-lite has no compiled ops; mmpretrain warns about it at import time.
warnings.filterwarnings('ignore', message='Fail to import ``MultiScale')

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmmiamix.resume import newest_intact_checkpoint, setup_torch_load_compat  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = osp.join(ROOT, 'configs', 'quickstart',
                          'miamix_resnet18_digits.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='mmmiamix quick start: train MiAMix on the embedded '
        'digits, then test')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='config file (default: the quick-start MiAMix '
                        'config)')
    parser.add_argument('--work-dir', help='where logs, checkpoints and '
                        "pictures go (default: the config's work_dir)")
    parser.add_argument('--epochs', type=int, default=None,
                        help="training epochs (default: the config's)")
    parser.add_argument('--log-interval', type=int, default=None,
                        help='print the training state every N iterations')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. '
                        'train_dataloader.batch_size=32')
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error('--epochs must be >= 1')
    return args


def set_epochs(cfg, epochs: int):
    """Train for ``epochs`` epochs; stretch or cut the epoch-based LR
    schedule that ended at the old ``max_epochs``."""
    old = cfg.train_cfg.max_epochs
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = min(cfg.train_cfg.get('val_interval', 1),
                                     epochs)
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    kept = []
    for sch in schedulers:
        if not sch.get('by_epoch', True):
            kept.append(sch)
            continue
        begin = sch.get('begin', 0)
        if begin >= epochs:
            continue  # starts after the end of training
        if sch.get('end', old) >= old or sch.get('end', old) > epochs:
            sch['end'] = epochs
            if 'T_max' in sch:
                sch['T_max'] = max(1, epochs - begin)
        kept.append(sch)
    cfg.param_scheduler = kept


def _picture(runner):
    from mmmiamix.engine import MixedBatchVisualizationHook
    for hook in runner.hooks:
        if isinstance(hook, MixedBatchVisualizationHook) and hook.last_path:
            return hook.last_path
    found = sorted(
        glob.glob(osp.join(runner.work_dir, 'mixed_batches', 'epoch_*.png')),
        key=lambda p: int(re.findall(r'\d+', osp.basename(p))[0]))
    return found[-1] if found else None


def main(argv=None):
    args = parse_args(argv)
    setup_torch_load_compat()
    cfg = Config.fromfile(args.config)
    if args.epochs is not None:
        set_epochs(cfg, args.epochs)
    if args.log_interval is not None:
        cfg.default_hooks.logger.interval = args.log_interval
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif not cfg.get('work_dir'):
        cfg.work_dir = osp.join(
            'work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.launcher = 'none'

    epochs = cfg.train_cfg.max_epochs
    print(f'mmmiamix demo: {osp.relpath(args.config)} for {epochs} epochs, '
          f'work dir {cfg.work_dir}', flush=True)
    start = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    train_s = time.time() - start
    metrics = runner.test()
    total_s = time.time() - start

    top1 = metrics.get('accuracy/top1')
    ckpt = newest_intact_checkpoint(runner.work_dir)
    picture = _picture(runner)
    width = 64
    lines = [
        'mmmiamix demo finished',
        f'config:          {args.config}',
        f'training:        {epochs} epochs in {train_s:.0f} s '
        f'(total {total_s:.0f} s)',
        'test accuracy:   ' + (f'{top1:.2f} % (top-1, '
                               f'{len(runner.test_dataloader.dataset)} '
                               'test images)' if top1 is not None else
                               str(metrics)),
        f'checkpoint:      {osp.abspath(ckpt) if ckpt else "(none)"}',
        'mixed batches:   ' + (osp.abspath(picture) if picture else
                               '(none: no MixedBatchVisualizationHook)'),
    ]
    print('=' * width)
    for line in lines:
        print(line)
    print('=' * width, flush=True)
    return dict(metrics=metrics, checkpoint=ckpt, picture=picture)


if __name__ == '__main__':
    main()
