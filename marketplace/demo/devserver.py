"""`make run`: the web server and, beside it in processes of their own, the scheduler and the
ledger poster."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys


def main() -> int:
    """Start the scheduler and the ledger poster, and serve the site until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="5000")
    args = parser.parse_args()
    flask = [sys.executable, "-m", "flask"]  # this virtualenv's flask, whatever PATH says

    helpers: list[subprocess.Popen] = []
    probe = subprocess.run([*flask, "scheduler", "--help"], capture_output=True, check=False)  # noqa: S603
    if probe.returncode == 0:
        helpers.append(subprocess.Popen([*flask, "scheduler", "run"]))  # noqa: S603
    helpers.append(subprocess.Popen([*flask, "ledger", "post"]))  # noqa: S603
    try:
        return subprocess.call([*flask, "run", "--host", args.host, "--port", str(args.port)])  # noqa: S603
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in helpers:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
