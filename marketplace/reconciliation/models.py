"""Reconciliation reports, their staged lines, their differing lines and the disputes on them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.schema import UTCDateTime
from marketplace.clock import utcnow
from marketplace.extensions import Model

Id = BigInteger().with_variant(Integer, "sqlite")

LINE_KINDS = (
    "only_theirs",
    "only_ours",
    "currency_differs",
    "amount_differs",
    "date_differs",
)
"""The classes of a differing line; a line that matches is only counted."""

DISPUTE_STATUSES = ("open", "accepted", "kept")


class ReconciliationReport(Model):
    """A partner app's own report of a period, matched against our event log.

    Fields:
        partner_id: whose report it is.
        period: the calendar month in UTC ("2026-11") whose events it covers.
        source: "api", "web" or "cli".
        filename: as uploaded (display only).
        uploaded_by_id: the admin who uploaded it (NULL for the API and the CLI).
        lines: data lines in the file; size: its bytes.
        matched, only_theirs, only_ours, currency_differs, amount_differs, date_differs: how
            many lines fell in each class (a line counts in one class only: currency before
            amount before date).
        created_at: when it was reconciled.
    """

    __tablename__ = "reconciliation_reports"
    __table_args__ = (CheckConstraint("source IN ('api', 'web', 'cli')", name="source_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner_apps.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    source: Mapped[str] = mapped_column(String(3))
    filename: Mapped[str] = mapped_column(String(200), default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lines: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    only_theirs: Mapped[int] = mapped_column(Integer, default=0)
    only_ours: Mapped[int] = mapped_column(Integer, default=0)
    currency_differs: Mapped[int] = mapped_column(Integer, default=0)
    amount_differs: Mapped[int] = mapped_column(Integer, default=0)
    date_differs: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def counts(self) -> dict[str, int]:
        """Lines per class, matched first."""
        return {"matched": self.matched, **{kind: getattr(self, kind) for kind in LINE_KINDS}}


class StagedLine(Model):
    """One line of a report being reconciled (deleted once its report is matched).

    Fields: report_id, line_no (1 = the first data line), event_id, series_id, episode,
    amount (minor units, negative for a refund), currency, occurred_at.
    """

    __tablename__ = "reconciliation_staging"
    __table_args__ = (Index("ix_reconciliation_staging_report_event", "report_id", "event_id"),)

    report_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(64))
    series_id: Mapped[int] = mapped_column(BigInteger)
    episode: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReconciliationLine(Model):
    """A line of a report that did not match, with both sides as they stood.

    Fields:
        report_id, kind (one of LINE_KINDS), event_id (the partner's id).
        line_no: the line in their file (NULL for only_ours).
        event_row_id: our partner_events row (NULL for only_theirs).
        their_*: series, episode, amount (signed), currency, occurred_at as they reported.
        our_*: the same from our event log (a refund's amount negative).
    """

    __tablename__ = "reconciliation_lines"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('only_theirs', 'only_ours', 'currency_differs', 'amount_differs',"
            " 'date_differs')",
            name="kind_known",
        ),
        Index("ix_reconciliation_lines_report_kind", "report_id", "kind", "id"),
        # PostgreSQL: partner_events is partitioned, so a row trigger checks this reference.
        ForeignKeyConstraint(["event_row_id"], ["partner_events.id"]).ddl_if(dialect="sqlite"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_reports.id"))
    kind: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(64))
    line_no: Mapped[int | None] = mapped_column(Integer)
    event_row_id: Mapped[int | None] = mapped_column(Id)
    their_series_id: Mapped[int | None] = mapped_column(BigInteger)
    their_episode: Mapped[int | None] = mapped_column(BigInteger)
    their_amount: Mapped[int | None] = mapped_column(BigInteger)
    their_currency: Mapped[str | None] = mapped_column(String(3))
    their_occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    our_series_id: Mapped[int | None] = mapped_column(Integer)
    our_episode: Mapped[int | None] = mapped_column(Integer)
    our_amount: Mapped[int | None] = mapped_column(BigInteger)
    our_currency: Mapped[str | None] = mapped_column(String(3))
    our_occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReconciliationDispute(Model):
    """An admin's dispute on one differing line, and how it was resolved.

    Fields:
        line_id: the line (one dispute per line).
        status: "open", "accepted" (their figure was ingested through the normal path) or
            "kept" (ours stands; `resolution_note` says why).
        note: why it was opened.
        ingested_event_ids: the partner event ids the acceptance wrote (space-separated).
        opened_by_id, opened_at, resolved_by_id, resolved_at, resolution_note.
    """

    __tablename__ = "reconciliation_disputes"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'accepted', 'kept')", name="status_known"),
        CheckConstraint("status <> 'kept' OR length(resolution_note) > 0", name="kept_has_note"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(Id, ForeignKey("reconciliation_lines.id"), unique=True)
    status: Mapped[str] = mapped_column(String(8), default="open")
    note: Mapped[str] = mapped_column(Text, default="")
    ingested_event_ids: Mapped[str] = mapped_column(String(200), default="")
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_note: Mapped[str] = mapped_column(Text, default="")
