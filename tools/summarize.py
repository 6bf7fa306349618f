"""Summarize mmengine work directories by method over seeds (Tables 3 and 6).

Usage::

    python tools/summarize.py DIR [DIR ...] [--baseline NAME] [--last 10]
        [--metric accuracy/top1] [--skip-iters 0] [--out table.md]
        [--csv table.csv] [--runs-csv runs.csv] [--curves curves.png]
        [--bars robustness.png] [--include-unfinished]

A DIR is any of

* a training work dir (``tools/train.py --work-dir``): one run, its method
  is the directory's name (or ``NAME=DIR``);
* a method dir whose ``seed_*`` subfolders are runs: the runs of one method;
* a folder of such: a tools/sweep.py work dir (the order of its
  ``sweep.json``), or a folder of work dirs (one method each).

For every run it reads the JSON-lines scalar logs mmengine writes,
``<timestamp>/vis_data/scalars.json`` (or ``<timestamp>/vis_data/
<timestamp>.json``), merging the logs of a resumed training in timestamp
order (a later validation of the same step replaces an earlier one), and
``robustness.json`` (tools/test_robustness.py ``--out``, as tools/sweep.py
writes it) when present. Per method, over its runs (seeds):

* **final / best top-1**: the last and the best validation ``--metric``;
* **median top-1 of the last N validations** (``--last``, default 10), the
  paper's number;
* **training cost**: each run's mean logged training iteration ``time``
  (lines before ``--skip-iters`` of each log left out: warm-up) over the
  mean of the baseline's runs (``--baseline``: a method; default the one
  whose name contains ``vanilla``);
* **corrupted top-1**: the mean over every corruption and severity in
  ``robustness.json`` (recomputed from its ``accuracy`` table, so partial
  results count what they hold), and per corruption and per severity.

Each is reported as mean ± standard deviation over the runs (sample std,
``n - 1``; a single run prints its value alone) with ``n``. Runs of
tools/sweep.py that did not finish are left out (``--include-unfinished``
keeps them). Markdown goes to stdout and ``--out``; ``--csv`` writes one row
per method, ``--runs-csv`` one per run; ``--curves`` draws the validation
curves (mean, band of ± std over seeds) and ``--bars`` clean against
corrupted accuracy (matplotlib, Agg backend).
"""
import argparse
import os
import os.path as osp
import sys

from mmmiamix.experiments.summary import (
    choose_baseline,
    collect_groups,
    plot_bars,
    plot_curves,
    summarize,
    to_markdown,
    write_csv,
    write_runs_csv,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Summarize work directories by method over seeds '
        '(Table 3 / Table 6 style)')
    parser.add_argument(
        'work_dirs', nargs='+',
        help='work dirs, method dirs with seed_* runs, sweep dirs, or '
        'NAME=DIR')
    parser.add_argument(
        '--baseline',
        help='method of the training-cost baseline (default: the method '
        'whose name contains "vanilla")')
    parser.add_argument('--metric', default='accuracy/top1')
    parser.add_argument(
        '--last', type=int, default=10,
        help='median over the last N validations (default 10)')
    parser.add_argument(
        '--skip-iters', type=int, default=0,
        help='leave the first N logged iterations of each log out of the '
        'iteration time (warm-up)')
    parser.add_argument('--include-unfinished', action='store_true',
                        help='keep sweep runs that did not finish')
    parser.add_argument('--out', help='also write the markdown here')
    parser.add_argument('--csv', help='one row per method')
    parser.add_argument('--runs-csv', help='one row per run')
    parser.add_argument('--curves', help='PNG of the validation curves')
    parser.add_argument('--bars', help='PNG of clean vs corrupted accuracy')
    args = parser.parse_args(argv)
    if args.last < 1:
        parser.error(f'--last must be >= 1, got {args.last}')
    return args


def _makedirs_for(path):
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)


def _write_outputs(args, groups, rows, table):
    if args.out:
        _makedirs_for(args.out)
        with open(args.out, 'w') as f:
            f.write(table + '\n')
    for path, write, what in ((args.csv, write_csv, rows),
                              (args.runs_csv, write_runs_csv, groups)):
        if path:
            _makedirs_for(path)
            write(what, path)
    if args.curves:
        _makedirs_for(args.curves)
        plot_curves(groups, args.curves, args.metric)
    if args.bars:
        _makedirs_for(args.bars)
        plot_bars(rows, args.bars)


def main(argv=None):
    args = parse_args(argv)
    try:
        groups = collect_groups(args.work_dirs, args.metric, args.skip_iters,
                                args.last, args.include_unfinished)
        if not groups:
            raise ValueError('no finished runs with training logs found')
        baseline = choose_baseline([n for n, _ in groups], args.baseline)
    except ValueError as e:
        sys.exit(f'error: {e}')
    rows = summarize(groups, baseline, args.last)
    table = to_markdown(rows, args.last)
    print(table)
    _write_outputs(args, groups, rows, table)
    return rows


if __name__ == '__main__':
    main()
