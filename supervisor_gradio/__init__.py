"""The supervisor console (Gradio), a client of the FrontDesk KB HTTP API."""
