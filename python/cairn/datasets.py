"""Generated data sets for demos, tests and benchmarks (as ``dask.datasets``)."""

from __future__ import annotations

import os
__all__ = ["zipf_corpus"]


def _vocabulary(rng, size: int) -> list[bytes]:
    import numpy as np

    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
    lengths = rng.integers(2, 11, size)
    words, seen = [], set()
    for n in lengths:
        w = bytes(letters[rng.integers(0, 26, n)])
        if w in seen:
            continue
        seen.add(w)
        words.append(w)
    # Some capitalised and accented forms, so lower() and Unicode matter.
    for i in range(0, len(words), 11):
        words[i] = words[i].capitalize()
    for i in range(5, len(words), 97):
        words[i] = words[i] + "é".encode()
    return words


def zipf_corpus(path: str, total_mb: float = 256, files: int = 4, vocabulary: int = 50_000,
                exponent: float = 1.07, seed: int = 0) -> list[str]:
    """Write a text corpus whose word frequencies follow Zipf's law.

    Lines hold 5-19 words; a few words are capitalised or accented. The same arguments
    always give the same bytes.

    Parameters
    ----------
    path : str
        Folder to write ``part-000.txt`` ... into (created if missing).
    total_mb : float
        Approximate total size in MiB.
    files : int
        Number of files.
    vocabulary : int
        Number of distinct words.
    exponent : float
        Zipf exponent (frequency of the r-th word ~ 1 / r**exponent).
    seed : int

    Returns
    -------
    list of str
        The paths written.

    Examples
    --------
    >>> import tempfile, cairn.datasets
    >>> paths = cairn.datasets.zipf_corpus(tempfile.mkdtemp(), total_mb=0.1, files=2)
    >>> len(paths)
    2
    """
    try:
        import numpy as np
    except ImportError as e:  # pragma: no cover - numpy is in the dev environment
        raise ImportError("cairn.datasets needs numpy: pip install numpy") from e
    if files < 1:
        raise ValueError(f"files must be at least 1, got {files}")
    os.makedirs(path, exist_ok=True)
    rng = np.random.default_rng(seed)
    words = _vocabulary(rng, vocabulary)
    probs = 1.0 / np.arange(1, len(words) + 1) ** exponent
    probs /= probs.sum()
    per_file = int(total_mb * 2**20 / files)
    paths = []
    for f in range(files):
        out = bytearray()
        while len(out) < per_file:
            ids = rng.choice(len(words), size=100_000, p=probs)
            lengths = rng.integers(5, 20, 100_000 // 5)
            pos = 0
            lines: list[bytes] = []
            for n in lengths:
                if pos + n > len(ids):
                    break
                lines.append(b" ".join([words[i] for i in ids[pos:pos + n]]))
                pos += n
            out += b"\n".join(lines) + b"\n"
        p = os.path.join(path, f"part-{f:03d}.txt")
        with open(p, "wb") as fh:
            fh.write(bytes(out[:per_file + out[per_file:].find(b"\n") + 1]))
        paths.append(p)
    return paths

