"""Pages found wrong in a walk through the demo: what they must show."""

from __future__ import annotations

import html
import re


def test_a_name_with_an_apostrophe_keeps_the_withdraw_confirmation(db, client, login_as, world):
    # The name went raw into confirm('...'): the script broke, and the click withdrew at once.
    world.partners[1].name = "Kim's </script> Shorts"
    db.session.flush()
    login_as(world.creator)
    page = client.get(f"/studio/series/{world.series.id}").get_data(as_text=True)
    handlers = re.findall(r"onsubmit='([^']*)'", page)
    withdraw = [html.unescape(h) for h in handlers if "Withdraw from" in h]
    assert len(withdraw) == 2
    assert any(
        'confirm("Withdraw from Kim\\u0027s \\u003c/script\\u003e Shorts?' in h for h in withdraw
    )
    assert "Kim's </script>" not in page


def test_the_ledgers_partner_overview_counts_active_keys(client, login_as, world):
    login_as(world.admin)
    page = client.get("/admin/ledger/partners").get_data(as_text=True)
    assert "built-in method" not in page
    assert re.search(r'<td class="num">\d+</td><td class="num">\d+</td>', page)
