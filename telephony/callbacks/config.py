"""The ``[callbacks]`` config section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CallbacksConfig(BaseModel):
    """Defaults suit a KCC: three tries, 30 minutes apart.

    When the in-queue offer is made (EWT threshold) is the IVR's existing
    ``[ivr] callback_offer_seconds``; it is not repeated here.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    max_attempts: int = Field(default=3, ge=1, le=10)
    retry_spacing_seconds: int = Field(default=1800, ge=1, le=86400)
    # How long a claim stays valid without renewal; a crashed instance's claims come free
    # after this. Renewed every lease/3 while the call lives.
    lease_seconds: int = Field(default=30, ge=3, le=600)
    poll_seconds: float = Field(default=0.5, gt=0, le=30)
    agent_answer_seconds: int = Field(default=20, ge=3, le=120)
    citizen_ring_seconds: int = Field(default=30, ge=5, le=120)
    # Where the citizen is dialled: the dialplan context that reaches the trunk.
    citizen_context: str = Field(default="kcc-callback-out", pattern=r"^[a-z][-a-z0-9_]*$")
    pause_reason: str = Field(default="terugbellen", pattern=r"^[a-z][a-z0-9_-]{0,29}$")
    region: str = Field(default="NL", pattern=r"^[A-Z]{2}$")
