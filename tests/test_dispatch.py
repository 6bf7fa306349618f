"""The sync-free path's cost on a GPU is its op count (each aten op is a
kernel launch): at most 300 whatever users write (``prob``,
``label_smoothing``, class-index targets, one image, 8x8 pixels, the
two-view path), the same at every batch and image size, and the apply
traces whole under torch.compile. Counted on ``meta`` tensors, which take
the GPU's code path."""
import pytest
import torch

from mmmiamix.core import MiAMix
from mmmiamix.utils.profiling import count_ops, on_meta

#: docs/design.md, Targets: at most this many aten ops per sync-free call
MAX_OPS = 300
SIZES = [(1, 8), (8, 32), (100, 32), (256, 32), (16, 64), (4, 224),
         (128, 224)]
SETTINGS = {
    'default': dict(),
    'bare loop': dict(num_classes=8, prob=0.8),
    'smoothed': dict(label_smoothing=0.1),
    'all front-door options': dict(num_classes=8, prob=0.8,
                                   label_smoothing=0.1),
    'augment all': dict(p_aug=1.0, p_smooth=1.0, p_self=0.5),
    'sum, orig, k 3': dict(mask_merge='sum', lam_merge='orig', k_max=3),
}


def _ops(aug, b, size, second=False):
    x = torch.empty(b, 3, *size, device='meta')
    y = torch.zeros(b, dtype=torch.long, device='meta') \
        if aug.num_classes else torch.empty(b, 8, device='meta')
    kwargs = dict(second_view=x) if second else {}
    aug(x, y, **kwargs)  # the first call fills the per-device tables
    return count_ops(aug, x, y, **kwargs)[0]


@pytest.mark.parametrize('setting', list(SETTINGS))
def test_op_count_is_bounded_and_does_not_depend_on_sizes(setting):
    aug = MiAMix(**SETTINGS[setting])
    counts = {(b, s): _ops(aug, b, (s, s)) for b, s in SIZES}
    counts['two views'] = _ops(aug, 8, (32, 32), second=True)
    assert max(counts.values()) <= MAX_OPS, counts
    # B = 1 pairs with itself; every other size dispatches the same ops
    sized = {k: v for k, v in counts.items()
             if k != 'two views' and k[0] > 1}
    assert len(set(sized.values())) == 1, counts


def test_non_square_and_odd_sizes_cost_the_same():
    aug = MiAMix()
    counts = {size: _ops(aug, 7, size) for size in [(24, 40), (33, 17),
                                                     (224, 160), (32, 32)]}
    assert len(set(counts.values())) == 1, counts


def test_weight_change_after_first_call_is_not_ignored():
    aug = MiAMix(methods=('mixup', 'cutmix'), method_weights=(1, 0))
    x, y = torch.rand(64, 3, 8, 8), torch.eye(64)
    aug(x, y)
    aug.method_weights = (0.0, 1.0)
    draws = aug.sample(64, (8, 8), 'cpu')
    assert (draws.method[draws.active] == 1).all()


@pytest.mark.parametrize('second', [False, True])
def test_apply_compiles_without_graph_breaks(second):
    torch.manual_seed(0)
    aug = MiAMix(p_self=0.5, prob=0.8)
    x, y = torch.rand(8, 3, 16, 16), torch.eye(8)
    views = torch.rand_like(x) if second else None
    aug(x, y)
    draws = aug.sample(8, (16, 16), 'cpu')
    torch._dynamo.reset()
    compiled = torch.compile(aug.apply, fullgraph=True, backend='eager')
    out = compiled(x, y, draws, second_view=views)
    ref = aug.apply(x, y, draws, second_view=views)
    torch.testing.assert_close(out[0], ref[0])
    torch.testing.assert_close(out[1], ref[1])
    torch._dynamo.reset()


def test_meta_counts_the_gpu_path():
    """On ``meta`` tensors the call takes the GPU's choices (no separable
    boxes, no band select, the selecting blend), so what the tests above
    count is the GPU's op count, not the CPU's."""
    from mmmiamix.utils.profiling import count_ops
    aug = MiAMix(p_aug=1.0, p_smooth=1.0)
    x, y = torch.rand(8, 3, 64, 64), torch.eye(8)
    aug(x, y)
    _, cpu = count_ops(aug, x, y)
    xm, ym = on_meta((x, y))
    aug(xm, ym)
    _, meta = count_ops(aug, xm, ym)
    assert 'where' in meta and 'aminmax' in cpu and 'aminmax' not in meta
    assert 'sort' in meta and 'kthvalue' in cpu
