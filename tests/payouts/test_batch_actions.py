"""The admin payout pages offer only the actions that apply: "Build today's batch" until
today's exists, "Send approved payouts" only when something is approved; confirmations say what
changed, and "already exists" is information, not a success."""

from __future__ import annotations

from html import unescape


def test_build_and_send_are_offered_only_while_they_apply(
    client, login_as, gateway, earn, connect, fund, make_participant, make_admin
):
    fund()
    user = make_participant(email="lead@example.test")
    earn(user, gross=4_000)
    connect(user)
    login_as(make_admin())
    assert "Build today's batch" in unescape(client.get("/admin/payouts").get_data(as_text=True))

    built = client.post("/admin/payouts/build", follow_redirects=True).get_data(as_text=True)
    assert 'flash-success">Batch built. 1 payouts proposed' in built
    assert "Send approved payouts" not in built  # a draft: approve first
    listing = unescape(client.get("/admin/payouts").get_data(as_text=True))
    assert "Build today's batch" not in listing and "Today's batch is built" in listing

    again = client.post("/admin/payouts/build", follow_redirects=True).get_data(as_text=True)
    assert "flash-info" in again and "already exists: here it is." in again
    assert "flash-success" not in again

    batch_id = int(again.split("Payout batch #", 1)[1].split(" ", 1)[0])
    approved = client.post(f"/admin/payouts/{batch_id}/approve", follow_redirects=True).get_data(
        as_text=True
    )
    assert "1 approved payout ready to send." in approved
    assert "Send approved payouts" in approved

    sent = client.post(f"/admin/payouts/{batch_id}/execute", follow_redirects=True).get_data(
        as_text=True
    )
    assert 'flash-success">Sent 1, failed 0, to retry 0.' in sent
    assert "Send approved payouts" not in sent and "Resume unfinished payouts" not in sent
    assert "Nothing left to send" in sent


def test_rejecting_a_line_says_whose_money_returned(
    client, login_as, gateway, earn, connect, make_participant, make_admin
):
    user = make_participant(email="grip@example.test")
    earn(user, gross=4_000)
    connect(user)
    login_as(make_admin())
    page = client.post("/admin/payouts/build", follow_redirects=True).get_data(as_text=True)
    line_id = int(page.split("/admin/payouts/lines/", 1)[1].split("/", 1)[0])
    page = client.post(
        f"/admin/payouts/lines/{line_id}/reject",
        data={"reason": "Duplicate"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Line rejected: $40.00 for grip@example.test is back on their balance." in page
