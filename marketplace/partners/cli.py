"""`flask partners ...`: create partner apps and rotate their keys from the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import select

from marketplace.errors import CommandFailed, ServiceError
from marketplace.extensions import db
from marketplace.partners.contracts import add_contract_version, contracts_of, partner_named
from marketplace.partners.models import PartnerApp
from marketplace.partners.services import create_partner, revoke_key, rotate_key

partners_cli = AppGroup("partners", help="Manage partner apps and their API keys.")


@partners_cli.command("create")
@click.option("--name", required=True)
@click.option("--currency", default="USD", show_default=True)
@click.option("--share-bps", type=int, required=True, help="partner's share of each unlock")
@click.option("--hold-days", type=int, default=7, show_default=True)
def create(name: str, currency: str, share_bps: int, hold_days: int) -> None:
    """Create a partner app; prints {"id", "key_id", "secret"} (the secret only this once)."""
    try:
        partner, key_id, secret = create_partner(
            db.session(), name=name, currency=currency, share_bps=share_bps, hold_days=hold_days
        )
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    click.echo(json.dumps({"id": partner.id, "key_id": key_id, "secret": secret}))


@partners_cli.command("rotate-key")
@click.option("--name", required=True)
@click.option(
    "--grace-hours",
    type=click.IntRange(min=0),
    default=None,
    help="how long the old key keeps working (default API_KEY_GRACE_HOURS, 24)",
)
def rotate(name: str, grace_hours: int | None) -> None:
    """Issue a new key (the old one works API_KEY_GRACE_HOURS more); prints {"id", "key_id",
    "secret"}."""
    partner = db.session.scalar(select(PartnerApp).where(PartnerApp.name == name))
    if partner is None:
        raise CommandFailed(f"no partner app named {name!r}")
    grace = None if grace_hours is None else timedelta(hours=grace_hours)
    key_id, secret = rotate_key(db.session(), partner, None, grace=grace)
    click.echo(json.dumps({"id": partner.id, "key_id": key_id, "secret": secret}))


@partners_cli.command("revoke-key")
@click.option("--key-id", required=True, help="the key id (ck_...) to refuse from now on")
@click.option("--reason", required=True, help="why (kept in the audit log)")
def revoke(key_id: str, reason: str) -> None:
    """Revoke a key at once: requests signed with it are refused; prints {"key_id",
    "revoked_at"}."""
    try:
        key = revoke_key(db.session(), key_id, None, reason=reason)
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    revoked_at = key.revoked_at
    assert revoked_at is not None  # revoke_key just set it
    click.echo(json.dumps({"key_id": key.key_id, "revoked_at": revoked_at.isoformat()}))


@partners_cli.command("contract")
@click.argument("name")
@click.option(
    "--effective-from", required=True, help="ISO 8601 moment in the future (UTC if no offset)"
)
@click.option("--share-bps", type=int, default=None, help="partner's share of each unlock")
@click.option("--hold-days", type=int, default=None)
@click.option("--period", type=click.Choice(["monthly", "weekly"]), default=None)
@click.option("--net-days", type=int, default=None, help="statement due N days after its period")
@click.option("--payout-policy", type=click.Choice(["advance", "collected"]), default=None)
def contract(
    name: str,
    effective_from: str,
    share_bps: int | None,
    hold_days: int | None,
    period: str | None,
    net_days: int | None,
    payout_policy: str | None,
) -> None:
    """Add a contract version taking effect in the future (unchanged terms carry over); prints
    every version as JSON."""
    try:
        moment = datetime.fromisoformat(effective_from)
    except ValueError:
        raise CommandFailed(
            f"--effective-from: {effective_from!r} is not an ISO 8601 moment"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    session = db.session()
    try:
        partner = partner_named(session, name)
        add_contract_version(
            session,
            partner,
            effective_from=moment,
            share_bps=share_bps,
            hold_days=hold_days,
            period=period,
            net_days=net_days,
            payout_policy=payout_policy,
        )
    except ServiceError as error:
        raise CommandFailed(error.message) from None
    click.echo(json.dumps([contract_json(c) for c in contracts_of(session, partner.id)]))


def contract_json(contract) -> dict:
    """One contract version as JSON."""
    return {
        "number": contract.number,
        "effective_from": contract.effective_from.isoformat(),
        "share_bps": contract.share_bps,
        "hold_days": contract.hold_days,
        "currency": contract.currency,
        "period": contract.period,
        "net_days": contract.net_days,
        "payout_policy": contract.payout_policy,
    }
