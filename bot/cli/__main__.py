"""`python -m bot.cli`, as the console script `digestbot`."""

from bot.cli import main

main()
