"""The native text path gives exactly what the Python path (and Python's str) gives."""

import random
import threading
import time
from collections import Counter

import pytest

import cairn
import cairn.bag as cb
from cairn import _core

# Characters where Python's str semantics are easy to get wrong.
ALPHABET = (
    list("abcXYZ019 .,'") + ["\t", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u1680",
                             "\u2003", "\u2028", "\u202f", "\u3000", "\u200b"]
    + list("éÉçÇñÑøØßẞİıΣσςΑΩάΌ") + ["ﬁ", "ǅ", "ǈ", "\u0301", "\u0345", "Ⅻ", "ⓐ", "Ａ", "𝔄",
                                    "😀", "中", "文", "Ꭰ", "ꭰ"]
)


def random_text(seed, lines=300):
    rng = random.Random(seed)
    out = []
    for _ in range(lines):
        words = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 8)))
                 for _ in range(rng.randint(0, 12))]
        sep = rng.choice([" ", "  ", "\t", " \u3000 "])
        ending = rng.choice(["\n", "\r\n", "\r", "\n"])
        out.append(sep.join(words) + ending)
    return "".join(out)


PIPELINES = {
    "lines": lambda b: b,
    "lower": lambda b: b.str.lower(),
    "upper": lambda b: b.str.upper(),
    "strip": lambda b: b.str.strip(),
    "split": lambda b: b.str.split(),
    "words": lambda b: b.str.split().flatten(),
    "lower-words": lambda b: b.str.lower().str.split().flatten(),
    "upper-strip-nonempty": lambda b: b.str.upper().str.strip().filter(bool),
    "frequencies": lambda b: b.str.lower().str.split().flatten().frequencies(),
    "frequencies-sorted": lambda b: b.str.split().flatten().frequencies(sort=True),
    "topk": lambda b: b.str.split().flatten().frequencies().topk(5, key=1),
    "distinct": lambda b: b.str.upper().str.split().flatten().distinct(),
    "count-words": lambda b: b.str.split().flatten().count(),
    "count-lines": lambda b: b.count(),
    "bigrams": lambda b: b.str.split().ngrams(2).flatten().frequencies(),
    "trigrams": lambda b: b.str.lower().str.split().ngrams(3, sep="_"),
    "map-builtin": lambda b: b.map(str.lower).map(str.split),
    # n-grams counted natively as word-id tuples (n <= 4, whitespace sep), the rest as strings
    "unigrams": lambda b: b.str.split().ngrams(1, sep="").flatten().frequencies(),
    "bigrams-topk": lambda b: b.str.split().ngrams(2).flatten().frequencies().topk(7, key=1),
    "bigrams-sorted": lambda b: b.str.split().ngrams(2).flatten().frequencies(sort=True),
    "bigrams-distinct": lambda b: b.str.split().ngrams(2, sep="\t ").flatten().distinct(),
    "bigrams-count": lambda b: b.str.split().ngrams(2).flatten().count(),
    "bigrams-nosep": lambda b: b.str.split().ngrams(2, sep="").flatten().frequencies(),
    "trigrams-lower-strip": lambda b: (b.str.strip().str.lower().filter(bool).str.split()
                                       .ngrams(3).flatten().frequencies()),
    "4grams-upper-lower": lambda b: (b.str.upper().str.lower().str.split().ngrams(4, sep="\u3000")
                                     .flatten().frequencies().topk(3, key=1)),
    "4grams-count": lambda b: b.str.split().filter(bool).ngrams(4).flatten().count(),
    "5grams": lambda b: b.str.split().ngrams(5).flatten().frequencies(),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("native")
    for i in range(3):
        (d / f"part{i}.txt").write_bytes(random_text(i).encode("utf-8"))
    return str(d / "*.txt")


def is_native(bag):
    layer = bag._layer if hasattr(bag, "_layer") else {}
    return any(isinstance(t, tuple) and t and isinstance(t[0], _core.NativeTask)
               for t in layer.values())


@pytest.mark.parametrize("name", sorted(PIPELINES))
@pytest.mark.parametrize("blocksize", [None, 97])
def test_native_matches_python_path(corpus, name, blocksize, scheduler):
    build = PIPELINES[name]
    native = build(cb.read_text(corpus, blocksize=blocksize))
    with cairn.config.set({"bag.native": False}):
        python = build(cb.read_text(corpus, blocksize=blocksize))
        assert not is_native(python)
        expected = python.compute()
    assert is_native(native) or name == "topk"
    assert native.compute() == expected


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_ngram_counts_match_python_across_many_partitions(tmp_path, n):
    """Word-id n-gram counts keep the Python path's keys, counts and first-seen order through
    merges of many partitions (split_every=2: several merge levels) and ties in topk."""
    rng = random.Random(n)
    words = ["a", "b", "é", "Σσ", "😀", "x" * 20, "中文"]
    for i in range(4):
        lines = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 6)))
                 for _ in range(200)]
        ending = "" if i == 3 else "\n"  # the last file ends without a line ending
        (tmp_path / f"p{i}.txt").write_text("\n".join(lines) + ending, encoding="utf-8")
    pattern = str(tmp_path / "*.txt")

    def build(b):
        grams = b.str.split().ngrams(n).flatten()
        return [grams.frequencies(split_every=2), grams.frequencies(sort=True),
                grams.frequencies().topk(4, key=1), grams.distinct(), grams.count(),
                # topk lists the last level's runs unmerged (a threshold finds the best k)
                grams.frequencies(split_every=2).topk(3, key=1),
                grams.frequencies(split_every=3).topk(1000, key=1)]

    native = build(cb.read_text(pattern, blocksize=50))
    assert len(native[0].dask) > 100  # many partitions and merges
    with cairn.config.set({"bag.native": False}):
        expected = cairn.compute(*build(cb.read_text(pattern, blocksize=50)))
    assert cairn.compute(*native) == expected


def test_bigram_counts_equal_a_python_counter(tmp_path):
    """Native bigram counts (word-id tuples, sorted runs, k-way merges) are a Counter of
    "w1 w2" over neighbouring words of each line, keys in order of first occurrence."""
    paths = []
    for i in range(3):
        path = tmp_path / f"b{i}.txt"
        path.write_bytes(random_text(20 + i).encode("utf-8"))
        paths.append(str(path))
    expected = Counter()
    for path in paths:
        with open(path, encoding="utf-8") as f:  # universal newlines, as read_text
            for line in f:
                w = line.split()
                expected.update(a + " " + b for a, b in zip(w, w[1:]))
    grams = cb.read_text(paths, blocksize=300).str.split().ngrams(2).flatten()
    assert grams.npartitions > 10 and is_native(grams)
    assert grams.frequencies(split_every=3).compute() == list(expected.items())
    assert grams.frequencies().topk(5, key=1).compute() == expected.most_common(5)


def test_native_matches_dask(corpus):
    db = pytest.importorskip("dask.bag")
    for name, build in PIPELINES.items():
        if "grams" in name:
            continue  # ngrams is cairn's own
        ours = build(cb.read_text(corpus)).compute()
        theirs = build(db.read_text(corpus)).compute(scheduler="sync")
        assert ours == theirs, name


def test_python_steps_mix_with_native_ones(corpus):
    b = cb.read_text(corpus).str.lower().str.split()
    mixed = b.map(lambda ws: [w for w in ws if len(w) > 2]).flatten().frequencies()
    with cairn.config.set({"bag.native": False}):
        ref = (cb.read_text(corpus).str.lower().str.split()
               .map(lambda ws: [w for w in ws if len(w) > 2]).flatten().frequencies())
        expected = ref.compute()
    assert mixed.compute() == expected


def test_invalid_utf8_error_names_file_and_offset(tmp_path):
    good = b"line one\n" * 50
    path = tmp_path / "bad.txt"
    path.write_bytes(good + b"caf\xe9 au lait\n" + good)
    offset = len(good) + 3
    for blocksize in (None, 64, 10_000):
        with pytest.raises(UnicodeDecodeError) as info:
            cb.read_text(str(path), blocksize=blocksize).str.split().flatten().count().compute()
        message = str(info.value)
        assert str(path) in message and f"byte offset {offset}" in message, message
        assert info.value.offset == offset


def test_errors_replace_matches_python(tmp_path):
    raw = b"ok \xff\xfe line\nmid \xf0\x9f\x98 cut\n\xc3\x28 end \xed\xa0\x80\n"
    path = tmp_path / "r.txt"
    path.write_bytes(raw)
    lines = cb.read_text(str(path), errors="replace").compute()
    assert lines == raw.decode("utf-8", "replace").splitlines(keepends=True)


def test_compressed_inputs(tmp_path):
    import bz2
    import gzip

    import pyarrow as pa

    text = random_text(7, 50)
    (tmp_path / "a.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "b.bz2").write_bytes(bz2.compress(text.encode()))
    with pa.CompressedOutputStream(str(tmp_path / "c.zst"), "zstd") as f:
        f.write(text.encode())
    words = text.replace("\r\n", "\n").replace("\r", "\n").split()
    for name in ("a.gz", "b.bz2", "c.zst"):
        b = cb.read_text(str(tmp_path / name)).str.split().flatten()
        assert is_native(b)
        assert b.compute() == words


def test_native_scans_release_the_gil(tmp_path):
    line = "alpha beta gamma delta epsilon zeta eta theta\n"
    path = tmp_path / "big.txt"
    path.write_text(line * 400_000)  # ~19 MB
    bag = cb.read_text(str(path), blocksize=2**20).str.upper().str.split().flatten().frequencies()
    ticks = 0
    stop = threading.Event()

    def spin():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    t = threading.Thread(target=spin)
    t.start()
    t0 = time.perf_counter()
    try:
        result = dict(bag.compute(num_workers=1))
    finally:
        stop.set()
        t.join()
    elapsed = time.perf_counter() - t0
    assert result["ALPHA"] == 400_000
    # A Python thread kept running while the scan ran (it would stall if scans held the GIL).
    assert ticks > 100_000 * elapsed, (ticks, elapsed)


# --------------------------------------------------------------------------- past 2 GiB
# Values and partitions past 2 GiB (where 32-bit offsets wrap). They need a few GB of disk
# in the temporary folder and about three times the data in memory (the block, its Arrow
# strings, the Python strings), so they run only where that much memory is free.

GiB = 2**30


def _available_memory() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


needs_memory = pytest.mark.skipif(_available_memory() < 10 * GiB,
                                  reason="needs 10 GB of available memory (values past 2 GiB)")


def _write_repeated(path, piece: bytes, times: int, tail: bytes = b"") -> None:
    with open(path, "wb") as f:
        chunk = piece * max(1, (64 << 20) // len(piece))
        per_chunk = len(chunk) // len(piece)
        left = times
        while left >= per_chunk:
            f.write(chunk)
            left -= per_chunk
        f.write(piece * left + tail)


@pytest.fixture(scope="module")
def line_past_2_gib(tmp_path_factory):
    """One line of 2 GiB + 16 bytes, no spaces, ending in "é\\n": (path, its length in str)."""
    path = tmp_path_factory.mktemp("huge") / "one-line.txt"
    _write_repeated(path, b"ab", GiB + 8, "é\n".encode())
    yield str(path), 2 * GiB + 16 + 2
    path.unlink()


@needs_memory
def test_a_single_line_longer_than_2_GiB_keeps_its_length(line_past_2_gib):
    path, length = line_past_2_gib
    assert cb.read_text(path).map(len).compute() == [length]


@needs_memory
def test_a_word_longer_than_2_GiB_is_counted_whole(line_past_2_gib):
    path, length = line_past_2_gib
    words = cb.read_text(path).str.split()
    assert is_native(words)
    # lists of words (64-bit list and string offsets), then the counting table's keys
    assert words.map(lambda ws: [len(w) for w in ws]).compute() == [[length - 1]]
    counts = words.flatten().frequencies().compute()
    assert [(len(w), c) for w, c in counts] == [(length - 1, 1)]


@needs_memory
def test_a_partition_past_2_GiB_keeps_every_line(tmp_path):
    """Lines of 1 MiB adding up to more than 2 GiB in one partition, and the same file cut
    into two blocks, the second starting past 1 GiB."""
    line = b"x" * (2**20 - 1) + b"\n"
    path = tmp_path / "many-lines.txt"
    _write_repeated(path, line, 2048 + 3)
    expected = [len(line)] * (2048 + 3)
    try:
        for blocksize, partitions in ((None, 1), ("1GiB", 2)):
            bag = cb.read_text(str(path), blocksize=blocksize)
            assert is_native(bag) and bag.npartitions == partitions
            assert bag.map(len).compute() == expected, blocksize
    finally:
        path.unlink()
