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
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


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
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo", "rb") as mo:
        compiled = {m.id: m.string for m in read_mo(mo) if m.id}
    assert compiled == {m.id: m.string for m in po if m.id}, "run `make translations-compile`"


def marked_strings() -> set:
    found = set()
    for directory in ("marketplace", "templates"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / directory,
            method_map=[("**.py", "python"), ("**.html", "jinja2")],
            keywords=KEYWORDS,
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
