"""tools/visualize_mixing.py figures and the MixedBatchVisualizationHook."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOL = osp.join(ROOT, 'tools', 'visualize_mixing.py')
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def _is_png(path, min_size=2000):
    assert osp.isfile(path), path
    assert os.path.getsize(path) > min_size
    with open(path, 'rb') as f:
        return f.read(8) == PNG_MAGIC


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('visualize_mixing', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def image_dir(tmp_path):
    """Three small procedural images of different sizes and modes."""
    from PIL import Image
    folder = tmp_path / 'images'
    folder.mkdir()
    yy, xx = np.mgrid[0:48, 0:64]
    stripes = np.stack([(xx * 4) % 256, (yy * 5) % 256,
                        np.full_like(xx, 128)], -1).astype(np.uint8)
    Image.fromarray(stripes).save(folder / 'stripes.png')
    disc = (((yy - 24)**2 + (xx - 30)**2) < 300).astype(np.uint8) * 220
    Image.fromarray(disc).save(folder / 'disc.png')  # grey ('L')
    rng = np.random.RandomState(0)
    noise = rng.randint(0, 255, (40, 40, 3)).astype(np.uint8)
    Image.fromarray(noise).save(folder / 'noise.jpg')
    (folder / 'notes.txt').write_text('not an image')
    return folder


def test_cli_miamix_stages(image_dir, tmp_path):
    out = tmp_path / 'figs'
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    proc = subprocess.run([
        sys.executable, TOOL, '--method', 'MiAMix', '--images',
        str(image_dir), '--num', '3', '--size', '64', '--seed', '1',
        '--out-dir', str(out)
    ], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert 'miamix_stages.png' in proc.stdout
    assert _is_png(out / 'miamix_stages.png')


def test_agmix_grid_and_gmix_vs_agmix(tool, image_dir, tmp_path):
    out = tmp_path / 'figs'
    path = tool.main(['--method', 'AGMix', '--args', 'alpha=1.0',
                      '--images', str(image_dir), '--num', '3', '--size',
                      '48', '--out-dir', str(out)])
    assert osp.basename(path) == 'agmix_grid.png' and _is_png(path)
    path = tool.main(['--method', 'agmix', '--figure', 'gmix-vs-agmix',
                      '--images', str(image_dir), '--num', '4', '--size',
                      '48', '--lam', '0.7', '--out-dir', str(out)])
    assert osp.basename(path) == 'gmix_vs_agmix.png' and _is_png(path)


@pytest.mark.parametrize('method', ['GMix', 'FMix', 'GridMix', 'Mixup',
                                    'CutMix'])
def test_other_methods_grid(tool, image_dir, tmp_path, method):
    path = tool.main(['--method', method, '--images', str(image_dir),
                      '--num', '2', '--size', '32', '--out-dir',
                      str(tmp_path)])
    assert osp.basename(path) == f'{method.lower()}_grid.png'
    assert _is_png(path)


def test_miamix_args_and_dataset_config(tool, tmp_path):
    cfg = osp.join(ROOT, 'configs', 'quickstart', 'miamix_resnet18_digits.py')
    path = tool.main([
        '--method', 'MiAMix', '--args', 'k_max=3', 'methods=[fmix,agmix]',
        'method_weights=[1,1]', '--config', cfg, '--split', 'test', '--num',
        '3', '--out-dir', str(tmp_path)
    ])
    assert _is_png(path)


def test_sample_images_compact(tool, tmp_path):
    path = tool.main(['--method', 'GridMix', '--sample-images', '--num', '4',
                      '--size', '64', '--compact', '--out-dir',
                      str(tmp_path)])
    assert _is_png(path)
    from PIL import Image
    with Image.open(path) as im:
        assert im.mode == 'P'  # 256-colour palette
    tool.vis.COMPACT = False


def test_bad_arguments(tool, image_dir, tmp_path):
    with pytest.raises(SystemExit):
        tool.main(['--method', 'NoMix', '--images', str(image_dir),
                   '--out-dir', str(tmp_path)])
    with pytest.raises(SystemExit):
        tool.main(['--method', 'AGMix', '--figure', 'stages', '--images',
                   str(image_dir), '--out-dir', str(tmp_path)])
    with pytest.raises(ValueError):  # the core validates the arguments
        tool.main(['--method', 'MiAMix', '--args', 'p_self=2.0', '--images',
                   str(image_dir), '--out-dir', str(tmp_path)])


def test_helpers():
    from mmmiamix import visualization as vis
    assert vis.top_labels(torch.tensor([0.1, 0.62, 0.0, 0.28])) == \
        '1:0.62 3:0.28'
    assert vis.top_labels([0, 1.0, 0], classes=['a', 'b', 'c']) == 'b:1.00'
    x = torch.zeros(2, 3, 4, 4)
    shown = vis.to_display(x, mean=[10, 20, 30], std=[1, 1, 1])
    assert shown.shape == (2, 4, 4, 3)
    np.testing.assert_allclose(shown[0, 0, 0], [10 / 255, 20 / 255,
                                                30 / 255])
    assert vis.to_display(torch.rand(1, 4, 4)).shape == (1, 4, 4, 3)


# ---------------------------------------------------------------- the hook
def _preprocessor(batch_augments=True):
    import mmmiamix  # noqa: F401
    from mmpretrain.registry import MODELS
    cfg = dict(type='ClsDataPreprocessor', num_classes=10,
               mean=[78.0] * 3, std=[82.6] * 3, to_rgb=False)
    if batch_augments:
        cfg['batch_augments'] = dict(augments=dict(type='MiAMix'))
    return MODELS.build(cfg)


def _batch(n=6):
    from mmpretrain.structures import DataSample
    return dict(
        inputs=[torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8)
                for _ in range(n)],
        data_samples=[DataSample().set_gt_label(i % 10) for i in range(n)])


@pytest.mark.parametrize('mixed', [True, False])
def test_hook_driven_directly(tmp_path, mixed):
    from mmmiamix.engine import MixedBatchVisualizationHook
    pre = _preprocessor(mixed)
    pre.train()
    logs = []
    runner = SimpleNamespace(
        model=SimpleNamespace(data_preprocessor=pre), epoch=0,
        work_dir=str(tmp_path), logger=SimpleNamespace(info=logs.append),
        train_dataloader=SimpleNamespace(dataset=SimpleNamespace(
            metainfo=dict(classes=[str(i) for i in range(10)]))))
    hook = MixedBatchVisualizationHook(interval=2, max_images=4)
    # epoch 1: the first epoch is always saved
    hook.before_train_epoch(runner)
    out = pre(_batch(), True)
    assert out['inputs'].shape == (6, 3, 32, 32)
    pre(_batch(), True)  # only the first batch is captured
    hook.after_train_iter(runner, 0)
    path = tmp_path / 'mixed_batches' / 'epoch_1.png'
    assert _is_png(path) and hook.last_path == str(path)
    assert hook._handle is None and logs
    # epoch 2 (every 2nd) is saved, epoch 3 is not
    for epoch in (1, 2):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        pre(_batch(), True)
        hook.after_train_iter(runner, 0)
        hook.after_train_epoch(runner)
    assert (tmp_path / 'mixed_batches' / 'epoch_2.png').is_file()
    assert not (tmp_path / 'mixed_batches' / 'epoch_3.png').exists()
    with pytest.raises(ValueError):
        MixedBatchVisualizationHook(interval=0)


def test_hook_in_a_tiny_runner(tmp_path):
    import mmmiamix  # noqa: F401
    from mmengine.runner import Runner
    model = dict(
        type='ImageClassifier',
        data_preprocessor=dict(
            type='ClsDataPreprocessor', num_classes=10, mean=[78.0] * 3,
            std=[82.6] * 3, batch_augments=dict(
                augments=dict(type='MiAMix'))),
        backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=8,
                      base_channels=8, strides=(2, 2, 2, 2)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=64,
                  loss=dict(type='CrossEntropyLoss', use_soft=True)))
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=dict(
            batch_size=16, num_workers=0,
            dataset=dict(type='Digits', split='train', indices=32,
                         pipeline=[dict(type='PackInputs')]),
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        default_hooks=dict(checkpoint=None,
                           logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[dict(type='MixedBatchVisualizationHook', interval=2,
                           max_images=9, out_dir='pics')],
        default_scope='mmpretrain',
        randomness=dict(seed=0),
    )
    runner.train()
    for epoch in (1, 2):
        assert _is_png(tmp_path / 'pics' / f'epoch_{epoch}.png', 1000)
