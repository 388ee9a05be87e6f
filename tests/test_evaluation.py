"""Tests for helpers.evaluation: metric values against hand-computed cases and scikit-learn."""

import math
import os
import warnings

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

from helpers import evaluation as ev

EXPECTED_KEYS = [
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "cohen_kappa",
    "mcc",
    "roc_auc",
]


def one_hot_probs(y_pred, n_classes, confidence=0.9):
    """Probabilities whose argmax is ``y_pred``: ``confidence`` on it, the rest spread evenly."""
    probs = np.full((len(y_pred), n_classes), (1 - confidence) / (n_classes - 1))
    probs[np.arange(len(y_pred)), y_pred] = confidence
    return probs


# A 3-class case with a known confusion matrix (rows = true):
#   [[3, 1, 0],
#    [1, 2, 1],
#    [0, 0, 4]]
Y_TRUE = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
Y_PRED = np.array([0, 0, 0, 1, 0, 1, 1, 2, 2, 2, 2, 2])
CLASSES = ["cat", "dog", "fox"]


# --- classification_metrics ------------------------------------------------------------------------


def test_perfect_predictions_score_one_everywhere():
    y_true = np.array([0, 1, 2, 0, 1, 2])
    metrics = ev.classification_metrics(y_true, one_hot_probs(y_true, 3), CLASSES)
    assert list(metrics) == EXPECTED_KEYS
    assert all(value == 1.0 for value in metrics.values())


def test_known_confusion_matrix_matches_hand_and_sklearn_values():
    metrics = ev.classification_metrics(Y_TRUE, one_hot_probs(Y_PRED, 3))
    assert metrics["accuracy"] == round(9 / 12, 4)
    assert metrics["balanced_accuracy"] == round((3 / 4 + 2 / 4 + 4 / 4) / 3, 4)
    # Cohen's kappa by hand: p_o = 9/12, p_e = (4*4 + 4*3 + 4*5) / 12**2 = 48/144.
    assert metrics["cohen_kappa"] == round((9 / 12 - 48 / 144) / (1 - 48 / 144), 4)
    assert metrics["cohen_kappa"] == round(skm.cohen_kappa_score(Y_TRUE, Y_PRED), 4)
    assert metrics["mcc"] == round(skm.matthews_corrcoef(Y_TRUE, Y_PRED), 4)
    assert metrics["f1"] == round(skm.f1_score(Y_TRUE, Y_PRED, average="macro"), 4)
    assert metrics["precision"] == round((3 / 4 + 2 / 3 + 4 / 5) / 3, 4)
    assert metrics["recall"] == metrics["balanced_accuracy"]


def test_multiclass_auc_and_top5_match_sklearn():
    rng = np.random.default_rng(0)
    n_classes = 7
    y_true = np.arange(70) % n_classes
    y_prob = rng.dirichlet(np.ones(n_classes), size=70).astype(np.float32)
    metrics = ev.classification_metrics(y_true, y_prob)
    assert metrics["roc_auc"] == round(skm.roc_auc_score(y_true, y_prob, multi_class="ovr"), 4)
    expected_top5 = skm.top_k_accuracy_score(y_true, y_prob, k=5)
    assert metrics["top5_accuracy"] == round(expected_top5, 4)
    assert 0 < metrics["top5_accuracy"] < 1


def test_top5_only_with_more_than_five_classes():
    y_true = np.arange(5)
    assert "top5_accuracy" not in ev.classification_metrics(y_true, one_hot_probs(y_true, 5))
    y_true = np.arange(6)
    assert ev.classification_metrics(y_true, one_hot_probs(y_true, 6))["top5_accuracy"] == 1.0


@pytest.mark.parametrize("shape", [(-1,), (-1, 1)])
def test_binary_sigmoid_output_gives_auc_of_positive_class(shape):
    y_true = np.array([0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.6, 0.4, 0.8, 0.3, 0.9])
    metrics = ev.classification_metrics(y_true, p.reshape(shape), ["neg", "pos"])
    assert metrics["roc_auc"] == round(skm.roc_auc_score(y_true, p), 4)
    assert metrics["accuracy"] == round(4 / 6, 4)


def test_missing_class_gives_nan_auc_without_raising_or_warning():
    y_true = np.array([0, 1, 0, 1])  # class 2 never appears
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = ev.classification_metrics(y_true, one_hot_probs(np.array([0, 1, 2, 1]), 3))
    assert math.isnan(metrics["roc_auc"])
    assert metrics["accuracy"] == 0.75


def test_binary_with_one_class_present_gives_nan_auc():
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndefinedMetricWarning)
        metrics = ev.classification_metrics(np.array([1, 1, 1]), np.array([0.2, 0.7, 0.9]))
    assert math.isnan(metrics["roc_auc"])


def test_values_are_plain_floats_rounded_to_four_decimals():
    metrics = ev.classification_metrics(np.array([0, 0, 1]), np.array([0.2, 0.6, 0.7]))
    assert metrics["accuracy"] == 0.6667
    for value in metrics.values():
        assert type(value) is float
        assert value == round(value, 4)


def test_inconsistent_inputs_raise():
    with pytest.raises(ValueError, match="class names"):
        ev.classification_metrics(Y_TRUE, one_hot_probs(Y_PRED, 3), ["a", "b"])
    with pytest.raises(ValueError, match="labels"):
        ev.classification_metrics(Y_TRUE[:5], one_hot_probs(Y_PRED, 3))
    with pytest.raises(ValueError, match="Labels must lie"):
        ev.classification_metrics(np.array([0, 3]), one_hot_probs(np.array([0, 1]), 3))


# --- metrics_table, report, confusion --------------------------------------------------------------


def test_metrics_table_has_readable_names_in_order():
    table = ev.metrics_table({"accuracy": 0.9, "mcc": 0.8, "my_score": 0.5})
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == ["metric", "value"]
    assert table["metric"].tolist() == ["Accuracy", "Matthews correlation (MCC)", "My score"]
    assert table["value"].tolist() == [0.9, 0.8, 0.5]


def test_report_lists_every_class_even_when_missing():
    text = ev.report(np.array([0, 0, 1]), np.array([0, 1, 1]), ["cat", "dog", "fox"])
    lines = {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}
    assert lines["fox"][1:] == ["0.0000", "0.0000", "0.0000", "0"]
    assert lines["cat"][1:] == ["1.0000", "0.5000", "0.6667", "2"]


def test_confusion_rows_are_true_classes_and_size_is_fixed():
    cm = ev.confusion(Y_TRUE, Y_PRED, 4)
    assert cm.dtype.kind == "i"
    np.testing.assert_array_equal(cm, [[3, 1, 0, 0], [1, 2, 1, 0], [0, 0, 4, 0], [0, 0, 0, 0]])


# --- most_confused, per_class_accuracy, misclassified ----------------------------------------------


def test_most_confused_sorted_by_count_then_class_order():
    cm = np.array(
        [
            [5, 2, 0, 3],
            [2, 5, 0, 0],
            [0, 4, 5, 0],
            [0, 0, 1, 9],
        ]
    )
    names = ["a", "b", "c", "d"]
    assert ev.most_confused(cm, names, k=3) == [("c", "b", 4), ("a", "d", 3), ("a", "b", 2)]
    everything = ev.most_confused(cm, names, k=10)
    assert everything[2:] == [("a", "b", 2), ("b", "a", 2), ("d", "c", 1)]
    assert all(count > 0 for _, _, count in everything)


def test_most_confused_is_empty_for_a_diagonal_matrix():
    assert ev.most_confused(np.eye(3, dtype=int) * 4, CLASSES) == []


def test_per_class_accuracy_is_recall_with_nan_for_no_support():
    cm = np.array([[3, 1, 0], [0, 0, 0], [1, 0, 2]])
    result = ev.per_class_accuracy(cm, CLASSES)
    assert list(result) == CLASSES
    assert result["cat"] == 0.75
    assert math.isnan(result["dog"])
    assert result["fox"] == 0.6667


def test_misclassified_returns_most_confidently_wrong_first():
    y_true = np.array([0, 1, 2, 0, 1, 2])
    y_prob = np.array(
        [
            [0.9, 0.05, 0.05],  # right
            [0.6, 0.3, 0.1],  # wrong, confidence 0.6
            [0.05, 0.9, 0.05],  # wrong, confidence 0.9
            [0.2, 0.7, 0.1],  # wrong, confidence 0.7
            [0.01, 0.98, 0.01],  # right, very confident
            [0.4, 0.35, 0.25],  # wrong, confidence 0.4
        ]
    )
    np.testing.assert_array_equal(ev.misclassified(y_true, y_prob), [2, 3, 1, 5])
    np.testing.assert_array_equal(ev.misclassified(y_true, y_prob, k=2), [2, 3])
    assert ev.misclassified(y_true, one_hot_probs(y_true, 3)).size == 0


# --- predict_dataset -------------------------------------------------------------------------------


def fixed_dense_model(n_inputs, n_units, activation, kernel):
    """A one-layer model with fixed weights, so its predictions are known without training."""
    model = keras.Sequential([keras.Input((n_inputs,)), keras.layers.Dense(n_units, activation=activation)])
    model.layers[0].set_weights([np.asarray(kernel, dtype="float32"), np.zeros(n_units, dtype="float32")])
    return model


def test_predict_dataset_keeps_labels_aligned_with_a_reshuffling_dataset():
    n, n_classes = 45, 3
    labels = np.arange(n) % n_classes
    inputs = np.eye(n_classes, dtype="float32")[labels]  # the model predicts the label from its one-hot input
    model = fixed_dense_model(n_classes, n_classes, "softmax", 10 * np.eye(n_classes))
    dataset = (
        tf.data.Dataset.from_tensor_slices((inputs, labels))
        .shuffle(n, seed=1, reshuffle_each_iteration=True)
        .batch(8)
    )
    y_true, y_prob = ev.predict_dataset(model, dataset)
    assert y_true.dtype.kind == "i"
    assert y_prob.shape == (n, n_classes)
    assert sorted(y_true) == sorted(labels)
    assert not np.array_equal(y_true, labels)  # really shuffled, so alignment was tested
    np.testing.assert_array_equal(y_prob.argmax(axis=1), y_true)
    np.testing.assert_allclose(y_prob.sum(axis=1), 1.0, rtol=1e-5)


def test_predict_dataset_sigmoid_output_gives_two_columns_and_one_hot_labels_become_indices():
    values = np.linspace(-2, 2, 20, dtype="float32")
    labels = (values > 0).astype(int)
    one_hot = np.eye(2, dtype="float32")[labels]
    model = fixed_dense_model(1, 1, "sigmoid", [[3.0]])
    dataset = tf.data.Dataset.from_tensor_slices((values[:, None], one_hot)).shuffle(20, seed=2).batch(6)
    y_true, y_prob = ev.predict_dataset(model, dataset)
    assert y_prob.shape == (20, 2)
    np.testing.assert_allclose(y_prob.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(y_prob.argmax(axis=1), y_true)
    assert sorted(y_true) == sorted(labels)


def test_predict_dataset_rejects_an_empty_dataset():
    model = fixed_dense_model(2, 2, "softmax", np.eye(2))
    empty = tf.data.Dataset.from_tensor_slices((np.zeros((0, 2), "float32"), np.zeros(0, int))).batch(4)
    with pytest.raises(ValueError, match="empty"):
        ev.predict_dataset(model, empty)


# --- the pieces plotting, calibration and features share -------------------------------------------


def test_class_indices_reads_one_hot_and_column_labels():
    np.testing.assert_array_equal(ev.class_indices(np.eye(3)[[2, 0, 1]]), [2, 0, 1])
    np.testing.assert_array_equal(ev.class_indices(np.array([[1], [0], [2]])), [1, 0, 2])
    assert ev.class_indices(np.array([1.0, 0.0])).dtype.kind == "i"


def test_probability_matrix_turns_a_sigmoid_column_into_two():
    np.testing.assert_allclose(ev.probability_matrix(np.array([[0.2], [0.9]])), [[0.8, 0.2], [0.1, 0.9]])
    np.testing.assert_allclose(ev.probability_matrix(np.array([0.3])), [[0.7, 0.3]])
    softmax = np.array([[0.1, 0.6, 0.3]])
    np.testing.assert_array_equal(ev.probability_matrix(softmax), softmax)
    with pytest.raises(ValueError, match="n_classes"):
        ev.probability_matrix(np.zeros((2, 2, 2)))


def test_forward_step_is_the_model_in_inference_mode_for_any_batch_size():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dropout(0.9)(keras.layers.Dense(3)(inputs)))
    step = ev.forward_step(model)
    for n in (1, 5):  # one graph (input_signature with a free batch size) serves both
        x = np.random.default_rng(n).normal(size=(n, 4)).astype("float32")
        np.testing.assert_allclose(np.asarray(step(x)), np.asarray(model(x, training=False)), rtol=1e-6)
    assert step.experimental_get_tracing_count() == 1
