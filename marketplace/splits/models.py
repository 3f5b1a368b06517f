"""Who shares a series' revenue: team members, split versions and their shares; revenue
plans (recoupment waterfalls) and the budget lines they repay."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.schema import UTCDateTime
from marketplace.clock import utcnow
from marketplace.extensions import Model

PARTICIPANT_ROLES = ("writer", "actor", "director", "producer", "editor", "composer", "other")


class TeamMember(Model):
    """A person on a series' team: an existing user, or someone invited by email.

    Until the invitation is accepted (user_id set, accepted_at set), their share is earned into
    an escrow account of this membership; it is never paid and never moved to someone else.
    Fields: email (normalised), user_id (NULL until accepted), credit_name, role,
    invited_at, invitation_expires_at (30 days after the last (re-)send), accepted_at,
    invitation_nonce (changes on re-send so older links stop working).
    """

    __tablename__ = "team_members"
    __table_args__ = (
        UniqueConstraint("series_id", "email"),
        CheckConstraint(
            "role IN ('writer', 'actor', 'director', 'producer', 'editor', 'composer', 'other')",
            name="role_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    credit_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    invitation_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invitation_nonce: Mapped[str] = mapped_column(String(32), default="")
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def accepted(self) -> bool:
        """Whether the person has accepted (their money goes to their own payable)."""
        return self.accepted_at is not None and self.user_id is not None


class SplitVersion(Model):
    """One version of a series' split sheet; editing makes a new version effective from now.

    Money already posted keeps the version it was posted under (each version is its own
    allocation bucket in the ledger). Fields: number (1, 2, ...), platform_fee_bps (from
    PLATFORM_FEE_BPS when the version was made), effective_from, created_by.
    """

    __tablename__ = "split_versions"
    __table_args__ = (
        UniqueConstraint("series_id", "number"),
        CheckConstraint(
            "platform_fee_bps >= 0 AND platform_fee_bps <= 10000", name="platform_fee_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    platform_fee_bps: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    shares: Mapped[list[SplitShare]] = relationship(
        back_populates="version", order_by="SplitShare.member_id", cascade="all, delete-orphan"
    )


class SplitShare(Model):
    """A team member's basis points in one split version (the version's shares sum to 10000)."""

    __tablename__ = "split_shares"
    __table_args__ = (
        UniqueConstraint("version_id", "member_id"),
        CheckConstraint("bps > 0 AND bps <= 10000", name="bps_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("split_versions.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("team_members.id"), index=True)
    bps: Mapped[int] = mapped_column(Integer)

    version: Mapped[SplitVersion] = relationship(back_populates="shares")
    member: Mapped[TeamMember] = relationship()


class BudgetLine(Model):
    """A cost of a series the creator recorded, repaid in a recoupment tier to its holder.

    Fields: tier (the recoupment tier it is repaid in, 1 = first), description, amount
    (positive minor units of `currency`, the series' currency), holder_id (the team member
    who carries the cost: the creator's own membership or an investor's), receipt_url
    (optional), created_by_id, created_at. A plan copies the lines into its tiers' holders.
    """

    __tablename__ = "budget_lines"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("tier >= 1", name="tier_positive"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    tier: Mapped[int] = mapped_column(Integer, default=1)
    description: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    holder_id: Mapped[int] = mapped_column(ForeignKey("team_members.id"))
    receipt_url: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    holder: Mapped[TeamMember] = relationship()


class RevenuePlan(Model):
    """One version of a series' revenue waterfall: recoupment tiers, advances, profit split.

    Like split versions, a plan takes effect in the future only (effective_from >= the moment
    it is made) and is never rewritten: a change is a new version, which starts its own
    waterfall (its tiers carry what is still to be repaid). Events of the series in the plan's
    currency that happen from effective_from go through it (marketplace.ingest.revenue).
    Fields: number (1, 2, ...), currency (the series' currency), effective_from, created_by_id,
    status ("active"; "pending" while members whose share it lowers have not all accepted, until
    `deadline`; "declined" or "expired" plans never take effect), deadline, decided_at (when
    it became active, declined or expired). A pending plan's effective_from becomes the moment
    the last acceptance arrives.
    """

    __tablename__ = "revenue_plans"
    __table_args__ = (
        UniqueConstraint("series_id", "number"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint(
            "status IN ('pending', 'active', 'declined', 'expired')", name="status_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="active")
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    consents: Mapped[list[PlanConsent]] = relationship(
        order_by="PlanConsent.member_id", cascade="all, delete-orphan"
    )
    tiers: Mapped[list[PlanTier]] = relationship(
        order_by="PlanTier.position", cascade="all, delete-orphan"
    )
    shares: Mapped[list[PlanShare]] = relationship(
        order_by="PlanShare.member_id", cascade="all, delete-orphan"
    )
    advances: Mapped[list[PlanAdvance]] = relationship(
        order_by="PlanAdvance.id", cascade="all, delete-orphan"
    )
    guarantees: Mapped[list[PlanGuarantee]] = relationship(
        cascade="all, delete-orphan", order_by="PlanGuarantee.id"
    )
    royalties: Mapped[list[PlanRoyalty]] = relationship(
        cascade="all, delete-orphan", order_by="PlanRoyalty.member_id"
    )


class PlanTier(Model):
    """A recoupment tier of a plan: position (1 = repaid first), premium_bps (10000-100000)."""

    __tablename__ = "plan_tiers"
    __table_args__ = (
        UniqueConstraint("plan_id", "position"),
        CheckConstraint("position >= 1", name="position_positive"),
        CheckConstraint("premium_bps >= 10000 AND premium_bps <= 100000", name="premium_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("revenue_plans.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    premium_bps: Mapped[int] = mapped_column(Integer, default=10_000)

    holders: Mapped[list[PlanHolder]] = relationship(
        order_by="PlanHolder.member_id", cascade="all, delete-orphan"
    )


class PlanHolder(Model):
    """A cost holder of a tier: the member and the costs (summed from budget lines) repaid."""

    __tablename__ = "plan_holders"
    __table_args__ = (
        UniqueConstraint("tier_id", "member_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tier_id: Mapped[int] = mapped_column(ForeignKey("plan_tiers.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("team_members.id"))
    amount: Mapped[int] = mapped_column(BigInteger)

    member: Mapped[TeamMember] = relationship()


class PlanShare(Model):
    """A member's basis points of a plan's profit split (a plan's shares sum to 10000)."""

    __tablename__ = "plan_shares"
    __table_args__ = (
        UniqueConstraint("plan_id", "member_id"),
        CheckConstraint("bps > 0 AND bps <= 10000", name="bps_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("revenue_plans.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("team_members.id"))
    bps: Mapped[int] = mapped_column(Integer)

    member: Mapped[TeamMember] = relationship()


class PlanAdvance(Model):
    """Money paid up front to a member (recipient) by another (payer), recovered from the
    recipient's earnings under the plan. Posted to the ledger when the plan is made (entry
    kind "advance": the payer's earnings to the recipient's); entry_id is that entry."""

    __tablename__ = "plan_advances"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("recipient_id <> payer_id", name="payer_not_recipient"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("revenue_plans.id"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("team_members.id"))
    payer_id: Mapped[int] = mapped_column(ForeignKey("team_members.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[int | None] = mapped_column(BigInteger)

    recipient: Mapped[TeamMember] = relationship(foreign_keys=[recipient_id])
    payer: Mapped[TeamMember] = relationship(foreign_keys=[payer_id])


class PlanConsent(Model):
    """A member's answer to a plan version that lowers her share or puts a tier ahead of her.

    Fields: reason (what the plan changes for her, in words), status (pending, accepted,
    declined), decided_at, decided_by_id (the user who answered).
    """

    __tablename__ = "plan_consents"
    __table_args__ = (
        UniqueConstraint("plan_id", "member_id"),
        CheckConstraint("status IN ('pending', 'accepted', 'declined')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("revenue_plans.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("team_members.id"))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    member: Mapped[TeamMember] = relationship()


class PlanGuarantee(Model):
    """A flat fee or minimum guarantee of a plan (ledger.allocation.guarantees): `amount` per
    period (month, episode, once) to the beneficiary, owed by the guarantor (the creator's
    membership) from his earnings first, the rest a guarantee payable until paid."""

    __tablename__ = "plan_guarantees"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("beneficiary_id <> guarantor_id", name="guarantor_not_beneficiary"),
        CheckConstraint("kind IN ('flat_fee', 'minimum')", name="kind_known"),
        CheckConstraint("period IN ('month', 'episode', 'once')", name="period_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("revenue_plans.id"), index=True)
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("team_members.id"))
    guarantor_id: Mapped[int] = mapped_column(ForeignKey("team_members.id"))
    kind: Mapped[str] = mapped_column(String(10))
    period: Mapped[str] = mapped_column(String(10))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))

    beneficiary: Mapped[TeamMember] = relationship(foreign_keys=[beneficiary_id])
    guarantor: Mapped[TeamMember] = relationship(foreign_keys=[guarantor_id])


class GuaranteeRun(Model):
    """One settlement of a guarantee (append-only), cumulative: periods due by `at`, the
    plan's pool then and the beneficiary's share of it (the waterfall's target), the dues,
    paid in all from the guarantor's earnings and still owed; entry_id is the ledger entry
    that moved the difference with the run before (NULL when nothing moved). `flask ledger
    check` replays them."""

    __tablename__ = "guarantee_runs"
    __table_args__ = (
        CheckConstraint("paid >= 0 AND owed >= 0 AND dues = paid + owed", name="dues_add_up"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    guarantee_id: Mapped[int] = mapped_column(ForeignKey("plan_guarantees.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    periods: Mapped[int] = mapped_column(Integer)
    pool: Mapped[int] = mapped_column(BigInteger)
    share: Mapped[int] = mapped_column(BigInteger)
    dues: Mapped[int] = mapped_column(BigInteger)
    paid: Mapped[int] = mapped_column(BigInteger)
    owed: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[int | None] = mapped_column(BigInteger)


class RemakeRoyalty(Model):
    """A royalty a localized version (the remake) declares, when it is made, to a member of
    its original's team: bps of the remake's participants' pool. Each revenue plan of the
    remake carries it (plan_royalties), so the remake's team accepts it like any plan."""

    __tablename__ = "remake_royalties"
    __table_args__ = (
        UniqueConstraint("series_id", "member_id"),
        CheckConstraint("bps > 0 AND bps < 10000", name="bps_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("team_members.id"), index=True)
    bps: Mapped[int] = mapped_column(Integer)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member: Mapped[TeamMember] = relationship()


class PlanRoyalty(Model):
    """A plan's royalty to a member of the original's team (copied from remake_royalties)."""

    __tablename__ = "plan_royalties"
    __table_args__ = (
        UniqueConstraint("plan_id", "member_id"),
        CheckConstraint("bps > 0 AND bps < 10000", name="bps_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("revenue_plans.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("team_members.id"))
    bps: Mapped[int] = mapped_column(Integer)

    member: Mapped[TeamMember] = relationship()
