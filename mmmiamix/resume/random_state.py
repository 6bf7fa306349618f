"""Capture and restore the process-wide random generators.

:func:`capture_random_state` returns the state of every generator the
augments, the model and a data pipeline running in the main process draw
from: torch's CPU generator, the current CUDA device's generator (if CUDA is
initialised), numpy's global ``RandomState`` and Python's ``random``. The
result holds only tensors, ints, floats, strings, ``None`` and dicts, so it
can go into a checkpoint that loads with ``torch.load(weights_only=True)``
and no extra allow-list. :func:`restore_random_state` puts such a state
back (tensors may come back on another device, e.g. through mmengine's
``map_location``).

DataLoader worker processes have generators of their own, which the main
process cannot save: :func:`wrap_pipelines` wraps a dataset's pipeline in
:class:`EpochSeededPipeline`, which reseeds each worker at the start of an
epoch from ``(seed, rank, epoch, worker id)``.

Generators *not* covered: ``torch.Generator`` objects created by user code
and generators of other accelerators (MPS, XPU) (see ``docs/faults.md``).
Importing this module changes nothing.
"""
import random
from typing import Optional

import numpy as np
import torch
from torch.utils.data import get_worker_info

STATE_VERSION = 1


def _numpy_state() -> dict:
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    return dict(
        bit_generator=str(name),
        keys=torch.from_numpy(np.asarray(keys, dtype=np.int64)),
        pos=int(pos),
        has_gauss=int(has_gauss),
        cached_gaussian=float(cached))


def _python_state() -> dict:
    version, internal, gauss_next = random.getstate()
    return dict(
        version=int(version),
        state=torch.tensor(internal, dtype=torch.int64),
        gauss_next=None if gauss_next is None else float(gauss_next))


def capture_random_state() -> dict:
    """The state of torch (CPU, current CUDA device), numpy and Python RNGs.

    Returns a dict: ``torch_cpu`` (uint8 tensor), ``torch_cuda`` (uint8
    tensor or ``None``), ``cuda_device`` (int or ``None``), ``numpy`` and
    ``python`` (dicts of tensors and numbers), ``version``.
    """
    state = dict(
        version=STATE_VERSION,
        torch_cpu=torch.get_rng_state(),
        torch_cuda=None,
        cuda_device=None,
        numpy=_numpy_state(),
        python=_python_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda_device'] = int(torch.cuda.current_device())
        state['torch_cuda'] = torch.cuda.get_rng_state(state['cuda_device'])
    return state


def restore_random_state(state: dict) -> Optional[str]:
    """Restore a state from :func:`capture_random_state`.

    Returns ``None``, or a message saying what could not be restored (a
    CUDA state without CUDA here). Raises ``ValueError`` for a dict that is
    not such a state.
    """
    if not isinstance(state, dict) or state.get('version') != STATE_VERSION:
        raise ValueError(
            'state must be a dict from capture_random_state (version '
            f'{STATE_VERSION}), got {type(state).__name__} with version '
            f'{getattr(state, "get", lambda k: None)("version")!r}')
    note = None
    torch.set_rng_state(state['torch_cpu'].detach().to('cpu', torch.uint8))
    if state.get('torch_cuda') is not None:
        if torch.cuda.is_available():
            torch.cuda.set_rng_state(
                state['torch_cuda'].detach().to('cpu', torch.uint8),
                torch.cuda.current_device())
        else:
            note = ('the checkpoint holds a CUDA random state but CUDA is '
                    'not available: only the CPU, numpy and Python states '
                    'were restored')
    npst = state['numpy']
    np.random.set_state(
        (npst['bit_generator'],
         npst['keys'].detach().cpu().numpy().astype(np.uint32),
         int(npst['pos']), int(npst['has_gauss']),
         float(npst['cached_gaussian'])))
    pyst = state['python']
    random.setstate((int(pyst['version']),
                     tuple(int(v) for v in pyst['state'].tolist()),
                     pyst['gauss_next']))
    return note


def _reseed(*entropy: int) -> None:
    state = np.random.SeedSequence([int(e) for e in entropy]).generate_state(
        4, np.uint32)
    np.random.seed(state)
    random.seed(int(state[0]) << 32 | int(state[1]))
    torch.manual_seed(int(state[2]) << 32 | int(state[3]))


class EpochSeededPipeline:
    """A dataset pipeline whose DataLoader workers reseed once per epoch.

    In a DataLoader worker, the first call of each epoch (read from the
    shared one-element int64 tensor ``epoch``) reseeds torch, numpy and
    Python ``random`` from ``(seed, rank, epoch, worker id)``; then the
    wrapped ``pipeline`` runs. In the main process (``num_workers=0``) it
    only runs ``pipeline``. Attributes of the wrapped pipeline (e.g.
    ``transforms``) are reachable through the wrapper.
    """

    def __init__(self, pipeline, seed: int, rank: int, epoch: torch.Tensor):
        self.pipeline = pipeline
        self.seed = int(seed)
        self.rank = int(rank)
        self.epoch = epoch
        self._seen = None

    def __call__(self, data):
        info = get_worker_info()
        if info is not None:
            epoch = int(self.epoch[0])
            if epoch != self._seen:
                self._seen = epoch
                _reseed(self.seed, self.rank, epoch, info.id)
        return self.pipeline(data)

    def __getattr__(self, name):
        if name == 'pipeline':  # not set yet (e.g. while unpickling)
            raise AttributeError(name)
        return getattr(self.pipeline, name)

    def __repr__(self):
        return f'EpochSeededPipeline({self.pipeline!r})'


def wrap_pipelines(dataset, seed: int, rank: int, epoch: torch.Tensor,
                   _depth: int = 0) -> int:
    """Wrap the ``pipeline`` of ``dataset`` (and of the datasets it wraps:
    ``.dataset``, ``.datasets``) in :class:`EpochSeededPipeline`; return how
    many were wrapped (already wrapped ones count)."""
    if dataset is None or _depth > 8:
        return 0
    count = 0
    pipeline = getattr(dataset, 'pipeline', None)
    if isinstance(pipeline, EpochSeededPipeline):
        count += 1
    elif callable(pipeline):
        dataset.pipeline = EpochSeededPipeline(pipeline, seed, rank, epoch)
        count += 1
    count += wrap_pipelines(
        getattr(dataset, 'dataset', None), seed, rank, epoch, _depth + 1)
    for inner in getattr(dataset, 'datasets', None) or []:
        count += wrap_pipelines(inner, seed, rank, epoch, _depth + 1)
    return count
