"""The web app's typed models, one module per aggregate."""

from marketplace.models.audit import AuditEvent, OutboxMessage
from marketplace.models.partner import PartnerApiKey, PartnerApp
from marketplace.models.series import Episode, Listing, Series
from marketplace.models.split import PARTICIPANT_ROLES, SplitShare, SplitVersion, TeamMember
from marketplace.models.user import Role, User

__all__ = [
    "PARTICIPANT_ROLES",
    "AuditEvent",
    "Episode",
    "Listing",
    "OutboxMessage",
    "PartnerApiKey",
    "PartnerApp",
    "Role",
    "Series",
    "SplitShare",
    "SplitVersion",
    "TeamMember",
    "User",
]
