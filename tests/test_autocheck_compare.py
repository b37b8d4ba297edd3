"""compare.difference and compare.describe_input: the type policy, near misses, −inf, inputs.

The type policy (stated in intro.md and the package's "For learners" paragraph): where the
expected answer is a NumPy array, a list or tuple is incorrect and tensors are accepted; where a
number is expected, a Python float or int, a NumPy float scalar and a 0-d array or tensor are all
accepted.
"""

from __future__ import annotations

import numpy as np
import pytest

from utils.autocheck.compare import NEAR_MISS, describe_input, difference

EXPECTED_ARRAY = np.array([0.5, -1.25, 2.0])


# ---------------------------------------------------------------------------------------------
# The type policy: arrays
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("container", [list, tuple])
def test_a_list_or_tuple_of_the_right_numbers_is_not_an_array(container):
    message = difference(container(EXPECTED_ARRAY.tolist()), EXPECTED_ARRAY)
    assert message is not None
    assert f"is a {container.__name__}; expected a NumPy array of shape (3,)" in message
    assert "`np.asarray(...)`" in message


def test_a_nested_list_where_a_matrix_is_expected_is_rejected():
    expected = np.arange(6.0).reshape(2, 3)
    message = difference(expected.tolist(), expected)
    assert message is not None and "is a list; expected a NumPy array of shape (2, 3)" in message


def test_the_same_numbers_as_an_array_pass():
    assert difference(np.asarray(EXPECTED_ARRAY.tolist()), EXPECTED_ARRAY) is None


def test_a_torch_tensor_is_accepted_where_an_array_is_expected():
    torch = pytest.importorskip("torch")
    assert difference(torch.tensor(EXPECTED_ARRAY), EXPECTED_ARRAY) is None


def test_a_list_inside_a_tuple_answer_is_judged_as_an_item():
    expected = (EXPECTED_ARRAY, 1.5)
    assert difference((EXPECTED_ARRAY.copy(), 1.5), expected) is None
    assert difference([EXPECTED_ARRAY.copy(), 1.5], expected) is None  # a list for the tuple
    message = difference((EXPECTED_ARRAY.tolist(), 1.5), expected)
    assert message is not None and "your result[0] is a list" in message


# ---------------------------------------------------------------------------------------------
# The type policy: numbers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [2.0, 2, np.float64(2.0), np.array(2.0), np.array([[2.0]]).reshape(())],
    ids=["float", "int", "np.float64", "0-d array", "0-d view"],
)
def test_every_kind_of_number_is_accepted_where_a_number_is_expected(number):
    assert difference(number, 2.0) is None
    assert difference(number, np.float64(2.0)) is None


def test_a_0d_tensor_is_accepted_where_a_number_is_expected():
    torch = pytest.importorskip("torch")
    assert difference(torch.tensor(2.0, dtype=torch.float64), 2.0) is None


def test_a_wrong_python_int_is_a_wrong_value_not_a_type_error():
    message = difference(3, 2.0)
    assert message is not None and "(3) is not the expected value" in message


def test_a_numpy_integer_where_a_float_is_expected_is_flagged():
    message = difference(np.int64(2), 2.0)
    assert message is not None and "integer dtype int64" in message


def test_a_float_where_an_integer_is_expected_is_flagged():
    message = difference(5.0, np.int64(5))
    assert message is not None and "expected integers" in message


def test_a_list_holding_one_number_is_not_a_number():
    message = difference([2.0], 2.0)
    assert message is not None and "expected a single number" in message


# ---------------------------------------------------------------------------------------------
# Near misses: relative error and a precision hint
# ---------------------------------------------------------------------------------------------


def test_a_near_miss_on_a_number_gives_its_relative_error_and_a_precision_hint():
    message = difference(2.0 * (1 + 3e-4), 2.0, rtol=1e-6)
    assert "relative" in message and "float32" in message


def test_a_near_miss_on_a_value_exercise_gives_one_digit_never_the_error_itself():
    got = 2.302585 * (1 + 3e-4)
    message = difference(got, 2.302585, rtol=1e-6, reveal_error=False)
    assert "off by about 3e-4 relative (the check allows 1e-6)" in message
    assert "float32" in message
    assert "2.30" not in message.replace(f"{got:.6g}", ""), "the expected value must not show"


def test_a_far_miss_on_a_value_exercise_says_nothing_about_its_size():
    message = difference(3.0, 2.302585, reveal_error=False)
    assert message == "your result (3) is not the expected value."


def test_a_near_miss_on_an_array_says_every_difference_is_small():
    message = difference(EXPECTED_ARRAY * (1 + 1e-4), EXPECTED_ARRAY)
    assert "Every difference is small, at most 1e-4 relative" in message


def test_an_array_with_one_far_value_is_not_a_near_miss():
    got = EXPECTED_ARRAY * (1 + 1e-4)
    got[1] = 7.0
    message = difference(got, EXPECTED_ARRAY)
    assert "Every difference is small" not in message and "float32" not in message


def test_the_near_miss_threshold_is_inclusive_and_sharp():
    just_inside = difference(1.0 + 0.9 * NEAR_MISS, 1.0)
    just_outside = difference(1.0 + 1.1 * NEAR_MISS, 1.0)
    assert "relative" in just_inside
    assert "relative" not in just_outside


# ---------------------------------------------------------------------------------------------
# Non-finite values
# ---------------------------------------------------------------------------------------------


def test_minus_inf_asks_about_the_log_of_zero():
    with np.errstate(divide="ignore"):
        got = np.log(np.array([0.5, 0.0, 0.25]))
    message = difference(got, np.array([-0.7, -1.0, -1.4]))
    assert "contains −inf (log of 0?) at 1 of 3 positions" in message
    assert "overflow" not in message


def test_plus_inf_asks_about_an_overflow():
    with np.errstate(over="ignore"):
        got = np.exp(np.array([1.0, 1000.0]))
    message = difference(got, np.array([2.7, 3.0]))
    assert "contains inf at 1 of 2 positions" in message and "overflow" in message
    assert "log of 0" not in message


def test_nan_asks_about_zero_over_zero():
    message = difference(np.nan, 1.0)
    assert "contains NaN" in message and "0/0" in message
    assert "where a finite value is expected" in message


def test_nan_where_minus_inf_is_expected_does_not_claim_a_finite_value():
    message = difference(np.array([0.5, np.nan]), np.array([0.5, -np.inf]))
    assert "contains NaN at 1 of 2 positions" in message
    assert "where a number, not NaN, is expected" in message


# ---------------------------------------------------------------------------------------------
# Structure only (values=False), for experiment exercises judged otherwise
# ---------------------------------------------------------------------------------------------


def test_structure_only_accepts_any_finite_number_of_the_right_kind():
    assert difference(0.37, 0.01, values=False) is None
    assert difference(np.float64(5.0), 0.01, values=False) is None
    assert difference(3, 0.01, values=False) is None


def test_structure_only_still_rejects_wrong_types_shapes_and_non_finite_values():
    assert "should be a number" in difference("0.1", 0.01, values=False)
    assert "expected a single number" in difference(np.array([0.1, 0.2]), 0.01, values=False)
    assert "contains NaN" in difference(np.nan, 0.01, values=False)
    assert "contains inf" in difference(np.inf, 0.01, values=False)
    assert "is a list" in difference([1.0, 2.0], EXPECTED_ARRAY, values=False)


# ---------------------------------------------------------------------------------------------
# Short input descriptions
# ---------------------------------------------------------------------------------------------


def test_an_array_is_described_by_dtype_shape_and_its_first_three_numbers():
    value = np.array([[0.123456, -1.3, 0.5, 7.0], [1.0, 2.0, 3.0, 4.0]])
    assert describe_input(value) == "float64 array (2, 4), [0.123, -1.3, 0.5, …]"


def test_a_short_array_has_no_ellipsis():
    assert describe_input(np.array([1, 2], dtype=np.int64)) == "int64 array (2,), [1, 2]"


def test_a_number_is_shown_to_three_digits_not_as_its_repr():
    assert describe_input(np.float64(0.47936799633290206)) == "0.479"
    assert describe_input(np.int64(37)) == "37"
    assert describe_input(0.1) == "0.1"
    assert describe_input(True) == "True"


def test_other_inputs_are_described_in_a_few_words():
    assert describe_input(lambda x: x) == "a function"
    assert describe_input(None) == "None"
    assert describe_input([1, 2, 3]) == "list of 3 items"
    assert describe_input({"a": 1, "b": 2}) == "dict with keys a, b"
    assert describe_input("x" * 40) == repr("x" * 17 + "...")


def test_a_large_input_gives_a_short_description():
    value = np.random.default_rng(0).normal(size=(1000, 1000))
    assert len(describe_input(value)) < 60


def test_a_tensor_input_is_described_by_its_framework_dtype_and_shape():
    torch = pytest.importorskip("torch")
    assert describe_input(torch.zeros(2, 3)) == "a torch.Tensor torch.float32 (2, 3)"
