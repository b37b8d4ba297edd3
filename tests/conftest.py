"""Shared test set-up."""

import pytest


@pytest.fixture(autouse=True)
def _not_strict(monkeypatch):
    """`make test` sets AUTOCHECK_STRICT=1 for the notebooks; checker tests opt in themselves."""
    monkeypatch.delenv("AUTOCHECK_STRICT", raising=False)
