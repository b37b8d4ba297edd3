"""Exercises 3 (regularization) against hand-written learner code.

The generic tests (test_autocheck_exercises.py, test_autocheck_frameworks.py) feed each *declared*
mistake back to the checker and compare each reference with its torch/Keras oracle. Here the wrong
answers are written the way a learner would write them (loops, in-place updates, other names),
independently of the declarations, and each must get the intended message. Alternative correct
solutions must pass. Exercise 3.1 returns a tuple ``(w, b)``, so its scikit-learn oracle is
compared here, item by item, as are the chapter's claims about the ``alpha`` conventions.
"""

from __future__ import annotations

import numpy as np
import pytest
from exercise_tables import separation_test, table_tests

from utils.autocheck.core import run_check
from utils.autocheck.result import Outcome
from utils.autocheck.spec import get_exercise

# ---------------------------------------------------------------------------------------------
# 3.1 ridge_fit
# ---------------------------------------------------------------------------------------------


def ridge_bias_column(X, y, lam):
    # Appends a column of ones and penalises everything, intercept included.
    n = len(y)
    A = np.hstack([X, np.ones((n, 1))])
    theta = np.linalg.inv(A.T @ A + n * lam * np.identity(A.shape[1])) @ A.T @ y
    return theta[:-1], float(theta[-1])


def ridge_sum_convention(X, y, lam):
    Xc = X - X.mean(axis=0)
    yc = y - y.mean()
    w = np.linalg.inv(Xc.T @ Xc + lam * np.identity(X.shape[1])) @ (Xc.T @ yc)
    return w, float(y.mean() - X.mean(axis=0) @ w)


def ridge_forgot_penalty(X, y, lam):
    Xc = X - X.mean(axis=0)
    w, *_ = np.linalg.lstsq(Xc, y - y.mean(), rcond=None)
    return w, float(y.mean() - X.mean(axis=0) @ w)


def ridge_half_lambda(X, y, lam):
    n, d = X.shape
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    w = np.linalg.solve(Xc.T @ Xc + 0.5 * n * lam * np.eye(d), Xc.T @ yc)
    return w, float(y.mean() - X.mean(axis=0) @ w)


def ridge_no_intercept(X, y, lam):
    n, d = X.shape
    return np.linalg.solve(X.T @ X + n * lam * np.eye(d), X.T @ y), 0.0


def ridge_b_as_array(X, y, lam):
    n, d = X.shape
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    w = np.linalg.solve(Xc.T @ Xc + n * lam * np.eye(d), Xc.T @ yc)
    return w, np.array([y.mean() - X.mean(axis=0) @ w])  # shape (1,), not a number


def ridge_in_place_centring(X, y, lam):
    x_mean, y_mean = X.mean(axis=0), y.mean()
    X -= x_mean
    y -= y_mean
    n, d = X.shape
    w = np.linalg.solve(X.T @ X + n * lam * np.eye(d), X.T @ y)
    return w, float(y_mean - x_mean @ w)


# ---------------------------------------------------------------------------------------------
# 3.2 ridge_gradient
# ---------------------------------------------------------------------------------------------


def grad_no_penalty(w, X, y, lam):
    residual = X @ w - y
    return np.array([np.mean(residual * X[:, j]) for j in range(len(w))])


def grad_minus_penalty(w, X, y, lam):
    return X.T @ (X @ w - y) / X.shape[0] - lam * w


def grad_two_lambda(w, X, y, lam):
    return np.dot(X.T, X @ w - y) / len(y) + 2 * lam * w


def grad_full_mse(w, X, y, lam):
    return 2 / len(y) * X.T @ (X @ w - y) + lam * w


def grad_lambda_over_n(w, X, y, lam):
    n = len(y)
    return X.T @ (X @ w - y) / n + lam * w / n


def grad_target_minus_prediction(w, X, y, lam):
    grad = lam * w
    for xi, yi in zip(X, y, strict=True):
        grad = grad + (yi - xi @ w) * xi / len(y)  # target minus prediction
    return grad


def grad_penalty_scalar(w, X, y, lam):
    return X.T @ (X @ w - y) / len(y) + lam * np.sum(w)


# ---------------------------------------------------------------------------------------------
# 3.3 ista_step
# ---------------------------------------------------------------------------------------------


def ista_hard_threshold(w, grad, lr, lam):
    v = w - lr * grad
    v[np.abs(v) <= lr * lam] = 0.0
    return v


def ista_no_sign(w, grad, lr, lam):
    v = w - lr * grad
    return np.clip(np.abs(v) - lr * lam, 0.0, None)


def ista_threshold_lambda(w, grad, lr, lam):
    v = w - lr * grad
    return np.sign(v) * np.maximum(np.abs(v) - lam, 0.0)


def ista_subgradient(w, grad, lr, lam):
    return w - lr * grad - lr * lam * np.sign(w)


def ista_shrink_first(w, grad, lr, lam):
    shrunk = np.sign(w) * np.maximum(np.abs(w) - lr * lam, 0.0)
    return shrunk - lr * grad


def ista_in_place(w, grad, lr, lam):
    w -= lr * grad
    return np.sign(w) * np.maximum(np.abs(w) - lr * lam, 0.0)


# ---------------------------------------------------------------------------------------------
# 3.4 sgd_step_decoupled
# ---------------------------------------------------------------------------------------------


def decay_unscaled(w, grad, lr, weight_decay):
    decayed = (1 - weight_decay) * w  # shrinks by λ, not by ηλ
    return decayed - lr * grad


def decay_after_step(w, grad, lr, weight_decay):
    stepped = w - lr * grad
    return stepped - lr * weight_decay * stepped


def decay_plus(w, grad, lr, weight_decay):
    return w * (1 + lr * weight_decay) - lr * grad


def decay_twice(w, grad, lr, weight_decay):
    l2_step = w - lr * (grad + weight_decay * w)
    return l2_step - lr * weight_decay * w


def decay_in_place(w, grad, lr, weight_decay):
    w *= 1 - lr * weight_decay
    w -= lr * grad
    return w


# ---------------------------------------------------------------------------------------------
# 3.5 early_stopping
# ---------------------------------------------------------------------------------------------


def stop_late(val_losses, patience):
    best, best_epoch = np.inf, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch > patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def stop_returns_last(val_losses, patience):
    best, best_epoch = np.inf, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return epoch, epoch
    return len(val_losses) - 1, len(val_losses) - 1


def stop_at_first_increase(val_losses, patience):
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] >= min(val_losses[:epoch]):
            return int(np.argmin(val_losses[:epoch])), epoch
    return len(val_losses) - 1, len(val_losses) - 1


def stop_with_ties(val_losses, patience):
    best, best_epoch = np.inf, 0
    for epoch, loss in enumerate(val_losses):
        if loss <= best:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def stop_counter_never_reset(val_losses, patience):
    best, best_epoch, bad_epochs = np.inf, 0, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best:
            best, best_epoch = loss, epoch
        else:
            bad_epochs += 1
            if bad_epochs == patience:
                return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def stop_global_argmin(val_losses, patience):
    stop, best = len(val_losses) - 1, np.inf
    for epoch, loss in enumerate(val_losses):
        if loss < best:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            stop = epoch
            break
    return int(np.argmin(val_losses)), stop  # the minimum of the whole curve, not of the run


def stop_float_epochs(val_losses, patience):
    best, best_epoch = np.inf, 0.0
    for epoch, loss in enumerate(val_losses):
        if loss < best:
            best, best_epoch = loss, float(epoch)
        elif epoch - best_epoch >= patience:
            return best_epoch, float(epoch)
    return best_epoch, float(len(val_losses) - 1)


def stop_with_min_delta(val_losses, patience, min_delta=1e-4):
    best, best_epoch = float("inf"), 0
    for epoch, loss in enumerate(val_losses):
        if loss < best - min_delta:  # Keras' min_delta, which the statement rules out
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def stop_with_relative_margin(val_losses, patience):
    best, best_epoch = float(val_losses[0]), 0
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < best * (1 - 1e-5):  # "a real improvement", relative
            best, best_epoch = float(val_losses[epoch]), epoch
        if epoch - best_epoch == patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


WRONG = [
    ("3.1", ridge_bias_column, "you penalised the intercept too"),
    ("3.1", ridge_sum_convention, "you added λI, the form for a *summed* loss"),
    ("3.1", ridge_forgot_penalty, "unregularized least-squares fit"),
    ("3.1", ridge_half_lambda, "you added nλ/2·I"),
    ("3.1", ridge_no_intercept, "your model has no intercept (b = 0)"),
    ("3.1", ridge_b_as_array, "Your result[1] has shape (1,); expected a single number"),
    ("3.1", ridge_in_place_centring, "changed its input `X` and `y` in place"),
    ("3.2", grad_no_penalty, "the penalty's gradient is missing"),
    ("3.2", grad_minus_penalty, "the penalty's gradient has the wrong sign"),
    ("3.2", grad_two_lambda, "your penalty's gradient is 2λw"),
    ("3.2", grad_full_mse, "the data term's gradient is twice too large"),
    ("3.2", grad_lambda_over_n, "you divided the penalty's gradient by n"),
    ("3.2", grad_target_minus_prediction, "the data term's gradient has the wrong sign"),
    ("3.2", grad_penalty_scalar, "differs from the expected values"),
    ("3.3", ista_hard_threshold, "that is hard thresholding"),
    ("3.3", ista_no_sign, "your result lost the signs"),
    ("3.3", ista_threshold_lambda, "you thresholded at λ"),
    ("3.3", ista_subgradient, "that is a subgradient step"),
    ("3.3", ista_shrink_first, "you shrank w before the gradient step"),
    ("3.3", ista_in_place, "changed its input `w` in place"),
    ("3.4", decay_unscaled, "the decay is not scaled by the learning rate"),
    ("3.4", decay_after_step, "you decayed the weights *after* the gradient step"),
    ("3.4", decay_plus, "the decay has the wrong sign"),
    ("3.4", decay_twice, "you applied the decay twice"),
    ("3.4", decay_in_place, "changed its input `w` in place"),
    ("3.5", stop_late, "you stop one epoch too late"),
    ("3.5", stop_returns_last, "you returned the epoch where training stopped as the best epoch"),
    ("3.5", stop_at_first_increase, "you ignore the patience"),
    ("3.5", stop_with_ties, "a loss equal to the best one is not an improvement"),
    ("3.5", stop_counter_never_reset, "your count of epochs without improvement never restarts"),
    ("3.5", stop_global_argmin, "you took the minimum over the whole curve"),
    ("3.5", stop_with_min_delta, "a `min_delta`, as in Keras' EarlyStopping"),
    ("3.5", stop_with_relative_margin, "however small the difference"),
    ("3.5", stop_float_epochs, "has dtype float64; expected integers"),
    ("3.6", 0.0, "the model overfits"),
    ("3.6", 1e-4, "choose λ by the *validation* error"),
    ("3.6", 10.0, "the model underfits"),
    ("3.6", 0.3, "try a smaller λ"),
    ("3.6", -0.01, "outside the range of the experiment"),
    ("3.6", np.inf, "contains inf"),
    ("3.6", "0.03", "should be a number"),
]


# ---------------------------------------------------------------------------------------------
# Other correct solutions pass
# ---------------------------------------------------------------------------------------------


def ridge_augmented(X, y, lam):
    # Solves the full (w, b) normal equations with the intercept's diagonal entry left at 0.
    n, d = X.shape
    A = np.hstack([X, np.ones((n, 1))])
    penalty = n * lam * np.eye(d + 1)
    penalty[d, d] = 0.0
    theta = np.linalg.solve(A.T @ A + penalty, A.T @ y)
    return theta[:d], float(theta[d])


def ridge_svd(X, y, lam):
    n = len(y)
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    u, s, vt = np.linalg.svd(Xc, full_matrices=False)
    w = vt.T @ (s / (s**2 + n * lam) * (u.T @ yc))  # the SVD form of the chapter
    return w, float(y.mean() - X.mean(axis=0) @ w)


def grad_loop(w, X, y, lam):
    n, d = X.shape
    grad = lam * w.copy()
    for i in range(n):
        grad += (X[i] @ w - y[i]) * X[i] / n
    return grad


def ista_where(w, grad, lr, lam):
    v = w - lr * grad
    tau = lr * lam
    return np.where(v > tau, v - tau, np.where(v < -tau, v + tau, 0.0))


def decay_l2_form(w, grad, lr, weight_decay):
    return w - lr * (grad + weight_decay * w)  # the same step for plain SGD


def stop_with_counter(val_losses, patience):
    best, best_epoch, waited = float("inf"), 0, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best:
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited == patience:
                return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


RIGHT = [
    ("3.1", ridge_augmented),
    ("3.1", ridge_svd),
    ("3.2", grad_loop),
    ("3.3", ista_where),
    ("3.4", decay_l2_form),
    ("3.5", stop_with_counter),
    ("3.6", 0.01),  # one grid step below the best
    ("3.6", 0.05),  # between two grid points
    ("3.6", np.float64(0.1)),
]


def test_stubs_are_not_attempted():
    def stub(*args):
        raise NotImplementedError("Exercise 3.1: implement ridge_fit")

    assert run_check("3.1", stub).outcome is Outcome.NOT_ATTEMPTED


# ---------------------------------------------------------------------------------------------
# Exercise 3.1's oracle, and the conventions the chapter states
# ---------------------------------------------------------------------------------------------


def test_sklearn_alpha_conventions():
    """Ridge's alpha is nλ for the chapter's mean loss; Lasso's alpha is λ itself."""
    pytest.importorskip("sklearn")
    from sklearn.linear_model import Lasso

    rng = np.random.default_rng(3)
    n, d, lam = 40, 5, 0.1
    X = rng.normal(size=(n, d))
    y = X @ np.array([1.5, 0.0, -2.0, 0.0, 0.3]) + 0.1 * rng.normal(size=n)

    w_ridge, _ = get_exercise("3.1").reference(X, y, lam)
    w_sklearn, _ = get_exercise("3.1").oracle(X, y, lam)
    np.testing.assert_allclose(w_ridge, w_sklearn, rtol=1e-10)

    # ISTA (the reference of 3.3, iterated) on the centred problem reaches Lasso(alpha=λ).
    ista_step = get_exercise("3.3").reference
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    lr = 1.0 / np.linalg.eigvalsh(Xc.T @ Xc / n).max()
    w = np.zeros(d)
    for _ in range(5000):
        w = ista_step(w, Xc.T @ (Xc @ w - yc) / n, lr, lam)
    lasso = Lasso(alpha=lam, tol=1e-14, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(w, lasso.coef_, atol=1e-9)
    assert np.array_equal(w == 0, lasso.coef_ == 0)
    assert np.sum(w == 0) >= 1, "the case should have at least one exact zero"


(
    test_wrong_answer_gets_the_intended_message,
    test_every_exercise_has_three_hand_written_wrong_answers,
    test_other_correct_solutions_pass,
) = table_tests(3, WRONG, RIGHT)

SEPARATED = [
    ("3.5", stop_with_min_delta, "new bests lower by only 1e-6, patience 3"),
    ("3.5", stop_with_relative_margin, "new bests lower by only 1e-6, patience 3"),
]
test_this_case_is_what_catches_the_wrong_answer = separation_test(SEPARATED)
