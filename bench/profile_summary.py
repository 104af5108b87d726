"""Summarise py-spy's collapsed stacks: the functions where daphne spends its samples.

`python -m bench.profile_summary profile.txt [--top 25] [--match conversations]`
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Sequence

_FRAME = re.compile(r"^(?P<name>[^ ]+) \((?P<file>[^:]+)(?::\d+)?\)$")


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "/work/wt13/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['name']} ({path})"


def summarise(path: str, top: int, match: str) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    with open(path) as stacks:
        for line in stacks:
            stack, _, count_text = line.rstrip().rpartition(" ")
            if not count_text.isdigit():
                continue
            count = int(count_text)
            frames = [_short(f) for f in stack.split(";")]
            total += count
            own[frames[-1]] += count
            for frame in set(frames):
                inclusive[frame] += count
    lines = [f"{total} samples", "", "inclusive (frame anywhere on the stack):"]
    picked = [(f, n) for f, n in inclusive.most_common() if match in f][:top]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in picked]
    lines += ["", "self (frame on top of the stack):"]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in own.most_common(top)]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="")
    args = parser.parse_args(argv)
    print(summarise(args.path, args.top, args.match))


if __name__ == "__main__":
    main()
