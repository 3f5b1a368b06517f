"""The route audit's world (`cast`: users of every role, partner apps, a published series, a
payout batch) for every test of the web pages."""

from tests.web.test_route_audit import cast, stripe_emulator  # noqa: F401 - fixtures
