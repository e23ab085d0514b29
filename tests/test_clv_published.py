"""BG/NBD reproduces the published CDNOW estimates (Fader, Hardie & Lee 2005, "Counting your
customers the easy way", Marketing Science 24(2): r = 0.243, alpha = 4.414 (weeks), a = 0.793,
b = 2.426), fitted on the real CDNOW 1/10 sample with the paper's 39-week calibration window."""

from __future__ import annotations

import pytest

import retainkit as rk
from retainkit.clv import BetaGeoFitter, rfm_summary


def test_bgnbd_reproduces_fader_hardie_lee_2005_on_cdnow(cdnow_sample):
    tx = rk.load_transactions(cdnow_sample, timestamp="date", amount="amount", date_format="%Y%m%d")
    rfm = rfm_summary(tx, freq="D", calibration_end="1997-09-30")
    assert len(rfm) == 2357 and rfm.attrs["time_unit"] == "D"
    model = BetaGeoFitter().fit(rfm)
    # fitted in days: r, a, b are unit-free; alpha scales with the time unit (days = 7 x weeks)
    assert model.r_ == pytest.approx(0.243, abs=0.0006)
    assert model.alpha_ / 7 == pytest.approx(4.414, abs=0.006)
    assert model.a_ == pytest.approx(0.793, abs=0.0006)
    assert model.b_ == pytest.approx(2.426, abs=0.0006)
