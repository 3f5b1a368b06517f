"""Acceptance 4 (profiles): the TIN is never stored, shown, logged or audited in clear; bad
TINs, unknown countries and treaty rates above the statutory rate are refused with clear
errors; withholding follows the profile."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from marketplace.audit import AuditEvent
from marketplace.errors import ServiceError
from marketplace.tax import rules
from marketplace.tax.services import W8BEN, W9, submit_w8ben, submit_w9, withholding_of
from marketplace.tax.tin_vault import open_tin

W9_FORM = {"legal_name": "Uma US", "tin_type": "SSN", "tin": "123-45-6789",
           "address": "1 Sunset Blvd", "certified": "y", "signed_name": "Uma US"}  # fmt: skip
W8_FORM = {"legal_name": "Lea Roth", "residence_country": "DE", "foreign_tin": "DE-12345678901",
           "address": "Unter den Linden 1, Berlin", "certified": "y",
           "signed_name": "Lea Roth"}  # fmt: skip


def test_the_tin_is_encrypted_at_rest_and_shown_as_its_last_four(
    db, client, login_as, make_participant, caplog
):
    user = login_as(make_participant())
    caplog.set_level(logging.DEBUG)
    assert client.post("/tax/w9", data=W9_FORM).status_code == 302
    row = (
        db.session.execute(text("SELECT * FROM tax_profiles WHERE user_id = :u"), {"u": user.id})
        .mappings()
        .one()
    )
    raw = " ".join(str(value) for value in row.values())
    assert "123456789" not in raw and "123-45-6789" not in raw
    assert row["tin_last4"] == "6789"
    assert open_tin(row["tin_encrypted"]) == "123456789"  # the key opens it, nothing else
    page = client.get("/tax/").get_data(as_text=True)
    assert "SSN ending 6789" in page and "123456789" not in page and "123-45" not in page
    assert "123456789" not in caplog.text and "123-45-6789" not in caplog.text
    audits = " ".join(str(e.details) for e in db.session.query(AuditEvent).all())
    assert "123456789" not in audits and "6789" not in audits


def test_a_w8ben_with_a_treaty_rate_withholds_at_that_rate(db, client, login_as, make_participant):
    user = login_as(make_participant())
    data = {**W8_FORM, "treaty_country": "DE", "treaty_article": "12", "treaty_rate": "0"}
    assert client.post("/tax/w8ben", data=data).status_code == 302
    page = client.get("/payouts/").get_data(as_text=True)
    assert "W-8BEN, FOREIGN ending 8901" in page
    from marketplace.tax.services import tax_profile_for

    withholding = withholding_of(tax_profile_for(db.session, user.id))
    assert (withholding.rate_bps, withholding.case) == (0, "nra_treaty")


@pytest.mark.parametrize(
    ("tin_type", "tin", "message"),
    [
        ("SSN", "000-12-3456", "not a valid SSN"),
        ("SSN", "666-12-3456", "not a valid SSN"),
        ("SSN", "923-45-6789", "An ITIN starts with 9"),
        ("SSN", "123-00-6789", "not a valid SSN"),
        ("SSN", "12345678", "has 9 digits"),
        ("SSN", "12345678a", "has 9 digits"),
        ("ITIN", "912-34-5678", "not a valid ITIN"),
        ("ITIN", "123-70-5678", "not a valid ITIN"),
        ("EIN", "07-1234567", "not a valid EIN"),
    ],
)
def test_bad_tins_are_refused_with_the_rule_they_break(
    db, client, login_as, make_participant, tin_type, tin, message
):
    login_as(make_participant())
    page = client.post("/tax/w9", data={**W9_FORM, "tin_type": tin_type, "tin": tin})
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert message in body
    assert tin not in body  # the number is never echoed back


def test_good_tins_of_each_type_are_accepted():
    assert rules.normalise_us_tin("SSN", "123-45-6789") == "123456789"
    assert rules.normalise_us_tin("ITIN", "912-70-1234") == "912701234"
    assert rules.normalise_us_tin("EIN", "12-3456789") == "123456789"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"residence_country": "XX"}, "residence_country", "not a country we know"),
        ({"residence_country": "US"}, "residence_country", "US persons fill in a W-9"),
        ({"treaty_country": "DE", "treaty_article": "12", "treaty_rate": "35"}, "treaty_rate",
         "above the statutory 30 % rate"),
        ({"treaty_country": "FR", "treaty_article": "12", "treaty_rate": "0"}, "treaty_country",
         "your country of residence (DE)"),
        ({"treaty_country": "DE", "treaty_article": "12", "treaty_rate": "ten"}, "treaty_rate",
         "as a percentage"),
        ({"foreign_tin": "!!"}, "foreign_tin", "1 to 40 letters and digits"),
        ({"certified": False}, "certified", "Certify the form"),
    ],
)  # fmt: skip
def test_bad_w8ben_data_is_refused_clearly(db, make_participant, changes, field, message):
    form = W8BEN(legal_name="Lea", residence_country="DE", foreign_tin="DE-1234567",
                 address="Berlin", address_country="DE", treaty_country="", treaty_article="",
                 treaty_rate="", certified=True, signed_name="Lea")  # fmt: skip
    with pytest.raises(ServiceError) as refused:
        submit_w8ben(db.session, make_participant(), W8BEN(**{**form.__dict__, **changes}))
    assert refused.value.field == field
    assert message in refused.value.message


def test_an_uncertified_w9_means_backup_withholding(db, make_participant):
    profile = submit_w9(db.session, make_participant(), W9(
        legal_name="Bo", tin_type="EIN", tin="12-3456789", address="NYC", address_country="US",
        certified=False, signed_name="Bo",
    ))  # fmt: skip
    assert (withholding_of(profile).rate_bps, withholding_of(profile).case) == (2400, "backup")


def test_withholding_rounds_half_up_in_minor_units():
    assert rules.withheld(10_001, 3000) == 3000
    assert rules.withheld(10_005, 3000) == 3002
    assert rules.withheld(1, 2400) == 0
