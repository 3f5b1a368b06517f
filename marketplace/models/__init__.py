"""The web app's typed models, one module per aggregate."""

from marketplace.models.audit import AuditEvent, OutboxMessage
from marketplace.models.partner import PartnerApiKey, PartnerApp
from marketplace.models.partner_events import PartnerEvent, PartnerEventRejection
from marketplace.models.payouts import (
    PayoutAccount,
    PayoutApproval,
    PayoutBatch,
    PayoutLine,
    StripeWebhookEvent,
)
from marketplace.models.series import (
    Episode,
    FreeEpisodesChange,
    Listing,
    ListingWindow,
    Series,
)
from marketplace.models.split import PARTICIPANT_ROLES, SplitShare, SplitVersion, TeamMember
from marketplace.models.user import Role, User

__all__ = [
    "PARTICIPANT_ROLES",
    "AuditEvent",
    "Episode",
    "FreeEpisodesChange",
    "Listing",
    "ListingWindow",
    "OutboxMessage",
    "PartnerApiKey",
    "PartnerApp",
    "PartnerEvent",
    "PartnerEventRejection",
    "PayoutAccount",
    "PayoutApproval",
    "PayoutBatch",
    "PayoutLine",
    "Role",
    "Series",
    "SplitShare",
    "SplitVersion",
    "StripeWebhookEvent",
    "TeamMember",
    "User",
]
