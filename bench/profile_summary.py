"""Summarise py-spy's raw (collapsed) stacks: the functions that took the most samples.

    python bench/profile_summary.py [--top 25] STACKS.txt [MORE.txt ...]

Own time is where a sample stopped (the function running); cumulative time counts
every function on the sample's stack once. Several files (for example the three
tills) are added together.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _short(frame: str) -> str:
    """``send (aiokafka/producer/producer.py)``: the function and its file's last parts."""
    match = _FRAME.match(frame)
    if match is None:
        return frame
    parts = Path(match["file"]).parts
    return f"{match['name']} ({'/'.join(parts[-2:])})"


def summarise(files: list[Path], top: int) -> str:
    own: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    total = 0
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            samples = int(count)
            frames = [_short(frame) for frame in stack.split(";")]
            total += samples
            own[frames[-1]] += samples
            for frame in set(frames):
                cumulative[frame] += samples
    lines = [f"{total} samples (CPU-busy only) from {', '.join(p.name for p in files)}"]
    for title, counts in (("own", own), ("cumulative", cumulative)):
        lines.append(f"top {top} by {title} time:")
        for frame, samples in counts.most_common(top):
            lines.append(f"  {100 * samples / max(total, 1):5.1f}%  {frame}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("stacks", nargs="+", type=Path)
    args = parser.parse_args()
    print(summarise(args.stacks, args.top))


if __name__ == "__main__":
    main()
