"""Shared test set-up: Hypothesis profiles and the plugin list tests build engines with."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# "ci": what CI runs (bounded time, reproducible); "dev": the default locally;
# "thorough": for a long local hunt (HYPOTHESIS_PROFILE=thorough pytest tests/property).
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# "soundness": the long hunt for an unsound proof (tests/property/test_soundness.py,
# HYPOTHESIS_PROFILE=soundness pytest tests/property/test_soundness.py), 12,000 rulesets
# with a catalogue and 6,000 with declared categories
settings.register_profile(
    "soundness",
    max_examples=12_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# "fuzz": the long hunt of tests/fuzz (HYPOTHESIS_PROFILE=fuzz pytest tests/fuzz), 10,000
# draws a test; CI runs the same tests under "ci"
settings.register_profile(
    "fuzz",
    max_examples=10_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "dev")
)
