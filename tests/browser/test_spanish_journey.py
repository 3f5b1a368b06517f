"""A journey in Spanish: a participant whose browser asks for Spanish reads the site in it, with
money as Spanish writes it ("1234,56 US$"); a creator who chose Spanish in Settings (on an
English browser) saves a split typed with decimal commas and is answered in Spanish."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from marketplace.formatting import format_money
from marketplace.studio.series import create_series
from tests.browser.accessibility import serious_violations
from tests.browser.support import PASSWORD, make_account, published_series


def test_a_participant_and_a_creator_in_spanish(browser, live_server, live_session, partner_apps):
    participant = make_account(live_session, "participant", "lucia", "Lucía Pérez")
    creator = make_account(live_session, "creator", "mateo", "Mateo Ruiz")
    creator.language = "es"  # chosen in Settings; the creator's browser asks for English
    series = published_series(
        live_session,
        creator,
        partner_apps["SnapDrama"].app_id,
        [
            {"user": participant, "role": "actor", "credit_name": "Lucía Pérez", "bps": 5000},
            {"user": creator, "role": "producer", "credit_name": "Mateo", "bps": 5000},
        ],
        title="Cartas del monzón",
        price=5_000_000,
        since=datetime.now(UTC) - timedelta(days=3),
    )
    draft = create_series(
        live_session, creator, title="Mareas", synopsis="", language="es", currency="USD"
    )
    found = participant.email, creator.email, series.id, draft.id
    live_session.commit()
    participant_email, creator_email, series_id, draft_id = found
    # One $50,000 unlock yesterday: tens of thousands of dollars to share.
    yesterday = datetime.now(UTC) - timedelta(days=1)
    partner_apps["SnapDrama"].unlock(series_id, [(3, 5_000_000, yesterday)])

    # A visitor's browser that asks for Spanish gets Spanish before signing in.
    spanish = browser.new_context(
        base_url=live_server, viewport={"width": 390, "height": 844}, locale="es-ES"
    )
    spanish.set_default_timeout(15_000)
    page = spanish.new_page()
    page.goto("/auth/login")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.get_by_label("Correo electrónico").fill(participant_email)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()
    signed_in = f"Sesión iniciada como {participant_email} (participante)"
    expect(page.get_by_text(signed_in)).to_be_visible()

    page.goto("/earnings/")
    nav = page.get_by_role("navigation", name="Principal")
    for label in ("Ganancias", "Mis series", "Pagos", "Configuración", "Cerrar sesión"):
        expect(nav.get_by_text(label, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Ganancias", level=1)).to_be_visible()
    figures = page.locator("dl.figures").first
    expect(figures).to_contain_text("Disponible")
    text = figures.inner_text()
    amounts = re.findall(r"\d[\d.]*,\d\d\xa0US\$", text)
    assert amounts, text  # decimal comma, the symbol after: Spanish money
    assert not re.search(r"\$\s?\d", text)  # no "$1,234.56" left
    biggest = max(amounts, key=lambda a: int(re.sub(r"\D", "", a)))
    minor = int(re.sub(r"\D", "", biggest))
    assert minor > 1_000_000  # over $10,000: Spanish groups thousands with a point
    assert biggest == format_money(minor, "USD", "es")
    assert serious_violations(page) == []
    spanish.close()

    # The creator's browser speaks English; the account's language setting wins.
    english = browser.new_context(
        base_url=live_server, viewport={"width": 1280, "height": 800}, locale="en-US"
    )
    english.set_default_timeout(15_000)
    page = english.new_page()
    page.goto("/auth/login")
    page.get_by_label("Email").fill(creator_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(f"Sesión iniciada como {creator_email} (creador)")).to_be_visible()

    page.goto(f"/studio/series/{draft_id}/split")
    expect(page.get_by_role("heading", name="Hoja de reparto de Mareas")).to_be_visible()
    page.get_by_role("button", name="Agregar una fila").click()
    rows = [
        ("ana@example.com", "writer", "Ana Escritora", "33,33"),
        ("beto@example.com", "actor", "Beto Actor", "66,67"),
    ]
    for number, (email, role, credit, share) in enumerate(rows, start=1):
        row = page.get_by_role("group", name=f"Participante {number}")
        row.get_by_label("Correo electrónico").fill(email)
        row.get_by_label("Rol").select_option(role)
        row.get_by_label("Nombre en los créditos").fill(credit)
        row.get_by_label("Participación (%)").fill(share)
    expect(page.locator("[data-split-total]")).to_have_text("Total 100\xa0%: completo.")
    page.get_by_role("button", name="Guardar reparto").click()
    expect(
        page.get_by_text(
            "Versión 1 del reparto guardada, vigente desde ahora: "
            "Ana Escritora 33,33\xa0%, Beto Actor 66,67\xa0%."
        )
    ).to_be_visible()
    table = page.get_by_role("table")
    expect(table.get_by_role("row").filter(has_text="Ana Escritora")).to_contain_text("33,33\xa0%")
    expect(
        page.get_by_role("group", name="Participante 2").get_by_label("Participación (%)")
    ).to_have_value("66,67")
    english.close()
