"""Studio pages for episodes: add (with upload progress), edit/replace, reorder, delete, watch."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from marketplace.accounts.access import role_required
from marketplace.errors import NotFound, ServiceError
from marketplace.extensions import db
from marketplace.studio import bp
from marketplace.studio import series as series_service
from marketplace.studio.forms import ActionForm, EpisodeForm, ReorderForm
from marketplace.studio.models import Episode
from marketplace.studio.storage import MediaStorage, duration_text, human_size, media_type_of
from marketplace.studio.support import (
    CREATOR,
    apply_problems,
    json_error,
    owned_episode_or_404,
    owned_series_or_404,
    wants_json,
)
from marketplace.studio.upload_messages import upload_messages


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    """A request over MAX_CONTENT_LENGTH: a JSON error for the upload script, else the page."""
    limit = human_size(MediaStorage.from_app().max_bytes)
    message = f"The file is larger than the {limit} limit."
    if wants_json():
        return json_error(ServiceError(message, field="media", code="too_large"), 413)
    return render_template("studio/too_large.html", message=message), 413


def _episode_form_response(form: EpisodeForm, series, episode, error: ServiceError | None):
    if error is not None and wants_json():
        return json_error(error)
    status = 422 if form.errors or form.form_errors else 200
    max_bytes = MediaStorage.from_app().max_bytes
    return (
        render_template(
            "studio/episode_form.html",
            form=form,
            series=series,
            episode=episode,
            max_bytes=max_bytes,
            max_size=human_size(max_bytes),
            upload_messages=upload_messages(),
        ),
        status,
    )


def _with_orientation(episode: Episode, message: str) -> str:
    """The saved message, plus a warning when the uploaded video is landscape."""
    if episode.landscape:
        return (
            f"{message} Note: this video is landscape ({episode.media_width}x"
            f"{episode.media_height}); partner apps show micro dramas vertically."
        )
    return message


def _saved(episode: Episode, message: str):
    target = url_for("publishing.series_detail", series_id=episode.series_id)
    if request.form.get("bulk") != "1":
        # Shown on the page the upload script goes to next; a bulk upload shows its own list.
        flash(message, "success")
    if wants_json():
        return jsonify(
            {
                "redirect": target,
                "message": message,
                "episode": {
                    "id": episode.id,
                    "number": episode.number,
                    "title": episode.title,
                    "duration_seconds": episode.duration_seconds,
                    "duration": duration_text(episode.duration_seconds),
                },
            }
        )
    return redirect(target)


@bp.route("/series/<int:series_id>/episodes/new", methods=["GET", "POST"])
@role_required(CREATOR)
def new_episode(series_id: int):
    """Add the next episode: an upload (mp4, mov, webm) or an https link."""
    series = owned_series_or_404(series_id)
    form = EpisodeForm()
    error = None
    if form.validate_on_submit():
        try:
            episode = series_service.add_episode(
                db.session(),
                series,
                title=form.title.data or "",
                duration_seconds=form.duration_seconds.data,
                upload=form.media.data.stream if form.media.data else None,
                media_url=form.media_url.data or None,
                storage=MediaStorage.from_app(),
            )
        except ServiceError as caught:
            error = caught
            apply_problems(form, caught)
        else:
            added = _with_orientation(episode, f"Episode {episode.number} added.")
            return _saved(episode, added)
    elif form.errors and wants_json():
        field, messages = next(iter(form.errors.items()))
        error = ServiceError(messages[0], field=field)
    return _episode_form_response(form, series, None, error)


@bp.route("/episodes/<int:episode_id>/edit", methods=["GET", "POST"])
@role_required(CREATOR)
def edit_episode(episode_id: int):
    """Change an episode's title or duration, or replace its video."""
    episode = owned_episode_or_404(episode_id)
    form = EpisodeForm(obj=episode)
    if not form.is_submitted():
        form.media_url.data = episode.media_url
    error = None
    if form.validate_on_submit():
        new_url = form.media_url.data or None
        try:
            series_service.update_episode(
                db.session(),
                episode,
                title=form.title.data or "",
                duration_seconds=form.duration_seconds.data,
                upload=form.media.data.stream if form.media.data else None,
                media_url=new_url if new_url != episode.media_url else None,
                storage=MediaStorage.from_app(),
            )
        except ServiceError as caught:
            error = caught
            db.session.rollback()
            apply_problems(form, caught)
        else:
            saved = _with_orientation(episode, f"Episode {episode.number} saved.")
            return _saved(episode, saved)
    return _episode_form_response(form, episode.series, episode, error)


@bp.route("/episodes/<int:episode_id>/move/<direction>", methods=["POST"])
@role_required(CREATOR)
def move_episode(episode_id: int, direction: str):
    """Move an episode one place earlier ("up") or later ("down")."""
    episode = owned_episode_or_404(episode_id)
    if direction not in {"up", "down"} or not ActionForm().validate_on_submit():
        abort(400)
    series_service.move_episode(db.session(), episode, -1 if direction == "up" else 1)
    return redirect(url_for("publishing.series_detail", series_id=episode.series_id) + "#episodes")


@bp.route("/series/<int:series_id>/episodes/order", methods=["POST"])
@role_required(CREATOR)
def reorder_episodes(series_id: int):
    """Put the series' episodes in a new order (ids, comma-separated: what dragging sends)."""
    series = owned_series_or_404(series_id)
    form = ReorderForm()
    if not form.validate_on_submit():
        abort(400)
    before = {e.id: e.number for e in series.episodes}
    try:
        ids = [int(part) for part in (form.order.data or "").split(",") if part.strip()]
        series_service.reorder_episodes(db.session(), series, ids)
    except ValueError:
        flash(_("The new order could not be read; nothing changed."), "error")
    except ServiceError as error:
        flash(_("%(problem)s Nothing changed.", problem=error.message), "error")
    else:
        moved = [e for e in series.episodes if before[e.id] != e.number]
        if moved:
            moves = ", ".join(
                _("%(title)s is now %(number)s", title=e.title or _("Untitled"), number=e.number)
                for e in moved
            )
            flash(_("Episodes renumbered: %(moves)s.", moves=moves), "success")
        else:
            flash(_("The order is unchanged."), "info")
    return redirect(url_for("publishing.series_detail", series_id=series.id) + "#episodes")


@bp.route("/episodes/<int:episode_id>/delete", methods=["POST"])
@role_required(CREATOR)
def delete_episode(episode_id: int):
    """Delete an episode and its uploaded video; later episodes move up."""
    episode = owned_episode_or_404(episode_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    series_id, number = episode.series_id, episode.number
    try:
        series_service.delete_episode(db.session(), episode, MediaStorage.from_app())
    except ServiceError as error:
        flash(error.localized(), "error")
    else:
        flash(f"Episode {number} deleted.", "info")
    return redirect(url_for("publishing.series_detail", series_id=series_id))


@bp.route("/media/<int:episode_id>")
@role_required(CREATOR)
def media(episode_id: int):
    """An episode's video for its owner (uploads streamed with ranges; links redirected)."""
    episode = owned_episode_or_404(episode_id)
    if episode.media_url:
        return redirect(episode.media_url)
    if not episode.media_path:
        abort(404)
    try:
        path = MediaStorage.from_app().path_of(episode.media_path)
    except NotFound:
        abort(404)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype=media_type_of(episode.media_path), conditional=True)
