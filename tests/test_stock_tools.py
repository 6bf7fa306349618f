"""The project's configs run with mmpretrain's own tools, as the wheel ships
them (``mmpretrain/.mim/tools/train.py`` and ``test.py``, which is also what
``mim train mmpretrain CONFIG`` runs), on torch >= 2.6.

Two configs, each on one short epoch of the embedded digits:

* the quick start (``configs/quickstart/miamix_resnet18_digits.py``, one
  view): the stock ``train.py`` gives losses equal to the project's
  ``tools/train.py``; the stock ``--resume`` and ``test.py`` load its
  checkpoints (they fail on ``HistoryBuffer`` under ``weights_only`` unless
  ``import mmmiamix``, the config's own ``custom_imports``, installs the
  allow-list);
* a paper config (``configs/cifar10/resnet18_miamix.py``: two views,
  ``_base_`` runtime with ``RandomStateHook`` and ``SafeCheckpointHook``),
  its data swapped for the digits and its ResNet-18 narrowed: stock
  ``train.py`` one epoch then stock ``--resume`` gives the same second-epoch
  losses as the project's ``tools/train.py`` run straight through two
  epochs.
"""
import json
import os
import os.path as osp
import pickle
import shutil
import subprocess
import sys

import pytest

import tinydata

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
QUICK = osp.join(REPO, 'configs', 'quickstart', 'miamix_resnet18_digits.py')
PAPER = osp.join(REPO, 'configs', 'cifar10', 'resnet18_miamix.py')
OURS = osp.join(REPO, 'tools', 'train.py')

QUICK_SHRINK = tinydata.QUICK_SHRINK


def _paper_shrink(data_root):
    """Digits for CIFAR-10 (same 32x32 arrays, so the CIFAR pipeline
    applies), a narrow ResNet-18; ``data_root``: any existing folder (the
    project's train.py checks it, Digits reads nothing from it)."""
    return [
        'default_hooks.logger.interval=1', 'train_cfg.val_interval=1',
        'model.backbone.stem_channels=8', 'model.backbone.base_channels=8',
        'model.head.in_channels=64'
    ] + [
        f'{name}_dataloader.{key}'
        for name, split in [('train', 'train'), ('val', 'test'),
                            ('test', 'test')]
        for key in ('dataset.type=Digits', f'dataset.split={split}',
                    f'dataset.data_root={data_root}', 'dataset.indices=48',
                    'batch_size=16', 'num_workers=0',
                    'persistent_workers=False')
    ]


def _stock_tools():
    import mmpretrain
    return osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools')


def _parallel(cmds, cwd, timeout=400):
    """Run the commands at once; return their outputs (all must pass)."""
    procs = [
        subprocess.Popen(cmd, cwd=cwd, env=tinydata.tool_env(),
                         stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True) for cmd in cmds
    ]
    outs = [p.communicate(timeout=timeout)[0] for p in procs]
    for cmd, proc, out in zip(cmds, procs, outs):
        assert proc.returncode == 0, f'{cmd} failed:\n{out[-6000:]}'
    return outs


def _losses(work_dir, epoch=None):
    """The per-iteration training losses mmengine wrote to scalars.json
    (full float precision) in every run of ``work_dir``."""
    out = []
    for run in sorted(os.listdir(work_dir)):
        path = osp.join(work_dir, run, 'vis_data', 'scalars.json')
        if not osp.isfile(path):
            continue
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if 'loss' in row and (epoch is None or row['epoch'] == epoch):
                    out.append((row['epoch'], row['iter'], row['loss']))
    return out


def _build_runs(tmp, prefetched):
    """The stock tools' runs (our quick one-epoch run is the shared
    ``quick_one_epoch``): outputs and work dirs."""
    tools = _stock_tools()
    py = sys.executable
    train, test = osp.join(tools, 'train.py'), osp.join(tools, 'test.py')
    w = {k: str(tmp / k) for k in ('quick_stock', 'paper_stock',
                                   'paper_ours')}
    one, two = 'train_cfg.max_epochs=1', 'train_cfg.max_epochs=2'
    paper_shrink = _paper_shrink(tmp)
    first = _parallel([
        [py, train, QUICK, '--work-dir', w['quick_stock'],
         '--cfg-options', one] + QUICK_SHRINK,
        [py, train, PAPER, '--work-dir', w['paper_stock'],
         '--cfg-options', one] + paper_shrink,
        [py, OURS, PAPER, '--work-dir', w['paper_ours'],
         '--cfg-options', two] + paper_shrink,
    ], tmp)
    w['quick_ours'] = prefetched(tinydata.build_quick_one_epoch)['work']
    ckpt = str(tmp / 'quick_epoch_1.pth')  # max_keep_ckpts=1 drops it later
    shutil.copy(osp.join(w['quick_stock'], 'epoch_1.pth'), ckpt)
    quick_losses = _losses(w['quick_stock'])
    load = ('import pickle, torch, sys\n'
            'try:\n'
            f'    torch.load({ckpt!r})\n'
            'except pickle.UnpicklingError as e:\n'
            '    print("WITHOUT:", str(e).splitlines()[0])\n'
            'import mmmiamix\n'
            f'print("WITH:", sorted(torch.load({ckpt!r})))\n')
    second = _parallel([
        [py, train, QUICK, '--work-dir', w['quick_stock'], '--resume',
         '--cfg-options', two] + QUICK_SHRINK,
        [py, train, PAPER, '--work-dir', w['paper_stock'], '--resume',
         '--cfg-options', two] + paper_shrink,
        [py, '-c', load],
    ], tmp)
    pkl = str(tmp / 'predictions.pkl')
    third = _parallel([[
        py, test, QUICK, osp.join(w['quick_stock'], 'epoch_2.pth'),
        '--work-dir', str(tmp / 'quick_test'), '--out', pkl,
        '--cfg-options'] + QUICK_SHRINK], tmp)
    return dict(w=w, quick=first[0], paper=first[1], second=second,
                test=third[0], pkl=pkl, quick_losses=quick_losses)


PREFETCH = {'runs': _build_runs}


@pytest.fixture(scope='module')
def runs(prefetched, quick_one_epoch):
    return prefetched(_build_runs)


def test_stock_train_losses_equal_ours(runs):
    stock = runs['quick_losses']
    ours = _losses(runs['w']['quick_ours'])
    assert [(e, i) for e, i, _ in stock] == [(1, 1), (1, 2), (1, 3), (1, 4)]
    assert stock == ours  # bit-identical: same config, seed and arithmetic
    assert 'MiAMix' in runs['quick']  # the mixing config it ran


def test_allow_list_comes_with_import_mmmiamix(runs):
    out = runs['second'][2]
    assert 'WITHOUT: Weights only load failed' in out  # torch >= 2.6
    assert "WITH: ['message_hub', 'meta', 'optimizer'" in out


def test_stock_resume(runs):
    out = runs['second'][0]
    assert 'Weights only load failed' not in out
    assert 'resumed epoch: 1, iter: 4' in out
    assert 'Epoch(train) [2][4/4]' in out and 'Epoch(train) [1]' not in out
    assert [e for e, _, _ in _losses(runs['w']['quick_stock'])] == \
        [1] * 4 + [2] * 4


def test_stock_test_tool(runs):
    out = runs['test']
    assert 'Load checkpoint from' in out and 'accuracy/top1' in out
    with open(runs['pkl'], 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 32  # the shrunk test split
    assert predictions[0]['pred_score'].shape == (10, )


def test_paper_config_stock_resume_is_exact(runs):
    """Two views, RandomStateHook and SafeCheckpointHook from the _base_
    runtime: stock train 1 epoch + stock --resume = our 2 epochs."""
    stock, ours = runs['w']['paper_stock'], runs['w']['paper_ours']
    assert 'TwoViewClsDataPreprocessor' in runs['paper']
    assert osp.isfile(osp.join(stock, 'epoch_2.pth.sha256'))
    assert 'resumed epoch: 1, iter: 3' in runs['second'][1]
    assert _losses(stock, 1) == _losses(ours, 1)
    second = _losses(stock, 2)
    assert len(second) == 3 and second == _losses(ours, 2)
