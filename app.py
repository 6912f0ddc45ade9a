"""Entry point: `python app.py` runs faqbot (Slack if tokens are set, else the local demo)."""

import sys

from faqbot.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
