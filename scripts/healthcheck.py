#!/usr/bin/env python3
"""The container's HEALTHCHECK: GET /healthz (or the path given) on 127.0.0.1; exit 0 on 200.

HTTP mode serves it on PORT; Socket Mode on FAQBOT_HEALTH_PORT when that is set (not 0), else
on PORT too (see faqbot.slack.health). Standard library only, so the image needs no curl.
"""

from __future__ import annotations

import os
import sys
import urllib.request

DEFAULT_PORT = 3000


def health_port(env: dict[str, str]) -> int:
    """The port the running app serves /healthz on, from the same variables it reads."""
    port = int(env.get("PORT") or env.get("FAQBOT_PORT") or DEFAULT_PORT)
    health = env.get("FAQBOT_HEALTH_PORT", "")
    if env.get("SLACK_APP_TOKEN") and health not in ("", "0"):
        return int(health)
    return port


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/healthz"
    url = f"http://127.0.0.1:{health_port(dict(os.environ))}{path}"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError:  # refused, timed out, or an HTTP error status
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
