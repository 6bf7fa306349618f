"""The attention-weighted-label configs of CIFAR-100 DeiT-S: each is its
base config plus the classifier (and, for TransMix, DeiT's Mixup/CutMix
switch) and nothing else, and builds at full size and trains one step
(on 112x112 inputs, a 7x7 patch grid, to keep it short) with its own data
preprocessor, batch augment and loss, relabelling the mixed batch."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmmiamix  # noqa: F401  (registers)
from mmmiamix.models.sample_records import FIELD

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                      'configs')
TRANSMIX = [dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]
# config: (its base, the keys it may change)
CONFIGS = {
    'cifar100/deit_s_transmix.py': (
        'cifar100/deit_s_vanilla.py',
        {'model.type', 'model.ratio', 'model.train_cfg'}),
    'cifar100/deit_s_miamix_attn.py': (
        'cifar100/deit_s_miamix.py', {'model.type', 'model.ratio'}),
}


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def load(rel):
    return Config.fromfile(osp.join(CONFIG_DIR, rel))


def flat_diff(a, b, path=''):
    """Dotted keys whose values differ between two plain dicts."""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return set() if a == b else {path}
    out = set()
    for k in set(a) | set(b):
        p = f'{path}.{k}' if path else k
        out |= {p} if k not in a or k not in b else flat_diff(a[k], b[k], p)
    return out


@pytest.mark.parametrize('rel', sorted(CONFIGS))
def test_config_is_its_base_plus_the_classifier(rel):
    base, allowed = CONFIGS[rel]
    cfg = load(rel)
    diff = flat_diff(cfg._cfg_dict.to_dict(), load(base)._cfg_dict.to_dict())
    assert diff == allowed, sorted(diff ^ allowed)
    assert cfg.model.type == 'AttentionMixClassifier'
    assert cfg.model.ratio == 0.5
    assert cfg.custom_imports == dict(imports=['mmmiamix'],
                                      allow_failed_imports=False)
    assert cfg.randomness.diff_rank_seed is True
    if 'transmix' in rel:
        assert cfg.model.train_cfg.to_dict() == dict(augments=TRANSMIX)


@pytest.mark.parametrize('rel', sorted(CONFIGS))
def test_config_builds_and_trains_one_step(rel):
    cfg = load(rel)
    model_cfg = copy.deepcopy(cfg.model.to_dict())
    model_cfg.setdefault('data_preprocessor',
                         copy.deepcopy(cfg.data_preprocessor.to_dict()))
    model = MODELS.build(model_cfg)
    pre = model.data_preprocessor
    assert type(pre).__name__ == 'TwoViewClsDataPreprocessor'
    assert pre.record_mix
    types = [type(a).__name__ for a in pre.batch_augments.augments]
    two_view = 'miamix' in rel
    assert types == (['MiAMix'] if two_view else ['Mixup', 'CutMix'])
    g = torch.Generator().manual_seed(0)

    def view():
        return torch.randint(0, 256, (4, 3, 112, 112), generator=g,
                             dtype=torch.uint8)

    model.train()
    relabelled = []
    for seed in range(3):  # single-lambda CutMix may draw an empty box
        samples = [DataSample().set_gt_label(label) for label in (3, 7, 1, 9)]
        batch = dict(inputs=[view(), view()] if two_view else view(),
                     data_samples=samples)
        np.random.seed(seed)
        torch.manual_seed(seed)
        data = pre(batch, training=True)
        assert data['inputs'].shape == (4, 3, 112, 112)
        assert FIELD in data['data_samples'][0]
        before = torch.stack([s.gt_score for s in data['data_samples']])
        loss = model(**data, mode='loss')['loss']
        after = torch.stack([s.gt_score for s in data['data_samples']])
        assert torch.isfinite(loss)
        assert torch.allclose(after.sum(1), torch.ones(4))
        relabelled.append(not torch.allclose(after, before, atol=1e-4))
        if seed == 0:
            loss.backward()
            assert all(p.grad is not None for p in model.parameters()
                       if p.requires_grad)
    assert any(relabelled)
