"""The creator studio's use cases in one place (for the web app, the CLI and demo data).

The work is done in services.series, splits, invitations, publishing and manifest; this
module only gathers their public functions.
"""

from marketplace.services.invitations import (
    accept_invitation,
    invitation_link,
    invitation_token,
    read_invitation,
    resend_invitation,
)
from marketplace.services.manifest import DirectoryFiles, UploadedFiles, import_manifest
from marketplace.services.publishing import publish_series, withdraw_listing
from marketplace.services.series import (
    add_episode,
    create_localized_version,
    create_series,
    set_pricing,
    update_episode,
)
from marketplace.services.splits import current_split, save_split

invite = resend_invitation  # a (re-)invitation of an existing team member

__all__ = [
    "DirectoryFiles",
    "UploadedFiles",
    "accept_invitation",
    "add_episode",
    "create_localized_version",
    "create_series",
    "current_split",
    "import_manifest",
    "invitation_link",
    "invitation_token",
    "invite",
    "publish_series",
    "read_invitation",
    "resend_invitation",
    "save_split",
    "set_pricing",
    "update_episode",
    "withdraw_listing",
]
