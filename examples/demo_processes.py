"""The worker-processes part of the cairn demo: GIL-bound Python code on every core.

Run from demo.py (step [8]) or alone: ``python examples/demo_processes.py CORPUS_FOLDER``.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import cairn.bag as cb

_NOT_WORD = re.compile(r"[^\w\s]+")


def stem_tokens(line: str) -> list[str]:
    """A pure-Python tokenizer (a loop per token: it holds the GIL, as real ones do)."""
    tokens = []
    for word in _NOT_WORD.sub(" ", line.lower()).split():
        if len(word) < 3:
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if len(word) > len(suffix) + 2 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
        tokens.append(word)
    return tokens


def demo_processes(corpus: Path) -> None:
    files = sorted(str(p) for p in corpus.glob("*.txt"))[:2]  # half the corpus: it is slow
    mb = sum(Path(f).stat().st_size for f in files) / 2**20
    print(f"\n[8] a pure-Python tokenizer over {mb:.0f} MiB: threads (one GIL) vs worker "
          "processes")
    top = {}
    times = {}
    for scheduler in ("threads", "processes"):
        bag = cb.read_text(files, blocksize="4MiB").map(stem_tokens).flatten()
        t0 = time.perf_counter()
        top[scheduler] = bag.frequencies().topk(5, key=1).compute(scheduler=scheduler)
        times[scheduler] = time.perf_counter() - t0
        print(f"  {scheduler:<44} {times[scheduler]:8.3f} s")
    assert top["threads"] == top["processes"], "threads and processes disagree"
    print(f"  -> same top 5 ({', '.join(w for w, _ in top['processes'])}); processes "
          f"{times['threads'] / times['processes']:.1f}x faster than threads")


if __name__ == "__main__":
    demo_processes(Path(sys.argv[1]))
