from kb_service.cli import run

run()
