"""The site speaks English and Spanish: the person's language setting, else the browser's
Accept-Language, else English; the Spanish catalogue is complete, compiled and up to date with
the strings marked in the code and templates (`make translations`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from marketplace.formatting import LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"


def babel_keywords() -> dict:
    """Babel's default keywords plus the Makefile's BABEL_KEYWORDS (what `make translations`
    extracts)."""
    from babel.messages.extract import DEFAULT_KEYWORDS

    makefile = (ROOT / "Makefile").read_text()
    listed = re.search(r"^BABEL_KEYWORDS := ((?:.*\\\n)*.*)$", makefile, re.M).group(1)
    names = listed.replace("\\", " ").split()
    return {**DEFAULT_KEYWORDS, **{name: None for name in names}}


def page_language(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def test_the_browsers_language_decides_for_a_visitor(client):
    spanish = client.get("/auth/login", headers={"Accept-Language": "es-MX,es;q=0.9"})
    html = spanish.get_data(as_text=True)
    assert page_language(html) == "es" and "Iniciar sesión" in html and "Registrarse" in html
    german = client.get("/auth/login", headers={"Accept-Language": "de-DE"}).get_data(as_text=True)
    assert page_language(german) == "en" and "Sign up" in german  # not spoken: English
    assert page_language(client.get("/auth/login").get_data(as_text=True)) == "en"


def test_the_persons_setting_beats_the_browser(client, db, login_as, make_participant):
    person = login_as(make_participant())
    person.language = "es"
    db.session.commit()
    html = client.get("/auth/settings", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert page_language(html) == "es"
    assert ">Ganancias</a>" in html and ">Pagos</a>" in html and "Zona horaria" in html
    person.language = None
    db.session.commit()
    html = client.get("/auth/settings", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert page_language(html) == "en" and ">Earnings</a>" in html


def test_choosing_spanish_in_settings_speaks_it_at_once(client, db, login_as, make_creator):
    login_as(make_creator())
    saved = client.post(
        "/auth/settings", data={"time_zone": "Europe/Madrid", "language": "es"},
        follow_redirects=True,
    )
    html = saved.get_data(as_text=True)
    assert "Configuración guardada: fechas en Europe/Madrid, idioma: Español." in html


def test_the_database_refuses_a_language_the_site_does_not_speak(db, make_participant):
    from sqlalchemy.exc import IntegrityError

    person = make_participant()
    person.language = "xx"
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def catalogue(language: str):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=language)


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_every_message_is_translated_and_compiled(language):
    po = catalogue(language)
    untranslated = [
        m.id for m in po if m.id and (not m.string or not all(m.string) or m.fuzzy)
    ]
    assert untranslated == [], f"translate these in translations/{language}: {untranslated}"
    def entries(catalog) -> dict:
        return {
            tuple(m.id) if isinstance(m.id, (list, tuple)) else m.id:
            tuple(m.string) if isinstance(m.string, (list, tuple)) else m.string
            for m in catalog
            if m.id
        }

    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo", "rb") as mo:
        compiled = entries(read_mo(mo))
    assert compiled == entries(po), "run `make translations-compile`"


def marked_strings() -> set:
    found = set()
    for directory in ("marketplace", "templates"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / directory,
            method_map=[("**.py", "python"), ("**.html", "jinja2")],
            keywords=babel_keywords(),
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_the_catalogues_hold_every_marked_string():
    with open(TRANSLATIONS / "messages.pot", "rb") as pot:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(pot) if m.id}
    marked = marked_strings()
    assert marked - template == set(), "run `make translations` and translate the new strings"
    assert template - marked == set(), "run `make translations` (strings no longer used)"
    for language in LANGUAGES:
        if language != "en":
            ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue(language) if m.id}
            assert ids == template, f"run `make translations-update` for {language}"


def test_mail_is_composed_in_its_recipients_language(app, db, make_participant):
    from flask_babel import gettext

    from marketplace.accounts.services import language_of
    from marketplace.formatting import format_money, speaking

    person = make_participant()
    person.language = "es"
    db.session.flush()
    assert language_of(db.session, person.email.upper()) == "es"
    with app.app_context():  # the scheduler's context: no request, no browser
        with speaking(language_of(db.session, person.email)):
            assert gettext("Payouts") == "Pagos"
            assert format_money(1234567, "USD") == "12.345,67\xa0US$"
        with speaking(None):
            assert gettext("Payouts") == "Payouts"
            assert format_money(1234567, "USD") == "$12,345.67"


def test_dates_follow_the_language_and_the_time_zone(app, db, make_participant):
    from datetime import UTC, datetime

    from flask_login import login_user

    from marketplace.formatting import localdate, localtime

    person = make_participant()
    person.time_zone, person.language = "Asia/Manila", "es"
    at = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)
    with app.app_context(), app.test_request_context():  # a fresh `g`, as per request
        login_user(person)
        assert localtime(at) == "2 mar 2026 4:30 PST"
        assert localdate(at) == "2 mar 2026"
    person.language = "en"
    with app.app_context(), app.test_request_context():
        login_user(person)
        assert localtime(at) == "2026-03-02 04:30 PST"
        assert localdate(at) == "2026-03-02"


def test_an_invitation_mail_speaks_the_invited_persons_language(db, make_creator, make_participant):
    from datetime import UTC, datetime

    from sqlalchemy import select

    from marketplace.mail import OutboxMessage
    from marketplace.splits.services import save_split
    from marketplace.studio.models import Series

    creator, member = make_creator(), make_participant(email="lucia@example.com")
    member.language = "es"
    series = Series(owner_id=creator.id, title="Mareas", episode_price=49)
    db.session.add(series)
    db.session.flush()
    rows = [
        {"email": member.email, "role": "actor", "credit_name": "Lucía", "bps": 6000},
        {"email": "someone@example.com", "role": "writer", "credit_name": "Ana", "bps": 4000},
    ]  # fmt: skip
    save_split(db.session, series, creator, rows, platform_fee_bps=1000,
               now=datetime(2026, 3, 1, tzinfo=UTC))  # fmt: skip
    mails = {
        m.to_address: m
        for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "invitation"))
    }
    spanish, english = mails[member.email], mails["someone@example.com"]
    assert spanish.subject == 'Te invitaron a "Mareas" en Cliffhanger'
    assert "con 60\xa0% de la parte de los ingresos" in spanish.body_text
    assert english.subject == 'You are invited to "Mareas" on Cliffhanger'
    assert "with 40% of the participants' share" in english.body_text


def test_the_action_required_mail_speaks_the_payees_language(db, make_participant):
    from sqlalchemy import select

    from marketplace.mail import OutboxMessage
    from marketplace.payouts.notices import REASON_NO_ACCOUNT, notify_action_required

    person = make_participant(email="marta@example.com")
    person.language = "es"
    db.session.flush()
    items = [("USD", 1250, REASON_NO_ACCOUNT, "Set up payouts with Stripe on your Payouts page.")]
    notify_action_required(db.session, to=person.email, key="k:es", items=items)
    notify_action_required(db.session, to="nobody@example.com", key="k:en", items=items)
    mails = {
        m.to_address: m
        for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "action.required")
        )
    }
    spanish, english = mails[person.email], mails["nobody@example.com"]
    assert spanish.subject == "Se necesita una acción tuya antes de poder pagarte"
    assert "12,50\xa0US$: sin cuenta de pago. Configura los pagos con Stripe" in spanish.body_text
    assert english.subject == "Action required before you can be paid"
    assert "$12.50: no payout account. Set up payouts with Stripe" in english.body_text


def test_a_refusal_with_values_is_translated_then_filled(app):
    from flask_babel import force_locale

    from marketplace.errors import Label, ServiceError

    error = ServiceError(
        "Give your %(label)s (at most %(limit)s characters).",
        field="legal_name", params={"label": Label("legal name"), "limit": 200},
    )
    assert error.message == "Give your legal name (at most 200 characters)."  # the API's
    assert error.as_json()["error"]["message"] == error.message
    with app.test_request_context(), force_locale("es"):
        assert error.localized() == "Indica tu nombre legal (como máximo 200 caracteres)."
    with app.test_request_context(), force_locale("en"):
        assert error.localized() == error.message


def test_revenue_type_names_are_read_in_the_readers_language(app):
    from flask_babel import force_locale

    from marketplace.earnings.statements import _type_name
    from marketplace.ingest.models import REVENUE_TYPES

    assert REVENUE_TYPES["coins"] == "Coin unlocks"  # the English name, as stored
    with app.test_request_context(), force_locale("es"):
        assert _type_name("coins") == "Desbloqueos con monedas"
        assert _type_name("a-new-kind") == "a-new-kind"
    with app.test_request_context(), force_locale("en"):
        assert _type_name("coins") == "Coin unlocks"
