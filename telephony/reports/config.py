"""``[supervisor]``: the KCC's norms on the wallboard and the report settings.

Defaults from Dutch KCC practice ("Antwoord", VNG): 80 % of callers get a person within
the queue's threshold (``[[queues]] service_level_seconds``), at most 5 % give up,
call-backs within ``[kcc] callback_promise_working_days`` (2). A tile is green when it
meets its norm, amber within ``warn_margin`` of it, red past it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator


class SupervisorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The wallboard's second service level next to "today": the last N seconds.
    rolling_window_seconds: int = Field(default=1800, ge=300, le=14400)
    # Norms of the total tile (each queue tile uses its own queue's target).
    service_level_target: float = Field(default=0.8, gt=0, le=1)
    abandon_max: float = Field(default=0.05, ge=0, le=1)
    registration_min: float = Field(default=0.95, ge=0, le=1)
    warn_margin: float = Field(default=0.05, ge=0, le=0.5)
    # First-contact resolution the industry way: no repeat call from the same number on
    # the same subject within this many days.
    fcr_repeat_days: int = Field(default=7, ge=1, le=60)
    # ... and from the registered outcome: these outcomes (case-insensitive) resolve.
    fcr_outcomes: list[Annotated[str, Field(min_length=1, max_length=80)]] = [
        "beantwoord", "vraag beantwoord", "informatie gegeven", "afspraak gemaakt",
        "zaak aangemaakt"]
    # The live board is recomputed on every change, at most this often (seconds).
    board_min_interval: float = Field(default=0.25, ge=0.05, le=5)
    # Reports read closed days pre-aggregated (telephony/reports/aggregates.py): the job
    # builds the days not yet built, or changed since, this often (seconds).
    aggregate_interval_seconds: float = Field(default=300, ge=10, le=86400)
    # Leader lease (Redis): one instance computes the live figures for all.
    leader_lease_seconds: float = Field(default=5.0, ge=1, le=60)

    @field_validator("fcr_outcomes")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value]
