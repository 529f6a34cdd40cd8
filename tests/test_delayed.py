"""cairn.delayed: building graphs the way Dask users do."""

import operator
import pickle

import pytest

import cairn
from cairn import delayed


def inc(x):
    return x + 1


def add(x, y):
    return x + y


def test_decorator_and_wrapper_give_same_result(scheduler):
    @delayed
    def double(x):
        return 2 * x

    assert double(delayed(inc)(1)).compute() == 4
    assert delayed(add)(1, 2).compute() == 3


def test_wide_graph_sum(scheduler):
    xs = [delayed(inc)(i) for i in range(1000)]
    assert delayed(sum)(xs).compute() == sum(range(1, 1001))


def test_diamond_computes_shared_dependency_once(inprocess_scheduler):
    calls = []

    def source():
        calls.append(1)
        return 10

    a = delayed(source)()
    b = delayed(inc)(a)
    c = delayed(operator.mul)(a, 3)
    d = delayed(add)(b, c)
    assert d.compute() == 41
    assert len(calls) == 1


def test_shared_dependency_across_compute_arguments_runs_once(inprocess_scheduler):
    calls = []

    def source():
        calls.append(1)
        return 2

    a = delayed(source)()
    assert cairn.compute(a + 1, a * 5, a) == (3, 10, 2)
    assert len(calls) == 1


def test_nested_delayed_in_containers(scheduler):
    a = delayed(inc)(1)
    b = delayed(inc)(2)
    assert delayed(sum)([a, b, 10]).compute() == 15
    assert delayed(lambda t: t)((a, b)).compute() == (2, 3)
    assert delayed(lambda d: d)({"x": a, "y": [b, {"z": a}]}).compute() == {
        "x": 2, "y": [3, {"z": 2}]}
    assert delayed(lambda s: s)({a, b}).compute() == {2, 3}
    assert delayed([a, (b, 5)]).compute() == [2, (3, 5)]
    assert delayed({"k": a}).compute() == {"k": 2}


def test_literal_arguments_are_not_mistaken_for_tasks_or_keys(scheduler):
    a = delayed(inc, pure=True)(1)
    key = a.key
    # A string equal to a key and a tuple starting with a callable stay literal.
    f = delayed(lambda *args: args)
    assert f(key, (inc, 1), [key], a).compute() == (key, (inc, 1), [key], 2)


def test_kwargs_with_delayed_values(scheduler):
    def f(x, y=0, *, z=0):
        return x + 10 * y + 100 * z

    a = delayed(inc)(0)
    assert delayed(f)(a, y=a, z=delayed(inc)(1)).compute() == 1 + 10 + 200


def test_nout_unpacking_and_len():
    q, r = delayed(divmod, nout=2)(17, 5)
    assert cairn.compute(q, r) == (3, 2)
    t = delayed(lambda: (1, 2, 3), nout=3)()
    assert len(t) == 3
    assert [x.compute() for x in t] == [1, 2, 3]


def test_unknown_length_is_not_iterable():
    x = delayed(inc)(1)
    with pytest.raises(TypeError, match="not iterable"):
        iter(x).__next__()
    with pytest.raises(TypeError, match="len"):
        len(x)


def test_operators(scheduler):
    x = delayed(7)
    y = delayed(2)
    assert (x + y).compute() == 9
    assert (x - y).compute() == 5
    assert (x * y).compute() == 14
    assert (x / y).compute() == 3.5
    assert (x // y).compute() == 3
    assert (x % y).compute() == 1
    assert (x ** y).compute() == 49
    assert (1 + x).compute() == 8
    assert (10 - x).compute() == 3
    assert (-x).compute() == -7
    assert abs(delayed(-3)).compute() == 3
    assert (x & 3).compute() == 3
    assert (x | 8).compute() == 15
    assert (x ^ 1).compute() == 6
    assert (x << 1).compute() == 14
    assert (x >> 1).compute() == 3
    assert (~x).compute() == -8
    assert (x > y).compute() is True
    assert (x == 7).compute() is True
    assert (x != 7).compute() is False
    assert (x <= y).compute() is False


def test_attribute_access_and_method_calls(scheduler):
    s = delayed("Hello World")
    assert s.lower().compute() == "hello world"
    assert s.split(" ", maxsplit=1).compute() == ["Hello", "World"]
    c = delayed(1 + 2j)
    assert c.real.compute() == 1.0
    assert delayed([3, 1, 2])[1:].compute() == [1, 2]
    assert delayed({"a": 1})["a"].compute() == 1


def test_calling_a_delayed_result(scheduler):
    make_adder = delayed(lambda n: (lambda x: x + n))
    assert make_adder(10)(5).compute() == 15


def test_truth_value_is_an_error():
    with pytest.raises(TypeError, match="Truth of Delayed"):
        bool(delayed(1))


def test_delayed_objects_are_immutable():
    x = delayed(1)
    with pytest.raises(TypeError, match="immutable"):
        x.foo = 1
    with pytest.raises(AttributeError):
        x._private


def test_pure_calls_share_keys_and_impure_do_not():
    assert delayed(inc, pure=True)(1).key == delayed(inc, pure=True)(1).key
    assert delayed(inc, pure=True)(1).key != delayed(inc, pure=True)(2).key
    assert delayed(inc)(1).key != delayed(inc)(1).key
    with cairn.config.set(delayed_pure=True):
        assert delayed(inc)(1).key == delayed(inc)(1).key
    assert delayed(inc)(1, pure=True).key == delayed(inc)(1, pure=True).key


def test_pure_decorator_with_arguments():
    @delayed(pure=True)
    def f(x):
        return x * 3

    assert f(2).key == f(2).key
    assert f(2).compute() == 6


def test_dask_key_name_and_name():
    x = delayed(inc)(1, dask_key_name="my-x")
    assert x.key == "my-x"
    assert (x + 1).compute() == 3
    assert delayed(5, name="five").key == "five"
    assert "my-x" in delayed(sum)([x]).dask


def test_key_names_start_with_function_name():
    assert delayed(inc)(1).key.startswith("inc-")
    assert delayed(lambda: 1)().key.startswith("lambda-")
    assert (delayed(1) + 1).key.startswith("add-")


def test_non_callable_call_is_a_clear_error():
    with pytest.raises(TypeError, match="int is not callable"):
        delayed(5)()
    with pytest.raises(TypeError, match="not callable"):
        delayed("text")(1)


def test_repr_and_pickle():
    x = delayed(inc)(1, dask_key_name="x1")
    assert repr(x) == "Delayed('x1')"
    y = pickle.loads(pickle.dumps(x))
    assert y.key == "x1"
    assert y.compute() == 2


def test_results_match_dask_delayed():
    dask = pytest.importorskip("dask")

    def build(d):
        a = d(inc)(1)
        b = d(add)(a, 10)
        c = d(sum)([a, b, d(inc)(b)])
        q, r = d(divmod, nout=2)(c, 7)
        s = d("a b c").split()
        return [c, q, r, s, d({"k": [a, (b, c)]}), a * b - c, d([1, 2, 3])[::-1]]

    ours = cairn.compute(*build(cairn.delayed))
    theirs = dask.compute(*build(dask.delayed), scheduler="sync")
    assert ours == theirs


# --- Dask compatibility (issue 15, item 8) ---------------------------------------------------
import collections as _collections
import dataclasses as _dataclasses
import pickle as _pickle


def test_delayed_inside_namedtuple_argument_is_computed():
    Point = _collections.namedtuple("Point", ["x", "y"])
    p = cairn.delayed(lambda pt: pt.x + pt.y)(Point(cairn.delayed(1), 2))
    assert p.compute() == 3
    assert cairn.compute(Point(cairn.delayed(1) + 1, 5)) == (Point(2, 5),)


def test_delayed_inside_dataclass_argument_is_computed():
    @_dataclasses.dataclass
    class Box:
        a: int
        b: int = _dataclasses.field(default=0, init=False)

    box = Box(cairn.delayed(4))
    box.b = cairn.delayed(5)
    out = cairn.delayed(lambda bx: (bx.a, bx.b))(box)
    assert out.compute() == (4, 5)


def test_delayed_inside_iterator_argument_is_computed():
    out = cairn.delayed(sum)(x for x in [cairn.delayed(1), cairn.delayed(2)])
    assert out.compute() == 3
    assert cairn.compute(iter([cairn.delayed(1) + 1])) == ([2],)


def test_delayed_method_binds_self():
    class Counter:
        def __init__(self, n):
            self.n = n

        @cairn.delayed
        def plus(self, k):
            return self.n + k

    assert Counter(3).plus(4).compute() == 7


def test_delayed_as_slice_bound():
    x = cairn.delayed([1, 2, 3, 4])
    start = cairn.delayed(1)
    assert x[start:].compute() == [2, 3, 4]
    assert x[:start + 2:cairn.delayed(2)].compute() == [1, 3]


def test_delayed_built_from_key_and_graph_as_in_dask():
    from operator import add

    d = cairn.Delayed("b", {"a": 1, "b": (add, "a", 10)})
    assert d.compute() == 11
    assert (d + 1).compute() == 12


def test_delayed_without_own_task_survives_pickle():
    d = cairn.Delayed("b", {"a": 1, "b": (abs, "a")})
    assert _pickle.loads(_pickle.dumps(d)).compute() == 1


def test_pure_delayed_on_distinct_objects_does_not_merge():
    a, b = object(), object()
    x, y = cairn.delayed(id, pure=True)(a), cairn.delayed(id, pure=True)(b)
    assert cairn.compute(x, y) == (id(a), id(b))
