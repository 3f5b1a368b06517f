"""The upload and reorder scripts' texts in the reader's language: a JSON object the pages
carry in a data attribute (static/js/upload.js and reorder.js fill in %(name)s)."""

from __future__ import annotations

from flask_babel import gettext as _


def upload_messages() -> dict[str, str]:
    """Every text the upload and reorder scripts show, translated."""
    return {
        "sent": _("%(sent)s of %(total)s sent"),
        "left": _("about %(time)s left"),
        "starting_size": _("Starting the upload of %(size)s…"),
        "saving": _("Saving…"),
        "checking": _("Checking the video…"),
        "too_large": _("The file is larger than the %(limit)s limit."),
        "failed": _("The upload failed (HTTP %(status)s). Please try again."),
        "lost": _("The connection was lost during the upload. Please try again."),
        "cancelled": _("Upload cancelled: nothing was saved."),
        "waiting": _("Waiting"),
        "cancel": _("Cancel"),
        "cancel_file": _("Cancel %(name)s"),
        "upload_of": _("Upload of %(name)s"),
        "not_sent": _("Cancelled: not sent."),
        "too_large_not_sent": _("Larger than the %(limit)s limit: not sent."),
        "starting": _("Starting…"),
        "added": _("Added as episode %(number)s."),
        "added_duration": _("Added as episode %(number)s · %(duration)s."),
        "lost_not_saved": _("The connection was lost: not saved."),
        "cancelled_nothing": _("Cancelled: nothing was saved."),
        "added_one": _("1 episode added"),
        "added_many": _("%(count)s episodes added"),
        "failed_count": _("%(count)s failed"),
        "cancelled_count": _("%(count)s cancelled"),
        "show": _("Show them in the list"),
        "upload_one": _("Upload 1 file"),
        "upload_many": _("Upload %(count)s files"),
        "upload_chosen": _("Upload the chosen files"),
        "position": _("%(title)s is now at position %(position)s of %(count)s."),
        "press_enter": _("Press Enter or Save the new order."),
    }
