"""`digestbot`: stdout is the product, logs and progress go to stderr. Exit 0 done, 1 job failed, 2 bad usage.

One module per command (or small group); what they share is in common.py, the assembly of the bot in
bot/wiring.py. A chat platform may add its own commands (ChatPlatform.add_commands).
"""

from __future__ import annotations

import sys

import typer

from bot.cli import ask, build, post, run, serve, status, store
from bot.cli.common import echo_err
from bot.platform import registry
from digest.settings import ConfigError

app = typer.Typer(
    name="digestbot",
    help="Daily top-5 AI papers with Korean briefs, for the chat platforms (Slack, Telegram).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(build.build)
app.command()(build.demo)
app.command()(serve.serve)
app.command()(ask.ask)
app.command()(ask.shell)
app.add_typer(store.store_app, name="store")
app.command()(post.post)
app.command("run")(run.run_bot)
app.command()(status.status)
for _name in registry.names():
    registry.adapter(_name).add_commands(app)


def main() -> None:
    try:
        app()
    except ConfigError as exc:  # a setting read lazily after start-up
        echo_err(f"digestbot: {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
