"""groupby for Bags: a hash partition with a fixed, seedless hash."""

from __future__ import annotations

import numbers
import zlib
from typing import Any, Callable

from ..tokenize import tokenize

from .core import Bag, getter

__all__ = ["groupby", "stable_hash"]


def stable_hash(x: Any) -> int:
    """A hash of ``x`` that is the same in every process and run (unlike ``hash``), and the
    same for keys Python holds equal: ``1``, ``1.0``, ``True``, ``np.int64(1)`` and
    ``Fraction(1, 1)`` all hash alike, as they share one dict entry."""
    if isinstance(x, str):
        return zlib.crc32(x.encode("utf-8", "surrogatepass"))
    if isinstance(x, bytes):
        return zlib.crc32(x)
    if x is None:
        return zlib.crc32(b"None")
    if isinstance(x, tuple):
        h = 0x345678
        for item in x:
            h = zlib.crc32(stable_hash(item).to_bytes(4, "little"), h)
        return h
    if isinstance(x, frozenset):  # equal sets hash alike whatever their iteration order
        return zlib.crc32(b"".join(h.to_bytes(4, "little")
                                   for h in sorted(stable_hash(e) for e in x)), 0x5E7)
    number = _exact_number(x)
    if number is not None:
        return _hash_number(*number)
    return int(tokenize(x)[:8], 16)


def _exact_number(x: Any) -> tuple[int, int, int, int] | tuple[str] | None:
    """A number as its exact value: ``(real numerator, real denominator, imaginary numerator,
    imaginary denominator)`` (``("nan",)``-like for values without one); None for anything
    that is not a number. Numbers that compare equal give the same tuple."""
    if type(x).__module__ == "numpy" and hasattr(x, "item"):
        x = x.item()  # NumPy scalars compare equal to the Python scalar they hold
    if not isinstance(x, numbers.Number):  # bool is an Integral
        return None
    if isinstance(x, numbers.Complex) and not isinstance(x, numbers.Real):
        real, imag = _exact_real(x.real), _exact_real(x.imag)
        if real is None or imag is None:
            return (repr(complex(x)),)
        return (*real, *imag)
    real = _exact_real(x)
    if real is None:
        return (repr(x),)
    return (*real, 0, 1)


def _exact_real(x: Any) -> tuple[int, int] | None:
    """``(numerator, denominator)`` in lowest terms; None for inf and nan."""
    if isinstance(x, numbers.Integral):
        return int(x), 1
    if isinstance(x, numbers.Rational):
        return int(x.numerator), int(x.denominator)
    try:
        return x.as_integer_ratio()  # float, Decimal: exact, already in lowest terms
    except (AttributeError, OverflowError, ValueError, TypeError):
        return None


def _hash_number(*parts: Any) -> int:
    if len(parts) == 1:
        return zlib.crc32(parts[0].encode(), 0x4E4)
    if parts[1:] == (1, 0, 1):  # an integer: keep the hash ints always had
        return _hash_int(parts[0])
    h = 0x4E4
    for p in parts:
        h = zlib.crc32(_int_bytes(p), h)
    return h


def _int_bytes(x: int) -> bytes:
    return x.to_bytes((x.bit_length() + 8) // 8, "little", signed=True)


def _hash_int(x: int) -> int:
    return zlib.crc32(_int_bytes(x))

def split_by_hash(grouper: Callable, n: int, part: list) -> list:
    buckets: list = [[] for _ in range(n)]
    for x in part:
        buckets[stable_hash(grouper(x)) % n].append(x)
    return buckets


def collect_groups(grouper: Callable, pieces: list) -> list:
    groups: dict = {}
    for piece in pieces:
        for x in piece:
            groups.setdefault(grouper(x), []).append(x)
    return list(groups.items())


def _bucket(buckets: list, j: int) -> list:
    return buckets[j]


def groupby(b: Bag, grouper: Any, npartitions: int | None = None) -> Bag:
    if not callable(grouper):
        grouper = getter(grouper)
    n = npartitions or b.npartitions
    if n < 1:
        raise ValueError(f"npartitions must be at least 1, got {n}")
    token = tokenize(b, grouper, n)
    split, name = f"groupby-split-{token}", f"groupby-{token}"
    dsk: dict = {(split, i): (split_by_hash, grouper, n, (b.name, i)) for i in range(b.npartitions)}
    for j in range(n):
        dsk[(name, j)] = (collect_groups, grouper,
                          [(_bucket, (split, i), j) for i in range(b.npartitions)])
    return type(b)(dsk, name, n, (b,))


