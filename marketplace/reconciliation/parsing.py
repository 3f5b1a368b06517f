"""Reading a partner's report: the CSV's header, each line's values, the size limit.

The file is read as a stream and handed on in chunks of CHUNK lines: a million-line report is
never a million Python objects at once.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from datetime import datetime
from typing import IO

from marketplace.errors import ServiceError

COLUMNS = ("event_id", "series_id", "episode", "amount_minor", "currency", "occurred_at")
"""The report's columns, exactly (in any order)."""

CHUNK = 20_000
"""Lines staged per round trip."""

MAX_AMOUNT = 10**15
"""Largest amount (minor units, either sign) a line may carry."""

MAX_INT_DIGITS = 18
_CURRENCY = re.compile(r"[A-Z]{3}")

StagedRow = tuple[int, str, int, int, int, str, datetime]
"""(line_no, event_id, series_id, episode, amount, currency, occurred_at)."""


class ReportRejected(ServiceError):
    """The report cannot be reconciled as it stands; nothing was stored."""

    code = "invalid_report"


class ReportTooLarge(ReportRejected):
    """The report is over RECONCILE_MAX_BYTES."""

    code = "payload_too_large"
    status = 413


class _Limited:
    """A binary stream that refuses to read past `limit` bytes, counting what it read."""

    def __init__(self, raw: IO[bytes], limit: int):
        self.raw, self.limit, self.size = raw, limit, 0

    def read(self, n: int = 1 << 16) -> bytes:
        data = self.raw.read(n if n and n > 0 else 1 << 16)
        self.size += len(data)
        if self.size > self.limit:
            raise ReportTooLarge(
                f"The report is larger than {self.limit} bytes (RECONCILE_MAX_BYTES).",
                field="file",
            )
        return data


def _lines(stream: _Limited) -> Iterator[str]:
    """The stream's text, line by line (UTF-8, a leading BOM dropped)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    pending = ""
    while True:
        chunk = stream.read(1 << 16)
        try:
            pending += decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            raise ReportRejected("The report is not UTF-8 text.", field="file") from None
        if not chunk:
            break
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line + "\n"
    if pending:
        yield pending


def _integer(value: str, column: str, line: int, *, signed: bool = False) -> int:
    digits = value[1:] if signed and value[:1] == "-" else value
    if not (digits.isascii() and digits.isdigit() and len(digits) <= MAX_INT_DIGITS):
        raise ReportRejected(
            f"Line {line}: {column} {value[:40]!r} is not an integer.", field=column
        )
    return int(value)


def _line(values: list[str], index: dict[str, int], line: int) -> tuple:
    event_id = values[index["event_id"]]
    if not event_id or len(event_id) > 64 or "\x00" in event_id:
        raise ReportRejected(f"Line {line}: event_id must be 1 to 64 characters.", field="event_id")
    series_id = _integer(values[index["series_id"]], "series_id", line)
    episode = _integer(values[index["episode"]], "episode", line)
    amount = _integer(values[index["amount_minor"]], "amount_minor", line, signed=True)
    if abs(amount) > MAX_AMOUNT:
        raise ReportRejected(f"Line {line}: amount_minor is out of range.", field="amount_minor")
    currency = values[index["currency"]]
    if not _CURRENCY.fullmatch(currency):
        raise ReportRejected(
            f"Line {line}: currency {currency[:10]!r} is not an ISO 4217 code.", field="currency"
        )
    raw_time = values[index["occurred_at"]]
    try:
        moment = datetime.fromisoformat(raw_time)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ReportRejected(
            f"Line {line}: occurred_at {raw_time[:40]!r} is not ISO 8601 with an offset.",
            field="occurred_at",
        )
    return event_id, series_id, episode, amount, currency, moment


def _header(row: list[str] | None) -> dict[str, int]:
    if row is None:
        raise ReportRejected("The report is empty: it needs a header line.", field="file")
    names = [name.strip() for name in row]
    missing = [c for c in COLUMNS if c not in names]
    extra = [n for n in names if n not in COLUMNS]
    if missing or extra or len(names) != len(COLUMNS):
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if extra:
            parts.append("unexpected " + ", ".join(repr(n[:40]) for n in extra))
        if not parts:
            parts.append("a column appears twice")
        raise ReportRejected(
            f"The header must be exactly {', '.join(COLUMNS)}: {'; '.join(parts)}.",
            field="header",
        )
    return {name: names.index(name) for name in COLUMNS}


class ReportReader:
    """Reads a report stream: `chunks()` yields its validated lines, CHUNK at a time, and
    raises ReportRejected on the first bad one (or past `limit` bytes); `size` counts the
    bytes read so far. Line numbers are the file's (the header is line 1)."""

    def __init__(self, raw: IO[bytes], limit: int):
        self._stream = _Limited(raw, limit)

    @property
    def size(self) -> int:
        """Bytes read so far."""
        return self._stream.size

    def chunks(self) -> Iterator[list[StagedRow]]:
        """The report's data lines, validated, in chunks."""
        reader = csv.reader(_lines(self._stream), strict=True)
        try:
            index = _header(next(reader, None))
            chunk: list[StagedRow] = []
            line_no = 1
            for values in reader:
                line_no += 1
                if not values:
                    continue  # a blank line (the last newline of many files)
                if len(values) != len(COLUMNS):
                    raise ReportRejected(
                        f"Line {line_no}: {len(values)} fields, expected {len(COLUMNS)}.",
                        field="file",
                    )
                chunk.append((line_no, *_line(values, index, line_no)))
                if len(chunk) >= CHUNK:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk
        except csv.Error as error:
            raise ReportRejected(f"The report is not valid CSV: {error}.", field="file") from None
