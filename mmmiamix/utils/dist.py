"""Distributed launch helpers: gloo on machines without CUDA, seeding checks.

mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device`` for the
``pytorch``, ``slurm`` and ``mpi`` launchers, and ``Runner.wrap_model`` passes
``device_ids=[LOCAL_RANK]`` to DDP; both fail without CUDA, and neither can be
switched off through ``env_cfg``. :func:`setup_cpu_distributed` therefore
initialises the default process group itself with the ``gloo`` backend (the
Runner skips ``init_dist`` when a process group already exists) and makes the
model wrapper build DDP with ``device_ids=None``.
"""
import datetime
import os
import subprocess
import warnings

import torch
import torch.distributed as torch_dist


def _env_from_launcher(launcher, port=None):
    """Fill RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT for a launcher."""
    env = os.environ
    if launcher == 'pytorch':
        for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
            if key not in env:
                raise KeyError(
                    f'--launcher pytorch needs ${key} (set by torchrun; use '
                    'tools/dist_train.sh)')
        env.setdefault('LOCAL_RANK', '0')
    elif launcher == 'slurm':
        proc_id = int(env['SLURM_PROCID'])
        env['RANK'] = str(proc_id)
        env['WORLD_SIZE'] = env['SLURM_NTASKS']
        env['LOCAL_RANK'] = env.get('SLURM_LOCALID', '0')
        if port is not None:
            env['MASTER_PORT'] = str(port)
        env.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in env:
            node_list = env['SLURM_NODELIST']
            env['MASTER_ADDR'] = subprocess.getoutput(
                f'scontrol show hostname {node_list} | head -n1')
    elif launcher == 'mpi':
        env['RANK'] = env['OMPI_COMM_WORLD_RANK']
        env['WORLD_SIZE'] = env['OMPI_COMM_WORLD_SIZE']
        env['LOCAL_RANK'] = env.get('OMPI_COMM_WORLD_LOCAL_RANK', '0')
        env.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in env:
            raise KeyError('The environment variable MASTER_ADDR is not set')
    else:
        raise ValueError(f'Invalid launcher type: {launcher}')
    return int(env['RANK']), int(env['WORLD_SIZE'])


def setup_cpu_distributed(cfg, launcher):
    """Initialise gloo and patch ``cfg`` for distributed runs without CUDA.

    Does nothing (returns ``False``) for ``launcher='none'``, when CUDA is
    available (mmengine's own NCCL path is used) or when a process group
    already exists. Otherwise it:

    * initialises the default process group with ``backend='gloo'`` from the
      launcher's environment (torchrun: ``RANK``/``WORLD_SIZE``/
      ``MASTER_ADDR``/``MASTER_PORT``; slurm: ``SLURM_*``; mpi: ``OMPI_*``)
      and ``env_cfg.dist_cfg.timeout`` if given;
    * sets ``cfg.env_cfg.dist_cfg.backend = 'gloo'``;
    * sets ``cfg.model_wrapper_cfg`` to ``MMDistributedDataParallel`` with
      ``device_ids=None`` (keeping any other wrapper options of the config).

    Returns ``True`` if it initialised the process group.
    """
    if launcher in (None, 'none') or torch.cuda.is_available():
        return False
    if torch_dist.is_available() and torch_dist.is_initialized():
        return False
    env_cfg = cfg.get('env_cfg') or {}
    dist_cfg = dict(env_cfg.get('dist_cfg') or {})
    rank, world_size = _env_from_launcher(launcher, dist_cfg.get('port'))
    kwargs = {}
    if dist_cfg.get('timeout') is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
    torch_dist.init_process_group(
        backend='gloo',
        init_method='env://',
        rank=rank,
        world_size=world_size,
        **kwargs)

    dist_cfg['backend'] = 'gloo'
    dist_cfg.pop('port', None)
    if cfg.get('env_cfg') is None:
        cfg.env_cfg = dict()
    cfg.env_cfg.dist_cfg = dist_cfg

    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    else:
        wrapper.setdefault('type', 'MMDistributedDataParallel')
        wrapper['device_ids'] = None
    return True


def _batch_augments(cfg):
    model = cfg.get('model') or {}
    pre = model.get('data_preprocessor') or {}
    aug = pre.get('batch_augments') if hasattr(pre, 'get') else None
    if aug is None:  # mmpretrain 0.x style: model.train_cfg.augments
        train_cfg = model.get('train_cfg') or {}
        aug = train_cfg.get('augments') if hasattr(train_cfg, 'get') else None
    return aug


def check_rank_seed(cfg, world_size, logger=None):
    """Warn when several ranks would draw the same random masks.

    With ``world_size > 1`` and a batch augment configured, every rank must
    get its own seed (``randomness=dict(..., diff_rank_seed=True)``), else
    all ranks draw identical mixing ratios and masks. Returns ``True`` when
    the setting is fine.
    """
    if world_size <= 1 or _batch_augments(cfg) is None:
        return True
    randomness = cfg.get('randomness') or {}
    if randomness.get('diff_rank_seed', False):
        return True
    msg = (f'{world_size} ranks with a batch augment but '
           'randomness.diff_rank_seed is not True: every rank will draw the '
           'same mixing ratios and masks. Set randomness=dict(seed=..., '
           'diff_rank_seed=True) in the config or pass --cfg-options '
           'randomness.diff_rank_seed=True.')
    if logger is not None:
        logger.warning(msg)
    else:
        warnings.warn(msg)
    return False


def teardown_distributed():
    """Wait for every rank, then destroy the process group.

    Leaving a gloo group to the interpreter's exit can abort a rank
    (``terminate called without an active exception``) after the work is
    done; an orderly shutdown avoids it. A no-op without a process group.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
