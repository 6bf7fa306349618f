"""The front door of every augment (docs/design.md): targets as
indices or scores, label smoothing, per-sample prob, the enabled switch and
pickling."""
import pickle

import pytest
import torch

from mmmiamix.core import AGMix, FMix, GMix, GridMix, MiAMix, SaliencyMix

AUGMENTS = {
    'MiAMix': lambda **kw: MiAMix(**kw),
    'FMix': lambda **kw: FMix(**kw),
    'GridMix': lambda **kw: GridMix(**kw),
    'GMix': lambda **kw: GMix(**kw),
    'AGMix': lambda **kw: AGMix(**kw),
    'SaliencyMix': lambda **kw: SaliencyMix(**kw),
}


def _batch(b=12, k=5, size=(16, 16), seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, 3, *size, generator=g)
    labels = torch.randint(0, k, (b, ), generator=g)
    return x, labels, torch.nn.functional.one_hot(labels, k).float()


def _seeded(aug, *args, seed=3, **kwargs):
    torch.manual_seed(seed)
    return aug(*args, **kwargs)


@pytest.mark.parametrize('name', list(AUGMENTS))
def test_indices_equal_one_hot(name):
    x, labels, onehot = _batch()
    aug = AUGMENTS[name](num_classes=5)
    a = _seeded(aug, x, labels)
    b = _seeded(aug, x, onehot)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert a[1].dtype == torch.float32 and a[1].shape == (12, 5)
    assert torch.allclose(a[1].sum(1), torch.ones(12))
    # genuinely mixed: some rows carry two classes, some pixels changed
    assert ((a[1] > 0).sum(1) >= 2).any()
    assert not torch.allclose(a[0], x)


@pytest.mark.parametrize('name', list(AUGMENTS))
def test_label_smoothing(name):
    x, labels, onehot = _batch()
    eps = 0.1
    plain = _seeded(AUGMENTS[name](), x, onehot)
    smooth = _seeded(AUGMENTS[name](label_smoothing=eps), x, onehot)
    assert torch.equal(plain[0], smooth[0])
    assert torch.allclose(smooth[1], (1 - eps) * plain[1] + eps / 5,
                          atol=1e-6)
    assert torch.allclose(smooth[1].sum(1), torch.ones(12), atol=1e-6)
    assert smooth[1].min() >= eps / 5 - 1e-7


@pytest.mark.parametrize('name', list(AUGMENTS))
def test_prob_and_enabled(name):
    x, labels, onehot = _batch(b=400, size=(8, 8))
    none = AUGMENTS[name](prob=0.0)(x, onehot)
    assert torch.equal(none[0], x) and torch.equal(none[1], onehot)
    aug = AUGMENTS[name](prob=0.3)
    torch.manual_seed(0)
    mixed, scores = aug(x, onehot)
    unchanged = (mixed == x).flatten(1).all(1) & (scores == onehot).all(1)
    # ~70 % pass through (a few mixed ones can also come back unchanged)
    assert 0.6 < unchanged.float().mean() < 0.8
    assert torch.equal(scores[unchanged], onehot[unchanged])
    aug.enabled = False
    off = aug(x, onehot)
    assert off[0] is x and torch.equal(off[1], onehot)


@pytest.mark.parametrize('name', list(AUGMENTS))
def test_pickles(name):
    x, labels, onehot = _batch()
    aug = AUGMENTS[name](num_classes=5, label_smoothing=0.05)
    first = _seeded(aug, x, labels)  # fills the per-device caches
    copy = pickle.loads(pickle.dumps(aug))
    again = _seeded(copy, x, labels)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])


@pytest.mark.parametrize('name', list(AUGMENTS))
@pytest.mark.parametrize('kwargs, match', [
    (dict(label_smoothing=1.0), 'label_smoothing'),
    (dict(label_smoothing=-0.1), 'label_smoothing'),
    (dict(prob=1.5), 'prob'),
    (dict(prob=-0.5), 'prob'),
    (dict(num_classes=0), 'num_classes'),
    (dict(num_classes=2.5), 'num_classes'),
    (dict(alpha=float('inf')), 'alpha'),
    (dict(alpha=1e7), 'alpha'),
])
def test_bad_front_door_arguments(name, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        AUGMENTS[name](**kwargs)


@pytest.mark.parametrize('name', list(AUGMENTS))
def test_bad_targets(name):
    x, labels, onehot = _batch()
    with pytest.raises(ValueError, match='num_classes'):
        AUGMENTS[name]()(x, labels)  # indices without num_classes
    with pytest.raises(ValueError, match='batch size'):
        AUGMENTS[name](num_classes=5)(x, labels[:5])
    with pytest.raises(ValueError, match='batch size'):
        AUGMENTS[name]()(x, onehot[:7])
    with pytest.raises(ValueError, match='num_classes=5'):
        AUGMENTS[name](num_classes=5)(x, torch.eye(12))
    with pytest.raises(TypeError, match='integer class indices'):
        AUGMENTS[name](num_classes=5)(x, labels.float())


def test_check_values_is_opt_in():
    x, labels, onehot = _batch()
    bad = onehot.clone()
    bad[0, 0] = -1.0
    MiAMix()(x, bad)  # no value checks by default (no host sync)
    aug = MiAMix(check_values=True, num_classes=5)
    with pytest.raises(ValueError, match='>= 0'):
        aug(x, bad)
    with pytest.raises(ValueError, match='sum to 1'):
        aug(x, onehot * 2)
    nan = x.clone()
    nan[1, 0, 0, 0] = float('nan')
    with pytest.raises(ValueError, match='finite'):
        aug(nan, onehot)
    with pytest.raises(ValueError, match=r'\[0, 5\)'):
        aug(x, labels + 5)
    with pytest.raises(TypeError, match='check_values'):
        MiAMix(check_values=1)
