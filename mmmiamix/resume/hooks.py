"""Hooks for an exact and safe ``--resume`` (registered in mmpretrain's HOOKS).

* :class:`RandomStateHook` saves the random state of every rank in each
  checkpoint and restores it on resume, so that training N epochs, or N/2
  epochs then ``--resume``, draws the same masks, ratios and partners.
* :class:`SafeCheckpointHook` makes the checkpoints atomic and digested,
  checks them when they are loaded, and lets ``--resume`` (auto) fall back
  to the newest intact checkpoint.

``configs/_base_/default_runtime.py`` enables both; ``tools/train.py`` adds
them to configs that do not list them. What is and is not guaranteed:
``docs/faults.md``.

Importing this module registers the two classes in mmpretrain's ``HOOKS``
(as every module of the mm layer registers its classes), so that configs
name them by type; it installs nothing else. ``SafeCheckpointHook``
installs the allow-list, the checked loader and the atomic file backend
when it is built, not on import.
"""
import os.path as osp
from typing import Optional

import torch
from mmengine.dist import (
    all_gather_object,
    broadcast_object_list,
    get_rank,
    get_world_size,
    is_main_process,
)
from mmengine.hooks import CheckpointHook, Hook
from mmpretrain.registry import HOOKS

from .allow_list import setup_torch_load_compat
from .choice import find_resume_checkpoint
from .loading import install_safe_loader
from .random_state import (
    capture_random_state,
    restore_random_state,
    wrap_pipelines,
)
from .saving import (
    BACKEND_NAME,
    register_atomic_backend,
    remove_stale_temporaries,
)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the random state of every rank in checkpoints; restore it on
    resume.

    At the end of every training epoch (before CheckpointHook saves) the
    hook captures torch's CPU and current-CUDA-device generators, numpy's
    and Python's global generators and the training sampler's seed
    (:func:`mmmiamix.resume.random_state.capture_random_state`), gathers
    them from all ranks and stores them in the epoch's checkpoint under
    ``checkpoint['random_states']`` (one entry per rank; tensors and numbers
    only, so ``weights_only=True`` loading needs no allow-list). At the
    start of the next epoch it restores this rank's state: after a resume
    from that checkpoint, and also in an uninterrupted run, so that
    whatever ran in between (validation, other hooks, the runner's set-up
    after a resume) does not shift the training stream. Hence N epochs and
    N/2 epochs + ``--resume`` see the same random numbers in the main
    process.

    DataLoader workers (``num_workers > 0``) run the data pipeline in other
    processes, whose generators the main process cannot save; persistent
    workers would continue their streams across epochs but restart them on
    resume. With ``seed_workers=True`` the hook therefore wraps the training
    dataset's ``pipeline``
    (:class:`~mmmiamix.resume.random_state.EpochSeededPipeline`) so that
    every worker reseeds torch, numpy and Python ``random`` at the start of
    each epoch from ``(seed, rank, epoch, worker id)``: the pipeline's draws
    then depend on the epoch, not on the process history, and resume
    exactly with persistent or non-persistent workers (for a fixed
    ``num_workers``).

    Not covered (see ``docs/faults.md``): checkpoints written in the middle
    of an epoch (iteration-based saving: no state is stored, and resuming
    from one warns), resuming with another number of ranks or workers,
    datasets without a ``pipeline`` attribute (the hook warns).

    Config::

        custom_hooks = [dict(type='RandomStateHook')]

    Args:
        seed_workers (bool): reseed the DataLoader workers per epoch (see
            above). Default True.
    """

    priority = 'VERY_HIGH'
    key = 'random_states'

    def __init__(self, seed_workers: bool = True):
        if not isinstance(seed_workers, bool):
            raise TypeError('seed_workers must be a bool, got '
                            f'{type(seed_workers).__name__}')
        self.seed_workers = seed_workers
        # the epoch, in shared memory for the DataLoader workers (created
        # when the pipeline is wrapped)
        self._epoch: Optional[torch.Tensor] = None
        self._local: Optional[dict] = None  # this rank, end of last epoch
        self._record: Optional[dict] = None  # all ranks, for the checkpoint
        self._loaded: Optional[dict] = None  # from after_load_checkpoint
        self._pending: Optional[dict] = None  # restore at the first iter

    # ----------------------------------------------------------- capture
    @staticmethod
    def _sampler(runner):
        loader = runner.train_dataloader
        return getattr(loader, 'sampler', None)

    def _capture(self, runner) -> dict:
        state = capture_random_state()
        seed = getattr(self._sampler(runner), 'seed', None)
        state['sampler_seed'] = seed if isinstance(seed, int) else None
        return state

    def after_train_epoch(self, runner) -> None:
        self._local = self._capture(runner)
        world_size = get_world_size()
        ranks = all_gather_object(self._local) if world_size > 1 \
            else [self._local]
        # runner.epoch is incremented after this hook: the checkpoint of
        # this epoch carries meta epoch = runner.epoch + 1, iter = runner.iter
        self._record = dict(
            epoch=runner.epoch + 1, iter=runner.iter, world_size=world_size,
            ranks=ranks)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta', {})
        rec = self._record
        if rec is not None and meta.get('epoch') == rec['epoch'] and \
                meta.get('iter') == rec['iter']:
            checkpoint[self.key] = rec

    # ----------------------------------------------------------- restore
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta', {}) if isinstance(checkpoint,
                                                        dict) else {}
        self._loaded = dict(
            epoch=meta.get('epoch'), iter=meta.get('iter'),
            record=checkpoint.get(self.key) if isinstance(checkpoint, dict)
            else None)

    def _restore(self, runner, state: dict) -> None:
        note = restore_random_state(state)
        if note:
            runner.logger.warning(f'RandomStateHook: {note}')
        seed = state.get('sampler_seed')
        sampler = self._sampler(runner)
        if seed is not None and hasattr(sampler, 'seed'):
            sampler.seed = seed

    def _resumed_state(self, runner) -> Optional[dict]:
        """This rank's state from the checkpoint just resumed, if any."""
        loaded, self._loaded = self._loaded, None
        if loaded is None or not runner.iter or \
                runner.iter != loaded['iter'] or \
                runner.epoch != loaded['epoch']:
            return None  # nothing resumed (fresh run, or load_from weights)
        rec = loaded['record']
        if rec is None:
            runner.logger.warning(
                'RandomStateHook: the resumed checkpoint holds no random '
                'states (written without this hook, or in the middle of an '
                'epoch): the random draws restart from the seed, so this '
                'run differs from an uninterrupted one.')
            return None
        if rec['epoch'] != loaded['epoch'] or rec['iter'] != loaded['iter']:
            runner.logger.warning(
                'RandomStateHook: the random states in the resumed '
                f"checkpoint are of epoch {rec['epoch']} / iter "
                f"{rec['iter']}, not of the checkpoint's epoch "
                f"{loaded['epoch']} / iter {loaded['iter']}: not restored.")
            return None
        rank, world_size = get_rank(), get_world_size()
        if rec['world_size'] != world_size:
            runner.logger.warning(
                f"RandomStateHook: the checkpoint was written by "
                f"{rec['world_size']} ranks, this run has {world_size}: "
                'the data split differs, so the run cannot be exact; '
                + ('restoring the state of rank %d.' % rank
                   if rank < len(rec['ranks']) else
                   'this rank keeps its seeded state.'))
        if rank >= len(rec['ranks']):
            return None
        return rec['ranks'][rank]

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        if not self.seed_workers or not getattr(loader, 'num_workers', 0):
            return
        if getattr(loader, '_iterator', None) is not None:
            runner.logger.warning(
                'RandomStateHook: the training DataLoader already has '
                'workers: their random transforms are not reseeded per '
                'epoch, so a resumed run may draw other augmentations.')
            return
        seed = runner.seed if isinstance(runner.seed, int) else 0
        if self._epoch is None:
            self._epoch = torch.zeros(1, dtype=torch.int64).share_memory_()
        wrapped = wrap_pipelines(loader.dataset, seed, get_rank(),
                                 self._epoch)
        if not wrapped:
            runner.logger.warning(
                'RandomStateHook: the training dataset has no `pipeline` '
                'attribute to wrap: the random transforms in its '
                f'{loader.num_workers} DataLoader workers are not reseeded '
                'per epoch, so a resumed run may draw other augmentations '
                '(persistent workers continue their streams across epochs '
                'but restart on resume).')

    def before_train_epoch(self, runner) -> None:
        if self._epoch is not None:
            self._epoch.fill_(int(runner.epoch))  # read by the workers
        state = self._resumed_state(runner)
        if state is not None:
            runner.logger.info(
                f'RandomStateHook: restoring the random state of rank '
                f'{get_rank()} (epoch {runner.epoch}, iter {runner.iter}).')
        elif self._local is not None:
            state = self._local
        if state is None:
            return
        if getattr(runner.train_dataloader, 'num_workers', 0):
            # Restore after `iter(dataloader)`: starting workers draws a
            # base seed from the main generator, which persistent workers
            # do only in the first epoch of a process; the main process
            # runs no pipeline, so nothing else draws before the batch.
            self._pending = state
        else:
            # the main process runs the pipeline: restore before it draws
            self._restore(runner, state)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if self._pending is not None:
            state, self._pending = self._pending, None
            self._restore(runner, state)


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Atomic, digested checkpoints; checked loading; resume fallback.

    * Every local ``CheckpointHook`` of the runner (``backend_args`` unset
      or ``'local'``) saves through the ``'mmmiamix_atomic'`` file backend
      (:func:`mmmiamix.resume.saving.register_atomic_backend`): a
      temporary file in the same folder, ``fsync``, ``os.replace``, and the
      SHA-256 in ``<ckpt>.sha256``. A kill while saving never leaves a
      truncated file under a checkpoint's name. Temporary files left by a
      killed run are removed at the next start.
    * mmengine loads local checkpoints through
      :func:`mmmiamix.resume.loading.load_checkpoint_file` (installed
      when the hook is built): an empty, truncated or altered file raises
      :class:`~mmmiamix.resume.integrity.DamagedCheckpointError` naming
      the file and the problem, instead of loading silently or failing with
      a bare ``EOFError``.
    * ``resume=True`` without a path (``--resume`` auto): if the checkpoint
      ``last_checkpoint`` names is missing or damaged, the run resumes from
      the newest intact earlier one, with a warning naming the damaged
      file(s); with none intact it trains from the start (as mmengine does
      without a checkpoint), again with a warning. An explicit path
      (``--resume PATH``, ``load_from``) is never replaced: a damaged one is
      an error.

    Config::

        custom_hooks = [dict(type='SafeCheckpointHook')]

    Args:
        fallback (bool): fall back to an earlier checkpoint on auto-resume.
            Default True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, fallback: bool = True):
        if not isinstance(fallback, bool):
            raise TypeError(
                f'fallback must be a bool, got {type(fallback).__name__}')
        self.fallback = fallback
        # Installed here, when a config builds the hook, so that a stock
        # tools/train.py gets them too: weights_only=True loading of
        # mmengine's own checkpoints (narrow allow-list), the checked local
        # loader and the atomic file backend that before_train selects.
        setup_torch_load_compat()
        install_safe_loader()
        register_atomic_backend()

    def before_run(self, runner) -> None:
        # mmengine 0.10.7 has no public API to read or change which
        # checkpoint Runner.load_or_resume() will resume once the Runner is
        # built: it reads the private `_resume` and `_load_from`, and a
        # Runner.resume(path) here would be undone by _init_model_weights(),
        # which runs after before_run. So this hook reads and writes those
        # two attributes (and only in this method).
        if not (self.fallback and runner._resume
                and runner._load_from is None):
            return
        choice = [None, []]
        if is_main_process():
            choice = list(find_resume_checkpoint(runner.work_dir))
        if get_world_size() > 1:
            broadcast_object_list(choice, src=0)
        path, damaged = choice
        for bad, problem in damaged:
            runner.logger.warning(
                f'SafeCheckpointHook: skipping damaged checkpoint {bad}: '
                f'{problem}')
        if path is not None:
            if damaged:
                runner.logger.warning(
                    f'SafeCheckpointHook: resuming from {path} instead.')
            runner._load_from = path  # what load_or_resume will resume
        elif damaged:
            runner.logger.warning(
                'SafeCheckpointHook: no intact checkpoint to resume from: '
                'training from the start.')
            runner._resume = False

    def before_train(self, runner) -> None:
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook) or \
                    hook.file_client_args is not None:
                continue
            args = hook.backend_args
            out_dir = hook.out_dir if hook.out_dir is not None \
                else runner.work_dir
            if '://' in str(out_dir):
                continue
            if args is None or args == dict(backend='local'):
                hook.backend_args = dict(backend=BACKEND_NAME)
            if is_main_process():
                folder = runner.work_dir
                if hook.out_dir is not None and hook.out_dir != folder:
                    # CheckpointHook saves to <out_dir>/<work_dir's name>
                    folder = osp.join(
                        hook.out_dir,
                        osp.basename(runner.work_dir.rstrip(osp.sep)))
                for path in remove_stale_temporaries(folder):
                    runner.logger.warning(
                        'SafeCheckpointHook: removed the temporary file '
                        f'{path} of an interrupted save.')
