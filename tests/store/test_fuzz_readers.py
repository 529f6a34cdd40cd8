"""Mutation fuzzing of the readers Python reaches (the C++ readers themselves are fuzzed by
cpp/src/store/formats_fuzz_test.cc): pointer files read through cairn.data and the
bindings, and crafted manifests read through the CLI and cairn.data. Every input ends in a
result or a CairnError (OSError for a file a folder lacks), never another exception, and a
manifest never makes cairn write outside its folder. CAIRN_FUZZ_ITERATIONS scales the runs
(docs/store.md records a soak)."""

from __future__ import annotations

import hashlib
import os
import random

import pytest

import cairn.data
from cairn import cli
from cairn.data.repo import CairnError, Repo, parse_pointer

import forge

ITERATIONS = int(os.environ.get("CAIRN_FUZZ_ITERATIONS") or 0)
TOKENS = [b"0", b"-1", b"00", b"18446744073709551616", b"..", b"/", b".git", b"\n", b"\r\n",
          b" ", b"\x00", b"\xff\xfe", b"\xc3\x28", b"sha256:", b"kind dir", b"files ", b"a//b"]


def mutate(rng: random.Random, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        at = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[min(at, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 2:
            del data[at: at + rng.randint(1, 8)]
        elif op == 3:
            del data[at:]
        elif op == 4:
            data[at:at] = rng.choice(TOKENS)
        else:
            token = rng.choice(TOKENS)
            data[at: at + len(token)] = token
    return bytes(data)


@pytest.fixture
def tracked(repo):
    data = os.urandom(5000)
    (repo.root / "data.bin").write_bytes(data)
    repo("add", "data.bin")
    return repo, data


def test_mutated_pointer_files_are_read_or_refused_with_a_cairn_error(tracked):
    repo, data = tracked
    pointer = repo.root / "data.bin.cairn"
    seed = pointer.read_bytes()
    rng = random.Random(1)
    outcomes = {"read": 0, "refused": 0}
    for _ in range(ITERATIONS or 500):
        text = mutate(rng, seed)
        pointer.write_bytes(text)
        try:
            got = cairn.data.read_bytes(str(repo.root / "data.bin"), repo=repo.root)
        except CairnError as e:
            assert "data.bin" in str(e), str(e)
            outcomes["refused"] += 1
        else:
            assert got == data  # only a pointer that still names data.bin's content reads
            outcomes["read"] += 1
        try:
            parse_pointer(text.decode("utf-8"), "data.bin.cairn")
        except UnicodeDecodeError:
            pass  # read_pointer refuses such a file before parsing (checked just above)
        except CairnError as e:
            assert "data.bin.cairn" in str(e) and "malformed" in str(e), str(e)
    assert outcomes["refused"] > outcomes["read"]


def test_mutated_pointer_texts_parse_or_raise_a_cairn_error_naming_the_file(tracked):
    """The binding's parser directly, many more inputs; texts that are not UTF-8 reach it
    as str with lone surrogates (surrogateescape), which the binding cannot pass on."""
    repo, _ = tracked
    seed = (repo.root / "data.bin.cairn").read_bytes()
    rng = random.Random(3)
    refused = 0
    for _ in range(ITERATIONS or 20000):
        text = mutate(rng, seed).decode("utf-8", "surrogateescape")
        try:
            kind, oid, size, _, _ = parse_pointer(text, "data.bin.cairn")
        except CairnError as e:
            assert str(e).startswith("data.bin.cairn: malformed cairn pointer"), str(e)
            refused += 1
        else:
            assert kind in ("file", "dir") and len(oid) == 64 and size >= 0
    assert refused > (ITERATIONS or 20000) * 0.9


def run(root, capsys, *args) -> tuple[int, str]:
    """`cairn ARGS` in-process in `root`: its exit code and what it printed."""
    old = os.getcwd()
    os.chdir(root)
    try:
        code = cli.main(["-q", *args])
    finally:
        os.chdir(old)
    out, err = capsys.readouterr()
    return code, out + err


def test_mutated_manifests_are_listed_or_refused_and_never_write_outside(repo, tmp_path, capsys):
    """Manifests that hash to their id (as a crafted remote's would) but whose text is
    mutated: `cairn checkout`, `cairn fsck` and cairn.data.ls refuse or accept them, and
    nothing lands outside the folder."""
    files = {"a.txt": b"alpha\n", "b/c.txt": b"gamma\n"}
    for name, body in files.items():
        (repo.root / "d" / name).parent.mkdir(parents=True, exist_ok=True)
        (repo.root / "d" / name).write_bytes(body)
    repo("add", "d")
    r = Repo.find(repo.root)
    seed = bytes(r.cache().read(parse_pointer((repo.root / "d.cairn").read_text(), "d")[1]))
    packs = repo.root / ".cairn" / "cache" / "packs"
    rng = random.Random(2)
    outside = sorted(p.name for p in tmp_path.iterdir())
    accepted, n = 0, ITERATIONS // 20 or 100
    for _ in range(n):
        text = mutate(rng, seed)
        mid = hashlib.sha256(text).digest()
        forge.write_pack(packs, [forge.Entry(forge.MANIFEST, mid, text)])
        (repo.root / "d.cairn").write_text(forge.pointer_dir(mid, 12, 2))
        code, out = run(repo.root, capsys, "checkout", "--force")
        assert code in (0, 2) and "Traceback" not in out, out
        assert code == 0 or "d" in out, out
        try:
            cairn.data.ls(str(repo.root / "d"), repo=repo.root)
            accepted += 1
        except CairnError as e:
            assert "d.cairn" in str(e) or mid.hex() in str(e), str(e)
        assert sorted(p.name for p in tmp_path.iterdir()) == outside
        assert not list((repo.root / ".git").rglob("*.txt"))
    code, out = run(repo.root, capsys, "fsck")
    assert code == 1 and "Traceback" not in out, out  # the refused manifests are named
    assert "refused (crafted)" in out, out
    assert accepted < n
