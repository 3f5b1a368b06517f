"""Response headers: a strict Content-Security-Policy the pages live with, HSTS in production,
no-store on pages of a logged-in user, and X-Forwarded-* trusted only behind TRUSTED_PROXIES."""

from __future__ import annotations

import re

from flask import url_for

from marketplace import create_app


def test_the_policy_allows_scripts_and_styles_from_this_site_only(client, db):
    policy = client.get("/auth/login").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_no_template_holds_an_inline_script_handler_or_style(app):
    inline = re.compile(
        r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style\b", re.IGNORECASE
    )
    found = []
    for name in app.jinja_env.list_templates():
        if name.endswith(".html"):
            source = app.jinja_env.loader.get_source(app.jinja_env, name)[0]
            found += [(name, m.group(0)) for m in inline.finditer(source)]
    assert found == []


def test_pages_of_a_logged_in_user_are_not_stored(client, db, login_as, make_participant):
    assert "no-store" not in client.get("/auth/login").headers.get("Cache-Control", "")
    login_as(make_participant())
    for path in ("/earnings/", "/payouts/", "/auth/password"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store", path
    static = client.get("/static/css/app.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_hsts_only_when_configured(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/h.db",
                      "HSTS_SECONDS": 31536000})  # fmt: skip
    hsts = app.test_client().get("/healthz").headers["Strict-Transport-Security"]
    assert hsts == "max-age=31536000; includeSubDomains"
    plain = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db"})
    assert "Strict-Transport-Security" not in plain.test_client().get("/healthz").headers


def _external_url(app, headers):
    seen = {}

    @app.get("/_probe")
    def probe():
        seen["url"] = url_for("payouts.onboarding_return", _external=True)
        return "ok"

    app.test_client().get("/_probe", headers=headers)
    return seen["url"]


def test_behind_a_trusted_proxy_links_are_https_and_otherwise_forwarded_headers_are_ignored(
    tmp_path,
):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "cliffhanger.example",
                 "X-Forwarded-For": "203.0.113.9"}  # fmt: skip
    behind = create_app({"TESTING": True, "TRUSTED_PROXIES": 1,
                         "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/a.db"})  # fmt: skip
    assert _external_url(behind, forwarded) == "https://cliffhanger.example/payouts/return"
    direct = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/b.db"})
    assert _external_url(direct, forwarded) == "http://localhost/payouts/return"
