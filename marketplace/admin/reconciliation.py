"""Admin pages for partner reports: upload a report of a month, list the reports, read one's
counts and differing lines (paginated, downloadable as CSV), open and resolve disputes."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3, stubs 3.2
from wtforms.validators import DataRequired, Length, Regexp

from marketplace.accounts.access import role_required
from marketplace.accounts.models import Role
from marketplace.admin import bp
from marketplace.errors import ServiceError, apply_service_error
from marketplace.extensions import db
from marketplace.partners.models import PartnerApp
from marketplace.reconciliation.disputes import open_dispute, resolve_dispute
from marketplace.reconciliation.models import (
    LINE_KINDS,
    ReconciliationDispute,
    ReconciliationLine,
    ReconciliationReport,
)
from marketplace.reconciliation.queries import lines_csv, lines_page
from marketplace.reconciliation.reports import reconcile_report

PER_PAGE = 50
MULTIPART_OVERHEAD = 64 * 1024
"""What a multipart upload adds to the file's own bytes (boundaries, the other fields)."""


class UploadForm(FlaskForm):
    """A partner's report of a month (CSV)."""

    partner_id = SelectField(_l("Partner app"), coerce=int, validators=[DataRequired()])
    period = StringField(
        _l("Period (calendar month, UTC)"),
        validators=[DataRequired(), Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", message=_l("YYYY-MM"))],
        render_kw={"placeholder": "2026-11"},
    )
    file = FileField(_l("Report (CSV)"), validators=[FileRequired()])
    submit = SubmitField(_l("Reconcile"))


class DisputeForm(FlaskForm):
    """Open a dispute on a line."""

    note = StringField(_l("Why"), validators=[Length(max=2000)])
    submit = SubmitField(_l("Open dispute"))


class ResolveForm(FlaskForm):
    """Resolve a dispute: their figure, or ours with a note."""

    decision = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice("accept", _l("Accept theirs (ingest it)")),
            SelectChoice("keep", _l("Keep ours")),
        ],
        validators=[DataRequired()],
    )
    note = TextAreaField(_l("Note (required to keep ours)"), validators=[Length(max=2000)])
    submit = SubmitField(_l("Resolve"))


def _partners() -> list:
    rows = db.session.execute(select(PartnerApp.id, PartnerApp.name).order_by(PartnerApp.name))
    return [SelectChoice(row[0], row[1]) for row in rows]


@bp.route("/reconciliation/", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def reconciliation():
    """The reports, newest first, and the form to upload one."""
    limit = current_app.config["RECONCILE_MAX_BYTES"]
    if request.method == "POST":
        # Before the form is read: a body over the limit is a 413, never spooled to disk.
        request.max_content_length = limit + MULTIPART_OVERHEAD
    form = UploadForm()
    form.partner_id.choices = _partners()
    if form.validate_on_submit():
        partner = db.session.get(PartnerApp, form.partner_id.data)
        upload = form.file.data
        try:
            if partner is None:
                raise ServiceError("No such partner app.", field="partner_id")
            report = reconcile_report(
                db.session(), partner, form.period.data or "", upload.stream, limit=limit,
                source="web", filename=upload.filename or "", actor_id=current_user.id,
            )  # fmt: skip
        except ServiceError as error:
            apply_service_error(form, error)
        else:
            flash(_("Report reconciled: %(lines)s lines.", lines=report.lines), "success")
            return redirect(url_for("admin.reconciliation_report", report_id=report.id))
    reports = db.session.execute(
        select(ReconciliationReport, PartnerApp.name)
        .join(PartnerApp, PartnerApp.id == ReconciliationReport.partner_id)
        .order_by(ReconciliationReport.id.desc())
        .limit(100)
    ).all()
    return render_template(
        "admin/reconciliation.html", form=form, reports=reports, limit=limit, kinds=LINE_KINDS
    )


@bp.route("/reconciliation/<int:report_id>")
@role_required(Role.ADMIN)
def reconciliation_report(report_id: int):
    """A report's counts and its differing lines, a page at a time (?kind= to filter)."""
    report = db.session.get(ReconciliationReport, report_id) or abort(404)
    kind = request.args.get("kind", "")
    kind = kind if kind in LINE_KINDS else ""
    page = request.args.get("page", "1")
    page_no = int(page) if page.isascii() and page.isdigit() and len(page) < 7 else 1
    rows, total = lines_page(
        db.session(), report.id, page=max(page_no, 1), per_page=PER_PAGE, kind=kind or None
    )
    return render_template(
        "admin/reconciliation_report.html",
        report=report,
        partner=db.session.get(PartnerApp, report.partner_id),
        rows=rows,
        total=total,
        page=max(page_no, 1),
        pages=max(1, -(-total // PER_PAGE)),
        kind=kind,
        kinds=LINE_KINDS,
        dispute_form=DisputeForm(formdata=None),
        resolve_form=ResolveForm(formdata=None),
    )


@bp.route("/reconciliation/<int:report_id>/lines.csv")
@role_required(Role.ADMIN)
def reconciliation_lines_csv(report_id: int):
    """The report's differing lines as CSV."""
    report = db.session.get(ReconciliationReport, report_id) or abort(404)
    session = db.session()
    name = f"reconciliation-{report.id}-{report.period}.csv"
    return Response(
        stream_with_context(lines_csv(session, report.id)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.post("/reconciliation/lines/<int:line_id>/dispute")
@role_required(Role.ADMIN)
def reconciliation_dispute(line_id: int):
    """Open a dispute on a differing line."""
    line = db.session.get(ReconciliationLine, line_id) or abort(404)
    form = DisputeForm()
    if not form.validate_on_submit():
        flash(_("The form expired or the note is too long; try again."), "error")
    else:
        try:
            open_dispute(db.session(), line.id, actor_id=current_user.id, note=form.note.data or "")
        except ServiceError as error:
            flash(error.localized(), "error")
        else:
            flash(_("Dispute opened on %(event)s.", event=line.event_id), "success")
    return redirect(url_for("admin.reconciliation_report", report_id=line.report_id))


@bp.post("/reconciliation/disputes/<int:dispute_id>/resolve")
@role_required(Role.ADMIN)
def reconciliation_resolve(dispute_id: int):
    """Resolve a dispute: accept their figure (ingested) or keep ours (with a note)."""
    dispute = db.session.get(ReconciliationDispute, dispute_id) or abort(404)
    line = db.session.get(ReconciliationLine, dispute.line_id) or abort(404)
    report_id = line.report_id
    form = ResolveForm()
    if not form.validate_on_submit():
        flash(_("Choose accept theirs or keep ours."), "error")
    else:
        try:
            resolve_dispute(
                db.session(), dispute.id, accept=form.decision.data == "accept",
                actor_id=current_user.id, note=form.note.data or "",
            )  # fmt: skip
        except ServiceError as error:
            db.session.rollback()
            flash(error.localized(), "error")
        else:
            flash(_("Dispute %(dispute)s resolved.", dispute=dispute_id), "success")
    return redirect(url_for("admin.reconciliation_report", report_id=report_id))
