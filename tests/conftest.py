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
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "dev")
)
