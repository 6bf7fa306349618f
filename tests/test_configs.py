"""Every experiment config under configs/ (configs/quickstart/ is tested
elsewhere) loads, builds and trains one step on a tiny synthetic batch.

For each config:
- ``Config.fromfile`` (which imports ``mmmiamix`` through custom_imports);
- the model is built at full size through ``mmpretrain.registry.MODELS``
  (``Pretrained`` init_cfg removed, ``init_weights`` never called, so nothing
  is downloaded), with its data preprocessor and batch augment;
- every pipeline (train/val/test) is built through ``TRANSFORMS``, and the
  train pipeline runs on two synthetic raw samples of the data set's native
  format (32x32 arrays for CIFAR, JPEG files for Tiny-ImageNet and CUB);
- the two samples are collated, go through the data preprocessor with
  ``training=True`` (the batch augment mixes them at the config's real
  input size) and one forward + backward pass runs in ``mode='loss'``.

Every step runs at full model size (ResNeXt-50 and DeiT-S included): with
one intra-op thread the whole file takes about a minute on 2 CPU cores.
"""
import copy
import glob
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS, MODELS, TRANSFORMS
from PIL import Image

import mmmiamix  # noqa: F401  (registers augments, models and datasets)

# As the Runner does with the configs' default_scope: nested transforms
# (MultiView) are built through the default scope's registry.
init_default_scope('mmpretrain')

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(REPO, 'configs')


def _experiment_configs():
    files = []
    for path in glob.glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True):
        rel = osp.relpath(path, CONFIG_DIR)
        top = rel.split(os.sep)[0]
        if top in ('_base_', 'quickstart'):
            continue
        files.append(rel)
    return sorted(files)


CONFIGS = _experiment_configs()

SETTINGS = {
    'cifar10': ('resnet18', 'resnext50'),
    'cifar100': ('resnet18', 'resnext50', 'deit_s'),
    'tiny_imagenet': ('resnet18', ),
    'cub200': ('resnet18', ),
}
METHODS = ('vanilla', 'mixup', 'cutmix', 'fmix', 'gridmix', 'gmix', 'agmix',
           'saliencymix', 'miamix')
MIXED_TYPES = {
    'mixup': 'Mixup', 'cutmix': 'CutMix', 'fmix': 'FMix',
    'gridmix': 'GridMix', 'gmix': 'GMix', 'agmix': 'AGMix',
    'saliencymix': 'SaliencyMix', 'miamix': 'MiAMix'
}


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """Many tiny ops: a single intra-op thread is faster, and it avoids
    OpenMP spin-waits that stall badly when the cores are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope='module')
def image_dir(tmp_path_factory):
    """JPEG files standing in for Tiny-ImageNet (64x64) and CUB (varied)."""
    root = tmp_path_factory.mktemp('images')
    rng = np.random.default_rng(0)
    paths = {}
    for name, size in [('tiny0', (64, 64)), ('tiny1', (64, 64)),
                       ('cub0', (300, 220)), ('cub1', (250, 333))]:
        arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        path = str(root / f'{name}.JPEG')
        Image.fromarray(arr).save(path, 'JPEG')
        paths[name] = path
    return paths


def load(rel):
    return Config.fromfile(osp.join(CONFIG_DIR, rel))


def model_cfg(cfg):
    """The model as mmengine's Runner builds it (top-level
    data_preprocessor merged in), without the downloadable pretrained
    weights."""
    model = copy.deepcopy(cfg.model.to_dict())
    if cfg.get('data_preprocessor') is not None:
        model.setdefault('data_preprocessor',
                         copy.deepcopy(cfg.data_preprocessor.to_dict()))
    model['backbone'].pop('init_cfg', None)
    return model


def expected_size(cfg):
    bb = cfg.model.backbone
    if bb.type == 'VisionTransformer':
        return bb.img_size
    root = cfg.train_dataloader.dataset.data_root
    for key, size in [('cifar', 32), ('tiny-imagenet', 64), ('CUB', 224)]:
        if key in root:
            return size
    raise AssertionError(f'unknown data root {root}')


def raw_samples(cfg, image_dir, num_classes):
    """Two raw items in the data set's own format, before the pipeline."""
    pipeline = cfg.train_dataloader.dataset.pipeline
    rng = np.random.default_rng(1)
    items = []
    for i in range(2):
        label = (3 * i + 1) % num_classes
        if pipeline[0]['type'] == 'LoadImageFromFile':
            key = 'cub' if 'CUB' in cfg.train_dataloader.dataset.data_root \
                else 'tiny'
            items.append(dict(img_path=image_dir[f'{key}{i}'],
                              gt_label=label, sample_idx=i))
        else:  # mmpretrain's CIFAR items carry an RGB array
            img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            items.append(dict(img=img, gt_label=label, img_shape=(32, 32),
                              ori_shape=(32, 32), sample_idx=i))
    return items


def run_pipeline(pipeline_cfg, items):
    transforms = [TRANSFORMS.build(copy.deepcopy(t)) for t in pipeline_cfg]
    out = []
    for item in items:
        results = copy.deepcopy(item)
        for t in transforms:
            results = t(results)
        out.append(results)
    return out


def train_step(model, batch):
    model.train()
    data = model.data_preprocessor(batch, training=True)
    losses = model(**data, mode='loss')
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    loss.backward()
    return data, loss


def test_config_list():
    assert len(CONFIGS) >= 100
    for dataset, models in SETTINGS.items():
        for m in models:
            for method in METHODS:
                assert f'{dataset}/{m}_{method}.py' in CONFIGS
    assert 'cifar100/resnet18_miamix_twoview.py' in CONFIGS


def test_no_mmpretrain_scope_inheritance():
    for path in glob.glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True):
        with open(path) as f:
            assert 'mmpretrain::' not in f.read(), path


@pytest.mark.parametrize('rel', CONFIGS)
def test_config_builds_and_trains_one_step(rel, image_dir):
    torch.manual_seed(0)
    cfg = load(rel)

    # -- contract (DESIGN §5, §7) -----------------------------------------
    assert cfg.custom_imports == dict(
        imports=['mmmiamix'], allow_failed_imports=False)
    assert cfg.randomness.diff_rank_seed is True
    assert cfg.default_scope == 'mmpretrain'

    # -- the model, with its preprocessor and batch augment ---------------
    full_cfg = model_cfg(cfg)
    model = MODELS.build(copy.deepcopy(full_cfg))
    num_classes = full_cfg['head']['num_classes']
    augments = cfg.model.get('train_cfg', {}) or {}
    augments = augments.get('augments')
    if augments is None:
        assert model.data_preprocessor.batch_augments is None
        assert not cfg.model.head.loss.get('use_soft', False)
    else:
        assert model.data_preprocessor.batch_augments is not None
        # mixed labels are soft scores
        assert cfg.model.head.loss.use_soft is True
    assert model.data_preprocessor.num_classes == num_classes

    # -- pipelines --------------------------------------------------------
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for t in cfg[key].dataset.pipeline:
            TRANSFORMS.build(copy.deepcopy(t))
        assert DATASETS.get(cfg[key].dataset.type) is not None
    results = run_pipeline(cfg.train_dataloader.dataset.pipeline,
                           raw_samples(cfg, image_dir, num_classes))
    batch = pseudo_collate(results)

    # -- one training step ------------------------------------------------
    data, loss = train_step(model, batch)
    size = expected_size(cfg)
    assert data['inputs'].shape == (2, 3, size, size)
    assert data['inputs'].dtype == torch.float32
    assert torch.isfinite(loss)
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)
    if augments is not None:
        scores = torch.stack([s.gt_score for s in data['data_samples']])
        assert scores.shape == (2, num_classes)
        assert torch.allclose(scores.sum(1), torch.ones(2), atol=1e-4)


def _augment(rel):
    return load(rel).model.train_cfg.augments


def test_method_matrix_settings():
    for dataset, models in SETTINGS.items():
        for m in models:
            vanilla = load(f'{dataset}/{m}_vanilla.py')
            assert not vanilla.model.get('train_cfg')
            for method, typ in MIXED_TYPES.items():
                aug = _augment(f'{dataset}/{m}_{method}.py')
                assert aug.type == typ
                if method != 'miamix':
                    assert isinstance(aug.alpha, float)
                    continue
                if dataset == 'cub200':
                    assert aug.alpha == 0.5  # transfer: alpha near 2^-1
                else:
                    assert aug.alpha == 2.0  # Table 2 / Figure 3
                if m == 'deit_s':
                    assert list(aug.method_weights) == [1, 3, 0, 1, 1]
                else:
                    assert list(aug.method_weights) == [2, 1, 1, 1, 1]
                assert list(aug.methods) == [
                    'mixup', 'cutmix', 'fmix', 'gridmix', 'agmix']
                assert (aug.k_max, list(aug.layer_weights)) == (2, [1, 1])
                assert (aug.p_self, aug.p_aug, aug.p_smooth) == (
                    0.1, 0.25, 0.5)
                assert (aug.mask_merge, aug.lam_merge) == ('mul', 'merged')


def test_schedules():
    c = load('cifar10/resnet18_vanilla.py')
    assert c.train_cfg.max_epochs == 400
    assert c.train_dataloader.batch_size == 100
    opt = c.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == (
        'SGD', 0.1, 0.9, 5e-4)
    assert c.param_scheduler[0].type == 'CosineAnnealingLR'
    t = load('tiny_imagenet/resnet18_vanilla.py')
    assert t.train_cfg.max_epochs == 400 and t.train_dataloader.batch_size \
        == 100
    d = load('cifar100/deit_s_vanilla.py')
    assert d.train_cfg.max_epochs == 200
    assert d.optim_wrapper.optimizer.type == 'AdamW'
    assert [s.type for s in d.param_scheduler] == [
        'LinearLR', 'CosineAnnealingLR']
    assert d.model.backbone.arch == 'deit-small'
    assert d.model.backbone.patch_size == 16
    u = load('cub200/resnet18_vanilla.py')
    assert u.train_cfg.max_epochs == 200 and u.train_dataloader.batch_size \
        == 32
    assert (u.optim_wrapper.optimizer.lr,
            u.optim_wrapper.optimizer.momentum) == (1e-3, 0.9)
    init = u.model.backbone.init_cfg
    assert init.type == 'Pretrained' and init.prefix == 'backbone'
    assert init.checkpoint.startswith('https://download.openmmlab.com/')


def test_offline_checkpoint_override():
    cfg = load('cub200/resnet18_miamix.py')
    cfg.merge_from_dict(
        {'model.backbone.init_cfg.checkpoint': '/tmp/resnet18.pth'})
    assert cfg.model.backbone.init_cfg.checkpoint == '/tmp/resnet18.pth'


def test_ablation_overrides():
    def aug(name):
        return _augment(f'ablations/{name}.py')

    a = aug('table07_tiny_imagenet_resnet18_paug0_psmooth0')
    assert (a.p_aug, a.p_smooth, a.alpha) == (0.0, 0.0, 2.0)
    a = aug('table08_tiny_imagenet_resnet18_k3')
    assert (a.k_max, list(a.layer_weights)) == (3, [0, 0, 1])
    a = aug('table08_tiny_imagenet_resnet18_k1-3')
    assert (a.k_max, list(a.layer_weights)) == (3, [1, 1, 1])
    a = aug('table09_cifar10_resnet18_no_gridmix')
    assert list(a.method_weights) == [1, 1, 1, 0, 1]
    a = aug('table10_tiny_imagenet_resnet18_sum_merged')
    assert (a.mask_merge, a.lam_merge) == ('sum', 'merged')
    a = aug('table11_cifar100_resnext50_pself5')
    assert a.p_self == 0.05
    assert load('ablations/table11_cifar100_resnext50_pself5.py'
                ).model.backbone.type == 'ResNeXt_CIFAR'
    a = aug('table13_cifar10_resnet18_paug75_psmooth50')
    assert (a.p_aug, a.p_smooth) == (0.75, 0.5)
    # everything else is inherited from the base config
    assert (a.alpha, list(a.method_weights), a.p_self) == (
        2.0, [2, 1, 1, 1, 1], 0.1)


def test_twoview_config_uses_two_views(image_dir):
    cfg = load('cifar100/resnet18_miamix_twoview.py')
    assert cfg.model.data_preprocessor.type == 'TwoViewClsDataPreprocessor'
    results = run_pipeline(cfg.train_dataloader.dataset.pipeline,
                           raw_samples(cfg, image_dir, 100))
    assert isinstance(results[0]['inputs'], list)
    assert len(results[0]['inputs']) == 2


def test_robustness_config_runs_on_cifar100c(tmp_path):
    """The CIFAR-100-C test dataloader of a robustness config builds on a
    tiny fixture and its batches go through the model in predict mode."""
    root = tmp_path / 'CIFAR-100-C'
    root.mkdir()
    n = 2
    np.save(root / 'labels.npy', np.tile(np.arange(n) * 9, 5))
    for name in ('fog', 'snow'):
        np.save(root / f'{name}.npy',
                np.random.default_rng(0).integers(
                    0, 256, (5 * n, 32, 32, 3), dtype=np.uint8))
    cfg = load('robustness/cifar100c_resnext50_miamix.py')
    ds_cfg = copy.deepcopy(cfg.test_dataloader.dataset.to_dict())
    assert ds_cfg['type'] == 'CIFAR100C'
    assert len(ds_cfg['corruptions']) == 19
    ds_cfg.update(data_root=str(root), corruptions=['fog', 'snow'])
    ds = DATASETS.build(ds_cfg)
    assert len(ds) == 2 * 5 * n
    batch = pseudo_collate([ds[i] for i in (0, 7, 19)])
    model = MODELS.build(model_cfg(cfg))
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(batch, training=False)
        preds = model(**data, mode='predict')
    assert [p.corruption for p in preds] == ['fog', 'fog', 'snow']
    assert [p.severity for p in preds] == [1, 4, 5]
    assert all(p.pred_score.shape == (100, ) for p in preds)
