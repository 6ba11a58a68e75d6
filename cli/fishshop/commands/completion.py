"""``fishshop completion SHELL``: tab completion for bash, zsh or fish.

The script comes from argcomplete, which completes from the parser itself (commands,
options, choices such as scenarios), so it never falls behind the options.
"""

from __future__ import annotations

import argparse

from argcomplete.shell_integration import shellcode

from fishshop.options import Subparsers

__all__ = ["SHELLS", "register", "run"]

SHELLS = ("bash", "zsh", "fish")

EXAMPLES = """examples:
  eval "$(fishshop completion bash)"              # this bash; add it to ~/.bashrc to keep it
  eval "$(fishshop completion zsh)"               # zsh, in ~/.zshrc
  fishshop completion fish | source               # fish, in ~/.config/fish/config.fish
"""


def register(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "completion",
        help="print tab completion for bash, zsh or fish",
        description="Print a script that completes fishshop's commands and options.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete in")


def run(args: argparse.Namespace) -> int:
    print(shellcode(["fishshop"], shell=str(args.shell)), end="")
    return 0
