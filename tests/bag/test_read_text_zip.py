"""read_text(compression="zip") was refused ("unknown compression 'zip'"); Dask reads the
archive's first member, and infers zip from a .zip name."""

import zipfile

import pytest

import cairn.bag as cb
from cairn.bag import textio


def _zip(path, text, member="data.txt"):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, text)


def test_read_text_reads_the_first_member_of_a_zip_archive(tmp_path):
    _zip(tmp_path / "a.zip", "one\ntwo\n")
    _zip(tmp_path / "b.zip", "three é\n")
    pattern = str(tmp_path / "*.zip")
    assert cb.read_text(pattern, compression="zip").compute() == ["one\n", "two\n", "three é\n"]
    assert cb.read_text(pattern).compute() == ["one\n", "two\n", "three é\n"]  # inferred
    assert cb.read_text(pattern, compression="zip", include_path=True).pluck(1).compute()[0] \
        .endswith("a.zip")


def test_zip_bytes_from_a_remote_read_decompress_alike():
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x", "hello\n")
    assert textio._decompress(buffer.getvalue(), "zip") == b"hello\n"


def test_to_textfiles_writes_zip_archives_read_text_reads_back(tmp_path):
    b = cb.from_sequence(["a", "b", "c"], npartitions=2)
    paths = b.to_textfiles(str(tmp_path / "*.txt.zip"))
    assert [zipfile.ZipFile(p).namelist() for p in paths] == [["0.txt"], ["1.txt"]]
    assert cb.read_text(str(tmp_path / "*.zip")).compute() == ["a\n", "b", "c"]


def test_damaged_or_empty_zip_archives_name_the_file(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(OSError, match="bad.zip.*zip"):
        cb.read_text(str(tmp_path / "bad.zip")).compute()
    zipfile.ZipFile(tmp_path / "empty.zip", "w").close()
    with pytest.raises(OSError, match="empty.zip.*holds no file"):
        cb.read_text(str(tmp_path / "empty.zip")).compute()
