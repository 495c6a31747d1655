"""`GET /metrics` in the Prometheus text format (needs the supervisor token)."""

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kb_service.api.deps import SupervisorDep

router = APIRouter(tags=["ops"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}})
def metrics(request: Request, supervisor: SupervisorDep) -> Response:
    """Prometheus text format. Needs the supervisor token, like every operator route."""
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
