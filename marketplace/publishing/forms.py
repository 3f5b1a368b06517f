"""Forms to publish a series and to import one from a manifest."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import (
    SelectMultipleField,
    SubmitField,
    widgets,
)


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes (easier than a multi-select on a phone)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class PublishForm(FlaskForm):
    """The partner apps to publish to (choices set by the view)."""

    partners = MultiCheckboxField("Partner apps", coerce=int)
    submit = SubmitField("Publish")


class ImportForm(FlaskForm):
    """A manifest and its files, uploaded together."""

    manifest = FileField("Manifest (JSON)", validators=[FileRequired()])
    files = MultipleFileField("Episode files, CSV and poster")
    submit = SubmitField("Import series")
