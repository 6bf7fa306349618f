"""tools/summarize.py on fixture logs: one run per method (tests/
fixtures_logs, as tools/train.py writes them) and a sweep of seeds written
here, with every expected number computed by hand."""
import contextlib
import csv
import io
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmmiamix.experiments import summary as summarize

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
TOOLS = osp.join(REPO, 'tools')
FIXTURES = osp.join(HERE, 'fixtures_logs')


def _load_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'summarize_tool', osp.join(TOOLS, 'summarize.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


TOOL = _load_tool()


def _run(args, cwd):
    """tools/summarize.py's main in this process (its start-up, torch and
    matplotlib, is most of a subprocess's time); what it printed. The
    command line itself runs in test_method_dir_and_names and in
    test_readme.py's summarize command."""
    out = io.StringIO()
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out):
            TOOL.main(args)
    finally:
        os.chdir(here)
    return out.getvalue()


def _table(text):
    """The first markdown table of ``text``: {method: [cells]}."""
    rows, started = {}, False
    for line in text.splitlines():
        if line.startswith('| ---'):
            started = True
            continue
        if started and not line.startswith('|'):
            break
        if started:
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            rows[cells[0]] = cells[1:]
    return rows


def test_one_run_per_method_fixtures(tmp_path):
    out_md = tmp_path / 'table.md'
    out = _run([osp.join(FIXTURES, 'vanilla'), osp.join(FIXTURES, 'mixup'),
                osp.join(FIXTURES, 'miamix'), '--out', str(out_md)], tmp_path)
    rows = _table(out_md.read_text())
    assert list(rows) == ['vanilla', 'mixup', 'miamix']
    # n, final, best, median of the last 10 epochs, iteration time, cost
    assert rows['vanilla'] == ['1', '94.50', '95.00', '91.50', '0.1000',
                               '1.00']
    assert rows['mixup'] == ['1', '95.50', '96.00', '91.50', '0.1050', '1.05']
    # resumed run: two logs merged (the later epoch 7 wins), a test-only
    # log ignored
    assert rows['miamix'] == ['1', '96.50', '97.00', '93.00', '0.1100',
                              '1.10']
    assert out.strip() == out_md.read_text().strip()

    # explicit baseline by name, median over the last 3
    rows = _table(_run([osp.join(FIXTURES, 'mixup'),
                        osp.join(FIXTURES, 'miamix'), '--baseline', 'mixup',
                        '--last', '3'], tmp_path))
    assert rows['mixup'][3] == '95.50' and rows['mixup'][5] == '1.00'
    assert rows['miamix'][3] == '96.50'
    assert rows['miamix'][5] == f'{0.11 / 0.105:.2f}'


def _write_run(run_dir, accs, time, status='done', robustness=None,
               stamp='20250101_000000'):
    """A run as tools/sweep.py leaves it: one scalar log with two training
    lines per epoch (both of iteration time ``time``), one validation per
    epoch, a status file and optionally robustness.json."""
    vis = osp.join(run_dir, stamp, 'vis_data')
    os.makedirs(vis)
    lines, it = [], 0
    for epoch, acc in enumerate(accs, 1):
        for _ in range(2):
            it += 1
            lines.append(dict(lr=0.1, loss=1.0, time=time, data_time=0.01,
                              epoch=epoch, iter=it, step=it))
        lines.append({'accuracy/top1': acc, 'time': 0.5, 'step': epoch})
    with open(osp.join(vis, 'scalars.json'), 'w') as f:
        f.write('\n'.join(json.dumps(x) for x in lines) + '\n')
    with open(osp.join(run_dir, 'sweep_status.json'), 'w') as f:
        json.dump(dict(status=status), f)
    if robustness is not None:
        with open(osp.join(run_dir, 'robustness.json'), 'w') as f:
            json.dump(robustness, f)


def _rob(gn1, gn2, fog1, fog2, **extra):
    res = dict(dataset='CIFAR10C',
               accuracy=dict(gaussian_noise={'1': gn1, '2': gn2},
                             fog={'1': fog1, '2': fog2}))
    res['mean'] = (gn1 + gn2 + fog1 + fog2) / 4
    res.update(extra)
    return res


def _make_sweep_dir(root):
    """A sweep of vanilla (2 seeds) and MiAMix (3 finished, 1 running)
    under ``root``."""
    # vanilla: 2 seeds, iteration times 0.10 and 0.12 (mean 0.11)
    _write_run(root / 'vanilla' / 'seed_0', [50, 60, 70, 80, 90], 0.10,
               robustness=_rob(80, 60, 70, 50))
    _write_run(root / 'vanilla' / 'seed_1', [40, 60, 80, 84, 88], 0.12,
               robustness=_rob(70, 50, 60, 40))
    # MiAMix: 3 finished seeds and one still running (left out)
    _write_run(root / 'MiAMix' / 'seed_0', [60, 70, 80, 95, 90], 0.121,
               robustness=_rob(90, 80, 80, 70))
    _write_run(root / 'MiAMix' / 'seed_1', [60, 70, 85, 91, 92], 0.132,
               robustness=_rob(86, 70, 78, 62))
    _write_run(root / 'MiAMix' / 'seed_2', [55, 75, 90, 96, 97], 0.143)
    _write_run(root / 'MiAMix' / 'seed_3', [10, 20], 0.5, status='running')
    (root / 'configs').mkdir()
    with open(root / 'sweep.json', 'w') as f:
        json.dump(dict(methods=[dict(label='vanilla'),
                                dict(label='MiAMix')]), f)
    return root


@pytest.fixture
def sweep_dir(tmp_path):
    return _make_sweep_dir(tmp_path / 'sweep')


def _build_bad_baseline(tmp, prefetched):
    """The command line with a baseline that is no method."""
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run(
        [sys.executable, osp.join(TOOLS, 'summarize.py'),
         str(_make_sweep_dir(tmp / 'sweep')), '--baseline', 'nope'],
        capture_output=True, text=True, env=env, timeout=120)


PREFETCH = {'bad_baseline': _build_bad_baseline}


@pytest.fixture(scope='module')
def bad_baseline(prefetched):
    return prefetched(_build_bad_baseline)


def test_seeds_mean_std_n(sweep_dir, tmp_path):
    out = _run([str(sweep_dir), '--last', '3', '--csv',
                str(tmp_path / 's.csv'), '--runs-csv',
                str(tmp_path / 'r.csv')], tmp_path)
    rows = _table(out)
    assert list(rows) == ['vanilla', 'MiAMix']  # the sweep's order
    # vanilla finals 90, 88: mean 89, sample std sqrt(2) = 1.41; bests the
    # same; medians of the last 3: 80 and 84 -> 82 ± 2.83
    assert rows['vanilla'][:4] == ['2', '89.00 ± 1.41', '89.00 ± 1.41',
                                   '82.00 ± 2.83']
    # MiAMix finals 90, 92, 97: mean 93, std sqrt((9 + 1 + 16) / 2) = 3.61;
    # bests 95, 92, 97: 94.67 ± 2.52; medians 90, 91, 96: 92.33 ± 3.21
    assert rows['MiAMix'][:4] == ['3', '93.00 ± 3.61', '94.67 ± 2.52',
                                  '92.33 ± 3.21']
    # iteration time and cost against vanilla's mean 0.11: 1.1, 1.2, 1.3
    assert rows['vanilla'][4:6] == ['0.1100 ± 0.0141', '1.00 ± 0.13']
    assert rows['MiAMix'][4:6] == ['0.1320 ± 0.0110', '1.20 ± 0.10']
    # corrupted: vanilla 65, 55 -> 60 ± 7.07; MiAMix 80, 74 -> 77 ± 4.24
    # from 2 of its 3 runs
    assert rows['vanilla'][6] == '60.00 ± 7.07'
    assert rows['MiAMix'][6] == '77.00 ± 4.24 (n=2)'
    # per corruption and severity, over seeds
    assert '| gaussian_noise | 65.00 ± 7.07 | 81.50 ± 4.95 |' in out
    assert '| fog | 55.00 ± 7.07 | 72.50 ± 3.54 |' in out
    assert '| severity 1 | 70.00 ± 7.07 | 83.50 ± 2.12 |' in out
    assert '| severity 2 | 50.00 ± 7.07 | 70.50 ± 6.36 |' in out
    # clean accuracy of the runs that have robustness results: 90, 91
    assert '| clean (same runs) | 89.00 ± 1.41 | 91.00 ± 1.41 |' in out

    with open(tmp_path / 's.csv') as f:
        table = {r['method']: r for r in csv.DictReader(f)}
    m = table['MiAMix']
    assert m['n'] == '3' and float(m['final_mean']) == pytest.approx(93)
    assert float(m['final_std']) == pytest.approx(13 ** 0.5)
    assert float(m['cost_mean']) == pytest.approx(1.2)
    assert float(m['cost_std']) == pytest.approx(0.1)
    assert m['corrupted_n'] == '2'
    assert float(m['corrupted_gaussian_noise']) == pytest.approx(81.5)
    assert float(m['corrupted_severity_2']) == pytest.approx(70.5)
    assert table['vanilla']['final_std'] != ''
    with open(tmp_path / 'r.csv') as f:
        runs = list(csv.DictReader(f))
    assert [(r['method'], r['seed']) for r in runs] == [
        ('vanilla', '0'), ('vanilla', '1'), ('MiAMix', '0'), ('MiAMix', '1'),
        ('MiAMix', '2')]
    assert float(runs[3]['cost']) == pytest.approx(1.2)
    assert runs[4]['corrupted'] == ''


def test_unfinished_and_partial(sweep_dir, tmp_path):
    rows = _table(_run([str(sweep_dir), '--include-unfinished'], tmp_path))
    assert rows['MiAMix'][0] == '4'
    # a partial robustness result counts what it holds and is flagged
    part = _rob(90, 80, 80, 70, complete=False)
    del part['accuracy']['fog']['2']
    with open(sweep_dir / 'vanilla' / 'seed_1' / 'robustness.json',
              'w') as f:
        json.dump(part, f)
    rows = _table(_run([str(sweep_dir / 'vanilla')], tmp_path))
    # seed 0: 65; seed 1: (90 + 80 + 80) / 3 = 83.33
    assert rows['vanilla'][6] == '74.17 ± 12.96 (partial)'


def test_method_dir_and_names(sweep_dir, tmp_path, bad_baseline):
    # a method dir of seed_* runs, and NAME=DIR
    rows = _table(_run([f'base={sweep_dir / "vanilla"}',
                        str(sweep_dir / 'MiAMix'), '--baseline', 'base'],
                       tmp_path))
    assert list(rows) == ['base', 'MiAMix']
    assert rows['MiAMix'][5] == '1.20 ± 0.10'
    proc = bad_baseline  # the command line: an error exit naming it
    assert proc.returncode != 0 and 'nope' in proc.stderr


def test_figures(sweep_dir, tmp_path):
    groups = [(name, [summarize.run_stats(d, last=3) for d in dirs])
              for name, dirs in summarize.discover(str(sweep_dir))]
    groups = [(n, [r for r in rs if summarize._finished(r['run_dir'])])
              for n, rs in groups]
    rows = summarize.summarize(groups, 'vanilla', 3)
    curves, bars = tmp_path / 'c.png', tmp_path / 'b.png'
    summarize.plot_curves(groups, str(curves))
    summarize.plot_bars(rows, str(bars))
    from PIL import Image
    for path in (curves, bars):
        assert path.stat().st_size > 5000
        with Image.open(path) as im:
            assert im.format == 'PNG' and im.size[0] > 500
            # not a blank canvas: many distinct colours (lines, bands, bars)
            assert len(im.convert('RGB').getcolors(1 << 20)) > 50


def test_mean_std_helper():
    assert summarize.mean_std([1, 2, 3, None]) == (2.0, 1.0, 3)
    assert summarize.mean_std([5]) == (5.0, None, 1)
    assert summarize.mean_std([]) == (None, None, 0)
