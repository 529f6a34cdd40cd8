"""cairn.bag with bad input: every mistake gives a clear error that says what is wrong.

Also the edges of reading files (empty files, one huge line, CRLF) and of the API that
have no Dask counterpart to compare with.
"""

import bz2
import gzip
import lzma
import os
import re
from operator import add

import pytest

import cairn
import cairn.bag as cb

dask = pytest.importorskip("dask")
db = pytest.importorskip("dask.bag")
pa = pytest.importorskip("pyarrow")


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return str(path)


def zstd_bytes(data):
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(data)
    return sink.getvalue().to_pybytes()


# --- missing and empty inputs ---------------------------------------------------------------------
def test_missing_file_names_the_path(tmp_path):
    missing = str(tmp_path / "no-such-file.txt")
    with pytest.raises(FileNotFoundError, match=re.escape(missing)):
        cb.read_text(missing)


def test_missing_file_in_a_list_names_that_path(tmp_path):
    there = write(tmp_path / "there.txt", b"x\n")
    missing = str(tmp_path / "gone.txt")
    with pytest.raises(FileNotFoundError, match=re.escape(missing)):
        cb.read_text([there, missing])


def test_file_deleted_before_compute_names_the_path(scheduler, native, tmp_path):
    path = write(tmp_path / "soon-gone.txt", b"x\ny\n")
    b = cb.read_text(path)
    os.remove(path)
    with pytest.raises(FileNotFoundError, match=re.escape(path)):
        b.compute()


def test_glob_matching_nothing_names_the_pattern(tmp_path):
    pattern = str(tmp_path / "nothing-*.txt")
    with pytest.raises(ValueError, match=re.escape(pattern)):
        cb.read_text(pattern)


def test_glob_matching_only_directories_names_the_pattern(tmp_path):
    (tmp_path / "dir-a").mkdir()
    pattern = str(tmp_path / "dir-*")
    with pytest.raises(ValueError, match=re.escape(pattern)):
        cb.read_text(pattern)


def test_directory_path_is_a_clear_error(tmp_path):
    with pytest.raises(IsADirectoryError, match=re.escape(str(tmp_path))):
        cb.read_text(str(tmp_path))


def test_empty_list_of_paths():
    with pytest.raises(ValueError, match="empty"):
        cb.read_text([])


@pytest.mark.parametrize("blocksize", [None, 1, 1000])
def test_empty_file_gives_one_empty_partition(scheduler, native, tmp_path, blocksize):
    path = write(tmp_path / "empty.txt", b"")
    b = cb.read_text(path, blocksize=blocksize)
    assert b.npartitions == 1
    assert b.compute() == []
    assert b.count().compute() == 0
    assert b.str.split().flatten().frequencies().compute() == []
    if blocksize is None:
        d = db.read_text(path)
        assert d.npartitions == 1 and d.compute() == []


@pytest.mark.parametrize("ext", ["gz", "bz2", "xz", "zst"])
def test_empty_compressed_file(scheduler, native, tmp_path, ext):
    compress = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress,
                "zst": zstd_bytes}[ext]
    path = write(tmp_path / f"empty.txt.{ext}", compress(b""))
    b = cb.read_text(path)
    assert b.npartitions == 1
    assert b.compute() == []


def test_empty_files_among_others(scheduler, native, tmp_path):
    write(tmp_path / "a.txt", b"")
    write(tmp_path / "b.txt", b"b1\nb2\n")
    write(tmp_path / "c.txt", b"")
    pattern = str(tmp_path / "*.txt")
    b = cb.read_text(pattern)
    d = db.read_text(pattern)
    assert b.npartitions == d.npartitions == 3
    assert b.compute() == d.compute() == ["b1\n", "b2\n"]
    assert [list(p) for p in cairn.compute(*b.to_delayed())] == [[], ["b1\n", "b2\n"], []]
    assert cb.read_text(pattern, blocksize=2).compute() == ["b1\n", "b2\n"]


# --- big and unusual files ------------------------------------------------------------------------
HUNDRED_MB = 100 * 2**20


@pytest.fixture(scope="module")
def one_huge_line(tmp_path_factory):
    path = tmp_path_factory.mktemp("huge") / "one-line.txt"
    block = (b"0123456789abcdef" * (2**20 // 16))
    with open(path, "wb") as f:
        for _ in range(HUNDRED_MB // len(block)):
            f.write(block)
    assert os.path.getsize(path) == HUNDRED_MB
    return str(path)


@pytest.mark.parametrize("blocksize", [None, 4 * 2**20])
def test_100MB_single_line_without_newline(native, one_huge_line, blocksize):
    b = cb.read_text(one_huge_line, blocksize=blocksize)
    assert b.map(len).compute() == [HUNDRED_MB]
    assert b.count().compute() == 1
    lines = b.compute()
    assert len(lines) == 1
    assert len(lines[0]) == HUNDRED_MB
    assert lines[0][:20] == "0123456789abcdef0123" and lines[0][-3:] == "def"
    del lines


def test_crlf_line_endings_like_dask(scheduler, native, tmp_path):
    path = write(tmp_path / "windows.txt", b"first line\r\nsecond\r\n\r\nlast")
    want = ["first line\n", "second\n", "\n", "last"]
    assert db.read_text(path).compute() == want
    assert cb.read_text(path).compute() == want
    for bs in (1, 5, 11, 12, 13):
        assert cb.read_text(path, blocksize=bs).compute() == want
        assert db.read_text(path, blocksize=bs).compute() == want
    assert cb.read_text(path).str.strip().compute() == ["first line", "second", "", "last"]


def test_crlf_in_compressed_file(scheduler, native, tmp_path):
    path = write(tmp_path / "w.txt.gz", gzip.compress(b"a\r\nb\r\n"))
    assert cb.read_text(path).compute() == db.read_text(path).compute() == ["a\n", "b\n"]


# --- invalid UTF-8 -------------------------------------------------------------------------------
def assert_names_path_and_offset(excinfo, path, offset):
    msg = str(excinfo.value)
    assert path in msg
    assert re.search(rf"(?<!\d){offset}(?!\d)", msg), msg


@pytest.mark.parametrize("blocksize", [None, 1, 3, 8, 16, 1000])
def test_invalid_utf8_strict_names_file_and_absolute_offset(scheduler, native, tmp_path,
                                                            blocksize):
    prefix = b"hello\nw\xc3\xb6rld\n" + b"x" * 20     # 35 bytes, valid
    path = write(tmp_path / "bad.txt", prefix + b"\xff\nmore\n")
    offset = len(prefix)
    with pytest.raises(UnicodeDecodeError) as excinfo:
        cb.read_text(path, blocksize=blocksize).compute()
    assert_names_path_and_offset(excinfo, path, offset)


@pytest.mark.parametrize("bad, where", [
    (b"\xe2\x82", 0),          # truncated 3-byte sequence before a newline
    (b"\xc0\xaf", 0),          # overlong encoding
    (b"\xed\xa0\x80", 0),      # encoded surrogate
    (b"\x80", 0),              # lone continuation byte
])
@pytest.mark.parametrize("blocksize", [None, 10])
def test_invalid_utf8_kinds_strict(scheduler, native, tmp_path, bad, where, blocksize):
    prefix = "line one\nlíne two\n".encode() + b"abc"
    path = write(tmp_path / "bad.txt", prefix + bad + b"\nend\n")
    with pytest.raises(UnicodeDecodeError) as excinfo:
        cb.read_text(path, blocksize=blocksize).compute()
    assert_names_path_and_offset(excinfo, path, len(prefix) + where)


def test_invalid_utf8_in_second_file_names_that_file(scheduler, native, tmp_path):
    write(tmp_path / "a.txt", b"fine\n")
    bad = write(tmp_path / "b.txt", b"ok\n\xfe\n")
    with pytest.raises(UnicodeDecodeError) as excinfo:
        cb.read_text(str(tmp_path / "*.txt")).compute()
    assert_names_path_and_offset(excinfo, bad, 3)


def test_invalid_utf8_after_a_native_pipeline(scheduler, native, tmp_path):
    path = write(tmp_path / "bad.txt", b"a b c\n" * 50 + b"d \xff e\n")
    with pytest.raises(UnicodeDecodeError) as excinfo:
        cb.read_text(path, blocksize=64).str.lower().str.split().flatten().frequencies()\
            .compute()
    assert_names_path_and_offset(excinfo, path, 302)


def test_invalid_utf8_in_gzip_names_the_file(scheduler, native, tmp_path):
    path = write(tmp_path / "bad.txt.gz", gzip.compress(b"good\nbad \xff\n"))
    with pytest.raises(UnicodeDecodeError, match=re.escape(path)):
        cb.read_text(path).compute()


def test_invalid_utf8_with_errors_replace_does_not_raise(scheduler, native, tmp_path):
    path = write(tmp_path / "bad.txt", b"a\xffb\n")
    assert cb.read_text(path, errors="replace").compute() == ["a\ufffdb\n"]


def test_decode_error_is_a_unicode_decode_error_with_the_details(scheduler, tmp_path):
    path = write(tmp_path / "bad.txt", b"abc\xffdef\n")
    with pytest.raises(UnicodeDecodeError) as excinfo:
        cb.read_text(path).compute()
    err = excinfo.value
    assert err.encoding.lower().replace("-", "") == "utf8"


def test_unknown_encoding_is_a_clear_error(tmp_path):
    path = write(tmp_path / "a.txt", b"x\n")
    with pytest.raises(LookupError, match="no-such-codec"):
        cb.read_text(path, encoding="no-such-codec").compute()


# --- corrupt compressed files ---------------------------------------------------------------------
def truncated(data):
    return data[: len(data) // 2]


CORRUPT = {
    "truncated-gz": ("gz", lambda raw: truncated(gzip.compress(raw))),
    "truncated-bz2": ("bz2", lambda raw: truncated(bz2.compress(raw))),
    "truncated-xz": ("xz", lambda raw: truncated(lzma.compress(raw))),
    "truncated-zst": ("zst", lambda raw: truncated(zstd_bytes(raw))),
    "garbage-gz": ("gz", lambda raw: b"this is not gzip data at all\n" * 3),
    "garbage-bz2": ("bz2", lambda raw: b"not bz2"),
    "garbage-xz": ("xz", lambda raw: b"not xz"),
    "gz-header-only": ("gz", lambda raw: gzip.compress(raw)[:10]),
}


@pytest.mark.parametrize("ext, make", CORRUPT.values(), ids=CORRUPT.keys())
def test_corrupt_compressed_file_is_an_oserror_naming_the_file(scheduler, native, tmp_path,
                                                               ext, make):
    raw = b"".join(b"line %d of some compressible text\n" % i for i in range(2000))
    path = write(tmp_path / f"broken.txt.{ext}", make(raw))
    with pytest.raises(OSError, match=re.escape(path)):
        cb.read_text(path).compute()


def test_truncated_gzip_after_a_native_pipeline(scheduler, native, tmp_path):
    raw = b"".join(b"w%d x y z\n" % (i % 50) for i in range(5000))
    path = write(tmp_path / "broken.txt.gz", truncated(gzip.compress(raw)))
    with pytest.raises(OSError, match=re.escape(path)):
        cb.read_text(path).str.split().flatten().frequencies().compute()
    with pytest.raises(OSError, match=re.escape(path)):
        cb.read_text(path).count().compute()


def test_truncated_gzip_among_good_files(scheduler, native, tmp_path):
    write(tmp_path / "a.txt.gz", gzip.compress(b"fine\n"))
    bad = write(tmp_path / "b.txt.gz", truncated(gzip.compress(b"x" * 10000)))
    with pytest.raises(OSError, match=re.escape(bad)):
        cb.read_text(str(tmp_path / "*.gz")).compute()


@pytest.mark.parametrize("ext", ["gz", "bz2", "xz", "zst"])
def test_blocksize_on_compressed_file_is_a_value_error(tmp_path, ext):
    compress = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress,
                "zst": zstd_bytes}[ext]
    path = write(tmp_path / f"c.txt.{ext}", compress(b"a\nb\n"))
    with pytest.raises(ValueError, match="compressed"):
        cb.read_text(path, blocksize=100)
    if ext != "zst":
        with pytest.raises(ValueError, match="compressed"):
            db.read_text(path, blocksize=100)


def test_blocksize_with_explicit_compression_is_a_value_error(tmp_path):
    path = write(tmp_path / "c.bin", gzip.compress(b"a\n"))
    with pytest.raises(ValueError, match="compressed"):
        cb.read_text(path, blocksize=100, compression="gzip")


@pytest.mark.parametrize("name", ["lz4", "gz", "GZIP", "snappy", ""])
def test_unknown_compression_name_is_a_value_error(tmp_path, name):
    path = write(tmp_path / "a.txt", b"x\n")
    with pytest.raises(ValueError, match="compression"):
        cb.read_text(path, compression=name)


def test_unknown_compression_in_to_textfiles(tmp_path):
    with pytest.raises(ValueError, match="compression"):
        cb.from_sequence(["a"]).to_textfiles(str(tmp_path / "*.txt"), compression="lz4")


@pytest.mark.parametrize("blocksize", [0, -1, "0B"])
def test_bad_blocksize(tmp_path, blocksize):
    path = write(tmp_path / "a.txt", b"x\n")
    with pytest.raises(ValueError, match="blocksize"):
        cb.read_text(path, blocksize=blocksize)


def test_unparseable_blocksize_string(tmp_path):
    path = write(tmp_path / "a.txt", b"x\n")
    with pytest.raises(ValueError, match="lots"):
        cb.read_text(path, blocksize="lots")


def test_bad_files_per_partition(tmp_path):
    path = write(tmp_path / "a.txt", b"x\n")
    with pytest.raises(ValueError, match="files_per_partition"):
        cb.read_text(path, files_per_partition=0)


def test_unsupported_url_schemes_are_refused_clearly(tmp_path):
    with pytest.raises(ValueError, match="gcs:// paths are not supported"):
        cb.read_text("gcs://bucket/key.txt")
    with pytest.raises(ValueError, match="hdfs:// paths are not supported"):
        cb.from_sequence(["a"]).to_textfiles("hdfs://host/out/*.txt")
    with pytest.raises(ValueError, match="storage_options apply to s3:// paths only"):
        cb.read_text(str(tmp_path / "*.txt"), storage_options={"key": "k"})


# --- bad arguments to Bag methods -----------------------------------------------------------------
def test_from_sequence_bad_sizes():
    with pytest.raises(ValueError, match="npartitions"):
        cb.from_sequence(range(3), npartitions=0)
    with pytest.raises(ValueError, match="partition_size"):
        cb.from_sequence(range(3), partition_size=0)


def test_range_bad_npartitions():
    with pytest.raises(ValueError, match="npartitions"):
        cb.range(10, npartitions=0)


def test_range_fewer_elements_than_partitions(scheduler):
    b = cb.range(3, npartitions=5)
    assert b.compute() == [0, 1, 2]


def test_repartition_bad_arguments():
    b = cb.from_sequence(range(10), npartitions=2)
    with pytest.raises(ValueError, match="exactly one"):
        b.repartition()
    with pytest.raises(ValueError, match="exactly one"):
        b.repartition(npartitions=2, partition_size=10)
    with pytest.raises(ValueError, match="npartitions"):
        b.repartition(0)


def test_reduction_split_every_too_small():
    with pytest.raises(ValueError, match="split_every"):
        cb.from_sequence(range(10), npartitions=4).reduction(sum, sum, split_every=1)


def test_zip_bags_with_different_npartitions():
    with pytest.raises(ValueError, match="partitions"):
        cb.zip(cb.from_sequence(range(4), npartitions=2), cb.from_sequence(range(4),
                                                                           npartitions=4))


def test_map_needs_a_bag():
    with pytest.raises(ValueError, match="Bag"):
        cb.map(add, 1, 2)
    with pytest.raises(ValueError, match="Bag"):
        db.map(add, 1, 2)


def test_join_with_multi_partition_bag_raises_like_dask():
    a = cb.from_sequence(range(4), npartitions=2)
    b = cb.from_sequence(range(4), npartitions=2)
    with pytest.raises(NotImplementedError):
        db.from_sequence(range(4), npartitions=2).join(
            db.from_sequence(range(4), npartitions=2), lambda x: x)
    with pytest.raises(NotImplementedError, match="Multi-bag joins"):
        a.join(b, lambda x: x)


def test_ngrams_bad_n():
    with pytest.raises(ValueError, match="n must be"):
        cb.from_sequence(["a b"]).str.split().ngrams(0)


def test_errors_in_user_functions_propagate(scheduler):
    def boom(x):
        if x == 7:
            raise KeyError(f"no such thing: {x}")
        return x

    with pytest.raises(KeyError, match="no such thing: 7"):
        cb.from_sequence(range(10), npartitions=3).map(boom).compute()
    with pytest.raises(ZeroDivisionError):
        cb.from_sequence(range(10), npartitions=3).map(lambda x: 1 / (x - 3)).sum().compute()


def test_reductions_of_empty_bags_raise_like_dask(scheduler):
    for method in ("min", "max", "mean"):
        with pytest.raises((ValueError, ZeroDivisionError)) as want:
            getattr(db.from_sequence([], npartitions=1), method)().compute()
        with pytest.raises(want.type):
            getattr(cb.from_sequence([], npartitions=1), method)().compute()


def test_to_textfiles_non_strings_is_a_type_error_like_dask(scheduler, tmp_path):
    """Dask refuses elements that are neither str nor bytes (it does not write ints as
    bytes(n), i.e. n NUL bytes)."""
    with pytest.raises(TypeError):
        db.from_sequence([1, 2], npartitions=1).to_textfiles(str(tmp_path / "d" / "*.txt"))
    with pytest.raises(TypeError):
        cb.from_sequence([1, 2], npartitions=1).to_textfiles(str(tmp_path / "c" / "*.txt"))


def test_to_textfiles_bytes_elements_like_dask(scheduler, tmp_path):
    cb.from_sequence([b"ab", b"c"], npartitions=1).to_textfiles(str(tmp_path / "c" / "*.txt"))
    db.from_sequence([b"ab", b"c"], npartitions=1).to_textfiles(str(tmp_path / "d" / "*.txt"))
    with open(tmp_path / "c" / "0.txt", "rb") as f1, open(tmp_path / "d" / "0.txt", "rb") as f2:
        assert f1.read() == f2.read()


def test_to_textfiles_bad_paths(tmp_path):
    b = cb.from_sequence(["a", "b"], npartitions=2)
    with pytest.raises(ValueError, match=r"\*"):
        b.to_textfiles(str(tmp_path / "*" / "*.txt"))
    with pytest.raises(ValueError, match="2 partitions"):
        b.to_textfiles([str(tmp_path / "only-one.txt")])


def test_failed_to_textfiles_leaves_no_partial_files(scheduler, tmp_path):
    def fail_late(x):
        if x == "c":
            raise RuntimeError("stop")
        return x

    b = cb.from_sequence(["a", "b", "c"], npartitions=1).map(fail_late)
    with pytest.raises(RuntimeError, match="stop"):
        b.to_textfiles(str(tmp_path / "*.txt"))
    assert os.listdir(tmp_path) == []


# --- cairn's own API additions -------------------------------------------------------------------
def test_item_arithmetic_and_attributes(scheduler):
    b = cb.from_sequence(range(10), npartitions=3)
    assert (b.sum() * 2 + b.count()).compute() == 100
    assert b.count().apply(str).compute() == "10"
    assert b.frequencies().count().compute() == 10


def test_item_is_usable_in_cairn_delayed(scheduler):
    b = cb.from_sequence(range(10), npartitions=3)
    total = cairn.delayed(add)(b.sum(), b.max())
    assert total.compute() == 54
    assert cairn.compute(b.sum(), b.map(add, 1).sum()) == (45, 55)


def test_native_switch_gives_same_results(scheduler, tmp_path):
    path = write(tmp_path / "t.txt", "Ünïcode Words words\r\nMORE words\n".encode())

    def run():
        b = cb.read_text(path, blocksize=7)
        return (b.compute(), b.str.lower().str.split().flatten().frequencies(sort=True)
                .compute(), b.count().compute(), b.str.upper().distinct().compute())

    with cairn.config.set({"bag.native": True}):
        on = run()
    with cairn.config.set({"bag.native": False}):
        off = run()
    assert on == off


def test_bag_is_iterable_and_persist_works(scheduler):
    b = cb.from_sequence(range(5), npartitions=2).map(add, 1)
    assert list(b) == [1, 2, 3, 4, 5]
    p = b.persist()
    assert p.npartitions == 2 and p.compute() == [1, 2, 3, 4, 5]


def test_repr_html_mentions_partitions():
    html = cb.from_sequence(range(10), npartitions=4)._repr_html_()
    assert "partitions" in html
    assert ">4<" in html


def test_str_accessor_dir_lists_string_methods():
    names = dir(cb.from_sequence(["a"]).str)
    for name in ("lower", "upper", "split", "match", "len", "strip"):
        assert name in names
