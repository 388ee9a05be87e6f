"""Validation splits (helpers/splits.py): stratified at random, or whole groups kept on one side."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import splits


def series_data():
    """Three classes: class 0 has three series of 6 frames, class 1 two of 5, class 2 a single series of 4."""
    labels, groups = [], []
    for cls, sizes in ((0, (6, 6, 6)), (1, (5, 5)), (2, (4,))):
        for s, size in enumerate(sizes):
            labels += [cls] * size
            groups += [f"class{cls}/series{s}"] * size
    return np.array(labels), np.array(groups)


def test_no_group_spans_the_two_sides_and_every_image_is_used_once():
    labels, groups = series_data()
    keep, held = splits.grouped_split(labels, groups, 0.2, seed=0)
    assert not splits.shared_groups(groups[keep], groups[held])
    assert sorted(np.concatenate([keep, held]).tolist()) == list(range(len(labels)))
    assert (np.diff(keep) > 0).all() and (np.diff(held) > 0).all()  # sorted positions


def test_each_class_holds_out_at_least_one_group_but_never_all_of_them():
    labels, groups = series_data()
    keep, held = splits.grouped_split(labels, groups, 0.2, seed=0)
    held_series = {cls: set(groups[held][labels[held] == cls]) for cls in (0, 1, 2)}
    assert len(held_series[0]) == 1  # 6 of 18 images already reach 20 %
    assert len(held_series[1]) == 1  # one of two series: half the class
    assert held_series[2] == set()  # a single series cannot be validated without leaking: all kept
    assert set(labels[keep]) == {0, 1, 2}


def test_more_groups_are_held_out_until_the_fraction_is_reached():
    labels = np.zeros(20, dtype=int)
    groups = np.repeat([f"g{i}" for i in range(10)], 2)  # ten groups of 10 % each
    _, held = splits.grouped_split(labels, groups, 0.35, seed=3)
    assert len(held) == 8  # 10 %, 20 %, 30 % are below 35 %: a fourth group is added
    _, held = splits.grouped_split(labels, groups, 0.9999, seed=3)
    assert len(held) == 18  # everything but one group, never the whole class


def test_the_seed_decides_which_groups_and_repeats_exactly():
    labels, groups = series_data()
    first = splits.grouped_split(labels, groups, 0.2, seed=1)
    again = splits.grouped_split(labels, list(groups), 0.2, seed=1)
    assert all((a == b).all() for a, b in zip(first, again, strict=True))
    chosen = {tuple(splits.grouped_split(labels, groups, 0.2, seed=s)[1]) for s in range(12)}
    assert len(chosen) > 1


def test_a_group_that_spans_classes_is_held_out_whole():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    groups = np.array(["a", "a", "b", "b", "a", "c", "c", "d"])  # "a" holds images of both classes
    for seed in range(10):
        keep, held = splits.grouped_split(labels, groups, 0.3, seed=seed)
        assert not splits.shared_groups(groups[keep], groups[held])


def test_random_split_leaks_where_the_grouped_split_does_not():
    """The reason for the module: a random 20 % split puts frames of one series on both sides."""
    labels, groups = series_data()
    order = np.random.default_rng(0).permutation(len(labels))
    held, keep = order[: len(labels) // 5], order[len(labels) // 5:]
    assert splits.shared_groups(groups[keep], groups[held])


def test_shared_groups_lists_what_two_splits_have_in_common():
    assert splits.shared_groups(["a", "b", "b"], ["c", "b"]) == {"b"}
    assert splits.shared_groups(["a"], []) == set()


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_fraction_outside_zero_one_is_refused(fraction):
    with pytest.raises(ValueError, match="fraction"):
        splits.grouped_split([0, 0], ["a", "b"], fraction, seed=0)


def test_labels_and_groups_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="3 labels but 2 groups"):
        splits.grouped_split([0, 0, 1], ["a", "b"], 0.2, seed=0)


# --------------------------------------------------------------------------------------------------
# stratified_split
# --------------------------------------------------------------------------------------------------

label_lists = st.lists(st.integers(min_value=0, max_value=6), min_size=0, max_size=120)
fractions = st.floats(min_value=0.01, max_value=0.99, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(labels=label_lists, fraction=fractions, seed=st.integers(0, 2**32 - 1))
def test_stratified_split_partitions_and_keeps_every_class_on_both_sides(labels, fraction, seed):
    keep, held = splits.stratified_split(labels, fraction, seed)
    assert set(keep).isdisjoint(held)
    assert sorted([*keep, *held]) == list(range(len(labels)))
    assert len(set(keep)) == len(keep) and len(set(held)) == len(held)
    counts = Counter(labels)
    held_counts = Counter(labels[i] for i in held)
    keep_counts = Counter(labels[i] for i in keep)
    for cls, n in counts.items():
        if n >= 2:
            assert keep_counts[cls] >= 1 and held_counts[cls] >= 1, (cls, n)
            assert held_counts[cls] == min(max(round(n * fraction), 1), n - 1)
    assert splits.stratified_split(labels, fraction, seed)[1].tolist() == held.tolist(), "deterministic"


def test_stratified_split_fraction_per_class():
    labels = [0] * 50 + [1] * 20 + [2] * 10
    keep, held = splits.stratified_split(labels, 0.2, seed=0)
    assert Counter(labels[i] for i in held) == {0: 10, 1: 4, 2: 2}
    assert len(keep) == 64


def test_stratified_split_changes_with_the_seed():
    labels = [0, 1] * 30
    assert splits.stratified_split(labels, 0.3, 0)[1].tolist() != splits.stratified_split(labels, 0.3, 1)[1].tolist()


@pytest.mark.parametrize("fraction", [0, 1, -0.2, 1.5])
def test_stratified_split_rejects_bad_fractions(fraction):
    with pytest.raises(ValueError, match="fraction"):
        splits.stratified_split([0, 1, 0, 1], fraction, 0)


def test_stratified_split_of_nothing():
    keep, held = splits.stratified_split([], 0.2, 0)
    assert keep.tolist() == [] and held.tolist() == []
