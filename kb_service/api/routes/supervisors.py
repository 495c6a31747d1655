from fastapi import APIRouter, HTTPException, status

from kb_service.api.deps import RuntimeDep, SupervisorDep
from kb_service.desk import supervisors
from models import SupervisorSignedIn, SupervisorSignIn

router = APIRouter(prefix="/api/supervisors", tags=["supervisor"])


@router.post("/sign-in", response_model=SupervisorSignedIn)
def sign_in(body: SupervisorSignIn, runtime: RuntimeDep, supervisor: SupervisorDep) -> SupervisorSignedIn:
    """Check a named supervisor's password (`frontdesk supervisors add NAME`), for a console run on its own
    (`python -m supervisor_gradio`). 401 if the name or the password is wrong."""
    if not supervisors.verify(runtime.store, body.name, body.password):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong name or password")
    return SupervisorSignedIn(name=body.name)
