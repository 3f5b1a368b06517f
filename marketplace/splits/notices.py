"""Mail to a series' team when its split sheet changes (everyone in the new version, except
whoever made the change and those just invited, whose invitation says it all)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from marketplace.formatting import percent
from marketplace.mail import queue_mail
from marketplace.navigation import absolute
from marketplace.splits.models import SplitVersion, TeamMember
from marketplace.studio.models import Series


def notify_split_changed(
    session: Session, series: Series, version: SplitVersion, *, skip: set[str]
) -> None:
    """Queue one "split changed" mail per member of the new version not in `skip` (emails)."""
    if version.number <= 1:
        return
    members = {s.member_id: session.get_one(TeamMember, s.member_id) for s in version.shares}
    table = "\n".join(
        f"- {members[s.member_id].credit_name} ({members[s.member_id].role}): {percent(s.bps)}"
        for s in version.shares
    )
    for share in version.shares:
        member = members[share.member_id]
        if member.email in skip:
            continue
        queue_mail(
            session,
            to=member.email,
            subject=f'The split of "{series.title}" changed',
            body=(
                f'The split sheet of "{series.title}" changed (version {version.number}, '
                f"from {version.effective_from:%Y-%m-%d %H:%M} UTC). Your share is now "
                f"{percent(share.bps)} of the participants' revenue.\n\n{table}\n\n"
                f"Your earnings: {absolute('/earnings/')}\n"
            ),
            kind="split.changed",
            dedupe_key=f"split:{series.id}:{version.number}:{member.id}",
        )
