"""Pages found wrong in a walk through the demo: what they must show."""

from __future__ import annotations

import html
import re


def test_a_name_with_an_apostrophe_keeps_the_withdraw_confirmation(db, client, login_as, world):
    # The name went raw into confirm('...'): the script broke, and the click withdrew at once.
    # The question is now a data-confirm attribute (static/js/confirm.js asks it), escaped as
    # any attribute is.
    world.partners[1].name = "Kim's </script> Shorts"
    db.session.flush()
    login_as(world.creator)
    page = client.get(f"/studio/series/{world.series.id}").get_data(as_text=True)
    questions = [html.unescape(q) for q in re.findall(r'data-confirm="([^"]*)"', page)]
    withdraw = [q for q in questions if "Withdraw from" in q]
    assert len(withdraw) == 2
    assert "Withdraw from Kim's </script> Shorts? New unlocks there will be refused." in withdraw
    assert "Kim's </script>" not in page and "onsubmit" not in page


def test_the_ledgers_partner_overview_counts_active_keys(client, login_as, world):
    login_as(world.admin)
    page = client.get("/admin/ledger/partners").get_data(as_text=True)
    assert "built-in method" not in page
    assert re.search(r'<td class="num">\d+</td><td class="num">\d+</td>', page)


def test_refunds_are_listed_by_episode_number(db, world):
    from datetime import timedelta

    from marketplace.earnings.statements import participant_statement
    from tests.statements.conftest import T0

    for episode in (13, 7, 21):
        world.unlock(T0 + timedelta(hours=1), episode=episode)
        world.refund(T0 + timedelta(hours=2), episode=episode)
    view = participant_statement(
        db.session, world.participant.id, "USD", T0, T0 + timedelta(days=1)
    )
    assert [line.episode for line in view.refunds] == [7, 13, 21]


def test_the_pdf_names_each_refunds_episode_and_country(db, world):
    import io
    from datetime import timedelta

    from pypdf import PdfReader

    from marketplace.earnings.exports import statement_pdf
    from marketplace.earnings.statements import participant_statement
    from tests.statements.conftest import T0

    for episode, country in ((13, "GB"), (7, "US")):
        world.unlock(T0 + timedelta(hours=1), episode=episode, country=country)
    for episode in (13, 7):
        world.refund(T0 + timedelta(hours=2), episode=episode)
    view = participant_statement(
        db.session, world.participant.id, "USD", T0, T0 + timedelta(days=1)
    )
    data = statement_pdf(view, "en_US", "Test Person")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    refunds = [line for line in text.splitlines() if "episode" in line and "-$" in line]
    assert len(refunds) == 2, text
    assert "episode 7" in refunds[0] and "episode 13" in refunds[1]
    assert "(1 unlock)" in text and "(1 unlocks)" not in text


def test_the_outbox_links_the_urls_in_a_message(db, client, login_as, world):
    from marketplace.mail import OutboxMessage

    db.session.add(
        OutboxMessage(
            to_address="a@example.com",
            subject="Invitation",
            body_text='Open https://example.test/studio/invitations/abc?x=1&y=2 <b>"now"</b>',
        )
    )
    db.session.flush()
    login_as(world.admin)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert '<a href="https://example.test/studio/invitations/abc?x=1&amp;y=2"' in page
    assert "&lt;b&gt;" in page and "<b>" not in page.split("<pre", 1)[1].split("</pre>", 1)[0]


def test_signing_up_from_an_invitation_starts_as_a_team_member_with_its_email(client):
    page = client.get("/auth/signup?email=noor@example.com&role=participant&next=/x").get_data(
        as_text=True
    )
    assert 'value="noor@example.com"' in page
    checked = r'<input checked[^>]*value="{0}"|value="{0}"[^>]*checked'
    assert re.search(checked.format("participant"), page)
    assert "At least 10 characters." in page
    plain = client.get("/auth/signup").get_data(as_text=True)
    assert re.search(checked.format("creator"), plain)
    odd = client.get("/auth/signup?role=admin").get_data(as_text=True)
    assert 'value="admin"' not in odd


def test_a_refused_period_stays_as_typed_beside_its_error(client, login_as, world):
    from tests.statements.conftest import T0

    world.unlock(T0)  # the participant's USD account
    login_as(world.participant)
    response = client.get("/earnings/statement?currency=USD&start=2026-11-30&end=2026-11-01")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="2026-11-30" aria-invalid="true"' in page
    assert 'value="2026-11-01" aria-invalid="true"' in page
