"""Glue between services' domain errors and WTForms."""

from __future__ import annotations

from flask_wtf import FlaskForm

from marketplace.services.errors import ServiceError


def apply_service_error(form: FlaskForm, error: ServiceError) -> None:
    """Show a service's error on the field it names, or on the form as a whole."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        if not isinstance(field.errors, list):
            field.errors = list(field.errors)
        field.errors.append(error.message)
    else:
        form.form_errors.append(error.message)
