"""Turn mmengine work directories into a markdown table like Table 3.

Usage::

    python tools/summarize.py WORK_DIR [WORK_DIR ...] [--baseline NAME_OR_DIR]
        [--metric accuracy/top1] [--last 10] [--out table.md]

For every work directory (the method name is the directory's name, or
``NAME=DIR`` on the command line) it reads the JSON-lines scalar logs
mmengine writes, ``<timestamp>/vis_data/scalars.json`` (or
``<timestamp>/vis_data/<timestamp>.json``), merges the runs of a resumed
training in timestamp order (a later validation of the same epoch replaces an
earlier one) and reports

* **best top-1**: the best validation ``accuracy/top1``;
* **median top-1 of the last N epochs** (``--last``, default 10): the median
  over the last N validations, as the paper reports;
* **training cost**: the mean logged training iteration ``time`` divided by
  that of the baseline run (``--baseline``: a method name or a work
  directory; by default the run whose name contains ``vanilla``). Lines
  before ``--skip-iters`` in each log are left out of the mean (warm-up).

Training lines are those with ``epoch``/``iter`` keys; validation lines are
those with the metric key. Directories that hold only test logs are ignored.
"""
import argparse
import glob
import json
import os
import os.path as osp
import statistics
import sys


def _read_json_lines(path):
    records = []
    with open(path) as f:
        text = f.read()
    # mmengine writes one JSON object per line; tolerate objects written
    # back to back without a newline (e.g. a test run's single line).
    decoder = json.JSONDecoder()
    pos = 0
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            nxt = text.find('\n', pos)
            if nxt < 0:
                break
            pos = nxt + 1
            continue
        if isinstance(obj, dict):
            records.append(obj)
    return records


def find_logs(work_dir):
    """Scalar log files of a work dir, oldest run first."""
    logs = []
    for run_dir in sorted(glob.glob(osp.join(work_dir, '*'))):
        if not osp.isdir(run_dir):
            continue
        stamp = osp.basename(run_dir)
        for cand in (osp.join(run_dir, 'vis_data', 'scalars.json'),
                     osp.join(run_dir, 'vis_data', f'{stamp}.json')):
            if osp.isfile(cand):
                logs.append(cand)
                break
    return logs


def load_run(work_dir, metric='accuracy/top1', skip_iters=0):
    """Parse a work dir; return ``dict(times=[...], val=[(step, acc), ...])``.

    ``val`` is sorted by step (epoch, or iteration for iter-based runs),
    with the latest log winning when a resumed run repeats a step.
    """
    times, val = [], {}
    for log in find_logs(work_dir):
        records = _read_json_lines(log)
        train = [r for r in records if 'iter' in r and 'time' in r
                 and metric not in r]
        if not train and not any(metric in r for r in records):
            continue
        times.extend(float(r['time']) for r in train[skip_iters:])
        last_epoch = None
        for r in records:
            if 'epoch' in r:
                last_epoch = r['epoch']
            if metric in r:
                step = r.get('step', last_epoch)
                val[step] = float(r[metric])
    return dict(times=times,
                val=sorted(val.items(), key=lambda kv: (kv[0] is None,
                                                         kv[0] or 0)))


def summarize(runs, baseline=None, last=10):
    """``runs``: list of (name, parsed run); return a list of row dicts."""
    base_time = None
    if baseline is not None:
        bt = baseline['times']
        base_time = sum(bt) / len(bt) if bt else None
    rows = []
    for name, run in runs:
        accs = [a for _, a in run['val']]
        mean_time = sum(run['times']) / len(run['times']) \
            if run['times'] else None
        rows.append(
            dict(
                name=name,
                best=max(accs) if accs else None,
                median=statistics.median(accs[-last:]) if accs else None,
                epochs=len(accs),
                iter_time=mean_time,
                cost=(mean_time / base_time
                      if mean_time is not None and base_time else None)))
    return rows


def _fmt(x, digits):
    return '-' if x is None else f'{x:.{digits}f}'


def to_markdown(rows, last=10):
    lines = [
        f'| Method | Best top-1 (%) | Median top-1, last {last} (%) | '
        'Iter time (s) | Training cost |',
        '| --- | ---: | ---: | ---: | ---: |',
    ]
    for r in rows:
        lines.append(f"| {r['name']} | {_fmt(r['best'], 2)} | "
                     f"{_fmt(r['median'], 2)} | {_fmt(r['iter_time'], 4)} | "
                     f"{_fmt(r['cost'], 2)} |")
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Summarize mmengine work directories (Table 3 style)')
    parser.add_argument(
        'work_dirs', nargs='+', help='work directories, or NAME=DIR')
    parser.add_argument(
        '--baseline',
        help='method name or work dir of the vanilla run (default: the run '
        'whose name contains "vanilla")')
    parser.add_argument('--metric', default='accuracy/top1')
    parser.add_argument(
        '--last', type=int, default=10,
        help='median over the last N validations (default 10)')
    parser.add_argument(
        '--skip-iters', type=int, default=0,
        help='leave the first N logged iterations of each log out of the '
        'iteration time (warm-up)')
    parser.add_argument('--out', help='also write the table to this file')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    runs = []
    for item in args.work_dirs:
        if '=' in item and not osp.isdir(item):
            name, path = item.split('=', 1)
        else:
            path = item
            name = osp.basename(osp.normpath(item))
        if not osp.isdir(path):
            sys.exit(f'error: work directory {path} does not exist')
        runs.append((name, load_run(path, args.metric, args.skip_iters)))

    baseline = None
    if args.baseline is not None:
        by_name = dict(runs)
        if args.baseline in by_name:
            baseline = by_name[args.baseline]
        elif osp.isdir(args.baseline):
            baseline = load_run(args.baseline, args.metric, args.skip_iters)
        else:
            sys.exit(f'error: baseline {args.baseline} is neither a listed '
                     'method nor a work directory')
    else:
        vanilla = [r for n, r in runs if 'vanilla' in n.lower()]
        baseline = vanilla[0] if vanilla else None

    rows = summarize(runs, baseline, args.last)
    table = to_markdown(rows, args.last)
    print(table)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(table + '\n')
    return rows


if __name__ == '__main__':
    main()
