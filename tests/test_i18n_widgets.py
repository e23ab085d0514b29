"""The cohort explorer and the loyalty-ROI calculator in Greek and Armenian (``lang=``)."""

from __future__ import annotations

import json
import re

import pytest

import retainkit.widgets as wd
from retainkit.exceptions import ParameterError
from retainkit.i18n import vega_locale

from .test_i18n_report import latin_words, visible_text

#: Latin-letter words the apps show in every language: acronyms, names, codes, column names of the tables
KEEP = {"CRR", "ROI", "NPV", "CSV", "EUR", "Wilson", "retainkit", "channel", "csv", "cohorts"}


def _words(markup: str) -> set[str]:
    return latin_words(visible_text(markup)) - KEEP


@pytest.fixture(scope="module", params=["el", "hy"])
def explorer(request):
    app = wd.cohort_explorer("sample", load_segments=["channel"], amount="amount", currency="EUR", lang=request.param)
    app.render_all()
    return app


def test_explorer_labels_and_text_are_translated(explorer):
    _ = explorer.tr.gettext
    assert explorer.lang in ("el", "hy")
    assert explorer.freq.description == _("Cohorts by") != "Cohorts by"
    assert [label for label, _k in explorer.freq.options][-1] == _("Years") != "Years"
    assert explorer.views.get_title(0) == _("Heatmap") != "Heatmap"
    for markup in (explorer._head.value, explorer.summary.value, explorer.range_label.value):
        assert not _words(markup), markup
    table = explorer.outputs["table"].value
    caption = re.search(r"<caption[^>]*>(.*?)</caption>", table).group(1)
    assert not _words(caption.replace("retainkit.cohort_table", ""))


def test_explorer_charts_speak_the_language_and_its_numbers(explorer):
    for name in ("heatmap", "curves", "crr"):
        spec = explorer._specs[name]
        assert spec["config"]["locale"] == vega_locale(explorer.lang)
        title = spec.get("title") or spec.get("layer", [{}])[0].get("title") or spec["vconcat"][0]["title"]
        text = json.dumps(title, ensure_ascii=False)
        assert not latin_words(text) - KEEP - {"text", "subtitle"}, text


@pytest.mark.parametrize("lang", ["el", "hy"])
def test_calculator_labels_and_figures_are_translated(lang):
    calc = wd.loyalty_roi_calculator("points", currency="EUR", lang=lang)
    calc.render_all()
    _ = calc.tr.gettext
    assert calc.params["breakage"].description == _("Breakage") != "Breakage"
    assert calc.views.get_title(1) == _("Sensitivity")
    summary = calc.summary.value.split("</style>")[-1]
    assert not _words(summary), summary
    assert "\u00a0€" in summary  # 93.734 € / 93 734 €: CLDR currency format of the language
    spec = calc._specs["sensitivity"]
    assert spec["config"]["locale"] == vega_locale(lang)


def test_unknown_language_is_refused():
    with pytest.raises(ParameterError, match="choose one of en, el, hy"):
        wd.loyalty_roi_calculator(lang="fr")
