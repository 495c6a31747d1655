"""The `frontdesk` command group and what its commands share: the settings, and the knowledge base they open."""

from __future__ import annotations

import click

from kb_service.config import Settings


def settings_or_exit() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic's message names the bad variable
        raise click.ClickException(f"bad settings: {exc}") from exc


def knowledge_base(settings: Settings):
    from kb_service.embedding.factory import make_embedder
    from kb_service.knowledge.entries import KnowledgeBase
    from kb_service.storage.backends import open_store

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    kb = KnowledgeBase(
        open_store(settings),
        make_embedder(settings),
        settings.index_path,
        settings.index_kind,
        settings.index_exact_max,
    )
    return kb


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """FrontDesk KB: an AI receptionist that learns from its supervisor.

    Settings come from KB_* environment variables or a .env file (see the README).
    """
