"""README's numbers agree with docs/, where they were measured.

Every figure README.md gives that a page of docs/ also states is one row
of :data:`PAIRS`: a regex for README's phrase, the docs page and a regex for
its phrase there, and how the two compare. Both texts are read with their
whitespace collapsed (line wraps do not matter) and each regex must match
exactly once, so a rewritten sentence fails here instead of going unchecked.

How a pair compares (``check``):

* ``same``: the numbers as written are equal (``−1.45`` and ``-1.45``,
  ``+0.40`` and ``0.40`` are);
* ``rounds``: each README number is the docs number rounded to README's
  decimals (``about 20 minutes`` agrees with 19.6, not with 16.5; ``a``
  minute is 1); ``scale`` converts the docs unit first (seconds to
  minutes: 1 / 60);
* ``covers``: README's range ``a–b`` holds the docs range, rounded to
  README's decimals.

:data:`STALE` lists the pairs known to disagree today (README not yet
updated to what docs/ measured). A pair in it must still disagree: once
README (or the docs) is fixed, the test fails until the name is removed.
"""
import os.path as osp
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

PM = r'\d+\.\d+ ± \d+\.\d+'  # mean ± std
SIGNED = r'[−+-]?\d+\.\d+'
CI = rf'{SIGNED} \[{SIGNED}, {SIGNED}\]'  # mean [95 % interval]
RANGE = r'\d+(?:\.\d+)?–\d+(?:\.\d+)?'


class Pair(NamedTuple):
    readme: str  # regex over README.md; its groups hold the numbers
    doc: str  # the docs page, relative to the repository
    where: str  # regex over that page
    check: str = 'same'
    scale: float = 1.0  # docs value x scale = README's unit


def _study_row(method, cells_before):
    """The digits study's results table (docs/results.md), one cell of a
    method's row: the final top-1 (0 cells before) or the corrupted top-1
    (5 cells before)."""
    return rf'\| {method} \| 5 \|(?:[^|]*\|){{{cells_before}}} ({PM}) \|'


def _paired(table, row, column, value=CI):
    """A cell of the length study's paired tables (docs/results.md):
    ``table`` names the table's caption, ``column`` 0..2 = 40/120/400;
    ``value``: what to read of the cell (mean and interval, or ``SIGNED``:
    the mean alone)."""
    return (rf'Paired difference, {table} .*?\| {row} \|'
            rf'(?:[^|]*\|){{{column}}} ({value}) ')


PAIRS = {
    # ------------------------------------------------ the digits study
    'study seeds': Pair(
        r'\(`bash tools/run_study.sh`, (\d+) seeds,',
        'docs/results.md',
        r'\*\*What it shows\*\* \((\d+) seeds, mean ± std; run on'),
    'study epochs': Pair(
        r'seeds, 300 training digits, (\d+) epochs, CPU',
        'docs/results.md', r'The digits study above trains for (\d+) epochs'),
    'study time': Pair(
        r'40 epochs, CPU, ([\d.]+) minutes;',
        'docs/results.md', r'The whole study took \d+ s \(([\d.]+) minutes\)'),
    'study time (run_study.sh comment)': Pair(
        r'the whole digits study \(CPU, about (\d+) minutes on 2 free cores',
        'docs/results.md', r'The whole study took (\d+) s \(',
        'rounds', 1 / 60),
    'study clean MiAMix': Pair(
        rf'MiAMix is \*below\* vanilla \(({PM}) against',
        'docs/results.md', _study_row('MiAMix', 0)),
    'study clean vanilla': Pair(
        rf'\({PM} against ({PM}); AGMix',
        'docs/results.md', _study_row('vanilla', 0)),
    'study clean AGMix': Pair(
        rf'; AGMix ({PM}) and GMix',
        'docs/results.md', _study_row('AGMix', 0)),
    'study clean GMix': Pair(
        rf'and GMix ({PM}) are the best',
        'docs/results.md', _study_row('GMix', 0)),
    'study corrupted MiAMix': Pair(
        rf'it is the most robust \(({PM}) against vanilla',
        'docs/results.md', _study_row('MiAMix', 5)),
    'study corrupted vanilla': Pair(
        rf'against vanilla ({PM}), Mixup',
        'docs/results.md', _study_row('vanilla', 5)),
    'study corrupted Mixup': Pair(
        rf', Mixup ({PM}), AGMix ',
        'docs/results.md', _study_row('Mixup', 5)),
    'study corrupted AGMix': Pair(
        rf', AGMix ({PM})\), with the gap',
        'docs/results.md', _study_row('AGMix', 5)),
    # ---------------------------------------- training length, two views
    'length clean 40': Pair(
        rf'MiAMix − vanilla is ({SIGNED}) points (\[{SIGNED}, {SIGNED}\]) '
        r'at 40 epochs',
        'docs/results.md', _paired('clean final', 'MiAMix − vanilla', 0)),
    'length clean 40, median': Pair(
        rf'by the median of the last 10 epochs ({CI}), lower',
        'docs/results.md', _paired('clean median', 'MiAMix − vanilla', 0)),
    'length clean 120': Pair(
        rf'({CI}) at 120 epochs \(higher\)',
        'docs/results.md', _paired('clean final', 'MiAMix − vanilla', 1)),
    'length clean 400': Pair(
        rf'and ({CI}) at 400 \(3 seeds',
        'docs/results.md', _paired('clean final', 'MiAMix − vanilla', 2)),
    'length clean 120, AGMix': Pair(
        rf'At 120 epochs AGMix is also higher \(({CI})\)',
        'docs/results.md', _paired('clean final', 'AGMix − vanilla', 1)),
    'length corrupted 40': Pair(
        rf'corrupted top-1 ({CI}) at 40 epochs',
        'docs/results.md', _paired('corrupted', 'MiAMix − vanilla', 0)),
    'length corrupted 120': Pair(
        rf'at 40 epochs, ({CI}) at 120, ',
        'docs/results.md', _paired('corrupted', 'MiAMix − vanilla', 1)),
    'length corrupted 400': Pair(
        rf'at 120, ({CI}) at 400 \(AGMix',
        'docs/results.md', _paired('corrupted', 'MiAMix − vanilla', 2)),
    'length corrupted 120, AGMix': Pair(
        rf'\(AGMix ({SIGNED}), Mixup',
        'docs/results.md',
        _paired('corrupted', 'AGMix − vanilla', 1, SIGNED)),
    'length corrupted 120, Mixup': Pair(
        rf', Mixup ({SIGNED}), CutMix',
        'docs/results.md',
        _paired('corrupted', 'Mixup − vanilla', 1, SIGNED)),
    'length corrupted 120, CutMix': Pair(
        rf', CutMix ({SIGNED}) at 120\)',
        'docs/results.md',
        _paired('corrupted', 'CutMix − vanilla', 1, SIGNED)),
    'length corrupted 400, AGMix': Pair(
        rf'and AGMix \(({CI})\) keep their lead',
        'docs/results.md', _paired('corrupted', 'AGMix − vanilla', 2)),
    'two views clean': Pair(
        rf'no measurable difference\*\*, clean ({CI}), corrupted',
        'docs/results.md',
        _paired('clean final', 'MiAMix_twoview − MiAMix', 1)),
    'two views corrupted': Pair(
        rf', corrupted ({CI})\. <!-- /readme study',
        'docs/results.md',
        _paired('corrupted', 'MiAMix_twoview − MiAMix', 1)),
    # --------------------------------------------------------- the demo
    'demo epochs': Pair(
        r'\| Digits, quick-start ResNet \(this repo, (\d+) epochs, CPU\)',
        'docs/getting_started.md', r'training: (\d+) epochs in'),
    'demo accuracy, MiAMix': Pair(
        r'\| Digits, quick-start ResNet [^|]* \| [\d.]+ \| — \| ([\d.]+) \|',
        'docs/getting_started.md', r'test accuracy: ([\d.]+) % \(top-1'),
    'demo accuracy, vanilla': Pair(
        r'\| Digits, quick-start ResNet [^|]* \| ([\d.]+) \| — \|',
        'docs/getting_started.md', r'The vanilla config below reaches '
        r'([\d.]+) %'),
    'demo time': Pair(
        r'nothing downloaded\): about (a|\d+) minutes? on two CPU cores',
        'docs/getting_started.md', r'30 epochs in \d+ s \(total (\d+) s\)',
        'rounds', 1 / 60),
    # ------------------------------------------------------------ speed
    'aten ops': Pair(
        r'(\d+) aten ops (?:a call )?at any batch',
        'docs/benchmarks.md',
        r'\| aten ops, defaults \| \d+ \| \*\*(\d+)\*\* \|'),
    'aten ops, targets': Pair(
        r'(\d+) aten ops (?:a call )?at any batch',
        'docs/benchmarks.md', r'ops per sync-free call ≤ 300 at every size, '
        r'with `prob` and `label_smoothing` \| (\d+) \(defaults\)'),
    'training cost': Pair(
        r'is within noise of ([\d.]+) on CPU \(paper: ([\d.]+)\)',
        'docs/benchmarks.md', r'/ step = \*\*([\d.]+)\*\*\. '
        r'\(The paper: ([\d.]+)\.\)', 'rounds'),
    'against Mixup': Pair(
        rf'a MiAMix call takes ({RANGE})× the time of mmpretrain',
        'docs/benchmarks.md', r'Mixup at 64×3×224² ≤ 1\.0 \| '
        rf'({RANGE}) \(interleaved pairs\)', 'covers'),
    'against Mixup, keeping allocator': Pair(
        rf'Mixup is ({RANGE})× faster than MiAMix',
        'docs/benchmarks.md', r'keeps freed memory ≤ 2, and ≤ 4× the blend '
        rf'floor \| ({RANGE});', 'covers'),
    # ------------------------------------------- the paper's numbers
    **{f'paper {name}': Pair(
        rf'\| {re.escape(row)} \| ([\d.]+) \| ([\d.]+) \|',
        'docs/design.md',
        rf'{re.escape(design)} ([\d.]+) → (?:MiAMix )?([\d.]+)')
       for name, row, design in [
           ('CIFAR-10 ResNet-18', 'CIFAR-10, ResNet-18',
            'CIFAR-10 ResNet-18 vanilla'),
           ('CIFAR-100 ResNet-18', 'CIFAR-100, ResNet-18',
            'CIFAR-100 ResNet-18'),
           ('Tiny-ImageNet ResNet-18', 'Tiny-ImageNet, ResNet-18',
            'Tiny-ImageNet ResNet-18'),
           ('CIFAR-100 DeiT-S', 'CIFAR-100, DeiT-S', 'CIFAR-100 DeiT-S'),
           ('CUB-200 ResNet-18', 'CUB-200, ResNet-18 (pretrained)',
            'CUB-200 ResNet-18'),
           ('CIFAR-100-C ResNeXt-50', 'CIFAR-100-C, ResNeXt-50 (corrupted)',
            'CIFAR-100-C ResNeXt-50 corrupted'),
       ]},
}

# Pairs that disagree today: README is stale against docs/. Whoever updates
# README (or re-measures and updates docs/) removes the name here; a name
# left here after the two agree fails the test.
STALE = set()

WORDS = {'a': '1', 'an': '1', 'one': '1', 'two': '2'}


def _text(rel):
    with open(osp.join(ROOT, rel), encoding='utf-8') as f:
        return re.sub(r'\s+', ' ', f.read())


def _numbers(groups):
    """The numbers of the matched groups, in order, as Decimals."""
    out = []
    for group in groups:
        group = WORDS.get(group, group)
        for tok in re.findall(r'[−+-]?\d[\d,]*(?:\.\d+)?', group):
            out.append(Decimal(tok.replace('−', '-').replace(',', '')))
    return out


def _find(pattern, rel):
    matches = list(re.finditer(pattern, _text(rel)))
    assert len(matches) == 1, (
        f'{rel}: {len(matches)} matches of {pattern!r} (need exactly one: '
        'the sentence changed? update the pair in tests/test_readme_numbers'
        '.py)')
    return matches[0].group(0), _numbers(matches[0].groups())


def _rounded(value, like):
    """``value`` rounded to the decimals of ``like``."""
    return value.quantize(Decimal(1).scaleb(like.as_tuple().exponent),
                          rounding=ROUND_HALF_UP)


def agree(check, readme, docs):
    if not readme or len(readme) != len(docs):
        return False
    if check == 'same':
        return readme == docs
    if check == 'rounds':
        return all(_rounded(d, r) == r for r, d in zip(readme, docs))
    if check == 'covers':
        (a, b), (c, d) = readme, docs
        return a <= _rounded(c, a) and _rounded(d, b) <= b
    raise ValueError(f'unknown check {check!r}')


def compare(pair):
    """(agree?, README's phrase, docs phrase, README's and docs numbers)."""
    said, readme = _find(pair.readme, 'README.md')
    found, docs = _find(pair.where, pair.doc)
    docs = [d * Decimal(str(pair.scale)) if pair.scale != 1 else d
            for d in docs]
    return agree(pair.check, readme, docs), said, found, readme, docs


@pytest.mark.parametrize('name', sorted(PAIRS))
def test_readme_number_agrees_with_docs(name):
    pair = PAIRS[name]
    ok, said, found, readme, docs = compare(pair)
    if name in STALE:
        assert not ok, (
            f'{name!r} is in STALE but README and {pair.doc} agree now '
            f'(README: "{said}"; {pair.doc}: "{found}"): remove it from '
            'STALE in tests/test_readme_numbers.py')
    else:
        assert ok, (
            f'README says "{said}" ({readme}) but {pair.doc} says "{found}" '
            f'({docs}, check {pair.check!r}): update README.md')


def test_stale_names_are_pairs():
    assert STALE <= set(PAIRS)


@pytest.mark.parametrize('check, readme, docs, ok', [
    ('same', '92.76 ± 1.06', '92.76 ± 1.06', True),
    ('same', '−1.45 [−3.30, +0.40]', '-1.45 [-3.30, 0.40]', True),
    ('same', '92.76 ± 1.06', '92.76 ± 1.31', False),
    ('same', '98.89', '98.05', False),
    ('rounds', '20', '16.5', False),
    ('rounds', '17', '16.5', True),
    ('rounds', 'a', '0.8167', True),  # "about a minute": 49 s
    ('rounds', 'a', '2.5167', False),  # 151 s
    ('rounds', '1.00', '1.003', True),
    ('rounds', '1.00', '1.013', False),
    ('covers', '0.7–0.85', '0.71–0.84', True),
    ('covers', '3–5', '3.3–5.3', True),
    ('covers', '0.7–0.85', '0.71–0.88', False),
    ('covers', '0.8–0.85', '0.71–0.84', False),
])
def test_checks(check, readme, docs, ok):
    assert agree(check, _numbers([readme]), _numbers([docs])) is ok
