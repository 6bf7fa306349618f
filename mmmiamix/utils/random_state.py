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

Generators *not* covered: ``torch.Generator`` objects created by user code,
generators of other accelerators (MPS, XPU), and those of DataLoader worker
processes (see ``docs/faults.md``).
"""
import random
from typing import Optional

import numpy as np
import torch

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
