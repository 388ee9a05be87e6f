"""Grouped validation splits (helpers/splits.py): whole groups on one side, about the asked share per class."""

import numpy as np
import pytest

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
