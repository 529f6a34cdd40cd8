"""cairn.tokenize: deterministic, content-based names for pure tasks."""

import subprocess
import sys
import types

import cloudpickle

import cairn
from cairn.tokenize import TokenizationError, normalize_token, tokenize


def _notebook_cell(source: str, module: types.ModuleType) -> types.FunctionType:
    """Run `source` as a cell would: in one module namespace, redefining `f`."""
    exec(source, module.__dict__)
    return module.f


def test_edited_function_gets_new_keys_so_old_and_new_pipelines_differ():
    nb = types.ModuleType("notebook_module")
    f_old = _notebook_cell("def f(x):\n    return x * 1\n", nb)
    old = cairn.delayed(sum)([cairn.delayed(f_old, pure=True)(i) for i in range(3)])
    f_new = _notebook_cell("def f(x):\n    return x * 200\n", nb)
    new = cairn.delayed(sum)([cairn.delayed(f_new, pure=True)(i) for i in range(3)])
    assert cairn.compute(old, new) == (3, 600)
    assert tokenize(f_old) != tokenize(f_new)


def test_function_token_follows_defaults_and_closure():
    def make(n):
        def g(x, k=1):
            return x + n + k
        return g

    assert tokenize(make(1)) == tokenize(make(1))
    assert tokenize(make(1)) != tokenize(make(2))
    g = make(1)
    h = make(1)
    h.__defaults__ = (5,)
    assert tokenize(g) != tokenize(h)


def test_main_function_token_follows_globals_it_uses():
    main = types.ModuleType("__main__")
    source = "factor = {}\ndef f(x):\n    return x * factor\n"
    f1 = _notebook_cell(source.format(2), main)
    t1 = tokenize(f1)
    main.factor = 3
    assert tokenize(f1) != t1


def test_distinct_objects_get_distinct_tokens_so_pure_calls_do_not_merge():
    a, b = object(), object()
    assert tokenize(a) == tokenize(a)
    assert tokenize(a) != tokenize(b)
    x = cairn.delayed(id, pure=True)(a)
    y = cairn.delayed(id, pure=True)(b)
    assert x.key != y.key
    assert cairn.compute(x, y) == (id(a), id(b))


def test_ensure_deterministic_refuses_identity_tokens():
    try:
        tokenize(object(), ensure_deterministic=True)
    except TokenizationError as e:
        assert "deterministic" in str(e)
    else:
        raise AssertionError("expected TokenizationError")


def test_token_stable_across_cloudpickle_round_trip():
    lam = lambda x, y=2: x + y  # noqa: E731
    values = [lam, {"a": [1, 2.5, (3, "x")]}, {1, 2, 3}, b"bytes"]
    for v in values:
        assert tokenize(v) == tokenize(cloudpickle.loads(cloudpickle.dumps(v)))


def test_token_same_in_another_process():
    code = ("from cairn.tokenize import tokenize\n"
            "def f(x, y=3):\n    return x + y\n"
            "print(tokenize(f, [1, 'a'], {'k': 2.0}, {3, 1}))")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout for _ in range(2)}
    assert len(runs) == 1


def test_cyclic_structures_tokenize_by_shape():
    a = [1, 2]
    a[0] = a
    b = [1, 3]
    b[0] = b
    assert tokenize(a) == tokenize(a)
    assert tokenize(a) != tokenize(b)


def test_deeply_nested_lists_tokenize():
    nested: list = []
    for i in range(200):
        nested = [i, nested]
    assert tokenize(nested) == tokenize(nested)


def test_normalize_token_register_adds_a_normalizer():
    class Point:
        def __init__(self, x):
            self.x = x
            self.cache = object()

    normalize_token.register(Point, lambda p: p.x)
    assert tokenize(Point(1)) == tokenize(Point(1))
    assert tokenize(Point(1)) != tokenize(Point(2))
