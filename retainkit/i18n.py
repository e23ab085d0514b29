"""The reader's language: translated strings and local number, date and currency formats.

Every string a reader sees (report and index pages, chart titles, axes, legends
and tooltips, widget labels) is written in English in the code and passed
through a :class:`Translator`, so that a message catalogue can replace it::

    tr = translator(lang)
    _ = tr.gettext
    title = _("Average retention by cohort age")

Templates receive the same ``_`` in their context (``{{ _("Cohort") }}``).
Pass the language explicitly; there is no global current language.
"""

from __future__ import annotations

from dataclasses import dataclass

from .exceptions import ParameterError

#: languages a report can be written in; the first is the default
LANGUAGES: tuple[str, ...] = ("en",)


@dataclass(frozen=True)
class Translator:
    """Translations for one language (English passes strings through unchanged)."""

    lang: str = "en"

    def gettext(self, message: str) -> str:
        """The translation of ``message`` (the message itself where none exists)."""
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The singular or plural form of a message, by the count ``n``."""
        return singular if n == 1 else plural


def translator(lang: str = "en") -> Translator:
    """The :class:`Translator` for ``lang`` (one of :data:`LANGUAGES`)."""
    if lang not in LANGUAGES:
        raise ParameterError(f"lang={lang!r} is not a report language: choose one of {', '.join(LANGUAGES)}")
    return Translator(lang)


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Mark a module-level constant for extraction; translate it later with ``_()``."""
    return message
