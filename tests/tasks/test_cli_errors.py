"""The console script says every mistake in one sentence on stderr: the shell's own usage
mistakes (a missing argument, a value not allowed, an unknown command or step) as well as the
commands' own refusals; a fault nobody foresaw is one sentence too, its traceback kept in an
owner-only log in the data directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from foundations.settings import Settings, settings_in_force
from safeshare.cli import app as cli


@pytest.fixture(autouse=True)
def home(tmp_path: Path) -> Iterator[Path]:
    with settings_in_force(Settings(home=tmp_path)):
        yield tmp_path


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["child", "add"], "Missing argument 'child_ref'. (see `safeshare child add --help`)"),
        (["child", "add", "C-1"], "Missing option '--dob'"),
        (["staff", "add", "x", "--name", "y", "--role", "wizard"], "'wizard' is not one of"),
        (["nosuch"], "No such command 'nosuch'. (see `safeshare --help`)"),
        (["case", "show", "abc"], "Invalid value for 'case_id'"),
        (["answer", "1", "no-such-step", "--as", "d", "--input", "{}"], "'no-such-step'"),
        (["events", "record", "--colour", "red"], "No such option: --colour"),
        (["events", "import"], "Missing argument 'file'"),
        # every missing option at once, not one per run
        (
            ["concern", "record"],
            "Missing options --child, --raised-by, --category and --what. "
            "(see `safeshare concern record --help`)",
        ),
        (["concern", "record", "--child", "C-1", "--what", "x"], "--raised-by and --category."),
        # a group given no command: one sentence naming its commands, not its help
        (["case"], "say which command: export, start, resend, list, note, show."),
        (["agency"], "add, update, list. (see `safeshare agency --help`)"),
    ],
)
def test_usage_mistakes_are_one_sentence(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    code = cli.main(argv)
    said = capsys.readouterr()
    assert code == 2 and said.out == ""
    lines = said.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], said.err
    assert "╭" not in said.err and "Traceback" not in said.err
    assert not (home / "logs").exists()


def test_help_is_still_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 0
    assert "Usage: safeshare" in capsys.readouterr().out
    assert cli.main(["events", "--help"]) == 0
    assert "Child Protection Plan events" in capsys.readouterr().out


def test_the_help_of_answer_lists_the_fields_of_every_step(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from models.forms.registry import FORMS

    assert cli.main(["answer", "--help"]) == 0
    said = " ".join(capsys.readouterr().out.replace("│", " ").split())
    for step in FORMS:
        assert f"{step.value}:" in said
    assert "evidence_of_harm* (yes|no|unsure)" in said
    assert "choice* (told|not-told-risk)" in said
    assert "safeshare answer-fields STEP" in said
    assert cli.main(["answer-fields", "parents", "--json"]) == 0
    fields = json.loads(capsys.readouterr().out)["parents"]
    assert fields["example_input"]["choice"] == "told"
    assert {f["name"]: f["required"] for f in fields["fields"]}["risk_reason"] is False
    assert cli.main(["answer-fields", "closed"]) == 1
    assert "closed is not answered by a person" in capsys.readouterr().err


def test_an_unforeseen_fault_is_one_sentence_and_its_details_are_logged(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("the details of a fault")

    monkeypatch.setattr(cli, "prefect_settings", broken)
    code = cli.main(["case", "list"])
    said = capsys.readouterr()
    log = home / "logs" / "cli-errors.log"
    assert code == 1
    assert said.err.strip().splitlines() == [
        f"error: the command stopped on an unexpected RuntimeError; the details are in {log}."
    ]
    assert "the details of a fault" in log.read_text() and "Traceback" in log.read_text()
    assert log.stat().st_mode & 0o777 == 0o600


def test_an_answer_is_given_by_the_person_at_the_keyboard(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever the CLI acts for (--user, SAFESHARE_USER) answers as themselves only: the trail
    must not name one person for another's answer. Nothing is read or written."""
    monkeypatch.setenv("SAFESHARE_USER", "dsl1")
    argv = ["answer", "1", "management-signoff", "--as", "head1", "--input", "{}"]
    code = cli.main([*argv, "--code", "ABCD-EFGH"])
    said = capsys.readouterr()
    assert code == 1 and said.out == ""
    assert said.err.strip().splitlines() == [
        "error: you are dsl1 (--user or SAFESHARE_USER) and cannot answer as head1; answer as "
        "yourself, or give --user head1 if that is who you are."
    ]
