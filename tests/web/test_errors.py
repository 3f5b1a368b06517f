"""Friendly error pages that never show a stack trace."""

from marketplace import create_app


def test_404_is_friendly(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert b"Not found" in response.data and b"Traceback" not in response.data


def test_500_is_friendly_and_has_no_stack_trace(tmp_path):
    app = create_app(
        {"TESTING": False, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"}
    )

    @app.get("/__boom_for_test")
    def boom():  # pragma: no cover - exercised through the client
        raise RuntimeError("secret internals")

    response = app.test_client().get("/__boom_for_test")
    assert response.status_code == 500
    assert b"Something went wrong" in response.data
    assert b"secret internals" not in response.data and b"Traceback" not in response.data


def test_landing_page_is_phone_first(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b'name="viewport" content="width=device-width, initial-scale=1"' in response.data
