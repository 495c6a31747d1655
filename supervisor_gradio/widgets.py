"""Gradio components the tabs share."""

from __future__ import annotations

import gradio as gr


def read_only_table(headers: list[str], elem_id: str, column_widths: list[str | int], label: str | None = None):
    """A table to read and click rows of, never to edit (the console's CSS draws no edit outline or cell buttons)."""
    return gr.Dataframe(
        headers=headers,
        datatype="str",
        interactive=False,
        wrap=True,
        label=label,
        elem_id=elem_id,
        column_widths=column_widths,
    )
