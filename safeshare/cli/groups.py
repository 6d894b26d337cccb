"""How safeshare's command groups behave: every command takes `--user` after its name too, and a
group given no command says so in one sentence."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from safeshare.cli.user import user_option


class Commands(TyperGroup):
    """safeshare's command groups: every command also takes `--user` after its name, and a
    group given no command says so in one sentence instead of printing its help."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if (
            command is not None
            and not isinstance(command, TyperGroup)
            and not any(p.name == "user" for p in command.params)
        ):
            command.params.append(user_option())
        return command

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args and ctx.parent is not None and not ctx.resilient_parsing:
            # a usage mistake (exit 2) in one sentence, not the group's help
            ctx.fail(f"say which command: {', '.join(self.list_commands(ctx))}.")
        return super().parse_args(ctx, args)


def group(help: str) -> typer.Typer:
    return typer.Typer(cls=Commands, no_args_is_help=True, help=help)
