"""read_text and to_textfiles against Dask, on the native (C++) text path and the Python one.

``cairn.bag.read_text`` scans UTF-8 files natively unless ``bag.native`` is off (or an option
needs the Python reader: other encodings, ``linedelimiter``, ``include_path``, xz). The
``native`` fixture runs each test both ways; both must give what ``dask.bag`` gives.
"""

import bz2
import gzip
import lzma
import operator
import os
import random
import re

import pytest

import cairn
import cairn.bag as cb

dask = pytest.importorskip("dask")
db = pytest.importorskip("dask.bag")
pa = pytest.importorskip("pyarrow")


def dask_compute(x):
    return x.compute(scheduler="sync")


def cairn_parts(b):
    return [list(p) for p in cairn.compute(*b.to_delayed())]


def dask_parts(b):
    return [list(p) for p in dask.compute(*b.to_delayed(), scheduler="sync")]


def assert_same_bag(c, d, partitions=True):
    got, want = c.compute(), dask_compute(d)
    assert got == want
    if partitions:
        assert c.npartitions == d.npartitions
        assert cairn_parts(c) == dask_parts(d)


def write(path, data, mode="wb"):
    with open(path, mode) as f:
        f.write(data)
    return str(path)


def zstd_compress_to(path, data):
    with pa.OSFile(str(path), "wb") as raw:
        with pa.CompressedOutputStream(raw, "zstd") as out:
            out.write(data)
    return str(path)


def universal_lines(text):
    """The lines Python's universal-newline reader gives (what Dask returns)."""
    import io

    return list(io.StringIO(text, newline=None))


# --- a text corpus that exercises Unicode case mapping, whitespace and line endings ------------
TRICKY = [
    "İ", "ı", "ß", "ẞ", "Σ", "σ", "ς", "ΟΔΟΣ", "ΣΑΣ", "AΣ.", "AΣ'b", "ﬁ", "ﬀ", "ǅ", "ǈ", "Ǆ",
    "ǆ", "Ω", "ŉ", "ΐ", "ͅ", "ᾳ", "ᾼ", "😀", "e\u0301", "Ⅻ", "ⓐ", "Ａ", "ꭰ", "Ꭰ", "ა", "Ა",
    "K", "Å", "ſ", "𐐀", "𐐨", "Ǉ", "ǰ", "ÿ", "É", "é", "ẞ", "Ⱥ", "ȿ", "ɐ", "µ", "\x00",
    "\u200b", "\ufeff", "\u180e", "\x7f",
]
SPACES = [" ", " ", " ", " ", "\t", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85",
          "\xa0", "\u1680", "\u2000", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f",
          "\u205f", "\u3000"]
NEWLINES = ["\n", "\n", "\n", "\r\n", "\r\n", "\r", "\n\n", "\r\r\n"]
WORDS = ["the", "The", "THE", "cat", "Cat", "sat", "on", "mat", "a", "b", "c", "élan", "ÉLAN",
         "naïve", "Straße", "STRASSE", "İstanbul", "istanbul", "ΟΔΟΣ", "οδος", "x" * 40]


def make_corpus(n_tokens, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n_tokens):
        r = rng.random()
        if r < 0.45:
            out.append(rng.choice(WORDS))
        elif r < 0.6:
            out.append(rng.choice(TRICKY))
        elif r < 0.85:
            out.append(rng.choice(SPACES))
        else:
            out.append(rng.choice(NEWLINES))
    return "".join(out)


CORPUS = make_corpus(500, seed=1)


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    return write(d / "corpus.txt", CORPUS.encode("utf-8"))


PIPELINES = {
    "lines": lambda b: b,
    "lower": lambda b: b.str.lower(),
    "upper": lambda b: b.str.upper(),
    "strip": lambda b: b.str.strip(),
    "split": lambda b: b.str.split(),
    "split-flatten": lambda b: b.str.split().flatten(),
    "lower-split-flatten": lambda b: b.str.lower().str.split().flatten(),
    "upper-lower-strip": lambda b: b.str.upper().str.lower().str.strip(),
    "frequencies": lambda b: b.str.split().flatten().frequencies(),
    "frequencies-sorted": lambda b: b.str.lower().str.split().flatten().frequencies(sort=True),
    "frequencies-topk": lambda b: b.str.split().flatten().frequencies().topk(8, key=1),
    "frequencies-sorted-topk": lambda b: b.str.upper().str.split().flatten()
    .frequencies(sort=True).topk(5, key=1),
    "frequencies-of-lines": lambda b: b.frequencies(),
    "frequencies-split_every": lambda b: b.str.split().flatten().frequencies(split_every=2),
    "frequencies-topk-lambda": lambda b: b.str.split().flatten().frequencies()
    .topk(4, key=lambda kv: kv[1]),
    "frequencies-then-python": lambda b: b.str.lower().str.split().flatten().frequencies()
    .map(lambda kv: (kv[1], kv[0])),
    "frequencies-sorted-take": lambda b: b.str.split().flatten().frequencies(sort=True)
    .take(3, compute=False),
    "flatten-chars": lambda b: b.str.strip().flatten().frequencies(),
    "distinct": lambda b: b.str.split().flatten().distinct(),
    "distinct-lines": lambda b: b.distinct(),
    "strip-filter-bool": lambda b: b.str.strip().filter(bool),
    "split-filter-bool": lambda b: b.str.split().filter(bool),
    "split-flatten-filter-bool": lambda b: b.str.split().flatten().filter(bool),
    "map-str-lower": lambda b: b.map(str.lower),
    "map-str-split": lambda b: b.map(str.split).flatten(),
    "map-methodcaller": lambda b: b.map(operator.methodcaller("upper")),
    "str-split-sep": lambda b: b.str.split(" "),
    "str-strip-chars": lambda b: b.str.strip("\n"),
    "python-step-after-native": lambda b: b.str.lower().str.split().flatten().map(len),
    "python-filter-after-native": lambda b: b.str.split().flatten().filter(lambda w: len(w) > 2),
    "python-reduction-after-native": lambda b: b.str.split().map(len).frequencies(sort=True),
    "topk-words": lambda b: b.str.split().flatten().topk(5),
}

# Results that depend on how the lines are partitioned (compared without a blocksize).
PARTITION_PIPELINES = {
    "map_partitions-head": lambda b: b.str.split().flatten().map_partitions(
        lambda p: list(p)[:2]),
    "map_partitions-len": lambda b: b.str.lower().str.split().flatten().map_partitions(
        lambda p: [sum(1 for _ in p)]),
    "take": lambda b: b.str.split().flatten().take(3, npartitions=-1, compute=False),
}

ITEM_PIPELINES = {
    "split-count": lambda b: b.str.split().count(),
    "distinct-count": lambda b: b.str.split().flatten().distinct().count(),
    "frequencies-count": lambda b: b.str.split().flatten().frequencies().count(),
    "count-lines": lambda b: b.count(),
    "count-words": lambda b: b.str.split().flatten().count(),
    "count-nonempty": lambda b: b.str.strip().filter(bool).count(),
    "count-split_every": lambda b: b.str.lower().str.split().flatten().count(split_every=2),
    "sum-lengths": lambda b: b.str.split().flatten().map(len).sum(),
    "max-line": lambda b: b.str.strip().max(),
}


@pytest.mark.parametrize("blocksize", [None, 16, 1000])
@pytest.mark.parametrize("pipeline", PIPELINES.values(), ids=PIPELINES.keys())
def test_text_pipelines_match_dask(scheduler, native, corpus_file, pipeline, blocksize):
    c = pipeline(cb.read_text(corpus_file, blocksize=blocksize))
    d = pipeline(db.read_text(corpus_file, blocksize=blocksize))
    # With a blocksize, Dask and cairn may cut the file in a different number of blocks
    # (see test_blocksize_partitions_match_dask); the results must still be identical.
    assert_same_bag(c, d, partitions=blocksize is None)


@pytest.mark.parametrize("blocksize", [None, 7, 1000])
@pytest.mark.parametrize("pipeline", ITEM_PIPELINES.values(), ids=ITEM_PIPELINES.keys())
def test_text_reductions_match_dask(scheduler, native, corpus_file, pipeline, blocksize):
    got = pipeline(cb.read_text(corpus_file, blocksize=blocksize)).compute()
    want = dask_compute(pipeline(db.read_text(corpus_file, blocksize=blocksize)))
    assert type(got) is type(want)
    assert got == want


@pytest.mark.parametrize("pipeline", PARTITION_PIPELINES.values(),
                         ids=PARTITION_PIPELINES.keys())
def test_partition_dependent_pipelines_match_dask(scheduler, native, tmp_path, pipeline):
    for i in range(3):
        write(tmp_path / f"part-{i}.txt", make_corpus(100, seed=20 + i).encode())
    pattern = str(tmp_path / "part-*.txt")
    assert_same_bag(pipeline(cb.read_text(pattern)), pipeline(db.read_text(pattern)))


def test_text_pipelines_over_several_files(scheduler, native, tmp_path):
    for i in range(4):
        write(tmp_path / f"part-{i}.txt", make_corpus(150, seed=10 + i).encode())
    pattern = str(tmp_path / "part-*.txt")
    for name, pipeline in PIPELINES.items():
        c = pipeline(cb.read_text(pattern))
        d = pipeline(db.read_text(pattern))
        assert c.compute() == dask_compute(d), name


def test_ngrams_match_python(scheduler, native, corpus_file):
    def ngrams(words, n=2, sep=" "):
        return [sep.join(words[i:i + n]) for i in range(len(words) - n + 1)]

    for n in (1, 2, 3):
        got = cb.read_text(corpus_file).str.lower().str.split().ngrams(n).compute()
        want = dask_compute(db.read_text(corpus_file).str.lower().str.split()
                            .map(ngrams, n=n))
        assert got == want
    got = cb.read_text(corpus_file).str.split().ngrams(2, sep="_").flatten().frequencies()
    want = (db.read_text(corpus_file).str.split().map(ngrams, 2, "_").flatten()
            .frequencies())
    assert got.compute() == dask_compute(want)


def test_native_bags_combined_with_other_bags(scheduler, native, tmp_path):
    a = write(tmp_path / "a.txt", make_corpus(120, seed=5).encode())
    b = write(tmp_path / "b.txt", make_corpus(120, seed=6).encode())

    def build(m):
        x, y = m.read_text(a), m.read_text(b)
        words = m.concat([x.str.lower().str.split().flatten(), y.str.split().flatten()])
        return [
            words.frequencies(sort=True).compute(),
            m.zip(x.str.upper(), x.str.strip()).compute(),
            x.map(operator.add, x.str.lower()).compute(),
            x.str.split().map(len).sum().compute(),
            m.concat([x, y]).count().compute(),
            x.str.split().flatten().map(str.upper, ).frequencies().compute(),
        ]

    assert build(cb) == build(db)


def test_every_code_point_through_native_string_ops(native, tmp_path):
    import io
    import sys

    cps = [c for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF and c not in (10, 13)]
    lines = ["".join(map(chr, cps[i:i + 16])) for i in range(0, len(cps), 16)]
    text = "\n".join(lines) + "\n"
    path = write(tmp_path / "all.txt", text.encode("utf-8"))
    want = list(io.StringIO(text, newline=None))
    assert cb.read_text(path).compute() == want
    for op in ("lower", "upper", "strip", "split"):
        got = getattr(cb.read_text(path, blocksize=1 << 20).str, op)().compute()
        assert got == [getattr(line, op)() for line in want], op
    got = cb.read_text(path).str.lower().str.split().flatten().frequencies().compute()
    assert got == dask_compute(db.read_text(path).str.lower().str.split().flatten()
                               .frequencies())


def invalid_starts(data):
    """Offsets where Python's UTF-8 decoder finds an invalid sequence."""
    starts = []
    pos = 0
    while True:
        try:
            data[pos:].decode("utf-8")
            return starts
        except UnicodeDecodeError as e:
            starts.append(pos + e.start)
            pos += e.end


def test_random_bytes_decode_like_python(scheduler, native, tmp_path):
    pieces = [b"a", b" ", b"\n", b"\r", b"\r\n", b"\x80", b"\xbf", b"\xc2", b"\xc3\xa9",
              b"\xe2", b"\xe2\x82", b"\xe2\x82\xac", b"\xed", b"\xed\xa0",
              b"\xef\xbf\xbd", b"\xf0", b"\xf0\x9f", b"\xf0\x9f\x98", b"\xf0\x9f\x98\x80",
              b"\xf4\x8f\xbf\xbf", b"\xf4\x90", b"\xf5", b"\xff", b"\xc0", b"\xc1\xbf",
              b"\xe0\x80", b"\xe0\xa0\x80", b"\xf0\x80", b"\xf0\x90\x80\x80", b"\x00",
              "Σ".encode(), "İ".encode(), b"\xe2\x80\xa8"]
    rng = random.Random(0)
    path = str(tmp_path / "fuzz.txt")
    for _ in range(100):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
        write(path, data)
        want = universal_lines(data.decode("utf-8", "replace"))
        for bs in (None, 1, 5):
            assert cb.read_text(path, errors="replace", blocksize=bs).compute() == want, data
            assert cb.read_text(path, errors="replace", blocksize=bs).str.upper().compute() \
                == [w.upper() for w in want], data
        bad = invalid_starts(data)
        for bs in (None, 3):
            if not bad:
                assert cb.read_text(path, blocksize=bs).compute() == want
                continue
            with pytest.raises(UnicodeDecodeError) as excinfo:
                cb.read_text(path, blocksize=bs).compute()
            reported = int(re.search(r"offset (\d+)", str(excinfo.value)).group(1))
            if bs is None or scheduler == "sync":
                assert reported == bad[0], data     # the first bad byte
            else:
                assert reported in bad, data        # some block's first bad byte


# --- line splitting ------------------------------------------------------------------------------
LINE_FILES = {
    "plain": b"alpha\nbeta\ngamma\n",
    "no-final-newline": b"alpha\nbeta\ngamma",
    "blank-lines": b"\n\nx\n\n\ny\n\n",
    "crlf": b"one\r\ntwo\r\n\r\nthree\r\n",
    "crlf-no-final": b"one\r\ntwo",
    "cr-only": b"one\rtwo\r\rthree\r",
    "mixed": b"a\r\nb\nc\rd\r\r\ne\n\r\nf",
    "unicode-separators": "a\x85b\u2028c\u2029d\x0be\x0cf\x1cg\x1dh\x1ei\n".encode(),
    "multibyte": "héllo wörld\n日本語のテキスト\n😀😀😀\r\nΣίσυφος\n".encode(),
    "single-newline": b"\n",
    "single-cr": b"\r",
    "only-crlf": b"\r\n\r\n\r\n",
    "one-char": b"x",
    "long-line-among-short": b"a\n" + b"b" * 300 + b"\nc\n",
    "nul-bytes": b"a\x00b\n\x00\n",
    "bom": "\ufeffheader\nrow\n".encode(),
}

BLOCKSIZES = [1, 2, 3, 4, 5, 7, 11, 13, 16, 31, 64, 100, 1 << 20]


@pytest.mark.parametrize("data", LINE_FILES.values(), ids=LINE_FILES.keys())
def test_lines_match_dask_for_every_blocksize(native, tmp_path, data):
    path = write(tmp_path / "f.txt", data)
    whole = universal_lines(data.decode("utf-8"))
    want = dask_compute(db.read_text(path))
    assert want == whole
    c = cb.read_text(path)
    assert c.npartitions == 1
    assert c.compute() == whole
    for bs in BLOCKSIZES:
        got = cb.read_text(path, blocksize=bs)
        assert got.compute() == whole, bs
        assert got.compute() == dask_compute(db.read_text(path, blocksize=bs)), bs
        # every partition holds whole lines only
        assert sum(cairn_parts(got), []) == whole, bs


@pytest.mark.parametrize("data", LINE_FILES.values(), ids=LINE_FILES.keys())
def test_lines_match_dask_with_threads(tmp_path, data):
    path = write(tmp_path / "f.txt", data)
    with cairn.config.set(scheduler="threads"):
        for bs in (None, 1, 3, 7):
            assert cb.read_text(path, blocksize=bs).compute() == dask_compute(
                db.read_text(path, blocksize=bs))


def test_blocksize_on_larger_corpus(scheduler, native, corpus_file):
    whole = universal_lines(CORPUS)
    for bs in (1, 3, 7, 10, 17, 100, 333, 4096):
        got = cb.read_text(corpus_file, blocksize=bs)
        assert got.compute() == whole, bs
    assert dask_compute(db.read_text(corpus_file, blocksize=7)) == whole


def test_blocksize_as_string(scheduler, native, corpus_file):
    got = cb.read_text(corpus_file, blocksize="100B")
    want = db.read_text(corpus_file, blocksize="100B")
    assert got.compute() == dask_compute(want)
    assert cb.read_text(corpus_file, blocksize="1kiB").compute() == universal_lines(CORPUS)


@pytest.mark.parametrize("blocksize", [3, 7, 50, 100, 128, 999])
def test_blocksize_partitions_match_dask(native, corpus_file, blocksize):
    """Dask cuts a file of ``size`` bytes into ``max(1, size // blocksize)`` blocks (it
    stretches the block size to spread the remainder); the partitions must be the same."""
    c = cb.read_text(corpus_file, blocksize=blocksize)
    d = db.read_text(corpus_file, blocksize=blocksize)
    assert c.npartitions == d.npartitions
    assert cairn_parts(c) == dask_parts(d)


def test_blocksize_exact_multiple_partitions_match_dask(native, tmp_path):
    path = write(tmp_path / "f.txt", b"abc\n" * 25)   # 100 bytes
    for bs in (4, 10, 20, 25, 50, 100, 200):
        c = cb.read_text(path, blocksize=bs)
        d = db.read_text(path, blocksize=bs)
        assert c.npartitions == d.npartitions, bs
        assert cairn_parts(c) == dask_parts(d), bs


# --- several files, compression, options ---------------------------------------------------------
@pytest.fixture
def three_files(tmp_path):
    texts = ["a1\na2\n", "b1\r\nb2", "c1\nc2\nc3\n"]
    paths = [write(tmp_path / f"{i}.txt", t.encode()) for i, t in enumerate(texts)]
    return tmp_path, paths


def test_glob_over_several_files(scheduler, native, three_files):
    d, paths = three_files
    pattern = str(d / "*.txt")
    assert_same_bag(cb.read_text(pattern), db.read_text(pattern))
    assert cb.read_text(pattern).npartitions == 3


def test_list_of_paths(scheduler, native, three_files):
    _, paths = three_files
    order = [paths[2], paths[0], paths[1]]
    assert_same_bag(cb.read_text(order), db.read_text(order))


def test_path_objects(scheduler, native, three_files):
    _, paths = three_files
    import pathlib

    assert cb.read_text(pathlib.Path(paths[0])).compute() == dask_compute(
        db.read_text(paths[0]))


def test_recursive_glob(scheduler, native, tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    write(tmp_path / "top.txt", b"top\n")
    write(tmp_path / "sub" / "mid.txt", b"mid\n")
    write(tmp_path / "sub" / "deeper" / "low.txt", b"low\n")
    pattern = str(tmp_path / "**" / "*.txt")
    assert sorted(cb.read_text(pattern).compute()) == sorted(
        dask_compute(db.read_text(pattern)))


@pytest.mark.parametrize("files_per_partition", [1, 2, 3, 5])
def test_files_per_partition(scheduler, native, three_files, files_per_partition):
    d, _ = three_files
    pattern = str(d / "*.txt")
    assert_same_bag(cb.read_text(pattern, files_per_partition=files_per_partition),
                    db.read_text(pattern, files_per_partition=files_per_partition))


def test_files_per_partition_and_blocksize_conflict(three_files):
    d, _ = three_files
    with pytest.raises(ValueError, match="Only one of blocksize or files_per_partition"):
        cb.read_text(str(d / "*.txt"), blocksize=10, files_per_partition=2)


@pytest.mark.parametrize("blocksize", [None, 3, 100])
def test_include_path(scheduler, native, three_files, blocksize):
    d, _ = three_files
    pattern = str(d / "*.txt")
    c = cb.read_text(pattern, include_path=True, blocksize=blocksize)
    dd = db.read_text(pattern, include_path=True, blocksize=blocksize)
    assert c.compute() == dask_compute(dd)
    assert all(isinstance(x, tuple) and os.path.isabs(x[1]) for x in c.compute())


def test_include_path_with_files_per_partition(scheduler, native, three_files):
    d, _ = three_files
    pattern = str(d / "*.txt")
    assert_same_bag(cb.read_text(pattern, include_path=True, files_per_partition=2),
                    db.read_text(pattern, include_path=True, files_per_partition=2))


def compressors():
    return {
        "gz": gzip.compress,
        "bz2": bz2.compress,
        "xz": lzma.compress,
    }


@pytest.mark.parametrize("ext", ["gz", "bz2", "xz"])
def test_compressed_files_match_dask(scheduler, native, tmp_path, ext):
    raw = CORPUS.encode()
    path = write(tmp_path / f"corpus.txt.{ext}", compressors()[ext](raw))
    c, d = cb.read_text(path), db.read_text(path)
    assert_same_bag(c, d)
    assert c.compute() == universal_lines(CORPUS)
    for name, pipeline in PIPELINES.items():
        assert pipeline(cb.read_text(path)).compute() == dask_compute(
            pipeline(db.read_text(path))), name


@pytest.mark.parametrize("ext, compression", [("gz", "gzip"), ("bz2", "bz2"), ("xz", "xz")])
def test_explicit_compression_name(scheduler, native, tmp_path, ext, compression):
    path = write(tmp_path / "data.bin", compressors()[ext](b"x\ny\n"))
    got = cb.read_text(path, compression=compression)
    assert got.compute() == dask_compute(db.read_text(path, compression=compression))
    assert got.compute() == ["x\n", "y\n"]


def test_zstd_file(scheduler, native, tmp_path):
    raw = CORPUS.encode()
    path = zstd_compress_to(tmp_path / "corpus.txt.zst", raw)
    got = cb.read_text(path)
    assert got.compute() == universal_lines(CORPUS)
    uncompressed = write(tmp_path / "plain.txt", raw)
    for name, pipeline in PIPELINES.items():
        assert pipeline(got).compute() == dask_compute(
            pipeline(db.read_text(uncompressed))), name
    other = zstd_compress_to(tmp_path / "data.bin", b"p\r\nq")
    assert cb.read_text(other, compression="zstd").compute() == ["p\n", "q"]


def test_mixed_compressions_in_one_glob(scheduler, native, tmp_path):
    write(tmp_path / "a.txt", b"plain 1\nplain 2\n")
    write(tmp_path / "b.txt.gz", gzip.compress(b"gz 1\ngz 2"))
    write(tmp_path / "c.txt.bz2", bz2.compress(b"bz 1\r\n"))
    write(tmp_path / "d.txt.xz", lzma.compress(b"xz 1\n"))
    pattern = str(tmp_path / "*")
    assert_same_bag(cb.read_text(pattern), db.read_text(pattern))
    zstd_compress_to(tmp_path / "e.txt.zst", b"zst 1\n")
    assert cb.read_text(pattern).compute() == (dask_compute(db.read_text(
        [str(tmp_path / n) for n in ("a.txt", "b.txt.gz", "c.txt.bz2", "d.txt.xz")]))
        + ["zst 1\n"])


def test_multi_member_gzip(scheduler, native, tmp_path):
    path = write(tmp_path / "m.txt.gz", gzip.compress(b"first\nsec") + gzip.compress(b"ond\n"))
    assert_same_bag(cb.read_text(path), db.read_text(path))


def test_compression_none_reads_raw_bytes(scheduler, tmp_path):
    path = write(tmp_path / "looks.gz", b"not really gzip\n")
    assert cb.read_text(path, compression=None).compute() == ["not really gzip\n"]


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "utf-8-sig", "cp1252", "UTF-8",
                                      "utf8"])
def test_encodings_match_dask(scheduler, native, tmp_path, encoding):
    text = "caf\u00e9 na\u00efve\r\nline two \u00a3\nthird"
    path = write(tmp_path / "enc.txt", text.encode(encoding))
    assert_same_bag(cb.read_text(path, encoding=encoding),
                    db.read_text(path, encoding=encoding))


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
@pytest.mark.parametrize("blocksize", [1, 4, 9])
def test_single_byte_encodings_with_blocksize(scheduler, native, tmp_path, encoding, blocksize):
    text = "caf\u00e9 na\u00efve\r\nline two \u00a3\nthird\n\n"
    path = write(tmp_path / "enc.txt", text.encode(encoding))
    assert cb.read_text(path, encoding=encoding, blocksize=blocksize).compute() == dask_compute(
        db.read_text(path, encoding=encoding, blocksize=blocksize))


LINEDELIMITER_FILES = {
    "pipe-terminated": b"a|b|c|",
    "pipe-unterminated": b"a|b|c",
    "pipe-with-newlines": b"x\ny|z\r\nw|",
    "multi-char": b"one<END>two<END>three",
    "multi-char-terminated": b"one<END>two<END>",
    "empty": b"",
    "only-delimiter": b"|",
}


@pytest.mark.parametrize("data", LINEDELIMITER_FILES.values(), ids=LINEDELIMITER_FILES.keys())
@pytest.mark.parametrize("blocksize", [None, 1, 3, 100])
def test_linedelimiter_matches_dask(scheduler, native, tmp_path, data, blocksize):
    delim = "<END>" if b"<END>" in data else "|"
    path = write(tmp_path / "d.txt", data)
    got = cb.read_text(path, linedelimiter=delim, blocksize=blocksize).compute()
    if blocksize is not None and not data:
        want = []  # Dask raises "No files found" here; cairn gives an empty bag (docs/bag.md)
    else:
        want = dask_compute(db.read_text(path, linedelimiter=delim, blocksize=blocksize))
    assert got == want


@pytest.mark.parametrize("delim", ["\n", "\r\n", "\r", ""])
@pytest.mark.parametrize("blocksize", [None, 2, 5])
def test_newline_linedelimiters_match_dask(scheduler, native, tmp_path, delim, blocksize):
    """A newline delimiter splits on that newline only and leaves the others untranslated,
    as Python's ``open(newline=...)`` does ("" splits on every kind, without translating)."""
    path = write(tmp_path / "nl.txt", b"a\r\nb\nc\rd\r\n\re\n")
    got = cb.read_text(path, linedelimiter=delim, blocksize=blocksize).compute()
    if blocksize is not None and delim == "":
        # Dask cuts such blocks at raw byte offsets, splitting lines; cairn cuts them at
        # newlines (docs/bag.md), giving the whole-file lines.
        want = dask_compute(db.read_text(path, linedelimiter=delim))
    else:
        # Dask's blocked reader decodes through io.StringIO(newline=delim), which also
        # rewrites "\n" into delim; cairn reproduces that too.
        want = dask_compute(db.read_text(path, linedelimiter=delim, blocksize=blocksize))
    assert got == want


@pytest.mark.parametrize("blocksize", [1, 2, 3, 5, 8, 100])
def test_empty_linedelimiter_with_blocksize_gives_whole_file_lines(scheduler, native, tmp_path,
                                                                   blocksize):
    """cairn cuts blocks at newlines for linedelimiter="" (Dask cuts at raw byte offsets,
    docs/bag.md); the lines are those of the whole file."""
    path = write(tmp_path / "nl.txt", b"a\r\nb\nc\rd\r\n\re\nlast")
    want = dask_compute(db.read_text(path, linedelimiter=""))
    assert want == ["a\r\n", "b\n", "c\r", "d\r\n", "\r", "e\n", "last"]
    assert cb.read_text(path, linedelimiter="", blocksize=blocksize).compute() == want


INVALID_UTF8 = {
    "lone-continuation": b"ok\n\x80bad\n",
    "truncated-2": b"end \xc3\nnext\n",
    "truncated-3": b"x\xe2\x82\ny\n",
    "truncated-4": b"x\xf0\x9f\x98\ny\n",
    "truncated-at-eof": b"last \xe2\x82",
    "overlong-2": b"a\xc0\xafb\n",
    "overlong-3": b"a\xe0\x80\xafb\n",
    "surrogate": b"a\xed\xa0\x80b\n",
    "above-max": b"a\xf4\x90\x80\x80b\n",
    "ff-fe": b"\xff\xfeab\n",
    "five-byte": b"a\xf8\x88\x80\x80\x80b\n",
    "mixed-valid": "é".encode() + b"\xe9t\xc3\xa9\n" + "😀".encode()[:3] + "😀".encode() + b"\n",
    "cr-after-bad": b"a\xe2\x82\r\nb\xc3\r",
}


@pytest.mark.parametrize("data", INVALID_UTF8.values(), ids=INVALID_UTF8.keys())
@pytest.mark.parametrize("blocksize", [None, 1, 4])
def test_errors_replace_matches_dask(scheduler, native, tmp_path, data, blocksize):
    path = write(tmp_path / "bad.txt", data)
    got = cb.read_text(path, errors="replace", blocksize=blocksize)
    want = db.read_text(path, errors="replace", blocksize=blocksize)
    assert got.compute() == dask_compute(want)
    assert got.compute() == universal_lines(data.decode("utf-8", "replace"))
    for name in ("upper", "strip", "split-flatten", "frequencies-sorted", "distinct",
                 "python-step-after-native"):
        pipeline = PIPELINES[name]
        assert pipeline(cb.read_text(path, errors="replace", blocksize=blocksize)).compute() \
            == dask_compute(pipeline(db.read_text(path, errors="replace",
                                                  blocksize=blocksize))), name


@pytest.mark.parametrize("errors", ["ignore", "backslashreplace", "surrogateescape"])
def test_other_error_handlers_match_dask(scheduler, native, tmp_path, errors):
    path = write(tmp_path / "bad.txt", INVALID_UTF8["mixed-valid"] + b"z\xff\n")
    assert cb.read_text(path, errors=errors).compute() == dask_compute(
        db.read_text(path, errors=errors))


def test_collection_false_gives_delayed(scheduler, native, three_files):
    d, _ = three_files
    pattern = str(d / "*.txt")
    got = cb.read_text(pattern, collection=False)
    want = db.read_text(pattern, collection=False)
    assert len(got) == len(want)
    assert all(isinstance(x, cairn.Delayed) for x in got)
    assert [list(x) for x in cairn.compute(*got)] == [
        list(x) for x in dask.compute(*want, scheduler="sync")]


def test_read_then_reduce_across_many_partitions(scheduler, native, tmp_path):
    for i in range(12):
        write(tmp_path / f"f{i:02d}.txt", make_corpus(40, seed=100 + i).encode())
    pattern = str(tmp_path / "*.txt")
    for split_every in (2, 3, None):
        got = cb.read_text(pattern).str.split().flatten().frequencies(split_every=split_every)
        want = db.read_text(pattern).str.split().flatten().frequencies(split_every=split_every)
        assert got.compute() == dask_compute(want)
        assert (cb.read_text(pattern).count(split_every=split_every).compute()
                == dask_compute(db.read_text(pattern).count(split_every=split_every)))


def test_read_text_into_other_bag_operations(scheduler, native, corpus_file):
    def build(m):
        b = m.read_text(corpus_file, blocksize=50)
        words = b.str.lower().str.split().flatten()
        return [
            words.take(5, npartitions=-1),
            words.map(len).fold(operator.add).compute(),
            b.str.strip().filter(bool).map(len).max().compute(),
            sorted(words.groupby(len).map(lambda kv: (kv[0], len(kv[1]))).compute()),
            m.read_text(corpus_file).str.split().flatten().repartition(3)
            .map_partitions(lambda p: [sum(1 for _ in p)]).compute(),
            words.foldby(len, lambda acc, w: acc + 1, 0, operator.add, 0).compute(),
        ]

    assert build(cb) == build(db)


# --- to_textfiles ---------------------------------------------------------------------------------
def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def tree(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            full = os.path.join(dirpath, name)
            out[os.path.relpath(full, root)] = read_bytes(full)
    return out


TEXT_BAGS = {
    "words": lambda m: m.from_sequence(["alpha", "beta", "gamma", "δέλτα", "😀"], npartitions=3),
    "with-newlines": lambda m: m.from_sequence(["a\n", "b\n", "c"], npartitions=2),
    "empty-partitions": lambda m: m.from_sequence(range(10), npartitions=5)
    .filter(lambda x: x > 7).map(str),
    "one-partition": lambda m: m.from_sequence(["x", "", "y"], npartitions=1),
    "eleven-partitions": lambda m: m.from_sequence([str(i) for i in range(11)], npartitions=11),
    "empty-strings": lambda m: m.from_sequence(["", "", ""], npartitions=2),
}


@pytest.mark.parametrize("last_endline", [False, True])
@pytest.mark.parametrize("build", TEXT_BAGS.values(), ids=TEXT_BAGS.keys())
def test_to_textfiles_glob_path_same_bytes(scheduler, tmp_path, build, last_endline):
    got = build(cb).to_textfiles(str(tmp_path / "c" / "*.txt"), last_endline=last_endline)
    want = build(db).to_textfiles(str(tmp_path / "d" / "*.txt"), last_endline=last_endline)
    assert [os.path.basename(p) for p in got] == [os.path.basename(p) for p in want]
    assert tree(tmp_path / "c") == tree(tmp_path / "d")


@pytest.mark.parametrize("build", TEXT_BAGS.values(), ids=TEXT_BAGS.keys())
def test_to_textfiles_directory_same_bytes(scheduler, tmp_path, build):
    got = build(cb).to_textfiles(str(tmp_path / "c"))
    want = build(db).to_textfiles(str(tmp_path / "d"))
    assert [os.path.basename(p) for p in got] == [os.path.basename(p) for p in want]
    assert tree(tmp_path / "c") == tree(tmp_path / "d")


def test_to_textfiles_name_function(scheduler, tmp_path):
    def name(i):
        return f"day-{i * 7:03d}"

    got = TEXT_BAGS["words"](cb).to_textfiles(str(tmp_path / "c" / "*.log"), name_function=name)
    want = TEXT_BAGS["words"](db).to_textfiles(str(tmp_path / "d" / "*.log"),
                                               name_function=name)
    assert [os.path.basename(p) for p in got] == [os.path.basename(p) for p in want]
    assert tree(tmp_path / "c") == tree(tmp_path / "d")


def test_to_textfiles_list_of_paths(scheduler, tmp_path):
    names = ["one.txt", "two.txt", "three.txt"]
    got = TEXT_BAGS["words"](cb).to_textfiles([str(tmp_path / "c" / n) for n in names])
    TEXT_BAGS["words"](db).to_textfiles([str(tmp_path / "d" / n) for n in names])
    assert [os.path.basename(p) for p in got] == names
    assert tree(tmp_path / "c") == tree(tmp_path / "d")


def test_to_textfiles_returns_absolute_paths_like_dask(scheduler, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    got = TEXT_BAGS["words"](cb).to_textfiles("out-c/*.txt")
    want = TEXT_BAGS["words"](db).to_textfiles("out-d/*.txt")
    assert [p.replace("out-c", "out-d") for p in got] == want


@pytest.mark.parametrize("ext", ["gz", "bz2", "xz"])
def test_to_textfiles_compressed_round_trip(scheduler, native, tmp_path, ext):
    decompress = {"gz": gzip.decompress, "bz2": bz2.decompress, "xz": lzma.decompress}[ext]
    c_paths = TEXT_BAGS["words"](cb).to_textfiles(str(tmp_path / "c" / f"*.txt.{ext}"),
                                                  last_endline=True)
    d_paths = TEXT_BAGS["words"](db).to_textfiles(str(tmp_path / "d" / f"*.txt.{ext}"),
                                                  last_endline=True)
    assert [os.path.basename(p) for p in c_paths] == [os.path.basename(p) for p in d_paths]
    for cp, dp in zip(c_paths, d_paths):
        assert decompress(read_bytes(cp)) == decompress(read_bytes(dp))
    back = cb.read_text(str(tmp_path / "c" / f"*.txt.{ext}"))
    assert back.compute() == dask_compute(db.read_text(str(tmp_path / "d" / f"*.txt.{ext}")))
    assert back.str.strip().compute() == TEXT_BAGS["words"](cb).compute()


def test_to_textfiles_zstd_round_trip(scheduler, native, tmp_path):
    paths = TEXT_BAGS["words"](cb).to_textfiles(str(tmp_path / "*.txt.zst"), last_endline=True)
    assert len(paths) == 3
    assert cb.read_text(str(tmp_path / "*.txt.zst")).str.strip().compute() == \
        TEXT_BAGS["words"](cb).compute()


def test_to_textfiles_explicit_compression(scheduler, tmp_path):
    TEXT_BAGS["words"](cb).to_textfiles(str(tmp_path / "*.data"), compression="gzip")
    assert cb.read_text(str(tmp_path / "*.data"), compression="gzip").compute() == dask_compute(
        db.read_text(str(tmp_path / "*.data"), compression="gzip"))


def test_to_textfiles_encoding(scheduler, tmp_path):
    for m, sub in ((cb, "c"), (db, "d")):
        m.from_sequence(["café", "£5"], npartitions=1).to_textfiles(
            str(tmp_path / sub / "*.txt"), encoding="latin-1")
    assert tree(tmp_path / "c") == tree(tmp_path / "d")
    assert read_bytes(tmp_path / "c" / "0.txt") == "café\n£5".encode("latin-1")


def test_to_textfiles_compute_false(scheduler, tmp_path):
    out = TEXT_BAGS["words"](cb).to_textfiles(str(tmp_path / "*.txt"), compute=False)
    assert len(out) == 3 and all(isinstance(x, cairn.Delayed) for x in out)
    assert not os.listdir(tmp_path)
    cairn.compute(*out)
    assert sorted(os.listdir(tmp_path)) == ["0.txt", "1.txt", "2.txt"]


def test_to_textfiles_overwrites_and_leaves_no_temporary_files(scheduler, tmp_path):
    TEXT_BAGS["words"](cb).to_textfiles(str(tmp_path / "*.txt"))
    cb.from_sequence(["new"] * 3, npartitions=3).to_textfiles(str(tmp_path / "*.txt"))
    assert sorted(os.listdir(tmp_path)) == ["0.txt", "1.txt", "2.txt"]
    assert read_bytes(tmp_path / "1.txt") == b"new"


def test_text_round_trip_through_files(scheduler, native, tmp_path):
    lines = universal_lines(CORPUS)
    cb.from_sequence([ln.rstrip("\n") for ln in lines], npartitions=4).to_textfiles(
        str(tmp_path / "*.txt"), last_endline=True)
    back = cb.read_text(str(tmp_path / "*.txt")).compute()
    # lines that held \r-only breaks or vertical separators survive as Python wrote them
    assert back == dask_compute(db.read_text(str(tmp_path / "*.txt")))
