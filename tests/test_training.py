"""End to end through mmengine's Runner, and per-rank randomness."""
import math
import os
import os.path as osp
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.config import Config
from mmengine.runner import Runner

from tinydata import make_png_dataset, write_config


def train_one_epoch(tmp_path, augment, edit=None):
    data = tmp_path / 'data'
    make_png_dataset(str(data), num_classes=3, per_class=8)
    path = write_config(tmp_path / 'cfg.py', data, batch_size=8, max_epochs=1,
                        augment=augment, plugin=True)
    cfg = Config.fromfile(path)
    cfg.work_dir = str(tmp_path / 'work')
    if edit is not None:
        edit(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss)
    assert osp.isfile(osp.join(cfg.work_dir, 'epoch_1.pth'))
    return runner


@pytest.mark.parametrize('augment', [
    dict(type='AGMix', alpha=1.0),
    dict(type='MiAMix'),
])
def test_one_epoch_with_batch_augment(tmp_path, augment):
    runner = train_one_epoch(tmp_path, augment)
    assert type(runner.model.data_preprocessor.batch_augments.augments[0]
                ).__name__ == augment['type']


def test_two_view_preprocessor_with_multiview(tmp_path):
    """MultiView(num_views=2) in the pipeline, TwoViewClsDataPreprocessor
    hands both views to MiAMix; one epoch through the Runner."""
    seen = {}

    def edit(cfg):
        cfg.model.data_preprocessor.type = 'TwoViewClsDataPreprocessor'
        cfg.train_dataloader.dataset.pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='MultiView', num_views=2, transforms=[[
                dict(type='RandomCrop', crop_size=32, padding=4),
                dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            ]]),
            dict(type='PackInputs'),
        ]

    from mmmiamix.models import MiAMix
    original = MiAMix.__call__

    def spy(self, inputs, batch_score, *, second_view=None, generator=None):
        seen['second_view'] = second_view
        seen['inputs'] = inputs
        return original(self, inputs, batch_score, second_view=second_view,
                        generator=generator)

    MiAMix.__call__ = spy
    try:
        train_one_epoch(tmp_path, dict(type='MiAMix'), edit)
    finally:
        MiAMix.__call__ = original
    assert seen['second_view'] is not None
    assert seen['second_view'].shape == seen['inputs'].shape
    assert not torch.equal(seen['second_view'], seen['inputs'])


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _rank_worker(rank, world, port, diff_rank_seed, out):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    from mmengine.runner import set_random_seed

    from mmmiamix.core import MiAMix
    set_random_seed(0, diff_rank_seed=diff_rank_seed)
    x = torch.rand(1, 3, 16, 16).expand(8, 3, 16, 16).contiguous()
    torch.manual_seed(torch.initial_seed())  # as the Runner leaves it
    d = MiAMix().explain(x, torch.eye(8))
    keeps = [torch.zeros_like(d['keep']) for _ in range(world)]
    dist.all_gather(keeps, d['keep'])
    if rank == 0:
        torch.save(torch.stack(keeps), out)
    dist.destroy_process_group()


@pytest.mark.parametrize('diff_rank_seed', [True, False])
def test_ranks_draw_different_masks(tmp_path, diff_rank_seed):
    """mmengine's diff_rank_seed gives each rank its own masks; without it
    every rank draws the same ones."""
    out = str(tmp_path / 'keeps.pt')
    mp.start_processes(_rank_worker, args=(2, _free_port(), diff_rank_seed,
                                           out), nprocs=2,
                       start_method='spawn')
    keeps = torch.load(out)
    same = torch.equal(keeps[0], keeps[1])
    assert same != diff_rank_seed
