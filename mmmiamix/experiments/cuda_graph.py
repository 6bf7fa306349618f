"""One MiAMix call captured in a CUDA graph and replayed
(``tools/gpu_check.py``).

A graph replays the kernels it captured, on the buffers it captured: the
inputs are static tensors refilled before each replay, and the random draws
come from the generator's state at replay time (PyTorch hands the CUDA
generator's seed and offset to the captured kernels). The check asks three
things of it: each replay draws new masks, a replay equals an eager call
made from the same generator state, and what a replay costs beside the
eager call. A custom ``generator`` under capture either works the same way
or fails with its error reported.

The mechanics (capture, generator state, timing) are arguments of
:func:`graph_report`, so that its logic runs on a CPU in the tests with
stand-ins; :func:`check_cuda_graph` binds them to CUDA.
"""
from typing import Callable, Optional

import torch

from ..utils.profiling import timer_ms

NO_CUDA = 'not run: CUDA graphs need a CUDA device'


def compare(first, second, eager) -> dict:
    """Two consecutive replays' outputs and an eager call's, each an
    ``(inputs, scores)`` pair of tensors, the eager one made from the
    generator state of the ``first`` replay. Returns ``new_masks`` (the
    two replays differ), ``equals_eager`` (the first replay equals the
    eager call exactly) and ``max_abs_diff`` (between them)."""
    diff = max(float((a.float() - b.float()).abs().max())
               for a, b in zip(first, eager))
    return dict(new_masks=not all(torch.equal(a, b)
                                  for a, b in zip(first, second)),
                equals_eager=all(torch.equal(a, b)
                                 for a, b in zip(first, eager)),
                max_abs_diff=diff)


def _replay_twice(replay, outputs, refill):
    refill()
    replay()
    first = tuple(t.clone() for t in outputs)
    refill()
    replay()
    return first, tuple(t.clone() for t in outputs)


def graph_report(call: Callable, refill: Callable, capture: Callable,
                 get_state: Callable, set_state: Callable,
                 timer: Callable = timer_ms) -> dict:
    """The check on one captured call.

    ``call()`` runs MiAMix eagerly on the static inputs and returns
    ``(inputs, scores)``; ``refill()`` restores the static inputs;
    ``capture(call)`` returns ``(replay, outputs)``: a function that
    replays the capture and the static output tensors it writes;
    ``get_state()``/``set_state(state)`` read and restore the generator the
    call draws from; ``timer(fn)`` gives ms per call of ``fn()``.
    """
    replay, outputs = capture(call)
    state = get_state()
    first, second = _replay_twice(replay, outputs, refill)
    set_state(state)
    refill()
    eager = tuple(t.clone() for t in call())
    report = compare(first, second, eager)

    def replay_refilled():
        refill()
        replay()

    def eager_refilled():
        refill()
        call()

    report['replay_ms'] = timer(replay_refilled)
    report['eager_ms'] = timer(eager_refilled)
    return report


def _cuda_capture(device, warmup=3):
    def capture(call):
        stream = torch.cuda.Stream(device)
        stream.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(stream):  # warm-up off the capture stream
            for _ in range(warmup):
                call()
        torch.cuda.current_stream(device).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            outputs = call()
        return graph.replay, outputs
    return capture


def _custom_capture(device, generator):
    """Capture with ``generator`` registered where torch can (>= 2.5)."""
    def capture(call):
        graph = torch.cuda.CUDAGraph()
        register = getattr(graph, 'register_generator_state', None)
        if register is not None:
            register(generator)
        stream = torch.cuda.Stream(device)
        stream.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(stream):
            call()
        torch.cuda.current_stream(device).wait_stream(stream)
        with torch.cuda.graph(graph):
            outputs = call()
        return graph.replay, outputs
    return capture


def check_cuda_graph(aug, x, y, device, min_run_time=0.2,
                     custom_generator=True) -> dict:
    """The check for ``aug`` (a MiAMix) on ``x`` (B, 3, H, W) float and
    ``y`` (B, K) float scores on ``device``; ``{'skipped': ...}`` without
    CUDA. With ``custom_generator`` the same under a ``torch.Generator`` of
    the device: its report, or ``{'error': ...}`` naming what failed."""
    device = torch.device(device)
    if device.type != 'cuda' or not torch.cuda.is_available():
        return dict(skipped=NO_CUDA)
    index = device.index if device.index is not None else \
        torch.cuda.current_device()
    default = torch.cuda.default_generators[index]
    x0, static_x = x.clone(), x.clone()

    def refill():
        static_x.copy_(x0)

    def timer(fn):
        return timer_ms(fn, min_run_time)

    report = graph_report(lambda: aug(static_x, y), refill,
                          _cuda_capture(device), default.get_state,
                          default.set_state, timer)
    if custom_generator:
        report['custom_generator'] = _check_custom(aug, static_x, y, refill,
                                                   device, timer)
    return report


def _check_custom(aug, static_x, y, refill, device, timer) -> dict:
    gen = torch.Generator(device=device).manual_seed(0)
    try:
        return graph_report(lambda: aug(static_x, y, generator=gen), refill,
                            _custom_capture(device, gen), gen.get_state,
                            gen.set_state, timer)
    except Exception as e:  # the report names it; nothing else depends on it
        return dict(error=custom_generator_error(e))


def custom_generator_error(exc: BaseException,
                           version: Optional[str] = None) -> str:
    """What the report says when capturing with a custom generator failed."""
    version = version or torch.__version__
    first = (str(exc).strip().splitlines() or [''])[0]
    return (f'{type(exc).__name__}: {first} (a custom torch.Generator under '
            'CUDA-graph capture must be registered with '
            'CUDAGraph.register_generator_state, torch >= 2.5; this is '
            f'torch {version}; the default generator works without it)')
