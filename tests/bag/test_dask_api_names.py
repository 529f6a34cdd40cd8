"""Names of Dask's bag API cairn lacked: ``cairn.bag.compute``, ``Bag.unzip``,
``map_partitions(token=)`` (it was passed on to the function), ``from_delayed`` and the
other module-level functions in ``cairn.bag.core`` (as in ``dask.bag.core``),
``from_delayed``/``Item.from_delayed`` of Dask's own Delayed values, and
``visualize(optimize_graph=True)`` (a TypeError)."""

import pytest

import cairn
import cairn.bag as cb
import cairn.bag.core as core

dask = pytest.importorskip("dask")


def test_bag_compute_computes_several_at_once():
    b = cb.from_sequence(range(4), npartitions=2)
    assert cb.compute(b.sum(), b.count(), b) == (6, 4, [0, 1, 2, 3])


def test_unzip_gives_one_bag_per_position():
    b = cb.from_sequence([(i, i + 1, str(i)) for i in range(5)], npartitions=2)
    first, second, third = b.unzip(3)
    assert first.compute() == list(range(5))
    assert third.compute() == [str(i) for i in range(5)]
    assert first.name == b.unzip(3)[0].name != second.name


def test_map_partitions_token_names_the_tasks_and_is_not_passed_on():
    b = cb.from_sequence(range(4), npartitions=2)
    counted = b.map_partitions(len, token="sizes")
    assert counted.name.startswith("sizes-")
    assert counted.compute() == [2, 2]
    assert b.map_partitions(len).name.startswith("len-")


def test_core_has_dask_bag_core_functions():
    a = cairn.delayed(list)(range(3))
    assert core.from_delayed([a]).compute() == [0, 1, 2]
    assert core.from_sequence([1, 2]).compute() == [1, 2]
    assert core.bag_range(3, npartitions=2).compute() == [0, 1, 2]
    assert core.bag_map(str, core.from_sequence([1])).compute() == ["1"]
    assert core.concat([core.from_sequence([1]), core.from_sequence([2])]).compute() == [1, 2]
    with pytest.raises(AttributeError, match="no_such_name"):
        core.no_such_name


def test_from_delayed_of_dask_delayed_values():
    from dask import delayed

    one = delayed(list)(range(3))
    assert cb.from_delayed(one).compute() == [0, 1, 2]
    assert cb.from_delayed([one, delayed(range)(2)]).compute() == [0, 1, 2, 0, 1]
    assert cb.Item.from_delayed(delayed(sum)([1, 2])).compute() == 3


def test_from_delayed_of_something_else_names_it():
    with pytest.raises(TypeError, match="value 1 is a int"):
        cb.from_delayed([cairn.delayed([1]), 5])
    with pytest.raises(TypeError, match="needs a Delayed"):
        cb.Item.from_delayed(5)


def test_visualize_optimize_graph_draws_the_fused_graph(tmp_path):
    b = cb.from_sequence(range(4), npartitions=2).map(str).map(len)
    plain = b.visualize(str(tmp_path / "plain.dot"))
    fused = b.visualize(str(tmp_path / "fused.dot"), optimize_graph=True)
    with open(plain) as f, open(fused) as g:
        plain_text, fused_text = f.read(), g.read()
    assert fused_text.startswith("digraph")
    assert fused_text.count("->") < plain_text.count("->")
