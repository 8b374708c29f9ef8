"""`python -m selfdata` runs the command line."""

from selfdata.cli import main

main()
