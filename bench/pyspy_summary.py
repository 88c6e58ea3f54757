"""Summarise a ``py-spy record --format raw`` profile: self and inclusive % per function.

    .venv/bin/python bench/pyspy_summary.py profile.txt [--top 30]

Percentages are of all samples (py-spy's ``--nonblocking`` mode leaves some stacks truncated;
those count in the total but not under ``Server.run``). The ``line`` table lists the hottest
single lines by self time, which shows e.g. which call inside a function is the cost.
"""

from __future__ import annotations

import argparse
import collections
import re


def _key(frame: str, with_line: bool) -> str:
    m = re.match(r"(.*) \((.*?)(:-?\d+)?\)$", frame)
    if not m:
        return frame
    fn, file, line = m.groups()
    file = re.sub(r".*/site-packages/", "", file)
    file = re.sub(r".*/(src|bench)/", "", file)
    return f"{fn} ({file}{(line or '') if with_line else ''})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("profile")
    p.add_argument("--top", type=int, default=30)
    args = p.parse_args()
    incl: collections.Counter[str] = collections.Counter()
    self_: collections.Counter[str] = collections.Counter()
    lines: collections.Counter[str] = collections.Counter()
    total = 0
    with open(args.profile) as fh:
        for raw in fh:
            raw = raw.rstrip("\n")
            if " " not in raw:
                continue
            stack, count = raw.rsplit(" ", 1)
            n = int(count)
            total += n
            frames = stack.split(";")
            keys = [_key(f, False) for f in frames]
            for k in set(keys):
                incl[k] += n
            self_[keys[-1]] += n
            lines[_key(frames[-1], True)] += n
    print(f"samples: {total}")
    for title, counter in (("self", self_), ("inclusive", incl), ("line (self)", lines)):
        print(f"\n{title}: top {args.top}")
        for k, v in counter.most_common(args.top):
            print(f"{100 * v / total:5.1f} %  {k}")


if __name__ == "__main__":
    main()
