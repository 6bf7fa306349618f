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


def _panels(fig):
    """The image panels of a figure as rows of ``(title, pixels)`` (``None``
    where the grid has no panel); pixels as matplotlib holds them: ``(H, W,
    3)`` images and ``(H, W)`` masks, floats in [0, 1]."""
    grid = {}
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        if spec is None or not ax.images:
            continue
        pixels = np.asarray(ax.images[0].get_array(), dtype=np.float64)
        grid[spec.rowspan.start, spec.colspan.start] = (ax.get_title(),
                                                        pixels)
    rows = 1 + max(r for r, _ in grid)
    cols = 1 + max(c for _, c in grid)
    return [[grid.get((r, c)) for c in range(cols)] for r in range(rows)]


@pytest.fixture()
def figures(monkeypatch):
    """The panels of every figure saved through
    ``mmmiamix.visualization.save_figure`` (which still saves it)."""
    from mmmiamix import visualization as vis
    saved, real = [], vis.save_figure

    def capture(fig, path, *args, **kwargs):
        saved.append(_panels(fig))
        return real(fig, path, *args, **kwargs)

    monkeypatch.setattr(vis, 'save_figure', capture)
    return saved


def _blend(keep, base, partner):
    """``keep`` (H, W) of ``base`` (H, W, 3), the rest of ``partner``."""
    return keep[..., None] * base + (1 - keep[..., None]) * partner


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('visualize_mixing', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _make_images(folder):
    """Three small procedural images of different sizes and modes."""
    from PIL import Image
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


@pytest.fixture()
def image_dir(tmp_path):
    return _make_images(tmp_path / 'images')


def _build_cli(tmp, prefetched):
    """The command line, MiAMix stages of three images: the process and
    its figure folder."""
    out = tmp / 'figs'
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    proc = subprocess.run([
        sys.executable, TOOL, '--method', 'MiAMix', '--images',
        str(_make_images(tmp / 'images')), '--num', '3', '--size', '64',
        '--seed', '1', '--out-dir', str(out)
    ], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    return proc, out


PREFETCH = {'cli': _build_cli}


@pytest.fixture(scope='module')
def cli(prefetched):
    return prefetched(_build_cli)


def test_cli_miamix_stages(cli):
    proc, out = cli
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert 'miamix_stages.png' in proc.stdout
    assert _is_png(out / 'miamix_stages.png')


def test_stages_panels(tool, image_dir, tmp_path, figures):
    """Every stage of every sample is in the figure, and the panels agree:
    the merged keep mask is the product of the augmented masks' complements,
    the output is base and partner blended by it, the titles say so."""
    from mmmiamix.core import MiAMix
    aug = MiAMix()
    path = tool.main(['--method', 'MiAMix', '--images', str(image_dir),
                      '--num', '3', '--size', '64', '--seed', '1',
                      '--out-dir', str(tmp_path)])
    assert _is_png(path) and len(figures) == 1
    rows, k_max = figures[0], aug.k_max
    assert len(rows) == 3
    used = 0
    for r, row in enumerate(rows):
        assert len(row) == 2 + 2 * k_max + 2 and None not in row
        titles = [t for t, _ in row]
        assert titles[0] == f'base #{r}'
        assert titles[1].startswith('partner #')
        assert titles[-2].startswith('keep (base)')
        assert titles[-1].startswith('output')
        (_, base), (_, partner) = row[0], row[1]
        keep, out = row[-2][1], row[-1][1]
        assert base.shape == partner.shape == out.shape == (64, 64, 3)
        assert keep.shape == (64, 64)
        assert keep.min() >= -1e-6 and keep.max() <= 1 + 1e-6
        np.testing.assert_allclose(out, _blend(keep, base, partner),
                                   atol=1e-5)
        merged = np.ones_like(keep)
        for j in range(k_max):
            (sampled, raw), (augmented, cut) = row[2 + j], row[2 + k_max + j]
            if '(k=' in sampled:  # fewer than k_max masks in this sample
                assert '(k=' in augmented
                continue
            used += 1
            name = sampled.split('\n')[0].split(': ')[1]
            assert name in aug.methods
            assert f'\u03bb{j + 1}=' in sampled
            assert augmented.startswith(f'{j + 1}: augmented')
            assert raw.shape == cut.shape == keep.shape
            merged *= 1 - cut
        np.testing.assert_allclose(keep, merged, atol=1e-5)
        assert f'={keep.mean():.2f}' in titles[-2]
    assert used >= 3  # at least one mask per sample was drawn


def test_agmix_grid_and_gmix_vs_agmix(tool, image_dir, tmp_path, figures):
    out = tmp_path / 'figs'
    path = tool.main(['--method', 'AGMix', '--args', 'alpha=1.0',
                      '--images', str(image_dir), '--num', '3', '--size',
                      '48', '--out-dir', str(out)])
    assert osp.basename(path) == 'agmix_grid.png' and _is_png(path)
    path = tool.main(['--method', 'agmix', '--figure', 'gmix-vs-agmix',
                      '--images', str(image_dir), '--num', '4', '--size',
                      '48', '--lam', '0.7', '--out-dir', str(out)])
    assert osp.basename(path) == 'gmix_vs_agmix.png' and _is_png(path)
    grid, compared = figures
    assert len(grid) == 3 and len(compared) == 4
    assert [t for t, _ in compared[0]] == [
        'GMix output', 'GMix mask\nmean %.2f' % compared[0][1][1].mean(),
        'AGMix output', 'AGMix mask\nmean %.2f' % compared[0][3][1].mean()]
    for row in compared:
        gmask, amask = row[1][1], row[3][1]
        assert gmask.shape == amask.shape == (48, 48)
        assert 0.1 < gmask.std() and 0.1 < amask.std()  # not blank
        assert not np.allclose(gmask, amask)  # AGMix is not GMix
        assert row[0][1].shape == row[2][1].shape == (48, 48, 3)


@pytest.mark.parametrize('method', ['GMix', 'FMix', 'GridMix', 'Mixup',
                                    'CutMix'])
def test_other_methods_grid(tool, image_dir, tmp_path, method, figures):
    path = tool.main(['--method', method, '--images', str(image_dir),
                      '--num', '2', '--size', '32', '--out-dir',
                      str(tmp_path)])
    assert osp.basename(path) == f'{method.lower()}_grid.png'
    assert _is_png(path)
    (rows, ) = figures
    assert len(rows) == 2
    for row in rows:
        titles = [t for t, _ in row]
        (_, base), (_, partner), (_, mask), (_, out) = row
        assert titles[:2] == ['base', 'partner']
        assert titles[2].endswith(f'mean {mask.mean():.2f})')
        assert titles[3].startswith('output')
        assert mask.shape == (32, 32) and out.shape == (32, 32, 3)
        assert not np.allclose(base, partner)  # the next image
        np.testing.assert_allclose(out, _blend(1 - mask, base, partner),
                                   atol=1e-5)


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
    from mmpretrain.registry import MODELS

    import mmmiamix  # noqa: F401
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
def test_hook_driven_directly(tmp_path, mixed, figures):
    from mmmiamix import visualization as vis
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
    batch = _batch()
    out = pre(batch, True)
    assert out['inputs'].shape == (6, 3, 32, 32)
    pre(_batch(), True)  # only the first batch is captured
    hook.after_train_iter(runner, 0)
    path = tmp_path / 'mixed_batches' / 'epoch_1.png'
    assert _is_png(path) and hook.last_path == str(path)
    # the picture shows the first batch as the model got it (mixed, with
    # its soft labels), de-normalised, max_images of it
    (rows, ) = figures
    panels = [p for row in rows for p in row if p is not None]
    assert len(panels) == 4
    shown = vis.to_display(out['inputs'][:4], [78.0] * 3, [82.6] * 3)
    classes = [str(i) for i in range(10)]
    for i, (title, pixels) in enumerate(panels):
        np.testing.assert_allclose(pixels, shown[i], atol=1e-6)
        sample = out['data_samples'][i]
        score = sample.gt_score if 'gt_score' in sample else \
            torch.nn.functional.one_hot(sample.gt_label, 10)[0]
        assert title == vis.top_labels(score, 2, classes)
    raw = pre(batch, False)['inputs'][:4]  # not mixed (eval mode)
    assert mixed != np.allclose(
        vis.to_display(raw, [78.0] * 3, [82.6] * 3), shown)
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


def test_hook_in_a_tiny_runner(tmp_path, figures):
    from mmengine.runner import Runner

    import mmmiamix  # noqa: F401
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
    # two pictures of max_images images each (batches of 16)
    assert [sum(p is not None for row in f for p in row)
            for f in figures] == [9, 9]
