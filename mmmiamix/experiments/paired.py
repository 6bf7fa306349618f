"""Paired differences by seed over a training-length study.

A study is one ``runs.csv`` (``tools/summarize.py --runs-csv``: one row per
run with ``method``, ``seed``, ``final``, ``median`` and ``corrupted``
top-1 in %) per training length. Runs of two methods with the same seed are
a pair (same seed, same data order); per length, each method is compared
with the baseline, and any ``A:B`` pair of methods (e.g. two views against
one view) as ``A - B``: the mean of the per-seed differences with a 95 %
Student-t interval over the seeds. A difference whose interval holds 0 is
*inside the noise*.

Usage (``tools/run_study.sh`` calls both)::

    python -m mmmiamix.experiments.paired best-length WORK_DIR
        [--method MiAMix] [--measure final] [--min-runs 1]
    python -m mmmiamix.experiments.paired report WORK_DIR [L=RUNS_CSV ...]
        [--baseline vanilla] [--pair A:B ...] [--level 0.95]
        [--out study.md] [--csv study.csv] [--figures PREFIX]

A WORK_DIR item is a folder whose ``e<L>/runs.csv`` are the lengths;
``L=RUNS_CSV`` names one length's file. ``--figures PREFIX`` writes
``PREFIX_top1.png`` (clean and corrupted top-1 against length, mean +- std
band over seeds, per method) and ``PREFIX_paired.png`` (the paired
differences with their intervals).
"""
import argparse
import csv
import glob
import math
import os
import os.path as osp
import re
import sys

MEASURES = ('final', 'median', 'corrupted')
MEASURE_NAMES = {
    'final': 'clean top-1, final epoch',
    'median': 'clean top-1, median of the last 10 epochs',
    'corrupted': 'corrupted top-1 (19 corruptions x 5 severities)',
}


# --------------------------------------------------------------- input
def _float(text):
    try:
        x = float(text)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def read_runs(path):
    """``{method: {seed: {measure: value or None}}}`` of one runs.csv."""
    out = {}
    with open(path, newline='') as f:
        for row in csv.DictReader(f):
            if not row.get('method') or row.get('seed') in (None, ''):
                continue
            runs = out.setdefault(row['method'], {})
            runs[int(row['seed'])] = {m: _float(row.get(m)) for m in MEASURES}
    return out


def find_lengths(items):
    """``{length: runs.csv path}`` of WORK_DIR folders and L=CSV items."""
    found = {}
    for item in items:
        if '=' in item and not osp.isdir(item):
            length, path = item.split('=', 1)
            if not length.isdigit():
                raise ValueError(f'{item!r}: expected L=RUNS_CSV with an '
                                 'integer length L')
            if not osp.isfile(path):
                raise ValueError(f'{item!r}: {path} not found')
            found[int(length)] = path
        elif osp.isdir(item):
            for path in glob.glob(osp.join(item, 'e*', 'runs.csv')):
                m = re.fullmatch(r'e(\d+)', osp.basename(osp.dirname(path)))
                if m:
                    found[int(m.group(1))] = path
        else:
            raise ValueError(f'{item!r} is neither a folder nor L=RUNS_CSV')
    return dict(sorted(found.items()))


def load_study(items):
    """``{length: {method: {seed: {measure: value}}}}``."""
    return {L: read_runs(p) for L, p in find_lengths(items).items()}


# --------------------------------------------------------------- stats
def t_interval(values, level=0.95):
    """``(mean, sample std, half width)`` of the ``level`` Student-t
    interval of the mean; std and half width are None below 2 values."""
    from scipy import stats
    if not 0 < level < 1:
        raise ValueError(f'level must be in (0, 1), got {level}')
    n = len(values)
    if n == 0:
        return None, None, None
    mean = sum(values) / n
    if n < 2:
        return mean, None, None
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * std / math.sqrt(n)
    return mean, std, half


def paired(runs_a, runs_b, measure, level=0.95):
    """Mean of ``A - B`` over the seeds both ``{seed: {measure: v}}`` hold
    (values present in both), with its interval."""
    if measure not in MEASURES:
        raise ValueError(f'measure must be one of {MEASURES}, got '
                         f'{measure!r}')
    seeds = sorted(s for s in set(runs_a) & set(runs_b)
                   if runs_a[s].get(measure) is not None
                   and runs_b[s].get(measure) is not None)
    diffs = [runs_a[s][measure] - runs_b[s][measure] for s in seeds]
    mean, std, half = t_interval(diffs, level)
    lo = hi = None
    if half is not None:
        lo, hi = mean - half, mean + half
    return dict(n=len(seeds), seeds=seeds, mean=mean, std=std, lo=lo, hi=hi)


def verdict(diff, a, b):
    """A plain sentence for a :func:`paired` result of ``a - b``."""
    if diff['n'] == 0:
        return 'no paired runs'
    if diff['lo'] is None:
        return 'one seed: no interval'
    if diff['lo'] <= 0 <= diff['hi']:
        return 'inside the noise'
    return f'{a} higher than {b}' if diff['lo'] > 0 else \
        f'{a} lower than {b}'


def method_stats(study):
    """Rows ``(length, method, measure, n, mean, std)``."""
    rows = []
    for L, methods in study.items():
        for method, runs in methods.items():
            for m in MEASURES:
                vals = [r[m] for r in runs.values() if r[m] is not None]
                mean, std, _ = t_interval(vals)
                rows.append((L, method, m, len(vals), mean, std))
    return rows


def differences(study, baseline='vanilla', pairs=(), level=0.95):
    """Rows (dicts) of every method minus ``baseline`` per length and of
    every ``(A, B)`` of ``pairs`` where both are there."""
    rows = []
    for L, methods in study.items():
        todo = [(a, baseline) for a in methods if a != baseline
                and baseline in methods]
        todo += [(a, b) for a, b in pairs if a in methods and b in methods
                 and (a, b) not in todo]
        for a, b in todo:
            for m in MEASURES:
                d = paired(methods[a], methods[b], m, level)
                d.update(length=L, a=a, b=b, measure=m,
                         verdict=verdict(d, a, b))
                rows.append(d)
    return rows


def best_length(study, method, measure='final', min_runs=1):
    """The length with the highest mean ``measure`` of ``method`` among
    those with at least ``min_runs`` runs of it; None when there is none."""
    best = None
    for L, methods in study.items():
        vals = [r[measure] for r in methods.get(method, {}).values()
                if r[measure] is not None]
        if len(vals) >= max(1, min_runs):
            mean = sum(vals) / len(vals)
            if best is None or mean > best[1]:
                best = (L, mean)
    return None if best is None else best[0]


# --------------------------------------------------------------- output
def _num(x, digits=2):
    return '-' if x is None else f'{x:.{digits}f}'


def _signed(x):
    if x is None:
        return '-'
    return f'{0.0 if abs(x) < 0.005 else x:+.2f}'   # no '-0.00'


def stats_markdown(study):
    """Per measure, a table of mean +- std (n) by method and length."""
    rows = method_stats(study)
    lengths = list(study)
    methods = list(dict.fromkeys(r[1] for r in rows))
    cell = {(L, meth, m): (n, mean, std)
            for L, meth, m, n, mean, std in rows}
    out = []
    for m in MEASURES:
        out += [f'**{MEASURE_NAMES[m]}**, mean ± std over seeds (n):', '',
                '| method | ' + ' | '.join(f'{L} epochs' for L in lengths)
                + ' |', '| --- |' + ' ---: |' * len(lengths)]
        for meth in methods:
            cells = []
            for L in lengths:
                n, mean, std = cell.get((L, meth, m), (0, None, None))
                cells.append('' if not n else
                             f'{_num(mean)} ± {_num(std)} ({n})')
            out.append(f'| {meth} | ' + ' | '.join(cells) + ' |')
        out.append('')
    return '\n'.join(out)


def differences_markdown(diffs, level=0.95):
    head = [(f'Paired differences (A − B, same seed; mean and '
             f'{level:.0%} t interval over the seeds, percentage points):'),
            '',
            '| epochs | A − B | measure | n | mean | interval | verdict |',
            '| ---: | --- | --- | ---: | ---: | --- | --- |']
    for d in diffs:
        ci = ('-' if d['lo'] is None else
              f"[{_signed(d['lo'])}, {_signed(d['hi'])}]")
        head.append(f"| {d['length']} | {d['a']} − {d['b']} | "
                    f"{d['measure']} | {d['n']} | {_signed(d['mean'])} | "
                    f"{ci} | {d['verdict']} |")
    return '\n'.join(head) + '\n'


def write_csv(diffs, path):
    with open(path, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['length', 'a', 'b', 'measure', 'n', 'seeds', 'mean',
                    'std', 'lo', 'hi', 'verdict'])
        for d in diffs:
            w.writerow([d['length'], d['a'], d['b'], d['measure'], d['n'],
                        ' '.join(map(str, d['seeds']))] +
                       ['' if d[k] is None else f'{d[k]:.4f}'
                        for k in ('mean', 'std', 'lo', 'hi')] +
                       [d['verdict']])


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def plot_lengths(study, path):
    """Clean final and corrupted top-1 against length per method (mean,
    band of +- std over seeds; a method at one length is a point)."""
    plt = _pyplot()
    from matplotlib.ticker import NullLocator
    rows = method_stats(study)
    methods = list(dict.fromkeys(r[1] for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, m in zip(axes, ('final', 'corrupted')):
        for i, meth in enumerate(methods):
            # methods side by side around each length (log axis)
            shift = 1 + 0.025 * (i - (len(methods) - 1) / 2)
            pts = [(L * shift, mean, std or 0.0)
                   for L, mm, mes, n, mean, std in rows
                   if mm == meth and mes == m and n]
            if not pts:
                continue
            xs, ys, ss = zip(*pts)
            line = ax.errorbar(xs, ys, yerr=ss, marker='o', capsize=3,
                               label=meth).lines[0]
            ax.fill_between(xs, [y - s for y, s in zip(ys, ss)],
                            [y + s for y, s in zip(ys, ss)],
                            color=line.get_color(), alpha=0.15)
        ax.set_xscale('log')
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticks(list(study))
        ax.set_xticklabels([str(L) for L in study])
        ax.set_xlabel('training length (epochs)')
        ax.set_ylabel('top-1 (%)')
        ax.set_title(MEASURE_NAMES[m])
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_differences(diffs, path, level=0.95):
    """The paired differences (clean final, corrupted) with their
    intervals, one point per (A - B, length)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for ax, m in zip(axes, ('final', 'corrupted')):
        sel = [d for d in diffs if d['measure'] == m and d['n']]
        names = list(dict.fromkeys(f"{d['a']} − {d['b']}" for d in sel))
        lengths = sorted({d['length'] for d in sel})
        width = 0.8 / max(1, len(lengths))
        for j, L in enumerate(lengths):
            xs, ys, lo, hi = [], [], [], []
            for d in (d for d in sel if d['length'] == L):
                xs.append(names.index(f"{d['a']} − {d['b']}") - 0.4
                          + width * (j + 0.5))
                ys.append(d['mean'])
                lo.append(0 if d['lo'] is None else d['mean'] - d['lo'])
                hi.append(0 if d['hi'] is None else d['hi'] - d['mean'])
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt='o', capsize=3,
                        label=f'{L} epochs')
        ax.axhline(0, color='k', lw=0.8)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=30, ha='right', fontsize=8)
        ax.set_ylabel('paired difference (points)')
        ax.set_title(f'{MEASURE_NAMES[m]}: mean, {level:.0%} t interval',
                     fontsize=9)
        ax.grid(alpha=0.3, axis='y')
        if lengths:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --------------------------------------------------------------- CLI
def parse_pair(text):
    a, sep, b = text.partition(':')
    if not (sep and a and b):
        raise ValueError(f'--pair: expected A:B (two method labels), got '
                         f'{text!r}')
    return a, b


def report(args):
    study = load_study(args.items)
    if not study:
        raise ValueError(f'no e<L>/runs.csv in {args.items}')
    pairs = [parse_pair(p) for p in args.pair or ()]
    diffs = differences(study, args.baseline, pairs, args.level)
    text = (stats_markdown(study) + '\n' +
            differences_markdown(diffs, args.level))
    print(text)
    for path in (args.out, args.csv):
        if path and osp.dirname(path):
            os.makedirs(osp.dirname(path), exist_ok=True)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
    if args.csv:
        write_csv(diffs, args.csv)
    if args.figures:
        plot_lengths(study, args.figures + '_top1.png')
        plot_differences(diffs, args.figures + '_paired.png', args.level)
    return diffs


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Paired differences by seed over training lengths')
    sub = p.add_subparsers(dest='command', required=True)
    b = sub.add_parser('best-length', help='print the best length')
    r = sub.add_parser('report', help='tables, differences, figures')
    for s in (b, r):
        s.add_argument('items', nargs='+',
                       help='WORK_DIR (its e<L>/runs.csv) or L=RUNS_CSV')
    b.add_argument('--method', default='MiAMix')
    b.add_argument('--measure', default='final', choices=MEASURES)
    b.add_argument('--min-runs', type=int, default=1)
    r.add_argument('--baseline', default='vanilla')
    r.add_argument('--pair', nargs='+', help='A:B, reported as A - B')
    r.add_argument('--level', type=float, default=0.95)
    r.add_argument('--out', help='markdown')
    r.add_argument('--csv', help='the differences, one row each')
    r.add_argument('--figures', help='PREFIX of PREFIX_top1.png and '
                   'PREFIX_paired.png')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.command == 'best-length':
            best = best_length(load_study(args.items), args.method,
                               args.measure, args.min_runs)
            if best is None:
                print(f'no length with {args.min_runs} run(s) of '
                      f'{args.method}', file=sys.stderr)
                return 1
            print(best)
            return 0
        report(args)
        return 0
    except ValueError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
