# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Collect the quick start's teacher and student metrics into one table.

Reads the metrics JSON that ``tools/test.py`` writes
(``<dir>/<timestamp>/<timestamp>.json``, the newest run) of each test
folder of a quick-start work dir and writes ``WORK_DIR/summary.json``: a
list of rows ``{"stage", "metric", "teacher", "student"}``, and prints the
table with the student/teacher ratio.

The teacher is the proxy teacher fine-tuned on the bundled samples, and
both are evaluated on those same samples: the ratio is a proxy for
distillation fidelity, not a benchmark.

Usage::

    python tools/misc/quick_start_summary.py WORK_DIR
"""
import argparse
import glob
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

#: (stage, metric name in the table, (folder, key) of the teacher value,
#: (folder, key) of the student value)
ROWS = (
    ('stage1', 'box-prompt mIoU vs GT (COCO-format sample)',
     ('stage1_teacher', 'teacher/mIoU/box'), ('stage1_test',
                                              'student/mIoU/box')),
    ('stage1', 'box-prompt mIoU vs GT, 5 images the teacher was not fitted to',
     ('stage1_heldout', 'teacher/mIoU/box'), ('stage1_heldout',
                                              'student/mIoU/box')),
    ('stage2', 'J&F on the bundled clip (DAVIS layout)',
     ('stage2_teacher', 'J&F'), ('stage2_test', 'J&F')),
    ('stage3', 'cgF1 on the bundled SA-Co pairs', ('stage3_teacher', 'cgF1'),
     ('stage3_test', 'cgF1')),
)


def latest_metrics(folder: str) -> Dict[str, float]:
    """The metrics of the newest ``tools/test.py`` run under ``folder``.

    Raises:
        FileNotFoundError: naming the folder when it holds no metrics file.
    """
    files = sorted(glob.glob(osp.join(folder, '*', '*.json')))
    files = [
        f for f in files
        if osp.basename(f)[:-5] == osp.basename(osp.dirname(f))
    ]
    if not files:
        raise FileNotFoundError(f'no tools/test.py metrics '
                                f'(<timestamp>/<timestamp>.json) under '
                                f'{folder}')
    with open(files[-1]) as f:
        return json.load(f)


def collect(work_dir: str, rows: Sequence = ROWS) -> List[dict]:
    """Summary rows of a quick-start work dir.

    Raises:
        KeyError: naming the file and the missing metric.
    """
    cache: Dict[str, Dict[str, float]] = {}
    out = []
    for stage, metric, teacher, student in rows:
        values = []
        for folder, key in (teacher, student):
            if folder not in cache:
                cache[folder] = latest_metrics(osp.join(work_dir, folder))
            if key not in cache[folder]:
                raise KeyError(f'{osp.join(work_dir, folder)}: no metric '
                               f'{key!r} (has {sorted(cache[folder])})')
            values.append(float(cache[folder][key]))
        out.append(
            dict(
                stage=stage,
                metric=metric,
                teacher=values[0],
                student=values[1]))
    return out


def ratio(row: dict) -> Optional[float]:
    """Student / teacher (None when the teacher scores 0)."""
    return row['student'] / row['teacher'] if row['teacher'] else None


def format_table(rows: Sequence[dict]) -> str:
    """The summary as a fixed-width text table."""
    head = ('stage', 'metric', 'teacher', 'student', 'student/teacher')
    lines = [
        (r['stage'], r['metric'], f"{r['teacher']:.2f}", f"{r['student']:.2f}",
         '-' if ratio(r) is None else f'{ratio(r):.2f}') for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
    fmt = '  '.join(f'{{:<{w}}}' for w in widths)
    return '\n'.join(
        [fmt.format(
            *head), fmt.format(*('-' * w for w in widths))] +
        [fmt.format(*line) for line in lines])


def write_summary(rows: Sequence[dict], path: str) -> None:
    """Write the rows as a JSON list."""
    with open(path, 'w') as f:
        json.dump(list(rows), f, indent=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir')
    args = parser.parse_args()
    rows = collect(args.work_dir)
    path = osp.join(args.work_dir, 'summary.json')
    write_summary(rows, path)
    print(format_table(rows))
    print('Teacher = the proxy teacher fine-tuned on these bundled samples; '
          'except for the row that says otherwise, teacher and student are '
          'evaluated on the data the teacher was fitted to (a proxy for '
          'distillation fidelity, not a benchmark).')
    print(f'written to {path}')


if __name__ == '__main__':
    main()
