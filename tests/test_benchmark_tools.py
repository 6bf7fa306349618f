"""tools/benchmark_mixing.py --ops-only and tools/gpu_check.py, on CPU in
seconds (small batches, few repeats): the report's content, the sync
accounting, and verdicts that follow the numbers (a target measured past
its bound reads MISSED, within it MET)."""
import importlib.util
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

from mmmiamix.experiments import benchmarks

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOLS = osp.join(REPO, 'tools')

SYNC_FREE = 'MiAMix (sync-free path)'
AUGMENTS = ('MiAMix (defaults)', SYNC_FREE, 'FMix', 'GridMix', 'GMix',
            'AGMix', 'SaliencyMix', 'SmoothMix', 'ResizeMix',
            'mmpretrain Mixup', 'mmpretrain CutMix')


def run(args, **env):
    full = dict(os.environ, OMP_NUM_THREADS='1')
    full['PYTHONPATH'] = REPO + os.pathsep + full.get('PYTHONPATH', '')
    full.update(env)
    proc = subprocess.run([sys.executable] + args, cwd=REPO, env=full,
                          capture_output=True, text=True, timeout=180)
    return proc.returncode, proc.stdout, proc.stderr


def test_benchmark_ops_only(tmp_path):
    out = tmp_path / 'ops.json'
    rc, stdout, stderr = run([osp.join(TOOLS, 'benchmark_mixing.py'),
                              '--ops-only', '--quick', '--device', 'cpu',
                              '--out', str(out)])
    assert rc == 0, stderr[-3000:]
    # one markdown row per augment: name, ops, host ms, syncing ops
    for name in AUGMENTS:
        row = re.search(r'^\| ' + re.escape(name) + r' \| ([\d,]+)'
                        r'(?: – ([\d,]+))? \| ([\d.]+) \| (.+) \|$',
                        stdout, re.M)
        assert row, f'no row for {name}:\n{stdout}'
    # the slow tables are not run with --ops-only
    assert 'reference loop' not in stdout and 'training step' not in stdout
    res = json.loads(out.read_text())['devices']['cpu']['ops']
    assert set(res['small']) == set(AUGMENTS)
    for name, r in res['small'].items():
        assert r['min'] <= r['max'] and r['min'] > 0, name
        assert r['host_ms'] > 0
        assert r['max'] == max(r['counts']) and len(r['counts']) == 2
    # mmpretrain's Mixup is a handful of ops (9 when this was written)
    assert res['small']['mmpretrain Mixup']['max'] < 20
    # the sync-free path records no syncing op at any size
    dense = res['scaling'][SYNC_FREE]
    assert set(dense) == {'8x3x32x32', '100x3x32x32'}
    assert all(r['sync'] == [] for r in dense.values())
    assert res['small'][SYNC_FREE]['sync'] == []
    # counted on meta tensors, the GPU's path: no CPU-only host read, and
    # fewer ops than the CPU's own path (separable boxes, band select)
    assert res['small']['MiAMix (defaults)']['sync'] != []
    assert dense['8x3x32x32']['max'] < \
        res['scaling']['MiAMix (defaults)']['8x3x32x32']['max']
    assert res['checks']['sync_free'] is True
    assert res['checks']['ops_max'] == max(r['max'] for r in dense.values())
    assert res['checks']['ops_le_300'] == (res['checks']['ops_max'] <= 300)
    # the printed verdicts are those of the numbers in the JSON
    rows = dict(re.findall(r'^\| (ops per call <= 300|host time at 8x3x32x32'
                           r' <= 2.0 ms|no syncing op in a call)[^|]* \|'
                           r'[^|]*\| (MET|MISSED) \|$', stdout, re.M))
    checks = res['checks']
    assert rows == {
        'ops per call <= 300': 'MET' if checks['ops_max'] <= 300 else
        'MISSED',
        'host time at 8x3x32x32 <= 2.0 ms': 'MET' if checks['host_ms_8x32']
        <= 2.0 else 'MISSED',
        'no syncing op in a call': 'MET'}
    assert f"| {checks['ops_max']:,} (most) |" in stdout


def _free(*counts, sync=()):
    return {f'{i}x3x32x32': dict(min=min(c), max=max(c), counts=list(c),
                                 sync=list(sync))
            for i, c in enumerate(counts)}


def test_targets_met_and_missed():
    """The same report met and missed: one op too many, a host time past
    2 ms, one syncing op, an op count that moves with the batch."""
    name = 'dense'
    small = {name: dict(host_ms=1.9, sync=[])}
    met = benchmarks.ops_checks(small, _free((300, 300), (300, )), name)
    assert met == dict(ops_max=300, ops_le_300=True, ops_constant=True,
                       host_ms_8x32=1.9, host_ms_le_2=True, sync_free=True)
    assert [r[2] for r in benchmarks.target_rows(met)] == [
        'MET', '—', 'MET', 'MET']
    slow = {name: dict(host_ms=2.1, sync=[])}
    missed = benchmarks.ops_checks(slow, _free((300, ), (301, )), name)
    assert (missed['ops_max'], missed['ops_constant']) == (301, False)
    rows = benchmarks.target_rows(missed)
    assert [r[2] for r in rows] == ['MISSED', '—', 'MISSED', 'MET']
    assert rows[0][1] == '301 (most)' and rows[1][1] == 'no'
    assert rows[2][1] == '2.10 ms'
    synced = benchmarks.ops_checks(small, _free((10, ), sync=['nonzero']),
                                   name)
    assert benchmarks.target_rows(synced)[3] == (
        'no syncing op in a call', 'some', 'MISSED')
    small_sync = {name: dict(host_ms=1.0, sync=['item'])}
    assert not benchmarks.ops_checks(small_sync, _free((10, )),
                                     name)['sync_free']


@pytest.mark.parametrize('value, op, target, expect', [
    (1.0, '<=', 1.0, 'MET'), (1.0001, '<=', 1.0, 'MISSED'),
    (10.0, '>=', 10.0, 'MET'), (9.99, '>=', 10.0, 'MISSED'),
    (float('nan'), '<=', 1.0, 'n/a'), (None, '<=', 1.0, 'n/a'),
    (1.0, '<=', None, 'n/a')])
def test_verdict(value, op, target, expect):
    assert benchmarks.verdict(value, op, target) == expect


def test_gpu_check_logic_on_cpu(tmp_path):
    out = tmp_path / 'gpu.json'
    rc, stdout, stderr = run([osp.join(TOOLS, 'gpu_check.py'), '--device',
                              'cpu', '--quick', '--out', str(out)])
    assert rc == 0, stderr[-3000:]
    block = stdout.split('----- paste into docs/benchmarks.md -----')[1]
    block = block.split('----- end -----')[0]
    printed = json.loads(block.split('```json')[1].split('```')[0])
    report = json.loads(out.read_text())
    assert set(report) == set(printed) == {'env', 'calls', 'training',
                                           'graph', 'compiled', 'wall_s'}
    assert report['compiled'] == []  # not with --quick
    assert 'skipped' in report['graph']  # CUDA graphs need CUDA
    assert report['env']['device'] == 'cpu' and report['env']['quick']
    assert report['env']['mmmiamix'] == 'mmmiamix'  # this checkout's code
    assert [c['shape'] for c in report['calls']] == ['4x3x64x64',
                                                     '8x3x32x32']
    for c in report['calls']:
        assert c['sync'] is None  # set_sync_debug_mode is CUDA's only
        assert c['cuda_ms'] is None and c['wall_ms'] > 0
        assert isinstance(c['ops'], int) and c['ops'] > 0
        assert isinstance(c['sync_ops'], list) and c['floor_ms'] > 0
        assert sum(c['top_ops'].values()) <= c['ops']
    tr = report['training']
    assert tr['batch'] == 8 and tr['repeats'] == 2
    pairs = sorted(m / v for m, v in zip(tr['miamix_all'],
                                         tr['vanilla_all']))
    assert len(pairs) == 2  # the median of the pairs' ratios
    assert tr['ratio_measured'] == pytest.approx((pairs[0] + pairs[1]) / 2,
                                                 rel=1e-3)  # 4 digits
    assert '| 8×3×32×32 | not checked (CPU) |' in block
    assert 'training step, ResNet-18 CIFAR, batch 8' in block


def test_gpu_check_needs_cuda():
    # with no visible GPU the default (--device cuda) must refuse clearly
    rc, stdout, stderr = run([osp.join(TOOLS, 'gpu_check.py')],
                             CUDA_VISIBLE_DEVICES='')
    assert rc == 2
    assert 'no CUDA device' in stderr and '--device cpu --quick' in stderr
    assert 'paste into' not in stdout


def test_gpu_check_reports_a_sync(monkeypatch, capsys):
    """A call that synced gives exit status 1 and the message in the table
    (the sync check itself needs CUDA; its outcome is simulated here)."""
    spec = importlib.util.spec_from_file_location(
        'gpu_check', osp.join(TOOLS, 'gpu_check.py'))
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    failure = dict(sync_free=False, error='called a synchronizing CUDA '
                   'operation', where='mmmiamix/core/miamix.py:1 in f')
    monkeypatch.setattr(gpu_check, 'check_sync', lambda *a: failure)
    monkeypatch.setattr(gpu_check, 'SHAPES_QUICK', ((2, 3, 16, 16), ))
    monkeypatch.setattr(gpu_check, 'check_training', lambda *a: dict(
        batch=2, repeats=1, vanilla_ms=1.0, miamix_ms=1.5,
        ratio_measured=1.5, miamix_call_ms=0.5, ratio_components=1.5))
    monkeypatch.setattr(gpu_check, 'check_graph', lambda *a: dict(
        skipped='not run'))
    assert gpu_check.main(['--device', 'cpu', '--quick']) == 1
    out = capsys.readouterr().out
    assert ('| 2×3×16×16 | **called a synchronizing CUDA operation** at '
            '`mmmiamix/core/miamix.py:1 in f` |') in out
    monkeypatch.setattr(gpu_check, 'check_sync', lambda *a: None)
    assert gpu_check.main(['--device', 'cpu', '--quick']) == 0


def test_benchmark_targets_follow_the_ratios(monkeypatch, capsys):
    """The ratio targets of tools/benchmark_mixing.py, wired end to end on
    stand-in timings: MiAMix twice Mixup's time misses its target, a
    reference loop 20 times slower and a blend floor a third of the time
    meet theirs."""
    spec = importlib.util.spec_from_file_location(
        'benchmark_mixing', osp.join(TOOLS, 'benchmark_mixing.py'))
    bm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bm)
    ms = {'MiAMix': 3.0, 'mmpretrain Mixup': 1.5, 'reference loop': 60.0,
          'floor add(x, xp)': 1.0, 'MiAMix, sync-free path': 4.0}
    monkeypatch.setattr(bm, 'bench_ops', lambda *a: {})
    monkeypatch.setattr(bm, 'print_ops', lambda *a: None)
    monkeypatch.setattr(bm, 'bench_size', lambda *a: dict(ms))
    monkeypatch.setattr(bm, 'bench_pair', lambda *a: {
        'MiAMix': 2.0, 'mmpretrain Mixup': 1.0})
    args, devices = bm.parse_args(['--device', 'cpu', '--skip-train'])
    res = bm.bench_device(devices[0], args)
    out = capsys.readouterr().out
    assert res['ratios']['miamix_over_mixup_64x224'] == 2.0
    assert res['ratios']['reference_over_miamix_100x32'] == 20.0
    verdicts = dict(re.findall(r'^  (MiAMix / mmpretrain Mixup|reference '
                               r'loop / MiAMix|MiAMix / blend floor|'
                               r'sync-free path / CPU path).*'
                               r': (MET|MISSED)$', out, re.M))
    assert verdicts == {'MiAMix / mmpretrain Mixup': 'MISSED',
                        'reference loop / MiAMix': 'MET',
                        'MiAMix / blend floor': 'MET',
                        'sync-free path / CPU path': 'MET'}  # 4 / 3
    assert 'training step' not in out  # --skip-train


def test_compiled_table_from_stand_in_processes(monkeypatch, capsys):
    """--compiled prints one row per augment and size from the figures of
    its process (stand-ins here: a real cold compile takes tens of
    seconds), errors included."""
    spec = importlib.util.spec_from_file_location(
        'benchmark_mixing', osp.join(TOOLS, 'benchmark_mixing.py'))
    bm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bm)
    asked = []

    def fake(name, b, h, w, device):
        asked.append((name, b, h, w))
        if name == 'GMix':
            return dict(name=name, error=['RuntimeError: boom'])
        return dict(name=name, size=f'{b}x3x{h}x{w}', eager_ms=2.0,
                    compiled_ms=2.1, traced=dict(
                        compile_s=30.0, ms=1.5, kernels=60, aten_calls=20,
                        graphs=1, graph_breaks=[], recompiles_second_call=0,
                        recompiles_new_batch=1))

    monkeypatch.setattr(bm, 'measure_in_process', fake)
    rows = bm.compiled_table(bm.torch.device('cpu'), quick=False)
    out = capsys.readouterr().out
    assert len(rows) == len(asked) == 2 * len(bm.COMPILED)
    assert '| MiAMix | 64x3x224x224 | 2.00 | 2.10 | 30.0 | 1.50 | 60 | 20 ' \
        '| 1 | 0 | 0, 1 |' in out
    assert "| GMix | 16x3x32x32 | error: ['RuntimeError: boom'] |" in out
