"""Run Dask's own tests (they ship inside the dask wheel) against cairn, and count the results.

Each listed test file is copied into a temporary folder with its imports of Dask's public API
(``dask``, ``dask.bag``, ``dask.delayed``, ``dask.base``, ``dask.threaded`` ...) rewritten to
cairn's; imports of Dask's test utilities and internals (``dask.utils``, ``dask.utils_test``,
``dask._task_spec``, ``dask.highlevelgraph`` ...) are left pointing at Dask. A name a swapped
module lacks is taken from Dask only if it is a Dask internal (``DASK_ONLY`` below, or private);
any other becomes a stand-in that fails the tests using it. pytest runs the copies, and the
outcome of every test is counted per file.

Tests about Dask internals (task order, graph layout, key names, HighLevelGraph layers...) are
listed with their reason in ``tools/dask_tests_internals.txt`` and counted apart; the pass rate
is over the rest. Deliberate differences are listed in docs/dask-compat.md.

    python tools/dask_tests.py                 # all files, a table on stdout
    python tools/dask_tests.py test_bag -- -x  # files whose name contains test_bag; pytest args
    python tools/dask_tests.py --failures      # also list every failing test
    python tools/dask_tests.py test_base --show -- -k persist   # with pytest's output
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import dask

DASK_ROOT = pathlib.Path(dask.__file__).parent
HERE = pathlib.Path(__file__).resolve().parent
INTERNALS = HERE / "dask_tests_internals.txt"

FILES = [
    "bag/tests/test_bag.py",
    "bag/tests/test_text.py",
    "bag/tests/test_random.py",
    "tests/test_delayed.py",
    "tests/test_base.py",
    "tests/test_threaded.py",
    "tests/test_multiprocessing.py",
    "tests/test_local.py",
    "tests/test_callbacks.py",
    "tests/test_config.py",
    "tests/test_tokenize.py",
]

# Dask modules whose public API cairn mirrors: imports of these are rewritten to cairn.
SWAPPED = [
    "bag.core", "bag.text", "bag.random", "bag",
    "base", "callbacks", "config", "delayed", "diagnostics",
    "local", "multiprocessing", "threaded", "tokenize",
]


# Names of Dask's swapped modules that only Dask's internals have (private names, key-naming
# helpers, its local scheduler's state machine, its HighLevelGraph/expression machinery). A
# test file importing one gets Dask's; the name is reported, and tests that use it are listed
# in dask_tests_internals.txt. Any other name cairn lacks becomes a stand-in that fails the
# test using it, so a missing public name counts as a failure.
DASK_ONLY = {
    "bag.core": {"collect", "empty_safe_apply", "lazify", "lazify_task", "no_result",
                 "partition", "reduceby", "reify", "total_mem_usage"},
    "base": {"clone_key", "collections_to_expr", "compute_as_if_collection",
             "get_collection_names", "get_name_from_key", "replace_name_in_key"},
    "delayed": {"to_task_dask"},
    "local": {"finish_task", "sortkey", "start_state_from_dask"},
    "multiprocessing": {"_dumps", "_loads", "remote_exception", "get_context"},
}

SHIM = '''"""Written by tools/dask_tests.py: names cairn lacks are recorded; Dask internals come
from Dask, other names become stand-ins that fail the test that uses them."""
import importlib, json, os

DASK_ONLY = %r


class Missing:
    def __init__(self, where):
        self._where = where

    def _fail(self, *args, **kwargs):
        raise NotImplementedError(f"cairn lacks {self._where}")

    __call__ = __iter__ = __getitem__ = __enter__ = _fail

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        self._fail()


def _name_from(module_name, name):
    """``from module_name import name``: an attribute, else a submodule (None: neither)."""
    module = importlib.import_module(module_name)  # a module cairn lacks fails the file
    if hasattr(module, name):
        return getattr(module, name)
    try:
        return importlib.import_module(f"{module_name}.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"{module_name}.{name}":
            raise
    return None


def swap(cairn_module, dask_module, name):
    found = _name_from(cairn_module, name)
    if found is not None:
        return found
    sub = cairn_module.partition(".")[2]
    internal = name.startswith("_") or name in DASK_ONLY.get(sub, ())
    with open(os.environ["CAIRN_DASK_TESTS_FALLBACKS"], "a") as f:
        f.write(json.dumps([cairn_module, name, internal]) + "\\n")
    if internal:
        return getattr(importlib.import_module(dask_module), name)
    return Missing(f"{cairn_module}.{name}")
''' % (DASK_ONLY,)


# The product's name where Dask's tests spell it in data, not code: environment variables
# (``DASK_CONFIG``, ``DASK_A__B``), configuration folders (``/etc/dask``, ``~/.config/dask``)
# and messages the tests match.
RENAMES = [
    ("DASK_", "CAIRN_"),
    ('"/etc/dask"', '"/etc/cairn"'),
    ('"etc", "dask"', '"etc", "cairn"'),
    ('".config", "dask"', '".config", "cairn"'),
    ("dask.delayed objects have no", "cairn.delayed objects have no"),  # a warning's text
]


def rewrite(source: str) -> str:
    """Point the test file's imports of Dask's public API at cairn.

    ``import dask`` / ``import dask.bag as db`` import cairn's modules (a module cairn lacks fails
    the file, as it would fail a user). ``from dask.base import a, b`` takes each name from cairn
    and, where cairn has no such name (often a Dask internal the test reaches for), from Dask;
    such fallbacks are reported, and tests that rely on them belong in the internals list.
    """
    lines = source.splitlines(keepends=True)
    edits = []  # (first line, last line, replacement), 0-based inclusive
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mod = node.module
            if mod == "dask":
                sub = ""
            elif mod.startswith("dask.") and mod[5:] in SWAPPED:
                sub = "." + mod[5:]
            else:
                continue
            indent = re.match(r"\s*", lines[node.lineno - 1]).group(0)
            text = "".join(
                f"{indent}{a.asname or a.name} = __import__('_cairn_swap').swap("
                f"'cairn{sub}', 'dask{sub}', {a.name!r})\n"
                for a in node.names)
            edits.append((node.lineno - 1, node.end_lineno - 1, text))
        elif isinstance(node, ast.Import):
            parts = []
            for a in node.names:
                name = a.name
                if name == "dask" or (name.startswith("dask.") and name[5:] in SWAPPED):
                    name = "cairn" + name[4:]
                    if a.asname is None:
                        # ``import dask.bag`` binds ``dask``: bind cairn's package to that name.
                        parts.append(f"import {name}; import cairn as dask" if "." in name
                                     else "import cairn as dask")
                        continue
                parts.append(f"import {name}" + (f" as {a.asname}" if a.asname else ""))
            indent = re.match(r"\s*", lines[node.lineno - 1]).group(0)
            edits.append((node.lineno - 1, node.end_lineno - 1, indent + "; ".join(parts) + "\n"))
    for first, last, text in sorted(edits, reverse=True):
        lines[first:last + 1] = [text]
    out = "".join(lines)
    for old, new in RENAMES:
        out = out.replace(old, new)
    return out


def load_internals() -> dict[str, str]:
    """``file::test`` -> reason, from tools/dask_tests_internals.txt."""
    out = {}
    if INTERNALS.exists():
        for line in INTERNALS.read_text().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, reason = line.partition("#")
            out[name.strip()] = reason.strip()
    return out


def run_file(rel: str, workdir: pathlib.Path, pytest_args: list[str],
             show: bool = False) -> list[tuple[str, str]]:
    """Run one rewritten test file; return (test name, outcome) for each test."""
    src = DASK_ROOT / rel
    dst = workdir / rel.replace("/", "_")
    dst.write_text(rewrite(src.read_text()))
    junit = workdir / (dst.stem + ".xml")
    cmd = [sys.executable, "-m", "pytest", str(dst), "-q", "-p", "no:cacheprovider",
           "-o", "addopts=", "-W", "ignore", f"--junitxml={junit}", "--timeout=120",
           "--rootdir", str(workdir), *pytest_args]
    env = dict(os.environ)
    if env.get("PYTHONPATH"):  # pytest runs in the temporary folder: relative entries break
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in
                                            env["PYTHONPATH"].split(os.pathsep))
    quiet = None if show else subprocess.DEVNULL
    subprocess.run(cmd, cwd=workdir, env=env, stdout=quiet, stderr=quiet)
    results = []
    if not junit.exists():
        return [("<collection>", "error")]
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name")
        kinds = {child.tag for child in case}
        if "skipped" in kinds:
            outcome = "skipped"
        elif "failure" in kinds or "error" in kinds:
            outcome = "failed"
        else:
            outcome = "passed"
        results.append((name, outcome))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="run only files whose path contains one of these")
    parser.add_argument("--failures", action="store_true", help="list every failing test")
    parser.add_argument("--show", action="store_true", help="show pytest's own output")
    args, pytest_args = parser.parse_known_args()
    if "--" in pytest_args:
        pytest_args.remove("--")
    internals = load_internals()
    files = [f for f in FILES if not args.only or any(o in f for o in args.only)]
    rows, failures = [], []
    totals = dict(passed=0, failed=0, skipped=0, internal=0)
    with tempfile.TemporaryDirectory(prefix="cairn-dask-tests-") as tmp:
        workdir = pathlib.Path(tmp)
        shutil.copy(DASK_ROOT / "conftest.py", workdir / "conftest.py")
        (workdir / "_cairn_swap.py").write_text(SHIM)
        fallbacks_file = workdir / "fallbacks.jsonl"
        fallbacks_file.touch()
        os.environ["CAIRN_DASK_TESTS_FALLBACKS"] = str(fallbacks_file)
        for rel in files:
            name = pathlib.Path(rel).name
            counts = dict(passed=0, failed=0, skipped=0, internal=0)
            for test, outcome in run_file(rel, workdir, pytest_args, args.show):
                base = test.split("[")[0]
                if f"{name}::{test}" in internals or f"{name}::{base}" in internals:
                    counts["internal"] += 1
                    continue
                counts[outcome] += 1
                if outcome == "failed":
                    failures.append(f"{name}::{test}")
            for k in totals:
                totals[k] += counts[k]
            rows.append((name, counts))
        fallbacks = sorted({tuple(json.loads(line)) for line in
                            fallbacks_file.read_text().splitlines()})
    rows.append(("all", totals))
    print(f"dask {dask.__version__}, tests run against cairn (internals counted apart)\n")
    print("| file | passed | failed | skipped | Dask internals | pass rate |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, c in rows:
        ran = c["passed"] + c["failed"]
        rate = f"{100 * c['passed'] / ran:.0f}%" if ran else "-"
        print(f"| {name} | {c['passed']} | {c['failed']} | {c['skipped']} | {c['internal']} | {rate} |")
    internal = [f"{m}.{n}" for m, n, dask_only in fallbacks if dask_only]
    missing = [f"{m}.{n}" for m, n, dask_only in fallbacks if not dask_only]
    if internal:
        print("\nDask internals the tests import, taken from Dask: " + ", ".join(internal))
    if missing:
        print("\nnames cairn lacks (tests using them fail): " + ", ".join(missing))
    if args.failures:
        print("\nfailing:")
        for f in failures:
            print("  " + f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
