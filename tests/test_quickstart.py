"""The quick start: the embedded Digits dataset, one short MiAMix epoch
through tools/train.py, and tools/demo.py end to end (shrunk)."""
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinydata

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MIAMIX_CFG = osp.join(ROOT, 'configs', 'quickstart',
                      'miamix_resnet18_digits.py')
VANILLA_CFG = osp.join(ROOT, 'configs', 'quickstart',
                       'vanilla_resnet18_digits.py')
TWOVIEW_CFG = osp.join(ROOT, 'configs', 'quickstart',
                       'miamix_twoview_resnet18_digits.py')


def _env():
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')  # runs beside other tests
    env['PYTHONWARNINGS'] = 'ignore'
    return env


def _run(args, timeout=240, cwd=ROOT):
    proc = subprocess.run([sys.executable] + args, cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (proc.stdout[-3000:] + proc.stderr[-5000:])
    return proc.stdout + proc.stderr


# ---------------------------------------------------------------- dataset
@pytest.fixture(scope='module')
def digits():
    from mmpretrain.registry import DATASETS

    import mmmiamix  # noqa: F401
    train = DATASETS.build(dict(type='Digits', split='train'))
    test = DATASETS.build(dict(type='Digits', split='test'))
    return train, test


def test_digits_lengths_and_items(digits):
    train, test = digits
    assert len(train) + len(test) == 1797
    assert len(train) == 1438 and len(test) == 359
    assert train.metainfo['classes'] == tuple(str(i) for i in range(10))
    for ds in (train, test):
        labels = ds.get_gt_labels()
        assert labels.min() == 0 and labels.max() == 9
        assert set(labels.tolist()) == set(range(10))
        for i in (0, len(ds) // 2, len(ds) - 1):
            info = ds.get_data_info(i)
            img = info['img']
            assert isinstance(img, np.ndarray)
            assert img.shape == (32, 32, 3) and img.dtype == np.uint8
            assert 0 <= info['gt_label'] <= 9
            assert (img[..., 0] == img[..., 1]).all()  # grey
            assert img.max() > 100  # a visible digit


def test_digits_split_fixed_and_disjoint(digits):
    import mmmiamix  # noqa: F401
    from mmmiamix.datasets import Digits
    train, test = digits
    again = Digits(split='train')
    assert len(again) == len(train)
    for i in range(0, len(train), 97):
        a, b = again.get_data_info(i), train.get_data_info(i)
        assert a['gt_label'] == b['gt_label']
        assert a['digit_idx'] == b['digit_idx']
        np.testing.assert_array_equal(a['img'], b['img'])
    tr = {train.get_data_info(i)['digit_idx'] for i in range(len(train))}
    te = {test.get_data_info(i)['digit_idx'] for i in range(len(test))}
    assert not tr & te
    assert len(tr | te) == 1797
    # stratified: every class has 18-22 % of its images in the test split
    counts = np.bincount(test.get_gt_labels(), minlength=10)
    totals = counts + np.bincount(train.get_gt_labels(), minlength=10)
    assert np.all(np.abs(counts / totals - 0.2) < 0.02)


def test_digits_pipeline_and_subset():
    import mmmiamix  # noqa: F401
    from mmmiamix.datasets import Digits
    ds = Digits(split='test', indices=10, pipeline=[
        dict(type='RandomCrop', crop_size=32, padding=4),
        dict(type='PackInputs')
    ])
    assert len(ds) == 10
    item = ds[3]
    assert tuple(item['inputs'].shape) == (3, 32, 32)
    assert 0 <= int(item['data_samples'].gt_label) <= 9
    with pytest.raises(ValueError):
        Digits(split='val')


def test_quickstart_configs_load():
    from mmengine.config import Config
    mix = Config.fromfile(MIAMIX_CFG)
    van = Config.fromfile(VANILLA_CFG)
    assert mix.custom_imports.imports == ['mmmiamix']
    aug = mix.model.data_preprocessor.batch_augments.augments
    assert aug.type == 'MiAMix'
    assert mix.model.head.loss.use_soft
    assert van.model.data_preprocessor.batch_augments is None
    assert not van.model.head.loss.use_soft
    assert mix.randomness == dict(seed=0, diff_rank_seed=True,
                                  deterministic=False)
    assert any(h.type == 'MixedBatchVisualizationHook'
               for h in mix.custom_hooks)
    assert mix.train_dataloader.dataset.type == 'Digits'
    # no flips for digits
    assert all('Flip' not in t.type for t in mix.train_pipeline)
    two = Config.fromfile(TWOVIEW_CFG)
    assert two.model.data_preprocessor.type == 'TwoViewClsDataPreprocessor'
    assert two.model.data_preprocessor.batch_augments.augments.type == \
        'MiAMix'
    assert two.train_dataloader.dataset.pipeline[0].type == 'MultiView'


# ---------------------------------------------------------------- training
SHRINK = [
    'train_dataloader.dataset.indices=128',
    'val_dataloader.dataset.indices=64',
    'test_dataloader.dataset.indices=64',
    'default_hooks.logger.interval=1',
]


def _build_quick_tested(tmp, prefetched):
    """tools/test.py on the shared one-epoch checkpoint of the quick
    start."""
    work = prefetched(tinydata.build_quick_one_epoch)['work']
    return _run(['tools/test.py', MIAMIX_CFG, osp.join(work, 'epoch_1.pth'),
                 '--work-dir', str(tmp / 'test'), '--cfg-options',
                 'test_dataloader.dataset.indices=64'])


def _build_twoview_one_epoch(tmp, prefetched):
    work = tmp / 'work'
    out = _run(['tools/train.py', TWOVIEW_CFG, '--work-dir', str(work),
                '--cfg-options', 'train_cfg.max_epochs=1',
                'train_cfg.val_interval=1'] + SHRINK)
    return dict(work=str(work), out=out)


def _build_demo(tmp, prefetched):
    work = tmp / 'demo'
    out = _run(['tools/demo.py', '--epochs', '1', '--work-dir', str(work),
                '--cfg-options'] + SHRINK)
    return dict(work=work, out=out)


PREFETCH = {'quick_tested': _build_quick_tested,
            'twoview_one_epoch': _build_twoview_one_epoch,
            'demo_run': _build_demo}


@pytest.fixture(scope='module')
def quick_tested(prefetched):
    return prefetched(_build_quick_tested)


@pytest.fixture(scope='module')
def twoview_one_epoch(prefetched):
    return prefetched(_build_twoview_one_epoch)


@pytest.fixture(scope='module')
def demo_run(prefetched):
    return prefetched(_build_demo)


def _check_one_epoch(work, out):
    work = Path(work)
    assert (work / 'epoch_1.pth').is_file()
    picture = work / 'mixed_batches' / 'epoch_1.png'
    assert picture.is_file() and picture.stat().st_size > 1000
    with open(picture, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert 'accuracy/top1' in out
    assert 'Mixed batch of epoch 1 saved' in out


def test_quickstart_trains_one_epoch(quick_one_epoch, quick_tested):
    """One view (the shared run of tinydata.build_quick_one_epoch); the
    checkpoint loads in tools/test.py."""
    _check_one_epoch(quick_one_epoch['work'], quick_one_epoch['out'])
    assert 'accuracy/top1' in quick_tested


def test_quickstart_twoview_trains_one_epoch(twoview_one_epoch):
    _check_one_epoch(twoview_one_epoch['work'], twoview_one_epoch['out'])


def test_demo_end_to_end(demo_run):
    work, out = demo_run['work'], demo_run['out']
    assert 'test accuracy:' in out
    assert 'checkpoint:' in out and 'epoch_1.pth' in out
    assert str(work / 'mixed_batches' / 'epoch_1.png') in out
    assert (work / 'mixed_batches' / 'epoch_1.png').is_file()


def test_demo_set_epochs():
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    try:
        import demo
    finally:
        sys.path.pop(0)
    from mmengine.config import Config
    cfg = Config.fromfile(MIAMIX_CFG)
    demo.set_epochs(cfg, 1)
    assert cfg.train_cfg.max_epochs == 1
    assert [s.type for s in cfg.param_scheduler] == ['LinearLR']
    cfg = Config.fromfile(MIAMIX_CFG)
    demo.set_epochs(cfg, 12)
    cos = cfg.param_scheduler[-1]
    assert cos.end == 12 and cos.T_max == 11
