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


# ---------------------------------------------------------------------------------------------
# 3.7 elastic_net_step
# ---------------------------------------------------------------------------------------------


def net_lasso_only(w, grad, lr, l1, l2):
    v = w - lr * grad
    return np.sign(v) * np.maximum(np.abs(v) - lr * l1, 0.0)  # forgot λ₂


def net_gradient_factor(w, grad, lr, l1, l2):
    v = w - lr * grad
    return (1 - lr * l2) * np.sign(v) * np.maximum(np.abs(v) - lr * l1, 0.0)


def net_l2_in_gradient(w, grad, lr, l1, l2):
    v = w - lr * (grad + l2 * w)  # the L2 part treated as part of the smooth loss
    return np.sign(v) * np.maximum(np.abs(v) - lr * l1, 0.0)


def net_scale_first(w, grad, lr, l1, l2):
    v = (w - lr * grad) / (1 + lr * l2)
    return np.where(np.abs(v) > lr * l1, v - lr * l1 * np.sign(v), 0.0)


def net_without_eta(w, grad, lr, l1, l2):
    v = w - lr * grad
    return np.sign(v) * np.maximum(np.abs(v) - lr * l1, 0.0) / (1 + l2)


def net_squared_factor(w, grad, lr, l1, l2):
    v = w - lr * grad
    return np.sign(v) * np.maximum(np.abs(v) - lr * l1, 0.0) / (1 + lr * l2) ** 2


def net_times_factor(w, grad, lr, l1, l2):
    v = w - lr * grad
    u = np.where(np.abs(v) > lr * l1, v - lr * l1 * np.sign(v), 0.0)
    return u + lr * l2 * u  # u(1 + ηλ₂): the L2 part enlarges the survivors


def net_in_place(w, grad, lr, l1, l2):
    w -= lr * grad
    return np.sign(w) * np.maximum(np.abs(w) - lr * l1, 0.0) / (1 + lr * l2)


# ---------------------------------------------------------------------------------------------
# 3.8 sgd_step_fixed
# ---------------------------------------------------------------------------------------------


def fixed_decays_everything(params, grads, lr, weight_decay):
    return {k: p - lr * (grads[k] + weight_decay * p) for k, p in params.items()}


def fixed_by_weight_in_name(params, grads, lr, weight_decay):
    new = {}
    for name, p in params.items():
        wd = weight_decay if "weight" in name else 0.0
        new[name] = p * (1 - lr * wd) - lr * grads[name]
    return new


def fixed_not_a_bias(params, grads, lr, weight_decay):
    new = {}
    for name, p in params.items():
        if name.endswith("bias"):
            new[name] = p - lr * grads[name]
        else:
            new[name] = (1 - lr * weight_decay) * p - lr * grads[name]
    return new


def fixed_inverted(params, grads, lr, weight_decay):
    return {
        k: (1 - lr * weight_decay * (p.ndim == 1)) * p - lr * grads[k] for k, p in params.items()
    }


def fixed_no_decay(params, grads, lr, weight_decay):
    return {k: p - lr * grads[k] for k, p in params.items()}


def fixed_matrices_excluded(params, grads, lr, weight_decay):
    return {
        k: (1 - lr * weight_decay * (len(p.shape) > 2)) * p - lr * grads[k]
        for k, p in params.items()
    }


def fixed_in_place(params, grads, lr, weight_decay):
    for name in params:
        if params[name].ndim >= 2:
            params[name] *= 1 - lr * weight_decay
        params[name] -= lr * grads[name]
    return params


def fixed_by_words_in_names(params, grads, lr, weight_decay):
    # "No decay for biases and norm layers", read off the names of the first two cases.
    new = {}
    for name, p in params.items():
        if "bias" in name or "norm." in name or "bn." in name:
            new[name] = p - lr * grads[name]
        else:
            new[name] = (1 - lr * weight_decay) * p - lr * grads[name]
    return new


def fixed_unscaled_decay(params, grads, lr, weight_decay):
    new = {}
    for name, p in params.items():
        shrink = weight_decay if p.ndim >= 2 else 0.0  # λθ, not ηλθ
        new[name] = p - shrink * p - lr * grads[name]
    return new


def fixed_decay_after_step(params, grads, lr, weight_decay):
    new = {}
    for name, p in params.items():
        stepped = p - lr * grads[name]
        new[name] = stepped * (1 - lr * weight_decay) if p.ndim > 1 else stepped
    return new


def fixed_as_list(params, grads, lr, weight_decay):
    return [(1 - lr * weight_decay * (p.ndim >= 2)) * p - lr * grads[k] for k, p in params.items()]


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
    ("3.7", net_lasso_only, "you left out the L2 part"),
    ("3.7", net_gradient_factor, "you multiplied by 1 − ηλ₂"),
    ("3.7", net_l2_in_gradient, "you took a gradient step on the L2 part"),
    ("3.7", net_scale_first, "you scaled v before thresholding it"),
    ("3.7", net_without_eta, "you used λ₂ alone"),
    ("3.7", net_squared_factor, "differs from the expected values"),
    ("3.7", net_in_place, "changed its input `w` in place"),
    ("3.7", net_times_factor, "you multiplied the soft-thresholded value by 1 + ηλ₂"),
    ("3.8", fixed_decays_everything, "you still decay every parameter"),
    ("3.8", fixed_by_weight_in_name, "you decided by the name"),
    ("3.8", fixed_not_a_bias, "you decided by the name"),
    ("3.8", fixed_inverted, "you decay the 1-D parameters and leave the matrices alone"),
    ("3.8", fixed_no_decay, "you removed the decay everywhere"),
    ("3.8", fixed_matrices_excluded, "more than two dimensions"),
    ("3.8", fixed_in_place, "changed its input `params` in place"),
    ("3.8", fixed_as_list, "should be a dict with keys"),
    ("3.8", fixed_by_words_in_names, "you picked the parameters by words in their names"),
    ("3.8", fixed_unscaled_decay, "the decay is not scaled by the learning rate"),
    ("3.8", fixed_decay_after_step, "you decayed the parameters *after* the gradient step"),
    ("3.9", 1, "never lands exactly on 0"),
    ("3.9", 2, "zig-zags around 0"),
    ("3.9", 4, "weight decay is the L2 penalty written another way"),
    ("3.9", 5, "answer with the number of one option"),
    ("3.9", "C", "should be a number"),
    ("3.9", 3.5, "expected integers"),
    ("3.10", 5.0, "you gave ηt"),
    ("3.10", 0.004, "you left out the learning rate"),
    ("3.10", 50.0, "you left out the number of steps"),
    ("3.10", 8e-5, "η/t mixes the two the wrong way"),
    ("3.10", 0.25, "is not the expected value"),
    ("3.11", 1, "divided by √v̂"),
    ("3.11", 3, "it is the other way round"),
    ("3.11", 4, "for plain SGD they do coincide"),
    ("3.11", 0, "answer with the number of one option"),
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


def net_clipped(w, grad, lr, l1, l2):
    v, tau = w - lr * grad, lr * l1
    shrunk = np.clip(v - tau, 0.0, None) + np.clip(v + tau, None, 0.0)  # S_τ(v), two halves
    return shrunk / (1.0 + lr * l2)


def net_per_entry(w, grad, lr, l1, l2):
    out = np.zeros_like(w)
    v = w - lr * grad
    for index, value in np.ndenumerate(v):
        if value > lr * l1:  # the minimiser of the positive branch is positive
            out[index] = (value - lr * l1) / (1 + lr * l2)
        elif value < -lr * l1:
            out[index] = (value + lr * l1) / (1 + lr * l2)
    return out


def fixed_on_copies(params, grads, lr, weight_decay):
    new = {name: p.copy() for name, p in params.items()}
    for name, p in new.items():
        if len(p.shape) > 1:
            p *= 1 - lr * weight_decay
        p -= lr * grads[name]
    return new


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
    ("3.7", net_clipped),
    ("3.7", net_per_entry),
    ("3.8", fixed_on_copies),
    ("3.9", 3),
    ("3.9", np.int64(3)),
    ("3.10", 0.2),
    ("3.10", 0.2001),  # three significant digits are enough
    ("3.11", 2),
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
    # Accepted before the nanoGPT-named case existed: names are not a rule, ndim is.
    (
        "3.8",
        fixed_by_words_in_names,
        "a GPT block named as nanoGPT names it (wte, ln_1, attn.c_attn, ln_f, lm_head), "
        "η = 0.1, λ = 0.2",
    ),
]
test_this_case_is_what_catches_the_wrong_answer = separation_test(SEPARATED)


# ---------------------------------------------------------------------------------------------
# What the statements claim
# ---------------------------------------------------------------------------------------------


def test_keras_restores_the_best_weights_only_when_asked():
    """3.5's statement: without restore_best_weights Keras keeps the stopping epoch's weights."""
    pytest.importorskip("keras")
    import keras

    from utils.autocheck.exercises.ch03 import _EpochModel

    exercise = get_exercise("3.5")
    for case in exercise.cases:
        val_losses, patience = case.inputs().values()
        best_epoch, stop_epoch = exercise.reference(val_losses, patience)
        for restore, expected in ((True, best_epoch), (False, stop_epoch)):
            callback = keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=patience, restore_best_weights=restore
            )
            model = _EpochModel()
            callback.set_model(model)
            callback.on_train_begin()
            for epoch, loss in enumerate(val_losses):
                model.epoch = epoch
                callback.on_epoch_end(epoch, {"val_loss": float(loss)})
                if model.stop_training:
                    break
            callback.on_train_end()
            assert model.epoch == expected, (case.description, restore)


def test_every_case_of_3_7_has_exact_zeros_and_survivors():
    exercise = get_exercise("3.7")
    for case in exercise.cases:
        result = exercise.reference(*case.inputs().values())
        assert 0 < np.sum(result == 0) < result.size, case.description


def test_the_fractions_of_3_10_match_at_the_answer():
    """GD from 0 covers about ηat of the way along a flat direction, ridge a/(a + λ)."""
    from utils.autocheck.exercises.ch03 import STOPPING_LR, STOPPING_STEPS

    lam = get_exercise("3.10").reference()
    for a in (1e-4, 1e-3):
        gradient_descent = 1 - (1 - STOPPING_LR * a) ** STOPPING_STEPS
        ridge = a / (a + lam)
        assert gradient_descent == pytest.approx(ridge, rel=0.01), a


def test_the_options_of_3_9_do_what_their_messages_say():
    """The oracle found exactly one method with exact zeros; the messages explain the rest."""
    pytest.importorskip("torch")
    assert get_exercise("3.9").oracle() == get_exercise("3.9").reference()
    assert get_exercise("3.11").oracle() == get_exercise("3.11").reference()
