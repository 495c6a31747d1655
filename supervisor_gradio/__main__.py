"""`python -m supervisor_gradio --api URL`: the console on its own, against a service running elsewhere."""

from __future__ import annotations

import os

import click

from supervisor_gradio.api import ApiClient, ApiError


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--api", "api_url", required=True, help="Base URL of the FrontDesk KB service.")
@click.option("--token", default=None, help="Supervisor token; defaults to $KB_SUPERVISOR_TOKEN.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=7860, show_default=True, type=int)
def main(api_url: str, token: str | None, host: str, port: int) -> None:
    """Run the supervisor console against a remote service. Sign in as `supervisor` with the token, or as a named
    supervisor with their own password.

    Example:

        KB_SUPERVISOR_TOKEN=... python -m supervisor_gradio --api http://10.0.0.5:8000
    """
    import hmac

    from supervisor_gradio.console import AUTH_MESSAGE, CSS, HEAD, JS, THEME, USER, build_console

    token = token or os.environ.get("KB_SUPERVISOR_TOKEN", "").strip()
    if not token:
        raise click.ClickException("no supervisor token: pass --token or set KB_SUPERVISOR_TOKEN")
    client = ApiClient(api_url, token)
    try:
        client.dashboard()
    except ApiError as exc:
        raise click.ClickException(f"{api_url} refused the console: {exc.message}") from exc

    def check(username: str, password: str) -> bool:
        if username == USER:
            return hmac.compare_digest(token.encode(), password.encode())
        return client.signs_in(username, password)

    click.echo(f"Supervisor console: http://{host}:{port}/  (user: {USER}, API: {client.base_url})")
    build_console(lambda request: client).launch(
        server_name=host,
        server_port=port,
        auth=check,
        footer_links=[],
        css=CSS,
        js=JS,
        theme=THEME,
        head=HEAD,
        show_error=False,
        auth_message=AUTH_MESSAGE,
    )


if __name__ == "__main__":
    main()
