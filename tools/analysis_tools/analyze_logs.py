# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Plot / compare loss and metric curves of mmengine json logs, and report the
training speed.

A LOG is a json-lines scalar file (``<work_dir>/<timestamp>/vis_data/
scalars.json`` or ``<timestamp>.json``), or a folder searched for them
(a work dir: all its runs, in time order, so a resumed run continues the
curve; a step logged again after a resume keeps its latest value).

Examples::

    python tools/analysis_tools/analyze_logs.py plot_curve \\
        work_dirs/tiny --keys loss loss_align --out loss.png
    python tools/analysis_tools/analyze_logs.py plot_curve \\
        work_dirs/a work_dirs/b --keys student/mIoU --legend a b \\
        --out miou.png
    python tools/analysis_tools/analyze_logs.py cal_train_time work_dirs/a
"""
import argparse
import glob
import json
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import numpy as np

Series = Dict[str, Tuple[List[int], List[float]]]


def find_log_files(path: str) -> List[str]:
    """The scalar json files of ``path`` (a file, or a folder searched
    recursively for ``vis_data/scalars.json``), oldest run first.

    Raises:
        FileNotFoundError: nothing there (names the path).
    """
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise FileNotFoundError(f'log not found: {path}')
    files = sorted(
        glob.glob(
            osp.join(path, '**', 'vis_data', 'scalars.json'), recursive=True))
    if not files:
        raise FileNotFoundError(
            f'no vis_data/scalars.json under {path} (pass the json file '
            'itself, or a work dir of an mmengine run)')
    return files


def load_log(path: str) -> Dict[str, Series]:
    """Scalars of one LOG, split into ``train`` (lines with ``iter``) and
    ``val`` (the others) series: ``{key: (steps, values)}``.

    Raises:
        ValueError: a line that is not a json object with a ``step``
            (names file and line number).
    """
    rows: Dict[str, 'OrderedDict[Tuple[str, int], dict]'] = {}
    merged: 'OrderedDict[Tuple[str, int], dict]' = OrderedDict()
    for file in find_log_files(path):
        with open(file) as f:
            for num, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f'{file}:{num}: not json ({err})') \
                        from err
                if not isinstance(row, dict) or 'step' not in row:
                    raise ValueError(f'{file}:{num}: a scalar log line '
                                     'needs a "step"')
                mode = 'train' if 'iter' in row else 'val'
                merged[(mode, int(row['step']))] = row  # latest wins
    for (mode, step), row in sorted(
            merged.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        rows.setdefault(mode, OrderedDict())[(mode, step)] = row
    out: Dict[str, Series] = {'train': {}, 'val': {}}
    for mode, by_step in rows.items():
        for (_, step), row in by_step.items():
            for key, value in row.items():
                if key in ('step', 'iter', 'epoch') or not isinstance(
                        value, (int, float)) or isinstance(value, bool):
                    continue
                steps, values = out[mode].setdefault(key, ([], []))
                steps.append(step)
                values.append(float(value))
    return out


def get_series(log: Dict[str, Series],
               key: str,
               where: str = '') -> Tuple[str, List[int], List[float]]:
    """``(mode, steps, values)`` of ``key`` (train first, then val).

    Raises:
        KeyError: names the key, the log and the keys it has.
    """
    for mode in ('train', 'val'):
        if key in log[mode]:
            return (mode, ) + log[mode][key]
    have = sorted(set(log['train']) | set(log['val']))
    raise KeyError(f'{where or "log"} has no scalar "{key}"; it has: '
                   f'{", ".join(have)}')


def plot_curve(logs: List[Dict[str, Series]],
               names: List[str],
               keys: List[str],
               out: str,
               title: Optional[str] = None,
               legend: Optional[List[str]] = None) -> str:
    """One panel per key, one line per log; saved to ``out`` (Agg)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    legend = legend or names
    if len(legend) != len(logs):
        raise ValueError(f'{len(legend)} --legend entries for {len(logs)} '
                         'logs')
    fig, axes = plt.subplots(
        len(keys), 1, squeeze=False, figsize=(7, 3 * len(keys)))
    for ax, key in zip(axes[:, 0], keys):
        for log, name, label in zip(logs, names, legend):
            mode, steps, values = get_series(log, key, name)
            ax.plot(
                steps,
                values,
                marker='o' if mode == 'val' else None,
                markersize=3,
                label=label)
        ax.set_xlabel('iteration')
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def train_time(log: Dict[str, Series]) -> Dict[str, float]:
    """Mean / slowest / fastest seconds per logged iteration (``time``)."""
    _, steps, times = get_series(log, 'time')
    times_a = np.asarray(times)
    return dict(
        mean=float(times_a.mean()),
        slowest=float(times_a.max()),
        slowest_step=int(steps[int(times_a.argmax())]),
        fastest=float(times_a.min()),
        std=float(times_a.std()),
        num=len(times))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description='Analyse mmengine json '
                                     'scalar logs')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot scalar curves')
    plot.add_argument('logs', nargs='+', help='json logs or work dirs')
    plot.add_argument(
        '--keys',
        nargs='+',
        default=['loss'],
        help='scalars to plot, one panel each (default loss)')
    plot.add_argument(
        '--legend',
        nargs='+',
        default=None,
        help='one name per log (default: the paths)')
    plot.add_argument('--title', default=None)
    plot.add_argument('--out', required=True, help='output image file')
    speed = sub.add_parser('cal_train_time', help='seconds per iteration')
    speed.add_argument('logs', nargs='+', help='json logs or work dirs')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None):
    """Entry point; returns the plot path or the timing dicts."""
    args = parse_args(argv)
    logs = [load_log(p) for p in args.logs]
    if args.task == 'plot_curve':
        path = plot_curve(logs, args.logs, args.keys, args.out, args.title,
                          args.legend)
        print(f'saved {path}')
        return path
    results = []
    for name, log in zip(args.logs, logs):
        t = train_time(log)
        results.append(t)
        print(f'{name}: {t["mean"]:.4f} s/iter on average over {t["num"]} '
              f'logged iterations (slowest {t["slowest"]:.4f} s at step '
              f'{t["slowest_step"]}, fastest {t["fastest"]:.4f} s, std '
              f'{t["std"]:.4f} s)')
    return results


if __name__ == '__main__':
    main(sys.argv[1:])
