"""`python -m meshc` runs the command line."""

from meshc.cli import main

if __name__ == "__main__":
    main(prog_name="meshc")
