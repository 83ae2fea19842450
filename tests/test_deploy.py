"""The scheduling recipes of docs/deploy.md: they parse, and the pln commands they run exist."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from aggregator.cli import cli

DOCS = Path(__file__).parent.parent / "docs"
WORKFLOW = DOCS / "github-actions.yml"
SERVICE = DOCS / "systemd" / "pln.service"
TIMER = DOCS / "systemd" / "pln.timer"
# Commands SPEC.md promises that other work may not have built yet.
PROMISED = {"build", "run", "email", "serve", "demo"}


def workflow() -> dict[str, object]:
    data = YAML(typ="safe").load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return parser


def steps() -> list[dict[str, object]]:
    jobs = workflow()["jobs"]
    assert isinstance(jobs, dict)
    return [step for job in jobs.values() for step in job["steps"]]


def test_the_workflow_runs_daily_keeps_the_database_and_deploys_pages() -> None:
    data = workflow()
    triggers = data["on"]
    assert isinstance(triggers, dict)
    (schedule,) = triggers["schedule"]
    assert len(schedule["cron"].split()) == 5
    assert "workflow_dispatch" in triggers
    permissions = data["permissions"]
    assert isinstance(permissions, dict)
    assert permissions["pages"] == "write" and permissions["id-token"] == "write"

    uses = [str(step.get("uses", "")) for step in steps()]
    restore = next(s for s in steps() if str(s.get("uses", "")).startswith("actions/cache/restore"))
    save = next(s for s in steps() if str(s.get("uses", "")).startswith("actions/cache/save"))
    assert restore["with"]["key"] == save["with"]["key"]  # type: ignore[index]
    assert "pln.db" in restore["with"]["path"] and "pln.db" in save["with"]["path"]  # type: ignore[index]
    assert restore["with"]["key"].startswith(restore["with"]["restore-keys"].strip())  # type: ignore[index]
    assert "always()" in str(save["if"])
    names = [u.split("@")[0] for u in uses]
    assert names.index("actions/cache/restore") < names.index("actions/cache/save")
    pages = next(s for s in steps() if str(s.get("uses", "")).startswith("actions/upload-pages"))
    assert pages["with"]["path"].rstrip("/") == "output"  # type: ignore[index]
    assert "actions/deploy-pages" in names
    assert any("pln" in cmd and " run" in cmd for cmd in workflow_commands())


def test_the_systemd_units_parse_and_belong_together() -> None:
    service, timer = unit(SERVICE), unit(TIMER)
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["ExecStart"].split()[0].endswith("/bin/pln")
    assert timer["Timer"]["Unit"] == SERVICE.name
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"
    assert re.fullmatch(r"\*-\*-\* \d\d:\d\d:\d\d", timer["Timer"]["OnCalendar"])


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_verifies_the_units(tmp_path: Path) -> None:
    # With the path of the pln that is installed here, nothing is left to complain about.
    pln = shutil.which("pln") or str(Path(__import__("sys").executable).parent / "pln")
    for source in (SERVICE, TIMER):
        text = source.read_text(encoding="utf-8")
        text = re.sub(r"ExecStart=\S+", f"ExecStart={pln}", text)
        (tmp_path / source.name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / TIMER.name), str(tmp_path / SERVICE.name)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def workflow_commands() -> Iterator[str]:
    for step in steps():
        if "run" in step:
            yield from str(step["run"]).splitlines()


def recipe_commands() -> list[str]:
    """Every command line of the recipes that runs pln."""
    lines = list(workflow_commands())
    lines.append(unit(SERVICE)["Service"]["ExecStart"])
    deploy = (DOCS / "deploy.md").read_text(encoding="utf-8")
    (crontab,) = re.findall(r"```crontab\n(.*?)```", deploy, re.S)
    lines += [" ".join(line.split()[5:]) for line in crontab.splitlines() if line.strip()]
    return [line for line in lines if re.search(r"(^|/|\s)pln\s", line)]


def split_pln(line: str) -> tuple[list[str], str, list[str]]:
    """(global options, command, its arguments) of a pln command line."""
    words = shlex.split(line)
    start = next(i for i, word in enumerate(words) if word == "pln" or word.endswith("/pln"))
    words = words[start + 1 :]
    takes_value = {opt for p in cli.params if not p.is_flag and p.opts for opt in p.opts}  # type: ignore[attr-defined]
    index = 0
    while index < len(words) and words[index].startswith("-"):
        index += 2 if words[index] in takes_value else 1
    return words[:index], words[index], words[index + 1 :]


def test_every_pln_command_in_the_recipes_is_real() -> None:
    commands = recipe_commands()
    assert len(commands) >= 4  # workflow (2), service, crontab
    global_options = {opt for p in cli.params for opt in p.opts}
    missing: set[str] = set()
    for line in commands:
        options, command, arguments = split_pln(line)
        for option in options:
            assert option in global_options or not option.startswith("-"), (line, option)
        group_help = CliRunner().invoke(cli, ["--help"])
        if command not in cli.commands:  # type: ignore[attr-defined]
            assert command in PROMISED, (line, command)
            assert command not in group_help.output
            missing.add(command)
            continue
        assert f"  {command} " in group_help.output
        sub: click.Command = cli.commands[command]  # type: ignore[attr-defined]
        assert CliRunner().invoke(cli, [command, "--help"]).exit_code == 0
        known = {opt for p in sub.params for opt in p.opts}
        for word in arguments:
            if word.startswith("-"):
                assert word.split("=")[0] in known, (line, word)
    if missing:
        pytest.skip(f"the recipes run `pln {', '.join(sorted(missing))}`, not built yet")
