"""Mail to a series' team when its split sheet changes (everyone in the new version, except
whoever made the change and those just invited, whose invitation says it all)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace.accounts.services import language_of
from marketplace.formatting import percent, speaking
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
    for share in version.shares:
        member = members[share.member_id]
        if member.email in skip:
            continue
        with speaking(language_of(session, member.email)):
            table = "\n".join(
                f"- {members[s.member_id].credit_name} ({members[s.member_id].role}): "
                f"{percent(s.bps)}"
                for s in version.shares
            )
            subject = _('The split of "%(series)s" changed', series=series.title)
            body = _(
                'The split sheet of "%(series)s" changed (version %(number)s, from %(since)s '
                "UTC). Your share is now %(share)s of the participants' revenue.\n\n"
                "%(table)s\n\nYour earnings: %(link)s\n",
                series=series.title, number=version.number,
                since=f"{version.effective_from:%Y-%m-%d %H:%M}", share=percent(share.bps),
                table=table, link=absolute("/earnings/"),
            )
        queue_mail(
            session,
            to=member.email,
            subject=subject,
            body=body,
            kind="split.changed",
            dedupe_key=f"split:{series.id}:{version.number}:{member.id}",
        )
