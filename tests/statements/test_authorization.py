"""Every route of the app, for anonymous, creator, another creator, participant, another
participant and admin: the expected status for each (the table must name every rule and
method of app.url_map, so a new route without an expectation fails here). Then: a participant
never sees another participant's money, by URL, by download or by drill-down."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.payouts.models import PayoutBatch, PayoutLine
from tests.statements.conftest import T0

ROLES = ("anonymous", "other_creator", "participant", "other_participant", "creator", "admin")
LOGIN, OK = "login", "ok"
ANY_USER = {r: OK for r in ROLES[1:]} | {"anonymous": LOGIN}
ADMIN = {"anonymous": LOGIN, "creator": 403, "other_creator": 403, "participant": 403,
         "other_participant": 403, "admin": OK}  # fmt: skip
ADMIN_404 = {**ADMIN, "admin": 404}
# An empty form: the admin is told what is missing (400), after the role check.
ADMIN_400 = {**ADMIN, "admin": 400}
CREATOR_OWNS = {"anonymous": LOGIN, "creator": OK, "other_creator": 404, "participant": 403,
                "other_participant": 403, "admin": 403}  # fmt: skip
CREATOR_ONLY = {**CREATOR_OWNS, "other_creator": OK}
PAYEES = {"anonymous": LOGIN, "creator": OK, "other_creator": OK, "participant": OK,
          "other_participant": OK, "admin": 403}  # fmt: skip
PUBLIC = {r: OK for r in ROLES}
# The creators are on no team: they have no USD earnings, so there is nothing to download.
NO_EARNINGS_404 = {**PAYEES, "creator": 404, "other_creator": 404}
# No file uploaded: the owner gets 404 too (after the ownership check, which others fail).
NO_FILE = {**CREATOR_OWNS, "creator": 404}


def every(status):
    """The same status for every role."""
    return {r: status for r in ROLES}


# (endpoint, method) -> (path template, {role: expected}); {x} are filled from the world.
EXPECTED = {
    ("admin.outbox", "GET"): ("/admin/outbox", ADMIN),
    ("admin.overview", "GET"): ("/admin/", ADMIN),
    ("admin.partners", "GET"): ("/admin/partners", ADMIN),
    ("admin.partners", "POST"): ("/admin/partners", ADMIN),
    ("admin.outbox_requeue", "POST"): ("/admin/outbox/987654321/requeue", ADMIN),
    ("admin.payout_approve", "POST"): ("/admin/payouts/{batch}/approve", ADMIN),
    ("admin.payout_batch", "GET"): ("/admin/payouts/{batch}", ADMIN),
    ("admin.payout_batches", "GET"): ("/admin/payouts", ADMIN),
    ("admin.payout_build", "POST"): ("/admin/payouts/build", ADMIN),
    ("admin.payout_execute", "POST"): ("/admin/payouts/{batch}/execute", ADMIN),
    ("admin.payout_reject", "POST"): ("/admin/payouts/lines/{line}/reject", ADMIN),
    ("admin.rotate_partner_key", "POST"): ("/admin/partners/{partner}/rotate", ADMIN),
    ("admin.revoke_partner_key", "POST"): ("/admin/partners/{partner}/revoke", ADMIN),
    ("admin.users", "GET"): ("/admin/users", ADMIN),
    ("admin.ledger", "GET"): ("/admin/ledger", ADMIN),
    ("admin.ledger_accounts", "GET"): ("/admin/ledger/accounts", ADMIN),
    ("admin.ledger_account", "GET"): ("/admin/ledger/accounts/{account}", ADMIN),
    ("admin.ledger_entry", "GET"): ("/admin/ledger/entries/{entry}", ADMIN),
    ("admin.ledger_partners", "GET"): ("/admin/ledger/partners", ADMIN),
    ("admin.ledger_adjust", "GET"): ("/admin/ledger/adjust", ADMIN),
    ("admin.ledger_adjust", "POST"): ("/admin/ledger/adjust", ADMIN),
    ("admin.audit_log", "GET"): ("/admin/audit", ADMIN),
    ("admin.settlements", "GET"): ("/admin/settlements", ADMIN),
    # An empty form: the admin gets it back with its errors (400).
    ("admin.settlement_close", "POST"): ("/admin/settlements/close", ADMIN_400),
    ("admin.settlement_remit", "POST"): ("/admin/settlements/remit", ADMIN_400),
    # No statement or partner of that id: the admin gets 404 after the role check.
    ("admin.settlement", "GET"): ("/admin/settlements/987654", ADMIN_404),
    ("admin.settlement_csv", "GET"): ("/admin/settlements/987654/csv", ADMIN_404),
    ("admin.settlement_pdf", "GET"): ("/admin/settlements/987654/pdf", ADMIN_404),
    ("admin.partner_contract", "GET"): ("/admin/partners/{partner}/contract", ADMIN),
    ("admin.partner_contract", "POST"): ("/admin/partners/{partner}/contract", ADMIN),
    ("admin.reconciliation", "GET"): ("/admin/reconciliation/", ADMIN),
    ("admin.reconciliation", "POST"): ("/admin/reconciliation/", ADMIN),
    # No report in the world: the admin gets 404 (after the role check, which others fail).
    ("admin.reconciliation_report", "GET"): ("/admin/reconciliation/987654", ADMIN_404),
    ("admin.reconciliation_lines_csv", "GET"): (
        "/admin/reconciliation/987654/lines.csv",
        ADMIN_404,
    ),
    ("admin.reconciliation_dispute", "POST"): (
        "/admin/reconciliation/lines/987654/dispute",
        ADMIN_404,
    ),
    ("admin.reconciliation_resolve", "POST"): (
        "/admin/reconciliation/disputes/987654/resolve",
        ADMIN_404,
    ),
    # The partner API authenticates by HMAC signature, never by the session: 401 unsigned.
    ("api.catalog", "GET"): ("/api/v1/catalog", every(401)),
    ("api.docs", "GET"): ("/api/v1/docs", PUBLIC),
    ("api.event", "GET"): ("/api/v1/events/abc", every(401)),
    ("api.media", "GET"): ("/api/v1/media/not-a-token", every(404)),
    ("api.not_found", "GET"): ("/api/v1/nothing", every(404)),
    ("api.not_found", "POST"): ("/api/v1/nothing", every(404)),
    ("api.not_found", "PUT"): ("/api/v1/nothing", every(404)),
    ("api.not_found", "PATCH"): ("/api/v1/nothing", every(404)),
    ("api.not_found", "DELETE"): ("/api/v1/nothing", every(404)),
    ("api.openapi_json", "GET"): ("/api/v1/openapi.json", PUBLIC),
    ("api.refunds", "POST"): ("/api/v1/refunds", every(401)),
    ("api.revenue_pools", "POST"): ("/api/v1/revenue-pools", every(401)),
    ("api.unlocks", "POST"): ("/api/v1/unlocks", every(401)),
    ("reconciliation_api.upload_report", "POST"): ("/api/v1/settlements/reports", every(401)),
    ("reconciliation_api.report", "GET"): ("/api/v1/settlements/reports/1", every(401)),
    ("settlements_api.settlements", "GET"): ("/api/v1/settlements", every(401)),
    ("settlements_api.settlement", "GET"): ("/api/v1/settlements/1", every(401)),
    ("auth.change_password", "GET"): ("/auth/password", ANY_USER),
    ("auth.change_password", "POST"): ("/auth/password", ANY_USER),
    ("auth.login", "GET"): ("/auth/login", PUBLIC),
    ("auth.notifications", "GET"): ("/auth/notifications", ANY_USER),
    ("auth.notifications", "POST"): ("/auth/notifications", ANY_USER),
    ("auth.settings", "GET"): ("/auth/settings", ANY_USER),
    ("auth.settings", "POST"): ("/auth/settings", ANY_USER),
    ("auth.login", "POST"): ("/auth/login", PUBLIC),
    ("auth.logout", "POST"): ("/auth/logout", PUBLIC),
    ("auth.logout_everywhere", "POST"): ("/auth/logout-everywhere", ANY_USER),
    ("auth.confirm", "GET"): ("/auth/confirm/bad-token", every(404)),
    ("auth.confirm", "POST"): ("/auth/confirm/bad-token", every(404)),
    ("auth.signup", "GET"): ("/auth/signup", PUBLIC),
    ("auth.signup", "POST"): ("/auth/signup", PUBLIC),
    ("earnings.dashboard", "GET"): ("/earnings/", PAYEES),
    ("earnings.series_list", "GET"): ("/earnings/series", PAYEES),
    ("earnings.statement", "GET"): ("/earnings/statement?month=2026-01", PAYEES),
    ("earnings.statement_line", "GET"): (
        "/earnings/statement/lines?month=2026-01&currency=USD&line=earning&series_id={series}"
        "&episode=7&partner_id={partner}&country=US&kind=unlock",
        NO_EARNINGS_404,
    ),
    ("earnings.statement_csv_download", "GET"): (
        "/earnings/statement.csv?month=2026-01&currency=USD",
        NO_EARNINGS_404,
    ),
    ("earnings.statement_pdf_download", "GET"): (
        "/earnings/statement.pdf?month=2026-01&currency=USD",
        NO_EARNINGS_404,
    ),
    ("main.healthz", "GET"): ("/healthz", PUBLIC),
    ("main.home", "GET"): ("/home", ANY_USER),
    ("main.index", "GET"): ("/", PUBLIC),
    ("payouts.annual_summary", "GET"): ("/payouts/annual-summary/2026.pdf", PAYEES),
    ("payouts.connect", "POST"): ("/payouts/connect", PAYEES),
    ("payouts.dev_onboarding", "GET"): ("/payouts/dev/stripe-onboarding/acct_x/bad", every(404)),
    ("payouts.dev_onboarding", "POST"): ("/payouts/dev/stripe-onboarding/acct_x/bad", every(404)),
    ("payouts.index", "GET"): ("/payouts/", PAYEES),
    ("payouts.onboarding_refresh", "GET"): ("/payouts/refresh", PAYEES),
    ("payouts.onboarding_return", "GET"): ("/payouts/return", PAYEES),
    ("static", "GET"): ("/static/vendor/chartjs/chart.umd.min.js", PUBLIC),
    ("tax.profile", "GET"): ("/tax/", PAYEES),
    ("tax.w8ben", "GET"): ("/tax/w8ben", PAYEES),
    ("tax.w8ben", "POST"): ("/tax/w8ben", PAYEES),
    ("tax.w9", "GET"): ("/tax/w9", PAYEES),
    ("tax.w9", "POST"): ("/tax/w9", PAYEES),
    ("stripe_webhooks.stripe_webhook", "POST"): ("/stripe/webhook", every(400)),
    ("splits.accept_invitation", "POST"): (
        "/studio/invitations/bad-token/accept",
        {**every(404), "anonymous": LOGIN, "admin": 403},
    ),
    ("studio.delete_episode", "POST"): ("/studio/episodes/{episode}/delete", CREATOR_OWNS),
    ("studio.edit_episode", "GET"): ("/studio/episodes/{episode}/edit", CREATOR_OWNS),
    ("studio.edit_episode", "POST"): ("/studio/episodes/{episode}/edit", CREATOR_OWNS),
    ("studio.edit_series", "GET"): ("/studio/series/{series}/edit", CREATOR_OWNS),
    ("studio.edit_series", "POST"): ("/studio/series/{series}/edit", CREATOR_OWNS),
    ("publishing.import_series", "GET"): ("/studio/import", CREATOR_ONLY),
    ("publishing.import_series", "POST"): ("/studio/import", CREATOR_ONLY),
    ("studio.index", "GET"): ("/studio/", CREATOR_ONLY),
    ("splits.invitation", "GET"): ("/studio/invitations/bad-token", every(404)),
    ("studio.localize", "GET"): ("/studio/series/{series}/localize", CREATOR_OWNS),
    ("studio.localize", "POST"): ("/studio/series/{series}/localize", CREATOR_OWNS),
    ("studio.media", "GET"): ("/studio/media/{episode}", NO_FILE),
    ("studio.move_episode", "POST"): ("/studio/episodes/{episode}/move/down", CREATOR_OWNS),
    ("studio.new_episode", "GET"): ("/studio/series/{series}/episodes/new", CREATOR_OWNS),
    ("studio.reorder_episodes", "POST"): ("/studio/series/{series}/episodes/order", CREATOR_OWNS),
    ("studio.new_episode", "POST"): ("/studio/series/{series}/episodes/new", CREATOR_OWNS),
    ("studio.new_series", "GET"): ("/studio/series/new", CREATOR_ONLY),
    ("studio.new_series", "POST"): ("/studio/series/new", CREATOR_ONLY),
    ("studio.poster", "GET"): ("/studio/posters/{series}", NO_FILE),
    ("studio.pricing", "GET"): ("/studio/series/{series}/pricing", CREATOR_OWNS),
    ("studio.pricing", "POST"): ("/studio/series/{series}/pricing", CREATOR_OWNS),
    ("publishing.publish", "GET"): ("/studio/series/{series}/publish", CREATOR_OWNS),
    ("publishing.publish", "POST"): ("/studio/series/{series}/publish", CREATOR_OWNS),
    ("splits.resend_invitation", "POST"): ("/studio/members/{member}/resend", CREATOR_OWNS),
    ("publishing.series_detail", "GET"): ("/studio/series/{series}", CREATOR_OWNS),
    ("dashboard.series_dashboard_page", "GET"): ("/studio/series/{series}/dashboard", CREATOR_OWNS),
    ("splits.plan", "GET"): ("/studio/series/{series}/plan", CREATOR_OWNS),
    ("splits.plan", "POST"): ("/studio/series/{series}/plan", CREATOR_OWNS),
    # Nobody in the world was asked to consent to a plan: payees find none (404).
    ("splits.plan_consent", "GET"): (
        "/studio/plans/987654/consent",
        {**every(404), "anonymous": LOGIN, "admin": 403},
    ),
    ("splits.plan_consent", "POST"): (
        "/studio/plans/987654/consent",
        {**every(404), "anonymous": LOGIN, "admin": 403},
    ),
    ("splits.split", "GET"): ("/studio/series/{series}/split", CREATOR_OWNS),
    ("splits.split", "POST"): ("/studio/series/{series}/split", CREATOR_OWNS),
    ("publishing.withdraw", "POST"): ("/studio/listings/{listing}/withdraw", CREATOR_OWNS),
    ("api.bundles", "POST"): ("/api/v1/bundles", every(401)),
    ("api.coin_unlocks", "POST"): ("/api/v1/coin-unlocks", every(401)),
    ("api.purchases", "POST"): ("/api/v1/purchases", every(401)),
    ("api.views", "POST"): ("/api/v1/views", every(401)),
    ("dashboard.series_analytics_page", "GET"): (
        "/studio/series/{series}/analytics",
        CREATOR_OWNS,
    ),
    ("dashboard.series_analytics_csv", "GET"): (
        "/studio/series/{series}/analytics.csv",
        CREATOR_OWNS,
    ),
    ("splits.remake", "GET"): ("/studio/series/{series}/remake", CREATOR_OWNS),
    ("splits.remake", "POST"): ("/studio/series/{series}/remake", CREATOR_OWNS),
}
SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def test_the_table_names_every_route(app):
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - SKIPPED_METHODS
    }
    assert routes - EXPECTED.keys() == set(), "routes without an expected status"
    assert EXPECTED.keys() - routes == set(), "expectations for routes that do not exist"


def outcome(response) -> str | int:
    """login (redirect to the login page), 401/403/404/405/400, or ok."""
    if response.status_code in (301, 302, 303) and "/auth/login" in response.location:
        return LOGIN
    if response.status_code in (400, 401, 403, 404, 405) or response.status_code >= 500:
        return response.status_code
    return OK


@pytest.fixture
def objects(db, world):
    """Ids for the URL templates: the creator's objects, a payout batch and line."""
    world.unlock(T0 + timedelta(hours=1), gross=1000)
    batch = PayoutBatch(period_key="auth-test", as_of=T0, status="draft")
    db.session.add(batch)
    db.session.flush()
    line = PayoutLine(batch_id=batch.id, user_id=world.participant.id, payee="p",
                      currency="USD", amount=0, status="excluded", reason="test")  # fmt: skip
    db.session.add(line)
    db.session.flush()
    from sqlalchemy import select

    from ledger.schema import AllocationRun

    entry = db.session.scalar(select(AllocationRun.entry_id).limit(1))
    return {
        "series": world.series.id,
        "episode": world.episode.id,
        "listing": world.listing.id,
        "member": world.escrow.id,
        "partner": world.partners[0].id,
        "batch": batch.id,
        "line": line.id,
        "account": world.account(world.member),
        "entry": entry,
    }


@pytest.mark.parametrize("route", sorted(EXPECTED), ids=lambda r: f"{r[0]}-{r[1]}")
def test_every_route_for_every_role(client, login_as, world, objects, route):
    method = route[1]
    template, expected = EXPECTED[route]
    path = template.format(**objects)
    seen = {}
    for role in ROLES:
        with client.session_transaction() as session:
            session.clear()
        if role != "anonymous":
            login_as(getattr(world, role))
        response = client.open(path, method=method, data={})
        seen[role] = outcome(response)
    assert seen == expected, f"{method} {path}"
