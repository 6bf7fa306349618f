"""mmmiamix.experiments.paired on small synthetic runs.csv tables.

The expected numbers are computed by hand: differences 1, 3, 0 have mean
4/3, sample std sqrt(7/3) = 1.527525, t(0.975, 2 dof) = 4.302653, half
width 4.302653 * 1.527525 / sqrt(3) = 3.794590; differences 10, 9, 12 have
mean 31/3 and the same std and half width.
"""
import csv
import math
import os.path as osp

import pytest

from mmmiamix.experiments import paired as P

HALF = 4.302653 * math.sqrt(7 / 3) / math.sqrt(3)
HEAD = ['method', 'seed', 'run_dir', 'epochs', 'final', 'best', 'median',
        'iter_time', 'cost', 'corrupted']


def _write(path, rows):
    with open(path, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(HEAD)
        for method, seed, final, median, corrupted in rows:
            w.writerow([method, seed, f'{method}/seed_{seed}', 40, final,
                        final, median, 0.1, 1.0, corrupted])


E40 = [
    ('vanilla', 0, 90, 89, 60), ('vanilla', 1, 92, 91, 62),
    ('vanilla', 2, 94, 93, 61),
    ('MiAMix', 0, 91, 90, 70), ('MiAMix', 1, 95, 94, 71),
    ('MiAMix', 2, 94, 93, 73),
    ('MiAMix', 3, 50, 50, 10),          # no vanilla seed 3: not a pair
    ('MiAMix_twoview', 0, 92, 91, 72), ('MiAMix_twoview', 1, 95, 94, ''),
]
E120 = [
    ('vanilla', 0, 96, 96, 63), ('vanilla', 1, 97, 97, 64),
    ('MiAMix', 0, 98, 98, 74), ('MiAMix', 1, 98, 98, 75),
]


@pytest.fixture
def study_dir(tmp_path):
    for L, rows in ((40, E40), (120, E120)):
        (tmp_path / f'e{L}').mkdir()
        _write(tmp_path / f'e{L}' / 'runs.csv', rows)
    (tmp_path / 'elsewhere').mkdir()        # not e<L>: ignored
    return tmp_path


def test_t_interval_by_hand():
    mean, std, half = P.t_interval([1, 3, 0])
    assert mean == pytest.approx(4 / 3)
    assert std == pytest.approx(math.sqrt(7 / 3))
    assert half == pytest.approx(HALF, rel=1e-6)
    assert P.t_interval([2.5]) == (2.5, None, None)
    assert P.t_interval([]) == (None, None, None)
    with pytest.raises(ValueError, match='level'):
        P.t_interval([1, 2], level=1.5)


def test_paired_differences_and_verdicts(study_dir):
    study = P.load_study([str(study_dir)])
    assert list(study) == [40, 120]
    rows = P.differences(study, 'vanilla',
                         [('MiAMix_twoview', 'MiAMix')])
    get = {(r['length'], r['a'], r['b'], r['measure']): r for r in rows}
    clean = get[(40, 'MiAMix', 'vanilla', 'final')]
    assert clean['seeds'] == [0, 1, 2] and clean['n'] == 3
    assert clean['mean'] == pytest.approx(4 / 3)
    assert clean['lo'] == pytest.approx(4 / 3 - HALF, rel=1e-6)
    assert clean['hi'] == pytest.approx(4 / 3 + HALF, rel=1e-6)
    assert clean['verdict'] == 'inside the noise'
    corr = get[(40, 'MiAMix', 'vanilla', 'corrupted')]
    assert corr['mean'] == pytest.approx(31 / 3)
    assert corr['lo'] == pytest.approx(31 / 3 - HALF, rel=1e-6)
    assert corr['verdict'] == 'MiAMix higher than vanilla'
    # two views - one view: seed 1 has no corrupted value
    tv = get[(40, 'MiAMix_twoview', 'MiAMix', 'corrupted')]
    assert tv['seeds'] == [0] and tv['mean'] == pytest.approx(2)
    assert tv['verdict'] == 'one seed: no interval'
    tvc = get[(40, 'MiAMix_twoview', 'MiAMix', 'final')]
    assert tvc['seeds'] == [0, 1] and tvc['mean'] == pytest.approx(0.5)
    # 120 epochs: differences 2 and 1 -> mean 1.5, std 0.7071,
    # t(0.975, 1) = 12.7062 -> half 6.3531
    c120 = get[(120, 'MiAMix', 'vanilla', 'final')]
    assert c120['hi'] - c120['mean'] == pytest.approx(6.3531, rel=1e-4)
    assert not any(k[0] == 120 and k[1] == 'MiAMix_twoview' for k in get)
    lower = dict(n=3, lo=-3.0, hi=-1.0)
    assert P.verdict(lower, 'A', 'B') == 'A lower than B'
    assert P.verdict(dict(n=0, lo=None, hi=None), 'A', 'B') == \
        'no paired runs'


def test_best_length(study_dir):
    study = P.load_study([str(study_dir)])
    assert P.best_length(study, 'MiAMix') == 120
    # 120 has only 2 MiAMix runs
    assert P.best_length(study, 'MiAMix', min_runs=3) == 40
    assert P.best_length(study, 'MiAMix', min_runs=5) is None
    # by the corrupted measure 40 epochs: mean(70,71,73,10) = 56 < 74.5
    assert P.best_length(study, 'MiAMix', 'corrupted') == 120
    assert P.best_length(study, 'nobody') is None


def test_cli(study_dir, capsys):
    assert P.main(['best-length', str(study_dir), '--method', 'MiAMix',
                   '--min-runs', '3']) == 0
    assert capsys.readouterr().out.strip() == '40'
    assert P.main(['best-length', str(study_dir), '--min-runs', '9']) == 1
    out = study_dir / 'out'
    assert P.main(['report', str(study_dir), '--pair',
                   'MiAMix_twoview:MiAMix', '--out', str(out / 's.md'),
                   '--csv', str(out / 's.csv'), '--figures',
                   str(out / 'fig')]) == 0
    text = (out / 's.md').read_text()
    assert '| 40 | MiAMix − vanilla | final | 3 | +1.33 | [-2.46, +5.13] ' \
        '| inside the noise |' in text
    # the table counts MiAMix's unpaired seed 3: 91, 95, 94, 50
    assert '| MiAMix | 82.50 ± 21.73 (4) | 98.00 ± 0.00 (2) |' in text
    assert '| vanilla | 92.00 ± 2.00 (3) | 96.50 ± 0.71 (2) |' in text
    with open(out / 's.csv') as f:
        rows = list(csv.DictReader(f))
    row = next(r for r in rows if r['length'] == '40'
               and r['a'] == 'MiAMix' and r['measure'] == 'corrupted')
    assert float(row['mean']) == pytest.approx(31 / 3, abs=1e-4)
    assert row['seeds'] == '0 1 2'
    for name in ('fig_top1.png', 'fig_paired.png'):
        assert osp.getsize(out / name) > 1000


def test_bad_input(study_dir, tmp_path):
    with pytest.raises(ValueError, match='L=RUNS_CSV'):
        P.find_lengths([str(tmp_path / 'missing')])
    with pytest.raises(ValueError, match='integer length'):
        P.find_lengths(['x=' + str(study_dir / 'e40' / 'runs.csv')])
    assert P.find_lengths(['7=' + str(study_dir / 'e40' / 'runs.csv')]) \
        == {7: str(study_dir / 'e40' / 'runs.csv')}
    with pytest.raises(ValueError, match='--pair'):
        P.parse_pair('MiAMix')
    with pytest.raises(ValueError, match='measure'):
        P.paired({}, {}, 'top5')
    assert P.main(['report', str(tmp_path / 'e40')]) == 2
