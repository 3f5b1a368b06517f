"""`make run`: the web server and, beside it in processes of their own, the scheduler and the
ledger poster; they talk to a local SMTP server (aiosmtpd, in this process) unless MAIL_SERVER
is set, and are told PUBLIC_URL (the host and port served, unless set), so mail links point
at this server."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys


def child_environment(host: str, port: str, env: dict[str, str]) -> tuple[dict[str, str], object]:
    """The web server's and scheduler's environment, and the SMTP server started (or None)."""
    env = dict(env)
    link_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - a link, not a bind
    env.setdefault("PUBLIC_URL", f"http://{link_host}:{port}")
    smtp = None
    if not env.get("MAIL_SERVER"):
        from marketplace.demo.smtp import LocalSMTP

        smtp = LocalSMTP(echo=True).start()
        env.update({k: str(v) for k, v in smtp.config().items()})
        env["MAIL_USE_TLS"] = "0"
        print(
            f"Mail goes to a local SMTP server on 127.0.0.1:{smtp.port} (the admin's "
            "outbox shows each message)",
            flush=True,
        )
    return env, smtp


def main() -> int:
    """Start the scheduler and the ledger poster, and serve the site until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="5000")
    args = parser.parse_args()
    flask = [sys.executable, "-m", "flask"]  # this virtualenv's flask, whatever PATH says
    env, smtp = child_environment(args.host, str(args.port), dict(os.environ))

    helpers: list[subprocess.Popen] = []
    probe = subprocess.run([*flask, "scheduler", "--help"], capture_output=True, check=False)  # noqa: S603
    if probe.returncode == 0:
        helpers.append(subprocess.Popen([*flask, "scheduler", "run"], env=env))  # noqa: S603
    helpers.append(subprocess.Popen([*flask, "ledger", "post"], env=env))  # noqa: S603
    try:
        return subprocess.call(  # noqa: S603
            [*flask, "run", "--host", args.host, "--port", str(args.port)], env=env
        )
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in helpers:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if smtp is not None:
            smtp.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
