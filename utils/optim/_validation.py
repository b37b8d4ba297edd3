"""Hyper-parameter checks shared by the NumPy, PyTorch and TensorFlow optimizers.

Each ``check_*`` function raises :class:`ValueError` with a message that names the argument, the
value it got and the range it expected, so the three frameworks fail in the same words. The
comparisons are written as ``not (low <= value)`` so that NaN is rejected too.
"""

from __future__ import annotations

from numbers import Real


def check_lr(lr) -> None:
    """``lr >= 0``; a schedule (anything that is not a number) is left to its framework."""
    if isinstance(lr, Real) and not lr >= 0.0:
        raise ValueError(f"Invalid learning rate: {lr} (expected lr >= 0)")


def check_eps(eps) -> None:
    if not eps > 0.0:
        raise ValueError(f"Invalid epsilon value: {eps} (expected eps > 0)")


def check_non_negative(name: str, value) -> None:
    if not value >= 0.0:
        raise ValueError(f"Invalid {name} value: {value} (expected {name} >= 0)")


def check_unit_interval(name: str, value) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"Invalid {name} value: {value} (expected 0 <= {name} <= 1)")


def check_betas(betas) -> None:
    if len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas} (expected a pair (beta1, beta2))")
    for index, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(
                f"Invalid beta parameter at index {index}: {beta} (expected 0 <= beta < 1)"
            )


def check_sgd(lr, momentum, dampening, weight_decay, nesterov) -> None:
    check_lr(lr)
    check_non_negative("momentum", momentum)
    check_unit_interval("dampening", dampening)
    check_non_negative("weight_decay", weight_decay)
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError(
            "Nesterov momentum requires a momentum > 0 and zero dampening "
            f"(got momentum={momentum}, dampening={dampening})"
        )


def check_adagrad(lr, lr_decay, weight_decay, eps, initial_accumulator_value=0.0) -> None:
    check_lr(lr)
    check_non_negative("lr_decay", lr_decay)
    check_non_negative("weight_decay", weight_decay)
    check_non_negative("initial_accumulator_value", initial_accumulator_value)
    check_eps(eps)


def check_rmsprop(lr, alpha, eps, weight_decay, momentum) -> None:
    check_lr(lr)
    check_unit_interval("alpha", alpha)
    check_eps(eps)
    check_non_negative("weight_decay", weight_decay)
    check_non_negative("momentum", momentum)


def check_adadelta(lr, rho, eps, weight_decay) -> None:
    check_lr(lr)
    check_unit_interval("rho", rho)
    check_eps(eps)
    check_non_negative("weight_decay", weight_decay)


def check_adam(lr, betas, eps, weight_decay) -> None:
    check_lr(lr)
    check_betas(betas)
    check_eps(eps)
    check_non_negative("weight_decay", weight_decay)


def check_nadam(lr, betas, eps, weight_decay, momentum_decay) -> None:
    check_adam(lr, betas, eps, weight_decay)
    check_non_negative("momentum_decay", momentum_decay)
