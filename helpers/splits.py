"""Validation splits: stratified at random, or by group so that near-copies stay together and do not leak.

A random split of a training folder is honest only when its images are independent. Fruits-360's are
not: each class is a few rotation series, frames of one filmed turn of a fruit, and neighbouring frames
are near-copies. A random 20 % validation split then holds frames whose neighbours are in training,
and its accuracy says how well the model recognises frames it has almost seen. Chapter 07 holds out
whole series instead (:func:`grouped_split`, with the series read from the file names by
:func:`helpers.datasets.catalog.fruits360_series`), checks that no series spans both sides
(:func:`shared_groups`) and shows what the two kinds of validation report for the same model. The
functions are generic: a group is any label that ties images together (a rotation series, a cluster
of near-duplicates from :mod:`helpers.duplicates`, a patient, a photographer).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

__all__ = ["grouped_split", "shared_groups", "stratified_split"]


def stratified_split(labels: Sequence[int], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(keep, held_out)`` with about ``fraction`` of every class held out.

    Carves a validation set out of a training folder with the same class balance, when the images are
    independent (otherwise hold out groups: :func:`grouped_split`). Every class with at least two images
    keeps at least one image on each side. Every chapter's ``datasets.load`` holds out validation with it
    where a dataset has no validation split, chapter 09 carves its missing splits with it, and chapter 07
    calls it to show what a random split would report.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, not {fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        k = int(round(len(idx) * fraction))
        if len(idx) >= 2:
            k = min(max(k, 1), len(idx) - 1)
        held.append(idx[:k])
    held_idx = np.sort(np.concatenate(held)) if held else np.array([], dtype=int)
    keep_idx = np.setdiff1d(np.arange(len(labels)), held_idx)
    return keep_idx, held_idx


def grouped_split(labels: Sequence[int], groups: Sequence[Hashable], fraction: float,
                  seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(keep, held_out)`` that hold out whole groups, about ``fraction`` of each class.

    Used in chapters 07 and 08.

    For every class, its groups are shuffled (with ``seed``) and held out one after the other until the
    held-out images reach ``fraction`` of the class: at least one group, never all of them. A class with a
    single group therefore stays entirely on the ``keep`` side (it cannot be validated without leaking);
    a class of two equal groups gives half its images to ``held_out``. Every image of a group held out
    goes to ``held_out``, whatever its class, so no group ever spans the two sides.

    Args:
        labels: The class of each image.
        groups: The group of each image (any hashable: a series name, a cluster number).
        fraction: The share of each class to hold out, between 0 and 1 (exclusive).
        seed: Makes the choice of groups reproducible.

    Returns:
        Two sorted integer arrays of positions into ``labels``: the images kept (for training) and the
        images held out (for validation).

    Raises:
        ValueError: ``fraction`` is not between 0 and 1, or ``labels`` and ``groups`` differ in length.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, not {fraction}")
    if len(labels) != len(groups):
        raise ValueError(f"{len(labels)} labels but {len(groups)} groups")
    labels = np.asarray(labels)
    keys = np.array([str(g) for g in groups], dtype=object)  # one sortable key per group
    rng = np.random.default_rng(seed)
    held_groups: set[str] = set()
    for cls in np.unique(labels):
        in_class = keys[labels == cls]
        names, sizes = np.unique(in_class, return_counts=True)  # sorted: the shuffle alone decides
        order = rng.permutation(len(names))
        target = fraction * len(in_class)
        held = 0
        for position in order[: len(names) - 1]:  # never every group of the class
            if held >= target:
                break
            held_groups.add(names[position])
            held += sizes[position]
    is_held = np.array([key in held_groups for key in keys], dtype=bool)
    return np.flatnonzero(~is_held), np.flatnonzero(is_held)


def shared_groups(first: Sequence[Hashable], second: Sequence[Hashable]) -> set:
    """The groups that have images on both sides: empty when two splits do not leak into each other.

    Pass the group of each image of one split, then of the other (for example the series of the
    training files and of the validation files). Chapter 07 asserts that its training and validation
    splits share none, and counts how many test series also have frames in training.
    """
    return set(first) & set(second)
