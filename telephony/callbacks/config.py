"""The ``[callbacks]`` config section."""

from __future__ import annotations

from typing import Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator


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
    # Toll-fraud guard (telephony/callbacks/destinations.py): where a call-back may go.
    # Countries by ISO code; number types never include premium rate, shared cost,
    # satellite (+881/+882, no country) or a foreign revenue-share range.
    allowed_countries: list[str] = Field(default=["NL"], min_length=1)
    allowed_types: list[Literal["mobile", "fixed", "toll_free"]] = Field(
        default=["mobile", "fixed"], min_length=1)
    # Bookings (IVR and API) per number and in total, over the last 24 hours.
    max_per_number_per_day: int = Field(default=3, ge=1, le=50)
    max_per_day: int = Field(default=2000, ge=1, le=1_000_000)
    # Dial attempts per number and in total over the last 24 hours (checked by the
    # dialler before every Originate; a backstop if bookings slip past).
    max_dials_per_number_per_day: int = Field(default=12, ge=1, le=100)
    max_dials_per_day: int = Field(default=6000, ge=1, le=1_000_000)
    # The caller ID the citizen sees: the municipality's 14 number (default: the first
    # configured [[numbers]] entry), never the citizen's own number.
    callback_caller_id: str = ""

    @field_validator("allowed_countries")
    @classmethod
    def _countries(cls, value: list[str]) -> list[str]:
        known = phonenumbers.SUPPORTED_REGIONS
        for code in value:
            if code not in known:
                raise ValueError(f"{code!r} is not an ISO country code phonenumbers knows")
        return value

    @field_validator("callback_caller_id")
    @classmethod
    def _caller_id(cls, value: str) -> str:
        if not value:
            return value
        try:
            parsed = phonenumbers.parse(value, "NL")
        except phonenumbers.NumberParseException:
            raise ValueError(f"not a phone number: {value!r}") from None
        if not phonenumbers.is_valid_number(parsed):
            raise ValueError(f"not a valid phone number: {value!r}")
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
