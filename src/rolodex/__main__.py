"""Allow `python -m rolodex`."""

from rolodex.cli.main import main

main()
