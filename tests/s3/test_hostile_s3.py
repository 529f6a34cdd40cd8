"""Crafted S3 remotes: the cases of tests/store/test_hostile_*.py that differ on S3 (objects
read by ranged GETs, listed by prefix). Every user path ends in a clear error naming the
pack or object, and nothing wrong is written or stored."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "store"))
import forge  # noqa: E402
from hostile import Victim, assert_refused_everywhere  # noqa: E402


def s3_victim(tmp_path, capsys, bucket, push: bool) -> Victim:
    return Victim(tmp_path, capsys, 300_000, push=push, remote=f"s3://{bucket}/evil")


def upload(s3, bucket: str, folder: Path) -> None:
    """The files of a local packs folder as the remote's packs (what the attacker uploads)."""
    for path in folder.iterdir():
        s3.put_object(Bucket=bucket, Key=f"evil/packs/{path.name}", Body=path.read_bytes())


def remote_pack(s3, bucket: str) -> tuple[str, bytes, bytes]:
    """The name, pack bytes and index bytes of the remote's one pack."""
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="evil/packs/")["Contents"]]
    (idx,) = [k for k in keys if k.endswith(".idx")]
    name = idx.rsplit("/", 1)[1][: -len(".idx")]
    get = lambda key: s3.get_object(Bucket=bucket, Key=key)["Body"].read()  # noqa: E731
    return name, get(f"evil/packs/{name}.pack"), get(idx)


def test_forged_two_chunk_recipe_on_s3_is_refused_everywhere(tmp_path, capsys, bucket, s3_env):
    v = s3_victim(tmp_path, capsys, bucket, push=False)
    evil = b"attacker!" * (len(v.data) // 9 + 1)
    parts = [evil[:150_000], evil[150_000: len(v.data)]]
    chunks = [forge.chunk(p) for p in parts]
    body = forge.recipe(len(v.data), [(c.id, len(c.stored)) for c in chunks])
    forge.write_pack(tmp_path / "forged",
                     chunks + [forge.Entry(forge.RECIPE, bytes.fromhex(v.oid), body)])
    upload(s3_env.client(), bucket, tmp_path / "forged")
    said = assert_refused_everywhere(v, (v.oid,))
    assert "forged or damaged" in said["pull"], said["pull"]


@pytest.mark.parametrize("damage", ["chunk bytes changed", "pack truncated", "garbage index"])
def test_damaged_pack_on_s3_is_refused_everywhere(tmp_path, capsys, bucket, s3_env, damage):
    v = s3_victim(tmp_path, capsys, bucket, push=True)
    s3 = s3_env.client()
    name, pack, idx = remote_pack(s3, bucket)
    key = f"evil/packs/{name}"
    if damage == "chunk bytes changed":
        records = [r for r in forge.read_index_bytes(idx) if r[1] == forge.CHUNK]
        _, _, _, stored_size, offset, _ = records[0]
        data = bytearray(pack)
        data[offset + 48 + stored_size // 2] ^= 0xFF
        s3.put_object(Bucket=bucket, Key=f"{key}.pack", Body=bytes(data))
    elif damage == "pack truncated":
        s3.put_object(Bucket=bucket, Key=f"{key}.pack", Body=pack[: len(pack) // 2])
    else:
        s3.put_object(Bucket=bucket, Key=f"{key}.idx", Body=b"CAIRNIX1" + b"\xff" * 100)
    assert_refused_everywhere(v, (name,))
