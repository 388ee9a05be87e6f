"""Tests for helpers.calibration: reliability bins, ECE, log-probabilities as logits, temperature scaling, the plot."""

import math

import numpy as np
import pytest

from helpers import calibration as cal


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def calibrated_sample(n: int, classes: int = 5, scale: float = 2.0, seed: int = 0):
    """Logits and labels drawn FROM softmax(logits): probabilities that are calibrated by construction."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, scale, (n, classes))
    probs = softmax(logits)
    labels = (rng.random((n, 1)) > probs.cumsum(axis=1)).sum(axis=1)  # one draw per row from its softmax
    return logits, np.minimum(labels, classes - 1)


# --- reliability bins and ECE ---------------------------------------------------------------------


def test_bins_known_case():
    y_prob = np.array([[0.95, 0.05], [0.8, 0.2], [0.3, 0.7], [0.55, 0.45], [0.1, 0.9]])
    y_true = np.array([0, 1, 1, 0, 0])  # right, wrong, right, right, wrong
    bins = cal.reliability_bins(y_true, y_prob, n_bins=10)
    assert len(bins) == 10 and bins["count"].sum() == 5
    by_upper = bins.set_index(bins["upper"].round(1))
    assert by_upper.loc[0.8, "count"] == 1  # 0.8 sits in (0.7, 0.8], not in (0.8, 0.9]
    assert by_upper.loc[1.0, "count"] == 1 and by_upper.loc[1.0, "accuracy"] == 1.0
    assert by_upper.loc[0.9, "count"] == 1 and by_upper.loc[0.9, "accuracy"] == 0.0
    assert by_upper.loc[0.9, "gap"] == pytest.approx(0.9)
    assert math.isnan(by_upper.loc[0.1, "accuracy"])  # empty bins are kept, with NaN


def test_ece_known_value():
    # four predictions at 0.9 confidence, two of them right: one bin, gap 0.4
    y_prob = np.tile([0.9, 0.1], (4, 1))
    assert cal.expected_calibration_error(np.array([0, 0, 1, 1]), y_prob) == pytest.approx(0.4)
    # two bins weighted by their counts: 3 x (0.9, all right) and 1 x (0.6, wrong)
    y_prob = np.array([[0.9, 0.1]] * 3 + [[0.6, 0.4]])
    assert cal.expected_calibration_error(np.array([0, 0, 0, 1]), y_prob) == pytest.approx((3 * 0.1 + 0.6) / 4)


def test_ece_of_a_calibrated_model_is_about_zero():
    logits, labels = calibrated_sample(100_000)
    assert cal.expected_calibration_error(labels, softmax(logits), n_bins=15) < 0.01


def test_ece_of_an_over_confident_model_is_large():
    logits, labels = calibrated_sample(50_000)
    assert cal.expected_calibration_error(labels, softmax(3 * logits)) > 0.1


def test_a_sigmoid_column_is_read_as_the_probability_of_class_1():
    p = np.array([0.9, 0.2, 0.6])
    assert cal.expected_calibration_error([1, 0, 0], p) == pytest.approx(
        cal.expected_calibration_error([1, 0, 0], np.column_stack([1 - p, p])))


# --- logits and temperature --------------------------------------------------------------------------


def test_log_probabilities_give_the_same_softmax_as_the_logits_at_any_temperature():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (200, 6))
    recovered = cal.logits_from_probabilities(softmax(logits))
    # they differ from the logits by one number per row ...
    shift = logits - recovered
    np.testing.assert_allclose(shift, shift[:, :1].repeat(6, axis=1), atol=1e-9)
    # ... which no softmax sees, whatever the temperature
    for t in (0.5, 1.0, 2.5):
        np.testing.assert_allclose(cal.apply_temperature(recovered, t), softmax(logits / t), atol=1e-9)


def test_zero_probabilities_are_clipped_not_minus_infinity():
    logits = cal.logits_from_probabilities(np.array([[1.0, 0.0, 0.0]], dtype=np.float32))
    assert np.isfinite(logits).all() and logits[0, 1] == pytest.approx(math.log(cal.EPSILON))


def test_temperature_keeps_the_predicted_class_and_one_is_the_identity():
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 2, (100, 4))
    np.testing.assert_allclose(cal.apply_temperature(logits, 1.0), softmax(logits), atol=1e-12)
    for t in (0.3, 4.0):
        assert (cal.apply_temperature(logits, t).argmax(axis=1) == logits.argmax(axis=1)).all()
    with pytest.raises(ValueError, match="positive"):
        cal.apply_temperature(logits, 0.0)


def test_nll_known_value():
    logits = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]]))
    assert cal.negative_log_likelihood(logits, [0, 1]) == pytest.approx(-(math.log(0.5) + math.log(0.8)) / 2)


@pytest.mark.parametrize("true_t", [3.0, 0.5])
def test_fit_temperature_recovers_the_temperature_of_a_mis_scaled_model(true_t):
    """Labels drawn from softmax(z), model reports softmax(z / true_t): fitting finds T = true_t and fixes the ECE."""
    logits, labels = calibrated_sample(40_000, seed=3)
    reported = softmax(logits / true_t)  # true_t < 1: over-confident; > 1: under-confident
    model_logits = cal.logits_from_probabilities(reported)
    t = cal.fit_temperature(model_logits, labels)
    assert t == pytest.approx(1 / true_t, rel=0.05)  # dividing by t undoes the division by true_t
    before = cal.expected_calibration_error(labels, reported)
    after = cal.expected_calibration_error(labels, cal.apply_temperature(model_logits, t))
    assert after < 0.015 < before


def test_fit_temperature_finds_the_minimum_of_the_nll():
    logits, labels = calibrated_sample(5_000, seed=4)
    model_logits = 2.0 * logits  # over-confident
    t = cal.fit_temperature(model_logits, labels)
    assert t > 1
    nll = cal.negative_log_likelihood(model_logits, labels, t)
    for other in (t * 0.97, t * 1.03, 1.0):
        assert nll < cal.negative_log_likelihood(model_logits, labels, other)


def test_fit_temperature_stops_at_the_bound_when_every_prediction_is_right():
    logits = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 0.0]])
    assert cal.fit_temperature(logits, [0, 1, 0], bounds=(0.1, 10.0)) == pytest.approx(0.1, rel=1e-4)
    # confident right answers: below T = 0.2 their losses are under 1e-16, and must still fall as T falls
    confident = np.array([[8.0, 0.0], [0.0, 9.0], [7.0, 0.0]])
    losses = [cal.negative_log_likelihood(confident, [0, 1, 0], t) for t in (0.2, 0.1, 0.05)]
    assert 0 < losses[2] < losses[1] < losses[0] < 1e-14
    assert cal.fit_temperature(confident, [0, 1, 0], bounds=(0.01, 10.0)) == pytest.approx(0.01, rel=1e-4)
    with pytest.raises(ValueError, match="bounds"):
        cal.fit_temperature(logits, [0, 1, 0], bounds=(2.0, 1.0))


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="labels"):
        cal.reliability_bins([0, 1], np.array([[0.5, 0.5]]))
    with pytest.raises(ValueError, match="n_bins"):
        cal.reliability_bins([0], np.array([[0.5, 0.5]]), n_bins=0)


# --- the figure -------------------------------------------------------------------------------------


def test_plot_has_one_panel_per_diagram_titled_with_its_ece():
    logits, labels = calibrated_sample(2_000, seed=5)
    fig = cal.plot_reliability({"before": (labels, softmax(3 * logits)), "after": (labels, softmax(logits))},
                               title="test")
    assert len(fig.axes) == 2
    for ax, probs in zip(fig.axes, (softmax(3 * logits), softmax(logits)), strict=True):
        assert f"ECE {cal.expected_calibration_error(labels, probs):.3f}" in ax.get_title()
        counts = sorted(int(t.get_text()) for t in ax.texts)
        assert sum(counts) == 2_000  # each filled bin is labelled with its count
