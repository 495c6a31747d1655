"""Insights tab: how the agent is doing, day by day (`GET /api/insights`), drawn with matplotlib, and where the
knowledge base falls short: the most-asked questions that still escalate, and entries nobody has needed."""

from __future__ import annotations

import math
from datetime import date

import gradio as gr

from supervisor_gradio import views, widgets
from supervisor_gradio.api import ApiError, ClientFor

PERIODS = [("7 days", 7), ("30 days", 30), ("90 days", 90)]
ESCALATED_HEADERS = ["Question (latest wording)", "Asked", "Requests", "Unanswered", "Last asked"]
UNUSED_HEADERS = ["#", "Answer", "Hits", "Last used", "Added"]


def rate_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def wait_text(seconds: float | None) -> str:
    return "n/a" if seconds is None else views.duration(seconds)


def totals_markdown(insights: dict) -> str:
    """Numbers only."""
    totals = insights["totals"]
    return (
        f"Last **{int(insights['days'])}** days (times in {insights['time_zone']}): "
        f"**{int(totals['questions'])}** questions · auto-answered **{rate_text(totals['auto_answer_rate'])}** · "
        f"**{int(totals['escalations'])}** escalations · **{int(totals['resolved'])}** answered by you, "
        f"median time to an answer **{wait_text(totals['median_answer_seconds'])}** · "
        f"**{int(totals.get('dismissed', 0))}** dismissed as not a question (not counted above)"
    )


def chart(daily: list[dict]):
    """Four small charts over the days: questions, auto-answer rate, escalations, median time to an answer."""
    import matplotlib

    matplotlib.use("Agg")  # no display: drawn to a PNG for the page
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    days = [date.fromisoformat(day["date"]) for day in daily]
    nan = math.nan
    rates = [nan if day["auto_answer_rate"] is None else 100 * day["auto_answer_rate"] for day in daily]
    waits = [nan if day["median_answer_seconds"] is None else day["median_answer_seconds"] / 60 for day in daily]
    figure = Figure(figsize=(11, 6), dpi=100, layout="constrained")
    axes = figure.subplots(2, 2, sharex=True)
    panels = [
        (axes[0][0], "Questions a day", [day["questions"] for day in daily], "bar", "#4c72b0"),
        (axes[0][1], "Auto-answer rate (%)", rates, "line", "#2a9d55"),
        (axes[1][0], "Escalations a day", [day["escalations"] for day in daily], "bar", "#dd8452"),
        (axes[1][1], "Median time to an answer (minutes)", waits, "line", "#8172b3"),
    ]
    for ax, title, values, kind, colour in panels:
        if kind == "bar":
            ax.bar(days, values, color=colour, width=0.8)
        else:
            ax.plot(days, values, color=colour, marker="o", markersize=4)
        ax.set_title(title, fontsize=11, loc="left")
        ax.grid(axis="y", alpha=0.3)
        ax.set_ylim(bottom=0)
        ax.yaxis.get_major_locator().set_params(integer=True)
    axes[0][1].set_ylim(0, 105)
    axes[1][1].set_ylim(0, max([1.0, *(1.15 * w for w in waits if not math.isnan(w))]))  # minutes, not fractions
    locator = mdates.AutoDateLocator(maxticks=8)
    for ax in axes[1]:
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    return figure


def escalated_row(group: dict) -> list:
    return [
        group["question"],
        group["asks"],
        group["requests"],
        group["unanswered"],
        views.local_time(group["last_asked_at"]),
    ]


def unused_row(entry: dict) -> list:
    last = views.local_time(entry["last_used_at"]) or "never"
    return [entry["id"], entry["answer"], entry["hit_count"], last, views.local_time(entry["created_at"])]


def build(client_for: ClientFor, tab: gr.Tab) -> None:
    with gr.Row(elem_classes="action-row"):
        period = gr.Radio(PERIODS, value=30, label="Period", elem_id="insights-period", scale=3)
        refresh = gr.Button("Refresh", elem_id="insights-refresh", scale=0, min_width=110)
    totals = gr.Markdown(elem_id="insights-totals")
    plot = gr.Plot(label="Day by day", show_label=False, format="png", elem_id="insights-plot")
    gr.Markdown(
        "**Most-asked questions that still escalate**, grouped by meaning: each is a candidate for a new "
        "knowledge entry (answer it once in the Pending tab with *Learn* ticked, or add it in the Knowledge base tab)."
    )
    escalated = widgets.read_only_table(ESCALATED_HEADERS, "insights-escalated", ["52%", "10%", "11%", "12%", "15%"])
    unused_note = gr.Markdown(elem_id="insights-unused-note")
    unused = widgets.read_only_table(UNUSED_HEADERS, "insights-unused", ["6%", "58%", "8%", "14%", "14%"])

    def load(days, request: gr.Request):
        try:
            found = client_for(request).insights(int(days or 30))
        except ApiError as exc:
            return exc.explain(), *[gr.skip()] * 4
        count = int(found["unused_total"])
        shown = len(found["unused_entries"])
        note = (
            f"**{count}** entr{'y' if count == 1 else 'ies'} not used to answer anyone in "
            f"{int(found['unused_days'])} days"
            + (f" (the {shown} unused longest shown)" if count > shown else "")
            + ": check they are still right, or whether callers ask them in other words."
        )
        return (
            totals_markdown(found),
            chart(found["daily"]),
            gr.Dataframe(value=[escalated_row(g) for g in found["top_escalated"]], headers=ESCALATED_HEADERS),
            note,
            gr.Dataframe(value=[unused_row(e) for e in found["unused_entries"]], headers=UNUSED_HEADERS),
        )

    for trigger in (tab.select, period.change, refresh.click):
        trigger(load, [period], [totals, plot, escalated, unused_note, unused])
