"""The perimeter, as pure ASGI middleware, one per module: a cap on request bodies (413) and on how long they
may stall (408, `body_limit`), a per-client rate on asks (429, `rate_limit`), and a sign-in check on the console's
Gradio API routes that Gradio itself leaves open (`console_guard`). Below ASGI, `header_timeout` closes
connections whose headers never finish.

Each answers before the app sees the request, so a flood of big or frequent asks costs almost nothing and the
supervisor's routes stay responsive."""
