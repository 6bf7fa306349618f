"""Tiny on-disk fixtures for the tool tests (no downloads).

* :func:`make_png_dataset` writes class folders of small PNG images, laid out
  for mmpretrain's ``CustomDataset`` (``root/<class>/<img>.png``).
* :func:`make_cifar_c` writes a CIFAR-C style folder in the official layout:
  one ``<corruption>.npy`` per corruption, shape ``(5 * N, 32, 32, 3)``
  uint8, severities 1..5 in consecutive blocks of ``N``, and ``labels.npy``
  of length ``5 * N``.
* :func:`write_config` writes a python-style mmengine config for a very small
  image classifier over such a PNG folder.

Images are drawn so that classes are easy to tell apart: class ``c`` has a
square of a class-specific grey level in a class-specific corner, plus a
little noise, so a small network learns them within a couple of epochs.
"""
import os
import os.path as osp

import numpy as np

# Grey levels: the images look the same in RGB and BGR order, so a model
# trained on PNGs (read as BGR) applies to CIFAR-C arrays (RGB) as well.
_COLOURS = np.array([[230] * 3, [150] * 3, [70] * 3, [200] * 3, [110] * 3,
                     [40] * 3], dtype=np.float32)


def draw_image(label, size=32, rng=None):
    """Return an ``(size, size, 3)`` uint8 RGB image for class ``label``."""
    rng = np.random.default_rng(rng)
    img = np.full((size, size, 3), 30.0, dtype=np.float32)
    half = size // 2
    corner = label % 4
    y0 = 0 if corner in (0, 1) else half
    x0 = 0 if corner in (0, 2) else half
    img[y0:y0 + half, x0:x0 + half] = _COLOURS[label % len(_COLOURS)]
    img += rng.normal(0, 12, (size, size, 1))  # same in every channel
    return np.clip(img, 0, 255).astype(np.uint8)


def make_png_dataset(root, num_classes=3, per_class=8, size=32, seed=0):
    """Write ``root/class_<c>/<i>.png``; return the list of class names."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    classes = [f'class_{c}' for c in range(num_classes)]
    for c, name in enumerate(classes):
        d = osp.join(root, name)
        os.makedirs(d, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(draw_image(c, size, rng)).save(
                osp.join(d, f'{i:03d}.png'))
    return classes


CIFAR_C_CORRUPTIONS = ('gaussian_noise', 'fog')


def make_cifar_c(root, corruptions=CIFAR_C_CORRUPTIONS, n=4, num_classes=3,
                 seed=0, corrupt_severity_from=None):
    """Write a CIFAR-C style folder; return the labels of one block.

    Images of class ``c`` are drawn with :func:`draw_image`. If
    ``corrupt_severity_from`` is an int, images of severities
    ``>= corrupt_severity_from`` are replaced by uniform noise, so that the
    accuracy of a trained model visibly drops at high severities.
    """
    rng = np.random.default_rng(seed)
    os.makedirs(root, exist_ok=True)
    labels = np.arange(n) % num_classes
    np.save(osp.join(root, 'labels.npy'),
            np.tile(labels, 5).astype(np.uint8))
    for name in corruptions:
        blocks = []
        for sev in range(1, 6):
            imgs = np.stack([draw_image(int(y), 32, rng) for y in labels])
            if corrupt_severity_from is not None and \
                    sev >= corrupt_severity_from:
                imgs = rng.integers(0, 256, imgs.shape, dtype=np.uint8)
            blocks.append(imgs)
        np.save(osp.join(root, f'{name}.npy'), np.concatenate(blocks))
    return labels


def make_cifar_c_from_pngs(png_root, root, corruptions=CIFAR_C_CORRUPTIONS,
                           noise_from=4, seed=0):
    """Write a CIFAR-C folder whose severities hold the PNG dataset's images.

    Severities ``< noise_from`` repeat the images of ``png_root`` (class
    folders sorted by name, files sorted by name, as ``CustomDataset`` reads
    them) unchanged, so their accuracy equals the clean accuracy;
    severities ``>= noise_from`` are uniform noise. Returns the labels.
    """
    from PIL import Image
    rng = np.random.default_rng(seed)
    imgs, labels = [], []
    for c, name in enumerate(sorted(os.listdir(png_root))):
        d = osp.join(png_root, name)
        for fn in sorted(os.listdir(d)):
            imgs.append(np.asarray(Image.open(osp.join(d, fn)).convert('RGB')))
            labels.append(c)
    imgs = np.stack(imgs).astype(np.uint8)
    labels = np.asarray(labels, dtype=np.int64)
    os.makedirs(root, exist_ok=True)
    np.save(osp.join(root, 'labels.npy'), np.tile(labels, 5))
    for name in corruptions:
        blocks = [
            imgs if sev < noise_from else rng.integers(
                0, 256, imgs.shape, dtype=np.uint8) for sev in range(1, 6)
        ]
        np.save(osp.join(root, f'{name}.npy'), np.concatenate(blocks))
    return labels


CONFIG_TEMPLATE = '''
# Tiny config written by tests/tinydata.py (a few seconds per epoch on CPU).
{imports}
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=8,
                  base_channels=8, num_stages=4, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes={num_classes},
              in_channels=64,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0,
                        use_soft={use_soft}),
              topk=(1, )),
    data_preprocessor=dict(
        type='ClsDataPreprocessor', num_classes={num_classes},
        mean=[125.3, 123.0, 113.9], std=[63.0, 62.1, 66.7], to_rgb=False,
        {batch_augments}),
)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size={batch_size}, num_workers=0,
    dataset=dict(type='CustomDataset', data_root={data_root!r},
                 pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size={batch_size}, num_workers=0,
    dataset=dict(type='CustomDataset', data_root={data_root!r},
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max={max_epochs},
                        by_epoch=True, begin=0, end={max_epochs})]
train_cfg = dict(by_epoch=True, max_epochs={max_epochs}, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size={batch_size})
default_scope = 'mmpretrain'
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)
env_cfg = dict(cudnn_benchmark=False,
               mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, diff_rank_seed=True, deterministic=False)
'''


def write_config(path, data_root, num_classes=3, batch_size=4, max_epochs=2,
                 augment=None, plugin=False):
    """Write the tiny config to ``path``.

    ``augment`` is a batch-augment dict (e.g. ``dict(type='Mixup',
    alpha=1.0)``) or ``None``; ``plugin=True`` adds
    ``custom_imports=dict(imports=['mmmiamix'], ...)``.
    """
    imports = ("custom_imports = dict(imports=['mmmiamix'], "
               'allow_failed_imports=False)') if plugin else ''
    if augment is None:
        batch_augments = ''
    else:
        batch_augments = f'batch_augments=dict(augments={augment!r})'
    text = CONFIG_TEMPLATE.format(
        imports=imports, num_classes=num_classes, batch_size=batch_size,
        max_epochs=max_epochs, data_root=str(data_root),
        batch_augments=batch_augments, use_soft=augment is not None)
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


# ------------------------------------------------- shared trained fixtures
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
QUICK_CONFIG = osp.join(REPO, 'configs', 'quickstart',
                        'miamix_resnet18_digits.py')
#: the quick start shrunk to one short epoch: 4 iterations of 16 digits,
#: validation on 32, a log line every iteration
QUICK_SHRINK = [
    'train_dataloader.dataset.indices=64', 'train_dataloader.batch_size=16',
    'val_dataloader.dataset.indices=32', 'test_dataloader.dataset.indices=32',
    'default_hooks.logger.interval=1', 'train_cfg.val_interval=1'
]


def tool_env(**extra):
    """The environment of a tool's subprocess: this checkout first on
    PYTHONPATH, one thread (the same arithmetic in every process), no
    warnings."""
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    env['OMP_NUM_THREADS'] = '1'
    env['PYTHONWARNINGS'] = 'ignore'
    env.update(extra)
    return env


def build_quick_one_epoch(tmp, prefetched=None):
    """Train :data:`QUICK_CONFIG` one epoch (:data:`QUICK_SHRINK`) with the
    project's tools/train.py into ``tmp/work``; return the work dir and the
    output (tests/conftest.py prefetches it: test_quickstart.py and
    test_stock_tools.py share it)."""
    import subprocess
    import sys
    work = osp.join(str(tmp), 'work')
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'train.py'), QUICK_CONFIG,
         '--work-dir', work, '--cfg-options', 'train_cfg.max_epochs=1'] +
        QUICK_SHRINK, cwd=str(tmp), env=tool_env(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout[-6000:]
    return dict(work=work, out=proc.stdout)
