"""Text encodings of CSV input: the default, checking a name, explaining a decoding failure.

Definitions §1 ("Inputs"): a CSV file is read as UTF-8, with or without a byte
order mark, unless ``encoding=`` names another encoding. A file that does not
decode is a :class:`~retainkit.exceptions.DataError` naming the line, the byte
and the fix; nothing is replaced or dropped silently.
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass

from .exceptions import DataError, ParameterError

#: what ``encoding=None`` means: UTF-8; a byte order mark at the start is skipped
DEFAULT_ENCODING = "utf-8-sig"
_CHUNK = 1 << 22


def check_encoding(encoding: str | None) -> str:
    """The canonical codec name of ``encoding`` (``None`` or ``""``: :data:`DEFAULT_ENCODING`).

    Raises
    ------
    ParameterError
        When Python knows no such encoding.
    """
    if encoding is None or not str(encoding).strip():
        return DEFAULT_ENCODING
    if not isinstance(encoding, str):
        raise ParameterError(f"encoding={encoding!r} must be the name of a text encoding, e.g. 'latin-1'.")
    try:
        name = codecs.lookup(encoding.strip()).name
    except LookupError:
        raise ParameterError(
            f"encoding={encoding!r} is not a text encoding Python knows. Use e.g. 'utf-8', 'latin-1' or 'cp1252'."
        ) from None
    return "utf-8-sig" if name == "utf-8" else name


def is_utf8(encoding: str) -> bool:
    """True for UTF-8 with or without a byte order mark (what the lazy engines read natively)."""
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


@dataclass(frozen=True)
class DecodeProblem:
    """Where a file stops decoding: 1-based line, byte offset, the offending bytes and the line's text."""

    line: int
    offset: int
    bad: bytes
    text: str


def find_decode_problem(path: str | os.PathLike, encoding: str) -> DecodeProblem | None:
    """The first place ``path`` does not decode as ``encoding`` (None when it decodes).

    Streams the file in 4 MB chunks through an incremental decoder, so it
    works on files of any size.
    """
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0  # bytes of the file before ``chunk``
    newlines = 0  # newlines before ``chunk``
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                held = len(exc.object) - len(chunk)  # bytes of an unfinished character from the previous chunk
                pos = offset - held + exc.start
                line = newlines + chunk.count(b"\n", 0, max(exc.start - held, 0)) + 1
                bad = bytes(exc.object[exc.start : max(exc.end, exc.start + 1)])[:4]
                return DecodeProblem(line=line, offset=pos, bad=bad, text=_line_at(fh, pos, encoding))
            if not chunk:
                return None
            newlines += chunk.count(b"\n")
            offset += len(chunk)


def _line_at(fh, pos: int, encoding: str, reach: int = 4096) -> str:
    """The text of the line holding byte ``pos`` (undecodable bytes shown as U+FFFD)."""
    lo = max(pos - reach, 0)
    fh.seek(lo)
    data = fh.read(2 * reach)
    at = pos - lo
    start = data.rfind(b"\n", 0, at) + 1
    end = data.find(b"\n", at)
    raw = data[start:] if end < 0 else data[start:end]
    return raw.decode(encoding, errors="replace").rstrip("\r")


def decode_error(path: str | os.PathLike, encoding: str, problem: DecodeProblem) -> DataError:
    """A DataError naming the line, the byte and the fix (definitions §1)."""
    shown = problem.text if len(problem.text) <= 80 else problem.text[:77] + "..."
    name = "UTF-8" if is_utf8(encoding) else encoding
    hexbytes = " ".join(f"0x{b:02X}" for b in problem.bad)
    return DataError(
        f"{os.fspath(path)}: line {problem.line} is not valid {name} (byte {hexbytes} at offset {problem.offset}: "
        f'{shown!r}). The file was saved in another encoding: pass encoding="latin-1" or '
        f'encoding="cp1252" (Windows, Western Europe), on the command line --encoding latin-1; '
        f"or save the file as UTF-8."
    )


def check_decodes(path: str | os.PathLike, encoding: str) -> None:
    """Raise :func:`decode_error` when ``path`` does not decode as ``encoding``."""
    problem = find_decode_problem(path, encoding)
    if problem is not None:
        raise decode_error(path, encoding, problem)


__all__ = [
    "DEFAULT_ENCODING",
    "DecodeProblem",
    "check_decodes",
    "check_encoding",
    "decode_error",
    "find_decode_problem",
    "is_utf8",
]
