"""The docs name everything a user can set, call or type: every setting, every API route and every `frontdesk`
command appears in README.md or docs/*.md (as sqlite-utils and Datasette check theirs)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from kb_service.api.app import create_app
from kb_service.cli import main
from kb_service.config import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCS = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])


def _commands(group: click.Group, prefix: str = "frontdesk") -> list[str]:
    names = []
    for name, command in group.commands.items():
        names.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            names += _commands(command, f"{prefix} {name}")
    return names


def _routes() -> list[str]:
    """The paths of the API's schema (`/openapi.json`), from an app built but never started."""
    return sorted(create_app(Settings(KB_DATA_DIR="unused")).openapi()["paths"])


def _documented_route(path: str) -> bool:
    """`/api/help-requests/{help_request_id}/resolve` is documented as written, or with another name in braces
    (`/api/help-requests/{id}/resolve`)."""
    pattern = re.escape(path)
    pattern = re.sub(r"\\\{[^}]*\\\}", r"\\{[^}]+\\}", pattern)
    return re.search(pattern + r"(?![\w/-])", DOCS) is not None


@pytest.mark.parametrize("alias", [f.alias for f in Settings.model_fields.values()])
def test_every_setting_is_documented(alias):
    assert re.search(rf"`{alias}`|\b{alias}\b", DOCS), f"{alias} is in no README.md or docs/*.md"


@pytest.mark.parametrize("path", _routes())
def test_every_route_is_documented(path):
    assert _documented_route(path), f"{path} is in no README.md or docs/*.md"


@pytest.mark.parametrize("command", _commands(main))
def test_every_command_is_documented(command):
    assert command in DOCS, f"`{command}` is in no README.md or docs/*.md"


def test_the_check_can_fail():
    assert len(_routes()) > 20 and len(_commands(main)) > 5
    assert not _documented_route("/api/no-such-route")
    assert "frontdesk no-such-command" not in DOCS
