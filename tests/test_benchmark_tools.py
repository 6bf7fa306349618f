"""tools/benchmark_mixing.py --ops-only and tools/gpu_check.py, on CPU in
seconds (small batches, few repeats: the numbers are not checked, the
report's content and the sync accounting are)."""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOLS = osp.join(REPO, 'tools')

AUGMENTS = ('MiAMix (defaults)', "MiAMix(render='dense')", 'FMix', 'GridMix',
            'GMix', 'AGMix', 'SaliencyMix', 'mmpretrain Mixup',
            'mmpretrain CutMix')


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
    # mmpretrain's Mixup is a handful of ops (the issue measured 9)
    assert res['small']['mmpretrain Mixup']['max'] < 20
    # the sync-free path records no syncing op at any size
    dense = res['scaling']["MiAMix(render='dense')"]
    assert set(dense) == {'8x3x32x32', '100x3x32x32'}
    assert all(r['sync'] == [] for r in dense.values())
    assert res['small']["MiAMix(render='dense')"]['sync'] == []
    assert res['checks']['sync_free'] is True
    assert res['checks']['ops_max'] == max(r['max'] for r in dense.values())
    assert res['checks']['ops_le_300'] == (res['checks']['ops_max'] <= 300)
    assert re.search(r'^\| ops per call <= 300 .*\| (MET|MISSED) \|$', stdout,
                     re.M)


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
                                           'wall_s'}
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
    sys.path.insert(0, TOOLS)
    try:
        import gpu_check
    finally:
        sys.path.remove(TOOLS)
    failure = dict(sync_free=False, error='called a synchronizing CUDA '
                   'operation', where='mmmiamix/core/miamix.py:1 in f')
    monkeypatch.setattr(gpu_check, 'check_sync', lambda *a: failure)
    monkeypatch.setattr(gpu_check, 'SHAPES_QUICK', ((2, 3, 16, 16), ))
    monkeypatch.setattr(gpu_check, 'check_training', lambda *a: dict(
        batch=2, repeats=1, vanilla_ms=1.0, miamix_ms=1.5,
        ratio_measured=1.5, miamix_call_ms=0.5, ratio_components=1.5))
    assert gpu_check.main(['--device', 'cpu', '--quick']) == 1
    out = capsys.readouterr().out
    assert ('| 2×3×16×16 | **called a synchronizing CUDA operation** at '
            '`mmmiamix/core/miamix.py:1 in f` |') in out
    monkeypatch.setattr(gpu_check, 'check_sync', lambda *a: None)
    assert gpu_check.main(['--device', 'cpu', '--quick']) == 0
