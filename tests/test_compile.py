"""MiAMix at its defaults under mmengine's ``compile=`` option: the default
``render='auto'`` takes the sync-free path while ``torch.compile`` traces
it, so it adds no graph break to the train step (on the CPU too, where
eager calls take the compact path). The baseline is the same config with a
pass-through batch augment, whose wrapper (mmpretrain's, a numpy draw) and
soft loss break the graph the same way."""
import torch
from mmengine.config import Config
from mmengine.runner import Runner

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
    return sum(counters['graph_break'].values()), dict(
        counters['graph_break'])


def test_default_miamix_adds_no_graph_break(tmp_path):
    make_png_dataset(str(tmp_path / 'data'), num_classes=3, per_class=8)
    base, _ = _graph_breaks(tmp_path / 'base', dict(type='PassThrough'))
    breaks, reasons = _graph_breaks(tmp_path / 'miamix', dict(type='MiAMix'))
    assert breaks == base, reasons
    torch._dynamo.reset()
