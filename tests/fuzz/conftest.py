"""Hypothesis profiles for the fuzz suite (the contract it asserts is in ``fuzz_contract.py``).

Profiles: ``smoke`` (the default: few examples, derandomized so CI is deterministic, the whole suite in well
under a minute) and ``deep`` (``HYPOTHESIS_PROFILE=deep``, ``make test-deep``: many more random examples).
"""

from __future__ import annotations

import os
import sys

from hypothesis import HealthCheck, settings

sys.path.insert(0, os.path.dirname(__file__))  # the suite's helpers, fuzz_contract.py

settings.register_profile(
    "smoke",
    max_examples=12,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "deep",
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "smoke"))
