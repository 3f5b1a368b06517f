"""Studio pages for publishing to partner apps, withdrawing, and the bulk import."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3, stubs 3.2

from marketplace.accounts.access import role_required
from marketplace.errors import NotFound, ServiceError, ValidationFailed
from marketplace.extensions import db
from marketplace.formatting import format_money, percent
from marketplace.publishing import bp, manifest
from marketplace.publishing import services as publishing
from marketplace.publishing.forms import ImportForm, PublishForm
from marketplace.splits import services as splits
from marketplace.splits.positions import explain_plan, latest_plan
from marketplace.splits.terms.deal_terms import remake_royalties
from marketplace.studio import series as series_service
from marketplace.studio.forms import ActionForm
from marketplace.studio.storage import MediaStorage, duration_text, human_size
from marketplace.studio.support import CREATOR, apply_problems, owned_series_or_404
from marketplace.studio.upload_messages import upload_messages


@bp.route("/series/<int:series_id>/publish", methods=["GET", "POST"])
@role_required(CREATOR)
def publish(series_id: int):
    """Choose partner apps and publish (needs media, a price and a complete split)."""
    series = owned_series_or_404(series_id)
    partners = publishing.active_partners(db.session())
    form = PublishForm()
    live = {listing.partner_id for listing in series.listings if listing.status == "live"}
    form.partners.choices = [SelectChoice(p.id, _partner_label(p, p.id in live)) for p in partners]
    if not form.is_submitted():
        form.partners.data = sorted(live)
    if form.validate_on_submit():
        chosen = [p for p in partners if p.id in set(form.partners.data or [])]
        fresh = [p for p in chosen if p.id not in live]
        already = [p.name for p in chosen if p.id in live]
        if chosen and not fresh:
            # Nothing to change: say so, as information, not as a success.
            flash(_("Already live on %(apps)s: nothing changed.", apps=", ".join(already)), "info")
            return redirect(url_for("publishing.series_detail", series_id=series.id))
        try:
            publishing.publish_series(db.session(), series, current_user, fresh or chosen)
        except ServiceError as error:
            db.session.rollback()
            apply_problems(form, error)
        else:
            flash(_published_message(fresh, already), "success")
            return redirect(url_for("publishing.series_detail", series_id=series.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "publishing/publish.html",
        form=form,
        series=series,
        blockers=publishing.publish_problems(db.session(), series),
        unpublished=[p for p in partners if p.id not in live],
        action_form=ActionForm(),
    ), status


def _partner_label(partner, live: bool) -> str:
    """A partner app as the publish form lists it: name, currency, its share, live or not."""
    if live:
        return _(
            "%(name)s (%(currency)s, partner keeps %(share)s) · already live",
            name=partner.name,
            currency=partner.currency,
            share=percent(partner.share_bps),
        )
    return _(
        "%(name)s (%(currency)s, partner keeps %(share)s)",
        name=partner.name,
        currency=partner.currency,
        share=percent(partner.share_bps),
    )


def _published_message(fresh, already: list[str]) -> str:
    """What a publish changed: the apps it newly went live on (and those it already was)."""
    names = ", ".join(p.name for p in fresh)
    if already:
        return _(
            "Published to %(apps)s. Already live on %(live)s.", apps=names, live=", ".join(already)
        )
    return _("Published to %(apps)s.", apps=names)


@bp.route("/listings/<int:listing_id>/withdraw", methods=["POST"])
@role_required(CREATOR)
def withdraw(listing_id: int):
    """Withdraw a series from one partner app: new unlocks there are refused."""
    try:
        listing = publishing.get_owned_listing(db.session(), listing_id, current_user)
    except NotFound:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    publishing.withdraw_listing(db.session(), listing, current_user)
    flash(f"Withdrawn from {listing.partner.name}.", "info")
    return redirect(url_for("publishing.series_detail", series_id=listing.series_id))


@bp.route("/import", methods=["GET", "POST"])
@role_required(CREATOR)
def import_series():
    """Create a whole series from a manifest and its files; every problem is listed."""
    # One request carries every file: its cap is the import's, not one upload's (set before
    # the form reads the body).
    request.max_content_length = current_app.config["MAX_IMPORT_BYTES"]
    form = ImportForm()
    problems: list[tuple[str, str]] = []
    if form.validate_on_submit():
        uploads = {
            f.filename: f.stream for f in request.files.getlist(form.files.name) if f.filename
        }
        try:
            series = manifest.import_manifest(
                db.session(),
                form.manifest.data.read(),
                manifest.UploadedFiles(uploads),
                current_user,
                storage=MediaStorage.from_app(),
                platform_fee_bps=current_app.config["PLATFORM_FEE_BPS"],
            )
        except ValidationFailed as error:
            problems = error.problems
        except ServiceError as error:
            problems = [(error.field or "manifest", error.message)]
        else:
            flash(f'Imported "{series.title}" with {len(series.episodes)} episodes.', "success")
            return redirect(url_for("publishing.series_detail", series_id=series.id))
    status = 422 if problems or form.errors else 200
    return render_template(
        "publishing/import.html",
        form=form,
        problems=problems,
        max_size=human_size(MediaStorage.from_app().max_bytes),
    ), status


@bp.route("/series/<int:series_id>")
@role_required(CREATOR)
def series_detail(series_id: int):
    """Everything about one series: episodes, pricing, split status, listings."""
    series = owned_series_or_404(series_id)
    version = splits.current_split(db.session(), series)
    return render_template(
        "publishing/series.html",
        series=series,
        version=version,
        participants=splits.participant_lines(version),
        blockers=publishing.publish_problems(db.session(), series),
        unpublished=_unpublished_partners(series),
        localized=series_service.localized_versions(db.session(), series),
        original=db.session.get(type(series), series.original_series_id)
        if series.original_series_id
        else None,
        action_form=ActionForm(),
        duration_text=duration_text,
        upload_messages=upload_messages(),
        max_bytes=MediaStorage.from_app().max_bytes,
        max_size=human_size(MediaStorage.from_app().max_bytes),
        plan_explanation=_plan_explanation(series),
        royalties=remake_royalties(db.session(), series.id),
    )


def _unpublished_partners(series) -> list:
    """Active partner apps the series is not live on (where Publish still applies)."""
    live = {listing.partner_id for listing in series.listings if listing.status == "live"}
    return [p for p in publishing.active_partners(db.session()) if p.id not in live]


def _plan_explanation(series) -> list[str]:
    """The series' newest revenue plan in plain words (none without a plan)."""
    plan = latest_plan(db.session(), series.id)
    if plan is None:
        return []
    return explain_plan(plan, lambda amount: format_money(amount, series.currency, "en"))
