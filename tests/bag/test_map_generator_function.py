"""Bag.map with a generator function gave generator objects, not lists (Dask reifies them);
fused into a later step, that step saw generators where the unfused graph gave lists."""

import pytest

import cairn.bag as cb


def pair(x):
    yield x
    yield x + 1


def pair_star(a, b):
    yield a
    yield b


@pytest.fixture(params=[True, False], ids=["optimized", "unoptimized"])
def optimize_graph(request):
    return request.param


def test_map_with_a_generator_function_gives_lists(optimize_graph):
    b = cb.from_sequence([1, 2, 3], npartitions=2)
    assert b.map(pair).compute(optimize_graph=optimize_graph) == [[1, 2], [2, 3], [3, 4]]
    assert b.map(lambda x, y: pair(x + y), b).compute(optimize_graph=optimize_graph) == [
        [2, 3], [4, 5], [6, 7]]


def test_steps_after_a_generator_map_see_lists(optimize_graph):
    b = cb.from_sequence([1, 2, 3], npartitions=2).map(pair)
    assert b.map(type).compute(optimize_graph=optimize_graph) == [list] * 3
    assert b.filter(lambda x: isinstance(x, list)).count().compute(
        optimize_graph=optimize_graph) == 3
    assert b.map(len).sum().compute(optimize_graph=optimize_graph) == 6


def test_starmap_and_filter_with_generator_results_give_lists(optimize_graph):
    b = cb.from_sequence([(1, 2), (3, 4)], npartitions=2)
    assert b.starmap(pair_star).compute(optimize_graph=optimize_graph) == [[1, 2], [3, 4]]
    assert b.starmap(pair_star).map(type).compute(optimize_graph=optimize_graph) == [list] * 2
    gens = cb.from_sequence([1, 2], npartitions=1).map_partitions(
        lambda part: [pair(x) for x in part])
    assert gens.filter(None).compute(optimize_graph=optimize_graph) == [[1, 2], [2, 3]]
