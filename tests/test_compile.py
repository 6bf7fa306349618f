"""MiAMix at its defaults under mmengine's ``compile=`` option. On the CPU
the augment runs eagerly inside the compiled train step, one deliberate
graph break (inductor takes tens of seconds there to compile a call that is
no faster: docs/benchmarks.md); where it is traced whole (a GPU: here
forced on the CPU), it adds no graph break at all. The baseline is the same
config with a pass-through batch augment, whose wrapper (mmpretrain's, a
numpy draw) and soft loss break the graph the same way."""
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmmiamix.core import host
from tinydata import make_png_dataset, write_config


class PassThrough:
    """A batch augment that changes nothing."""

    def __call__(self, inputs, batch_score):
        return inputs, batch_score.float()


def _graph_breaks(tmp_path, augment):
    from mmpretrain.registry import BATCH_AUGMENTS

    import mmmiamix  # noqa: F401
    if 'PassThrough' not in BATCH_AUGMENTS:
        BATCH_AUGMENTS.register_module(module=PassThrough)
    tmp_path.mkdir()
    path = write_config(tmp_path / 'cfg.py', tmp_path.parent / 'data',
                        batch_size=8,
                        max_epochs=1, augment=augment, plugin=True)
    cfg = Config.fromfile(path)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.compile = dict(backend='aot_eager')
    cfg.train_cfg.val_interval = 100  # no validation
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    counters = torch._dynamo.utils.counters
    torch._dynamo.reset()
    counters.clear()
    Runner.from_cfg(cfg).train()
    return set(counters['graph_break'])


def test_miamix_breaks_the_train_step_once_on_the_cpu(tmp_path):
    make_png_dataset(str(tmp_path / 'data'), num_classes=3, per_class=8)
    base = _graph_breaks(tmp_path / 'base', dict(type='PassThrough'))
    cpu = _graph_breaks(tmp_path / 'cpu', dict(type='MiAMix'))
    added = cpu - base
    assert len(added) == 1 and 'disable' in next(iter(added)), added
    torch._dynamo.reset()


def test_traced_whole_the_call_is_one_graph(monkeypatch):
    """Where the call is traced (a GPU), the front door, the draws, the
    masks and the blend make one graph: ``fullgraph=True`` raises on any
    break. And the compiled call gives the eager call's values."""
    from mmmiamix.core import MiAMix
    monkeypatch.setattr(host, 'traced_whole', lambda device: True)
    aug = MiAMix(prob=0.8, label_smoothing=0.1, num_classes=5)
    x, y = torch.rand(8, 3, 16, 16), torch.arange(8) % 5
    torch._dynamo.reset()
    compiled = torch.compile(aug, fullgraph=True, backend='eager')
    torch.manual_seed(0)
    got = compiled(x, y)
    torch.manual_seed(0)
    want = aug(x, y)
    torch.testing.assert_close(got[0], want[0])
    torch.testing.assert_close(got[1], want[1])
    torch._dynamo.reset()


def test_single_method_augments_are_traced_on_the_cpu_too():
    """They compile in seconds and run faster compiled: one graph, no
    break; MiAMix and FMix, slower compiled on the CPU, break there."""
    from mmmiamix.core import FMix, GMix, MiAMix, ResizeMix
    x, y = torch.rand(8, 3, 16, 16), torch.eye(8)
    for aug in (GMix(), ResizeMix()):
        torch._dynamo.reset()
        torch.compile(aug, fullgraph=True, backend='eager')(x, y)
    for aug in (MiAMix(), FMix()):
        torch._dynamo.reset()
        with pytest.raises(Exception, match='disable'):
            torch.compile(aug, fullgraph=True, backend='eager')(x, y)
    torch._dynamo.reset()
