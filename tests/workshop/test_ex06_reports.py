"""Notebook 06's model answers (definitions §2, §4)."""

from __future__ import annotations

import pandas as pd
import pytest

from retainkit import workshop


def test_reporting_answers():
    assert workshop.solution("06.2") == pytest.approx((110 - 20) / 120)
    for form in ("0 6 * * 1", "00 06 * * MON", "0 6 * * mon"):
        assert workshop.check("06.3", form).ok
    assert workshop.solution("06.4") == "2024-06-30"
    assert workshop.check("06.4", pd.Timestamp("2024-06-30")).ok
    assert workshop.check("06.4", pd.Timestamp("2024-06-30 23:00", tz="UTC")).ok
    assert workshop.solution("06.1") == "parameters"
