"""The registered batch augments, through mmpretrain's registry and
``ClsDataPreprocessor``."""
import pytest
import torch
from mmpretrain.models.utils import ClsDataPreprocessor
from mmpretrain.registry import BATCH_AUGMENTS
from mmpretrain.structures import DataSample

import mmmiamix  # noqa: F401  (registers)

NAMES = ['MiAMix', 'AGMix', 'GMix', 'FMix', 'GridMix', 'SaliencyMix']
CONFIGS = [
    dict(type='MiAMix'),
    dict(type='MiAMix', mask_merge='sum', p_aug=1.0, p_smooth=1.0),
    dict(type='MiAMix', p_self=0.5, k_max=3),
    dict(type='AGMix', alpha=1.0),
    dict(type='GMix', alpha=1.0),
    dict(type='FMix', alpha=1.0, max_soft=0.1),
    dict(type='GridMix', alpha=1.0),
    dict(type='SaliencyMix', alpha=1.0),
]


def constant_batch(b, size=(16, 24), dtype=torch.float32):
    """Image ``i`` filled with ``i + 1``; one-hot label ``i`` of B classes."""
    values = torch.arange(1, b + 1, dtype=torch.float32)
    images = values.view(b, 1, 1, 1).expand(b, 3, *size).to(dtype)
    return images.contiguous(), torch.eye(b)


def test_registered():
    for name in NAMES:
        assert BATCH_AUGMENTS.get(name) is not None, name
    # mmpretrain's own augments stay untouched.
    assert BATCH_AUGMENTS.get('Mixup').__module__.startswith('mmpretrain')


@pytest.mark.parametrize('cfg', CONFIGS, ids=lambda c: str(c))
def test_label_weights_equal_pixel_weights(cfg):
    """Each output image is a constant-per-source blend, so its mean must be
    the score-weighted mean of the source values: sum_c score[c] * (c + 1).
    """
    torch.manual_seed(0)
    aug = BATCH_AUGMENTS.build(cfg)
    for b in (1, 2, 9):
        images, scores = constant_batch(b)
        for _ in range(5):
            mixed, mixed_scores = aug(images, scores)
            assert mixed.shape == images.shape
            assert mixed_scores.shape == scores.shape
            assert mixed_scores.dtype == torch.float32
            assert torch.allclose(mixed_scores.sum(1), torch.ones(b))
            expected = mixed_scores @ torch.arange(1, b + 1,
                                                   dtype=torch.float32)
            assert torch.allclose(mixed.mean((1, 2, 3)), expected,
                                  atol=1e-4), cfg


@pytest.mark.parametrize('cfg', CONFIGS, ids=lambda c: str(c))
def test_deterministic_under_seed(cfg):
    aug = BATCH_AUGMENTS.build(cfg)
    x = torch.rand(6, 3, 20, 20)
    y = torch.eye(6)
    torch.manual_seed(11)
    a = aug(x, y)
    torch.manual_seed(11)
    b = aug(x, y)
    torch.manual_seed(12)
    c = aug(x, y)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


@pytest.mark.parametrize('name', NAMES)
def test_int_and_soft_scores(name):
    aug = BATCH_AUGMENTS.build(dict(type=name))
    x = torch.rand(5, 3, 16, 16)
    onehot = torch.nn.functional.one_hot(torch.arange(5) % 3, 3)
    _, scores = aug(x, onehot)  # int64 one-hot
    assert scores.dtype == torch.float32
    assert torch.allclose(scores.sum(1), torch.ones(5))
    soft = torch.softmax(torch.randn(5, 3), 1)
    _, scores = aug(x, soft)
    assert torch.allclose(scores.sum(1), torch.ones(5))


@pytest.mark.parametrize('name', NAMES)
def test_batch_of_one(name):
    aug = BATCH_AUGMENTS.build(dict(type=name))
    x = torch.rand(1, 3, 12, 12)
    y = torch.tensor([[0.0, 1.0]])
    mixed, scores = aug(x, y)
    assert torch.equal(scores, y)
    if name != 'MiAMix':  # MiAMix may mix with a second view of itself
        assert torch.allclose(mixed, x)


def test_through_cls_data_preprocessor():
    """ClsDataPreprocessor hands the batch to MiAMix in training: rows with
    the scores of two classes, whose pixels lie between their own image and
    the partner's (the labelled classes' images), and never in validation.
    """
    torch.manual_seed(0)
    b = 8
    pre = ClsDataPreprocessor(
        mean=[0, 0, 0], std=[255, 255, 255], num_classes=b,
        batch_augments=dict(augments=dict(type='MiAMix')))
    images = torch.stack([torch.randint(0, 256, (3, 32, 32),
                                        dtype=torch.uint8) for _ in range(b)])
    plain = images.float() / 255
    samples = [DataSample().set_gt_label(i) for i in range(b)]  # distinct
    out = pre(dict(inputs=images, data_samples=samples), training=True)
    assert out['inputs'].shape == (b, 3, 32, 32)
    scores = torch.stack([s.gt_score for s in out['data_samples']])
    assert scores.shape == (b, b)
    assert torch.allclose(scores.sum(1), torch.ones(b))
    two = (scores > 1e-6).sum(1) == 2
    # p_self=0.1: nearly every sample takes another one as its partner
    assert int(two.sum()) >= b // 2, scores
    for i in two.nonzero().flatten().tolist():
        own, other = scores[i].topk(2).indices.tolist()
        assert i in (own, other)
        j = other if own == i else own
        low = torch.minimum(plain[i], plain[j]) - 1e-5
        high = torch.maximum(plain[i], plain[j]) + 1e-5
        x = out['inputs'][i]
        assert ((x >= low) & (x <= high)).all()  # a blend of i and j
        moved = (x - plain[i]).abs() > 1e-4
        assert moved.any(), i  # pixels of the partner
        # the partner's label weight is the share of its pixels, about
        share = ((x - plain[i]) * (plain[j] - plain[i])).sum() / (
            (plain[j] - plain[i]).pow(2).sum())
        assert abs(float(share) - float(scores[i, j])) < 0.1
    # Validation batches are not mixed.
    samples = [DataSample().set_gt_label(i) for i in range(b)]
    out = pre(dict(inputs=images, data_samples=samples), training=False)
    assert torch.allclose(out['inputs'], plain, atol=1e-6)


@pytest.mark.parametrize('cfg, match', [
    (dict(type='AGMix', alpha=0), 'alpha'),
    (dict(type='GMix', alpha=-1.0), 'alpha'),
    (dict(type='FMix', alpha='1'), 'alpha'),
    (dict(type='FMix', max_soft=0.7), 'max_soft'),
    (dict(type='FMix', decay_power=0), 'decay_power'),
    (dict(type='GridMix', n_holes=(6, 2)), 'n_holes'),
    (dict(type='GridMix', cut_area_ratio=(0.5, 1.5)), 'cut_area_ratio'),
    (dict(type='GridMix', cut_aspect_ratio=(2.0, 0.5)), 'cut_aspect_ratio'),
    (dict(type='AGMix', q_range=(-2, 1)), 'q_range'),
    (dict(type='AGMix', angle_range=(90, -90)), 'angle_range'),
    (dict(type='SaliencyMix', alpha=0.0), 'alpha'),
])
def test_bad_arguments(cfg, match):
    with pytest.raises((ValueError, TypeError), match=match):
        BATCH_AUGMENTS.build(cfg)


@pytest.mark.parametrize('name', NAMES)
def test_bad_inputs(name):
    aug = BATCH_AUGMENTS.build(dict(type=name))
    with pytest.raises(ValueError, match='4-D'):
        aug(torch.rand(3, 16, 16), torch.eye(3))
    with pytest.raises(ValueError, match='batch size'):
        aug(torch.rand(3, 3, 16, 16), torch.eye(4))
    with pytest.raises(ValueError, match='num_classes'):
        aug(torch.rand(3, 3, 16, 16), torch.arange(3))  # indices need K
    with pytest.raises(TypeError, match='float'):
        aug(torch.zeros(3, 3, 16, 16, dtype=torch.uint8), torch.eye(3))
    with pytest.raises(ValueError, match='at least 8x8'):
        aug(torch.rand(3, 3, 4, 16), torch.eye(3))
