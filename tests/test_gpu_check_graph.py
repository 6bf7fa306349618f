"""The CUDA-graph check of tools/gpu_check.py on a CPU: its logic runs with
stand-ins for the capture (a replay is a call), so that a replay that
repeats its masks, or one that does not follow the generator state, is
reported as such; without CUDA the check is skipped with its reason."""
import importlib.util
import os.path as osp

import pytest
import torch

from mmmiamix.core import MiAMix
from mmmiamix.experiments import cuda_graph
from mmmiamix.experiments.benchmarks import make_batch

TOOLS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools')


def _tool():
    spec = importlib.util.spec_from_file_location(
        'gpu_check', osp.join(TOOLS, 'gpu_check.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _setup(seed=0):
    torch.manual_seed(seed)
    x, y = make_batch(4, 16, 16, 'cpu')
    aug = MiAMix()
    x0, static = x.clone(), x.clone()

    def refill():
        static.copy_(x0)

    return aug, static, y, refill


def _live_capture(call):
    """A replay that runs the call again and writes its static outputs,
    as a graph replay does."""
    outputs = tuple(t.clone() for t in call())

    def replay():
        for out, new in zip(outputs, call()):
            out.copy_(new)
    return replay, outputs


def _frozen_capture(call):
    """A broken graph: every replay repeats the captured draws."""
    outputs = tuple(t.clone() for t in call())
    return (lambda: None), outputs


def _state():
    return torch.get_rng_state, torch.set_rng_state


def test_a_working_replay_is_reported_as_such():
    aug, x, y, refill = _setup()
    get, put = _state()
    r = cuda_graph.graph_report(lambda: aug(x, y), refill, _live_capture,
                                get, put, timer=lambda fn: 1.5)
    assert r['new_masks'] is True and r['equals_eager'] is True
    assert r['max_abs_diff'] == 0.0
    assert r['replay_ms'] == r['eager_ms'] == 1.5


def test_repeated_masks_are_caught():
    aug, x, y, refill = _setup()
    get, put = _state()
    r = cuda_graph.graph_report(lambda: aug(x, y), refill, _frozen_capture,
                                get, put, timer=lambda fn: 1.0)
    assert r['new_masks'] is False
    # the frozen replay holds the capture's draws, not the state's
    assert r['equals_eager'] is False and r['max_abs_diff'] > 0


def test_a_replay_off_the_generator_state_is_caught():
    aug, x, y, refill = _setup()
    # the eager call starts from a state other than the replay's
    r = cuda_graph.graph_report(lambda: aug(x, y), refill, _live_capture,
                                torch.get_rng_state,
                                lambda state: torch.manual_seed(123),
                                timer=lambda fn: 1.0)
    assert r['new_masks'] is True and r['equals_eager'] is False


def test_inputs_are_refilled_before_each_replay():
    """A call that mixes into its input: every replay and the eager call
    start from the same static batch, so they agree."""
    x0 = torch.zeros(3)
    x = x0.clone()

    def refill():
        x.copy_(x0)

    def call():
        x.add_(1)
        return (x, )

    get, put = _state()
    r = cuda_graph.graph_report(call, refill, _live_capture, get, put,
                                timer=lambda fn: 0.1)
    assert r['equals_eager'] is True and r['new_masks'] is False


def test_compare():
    a = (torch.zeros(2), torch.ones(2))
    b = (torch.ones(2), torch.ones(2))
    assert cuda_graph.compare(a, b, a) == dict(
        new_masks=True, equals_eager=True, max_abs_diff=0.0)
    assert cuda_graph.compare(a, a, b) == dict(
        new_masks=False, equals_eager=False, max_abs_diff=1.0)


def test_skipped_without_cuda(monkeypatch):
    x, y = make_batch(2, 8, 8, 'cpu')
    assert cuda_graph.check_cuda_graph(MiAMix(), x, y, 'cpu') == dict(
        skipped=cuda_graph.NO_CUDA)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert 'skipped' in cuda_graph.check_cuda_graph(MiAMix(), x, y, 'cuda')
    tool = _tool()
    graph = tool.check_graph(torch.device('cpu'), quick=True)
    assert graph == dict(skipped=cuda_graph.NO_CUDA)
    assert tool.graph_lines(graph) == [
        '', f'CUDA graph of one call: {cuda_graph.NO_CUDA}.']


def test_custom_generator_error_is_clear():
    msg = cuda_graph.custom_generator_error(
        RuntimeError('Attempted to capture with an unregistered generator\n'
                     'more'), version='2.4.0')
    assert msg.startswith('RuntimeError: Attempted to capture with an '
                          'unregistered generator (')
    assert 'register_generator_state' in msg and 'torch 2.4.0' in msg
    assert 'more' not in msg


def test_markdown_rows():
    tool = _tool()
    ok = dict(new_masks=True, equals_eager=True, max_abs_diff=0.0,
              replay_ms=0.1, eager_ms=0.3)
    bad = dict(ok, new_masks=False, equals_eager=False, max_abs_diff=0.5)
    lines = tool.graph_lines(dict(ok, shape='8x3x32x32',
                                  custom_generator=dict(error='E: no')))
    assert lines[3] == '| default generator | yes | yes (0) | 0.100 | 0.300 |'
    assert lines[4] == '| custom generator | **error**: E: no | | | |'
    lines = tool.graph_lines(dict(bad, shape='8x3x32x32',
                                  custom_generator=bad))
    assert lines[3].startswith('| default generator | **no** | **no** (0.5)')


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_on_cuda():
    x, y = make_batch(8, 32, 32, 'cuda')
    r = cuda_graph.check_cuda_graph(MiAMix(), x, y, 'cuda',
                                    min_run_time=0.05)
    assert r['new_masks'] and r['equals_eager']
    custom = r['custom_generator']
    assert 'error' in custom or (custom['new_masks']
                                 and custom['equals_eager'])
