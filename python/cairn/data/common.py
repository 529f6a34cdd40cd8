"""What every part of the store's Python side shares: the pointer suffix and temp-file
prefix, ``CairnError``, running git, durable small writes, and file names shown safely."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

POINTER_SUFFIX = ".cairn"
TEMP_PREFIX = ".cairn-tmp-"  # temporary files of the store's writes (never tracked)


def write_durably(path: Path, text: str) -> None:
    """Writes a small file crash-safely: a temporary file next to it, fsync, rename, fsync
    of the folder (as the C++ store writes everything)."""
    tmp = path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{path.name}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync folders; the rename stands
    finally:
        os.close(fd)


class CairnError(Exception):
    """A store command could not do what was asked; the message says why and what to do."""


def _git(root: Path | str, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=root, input=input, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, check=False,
        )
    except FileNotFoundError:
        raise CairnError("git is not installed; cairn keeps its pointers in git") from None
    if check and proc.returncode != 0:
        raise CairnError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def _shown(name: str) -> str:
    """A file name as text, its bytes that are not UTF-8 shown as \\xNN."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def not_utf8(path: str) -> CairnError:
    return CairnError(f"the file name '{_shown(path)}' is not valid UTF-8: cairn records names "
                      "as UTF-8 (docs/store-format.md); rename the file")
