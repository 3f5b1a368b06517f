"""Studio pages for series: list, create, edit, poster, pricing, localized versions."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision
from flask import abort, flash, redirect, render_template, send_file, url_for
from flask_login import current_user

from marketplace.accounts.access import role_required
from marketplace.errors import NotFound, ServiceError
from marketplace.extensions import db
from marketplace.studio import bp
from marketplace.studio import series as series_service
from marketplace.studio.forms import (
    LocalizeForm,
    PricingForm,
    SeriesForm,
    words,
)
from marketplace.studio.storage import MediaStorage, media_type_of
from marketplace.studio.support import CREATOR, apply_problems, owned_series_or_404


@bp.route("/")
@role_required(CREATOR)
def index():
    """The creator's series, newest first."""
    return render_template(
        "studio/index.html",
        series_list=series_service.list_owned_series(db.session(), current_user),
    )


@bp.route("/series/new", methods=["GET", "POST"])
@role_required(CREATOR)
def new_series():
    """Start a series (a draft until it is published)."""
    form = SeriesForm()
    del form.poster
    if form.validate_on_submit():
        try:
            series = series_service.create_series(
                db.session(),
                current_user,
                title=form.title.data or "",
                synopsis=form.synopsis.data or "",
                language=(form.language.data or "").strip(),
                genres=words(form.genres.data),
                tags=words(form.tags.data),
                currency=form.currency.data,
            )
        except ServiceError as error:
            apply_problems(form, error)
        else:
            flash("Series created. Add episodes, pricing and the split next.", "success")
            return redirect(url_for("publishing.series_detail", series_id=series.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("studio/series_form.html", form=form, series=None), status


@bp.route("/series/<int:series_id>/edit", methods=["GET", "POST"])
@role_required(CREATOR)
def edit_series(series_id: int):
    """Change a series' title, synopsis, language, genres, tags and poster."""
    series = owned_series_or_404(series_id)
    form = SeriesForm(obj=series)
    del form.currency
    if not form.is_submitted():
        form.genres.data, form.tags.data = ", ".join(series.genres), ", ".join(series.tags)
    if form.validate_on_submit():
        try:
            series_service.edit_series(
                db.session(),
                series,
                title=form.title.data or "",
                synopsis=form.synopsis.data or "",
                language=(form.language.data or "").strip(),
                genres=words(form.genres.data),
                tags=words(form.tags.data),
                poster=form.poster.data.stream if form.poster.data else None,
                storage=MediaStorage.from_app(),
            )
        except ServiceError as error:
            db.session.rollback()
            apply_problems(form, error)
        else:
            flash("Saved.", "success")
            return redirect(url_for("publishing.series_detail", series_id=series.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("studio/series_form.html", form=form, series=series), status


@bp.route("/posters/<int:series_id>")
@role_required(CREATOR)
def poster(series_id: int):
    """A series' poster image, for its owner."""
    series = owned_series_or_404(series_id)
    if not series.poster_path:
        abort(404)
    try:
        path = MediaStorage.from_app().path_of(series.poster_path)
    except NotFound:
        abort(404)
    return send_file(path, mimetype=media_type_of(series.poster_path), conditional=True)


@bp.route("/series/<int:series_id>/pricing", methods=["GET", "POST"])
@role_required(CREATOR)
def pricing(series_id: int):
    """Free episodes, price per paid episode, optional bundle price."""
    series = owned_series_or_404(series_id)
    form = PricingForm(
        currency=series.currency,
        free_episodes=series.free_episodes,
        episode_price=_major(series.episode_price, series.currency),
        bundle_price=_major(series.bundle_price, series.currency),
    )
    if form.validate_on_submit():
        # Validated: NumberRange refuses a missing count; DataRequired a blank price, which
        # validate_episode_price has turned into minor units.
        assert form.free_episodes.data is not None and form.episode_price_minor is not None
        try:
            series_service.set_pricing(
                db.session(),
                series,
                free_episodes=form.free_episodes.data,
                episode_price=form.episode_price_minor,
                bundle_price=form.bundle_price_minor,
                currency=form.currency.data,
            )
        except ServiceError as error:
            db.session.rollback()
            apply_problems(form, error)
        else:
            flash("Pricing saved.", "success")
            return redirect(url_for("publishing.series_detail", series_id=series.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("studio/pricing.html", form=form, series=series), status


def _major(amount: int | None, currency: str) -> str:
    """Minor units as the plain number a person types back ("0.49"), no float involved."""
    if amount is None:
        return ""
    return f"{Decimal(amount).scaleb(-get_currency_precision(currency)):f}"


@bp.route("/series/<int:series_id>/localize", methods=["GET", "POST"])
@role_required(CREATOR)
def localize(series_id: int):
    """Create a version of a series in another language, linked to the original."""
    original = owned_series_or_404(series_id)
    form = LocalizeForm()
    if form.validate_on_submit():
        try:
            version = series_service.create_localized_version(
                db.session(),
                original,
                current_user,
                language=form.language.data or "",
                title=(form.title.data or "").strip() or None,
            )
        except ServiceError as error:
            apply_problems(form, error)
        else:
            flash("Localized version created: add its episodes and its split.", "success")
            return redirect(url_for("publishing.series_detail", series_id=version.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("studio/localize.html", form=form, series=original), status


# The episode pages register themselves on `bp` when imported.
from marketplace.studio import episodes  # noqa: E402, F401
