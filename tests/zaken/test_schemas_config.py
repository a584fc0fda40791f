"""Input validation (BSN elfproef, search shapes) and the [zaken] config section."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from telephony.config import ConfigError, parse_config
from telephony.zaken.config import DeeplinkSection, ZakenConfig
from telephony.zaken.generator import bsn_from
from telephony.zaken.schemas import KlantQuery, valid_bsn

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.toml"


@pytest.mark.parametrize(("bsn", "ok"), [
    ("111222333", True), ("123456782", True), ("123456789", False), ("000000000", False),
    ("12345678", False), ("1234567890", False), ("12345678a", False), ("", False),
])
def test_bsn_elfproef(bsn: str, ok: bool) -> None:
    assert valid_bsn(bsn) is ok


def test_generated_bsns_are_valid_and_in_test_range() -> None:
    made = [b for b in (bsn_from(n) for n in range(1, 500)) if b]
    assert len(made) > 400
    assert all(valid_bsn(b) and b.startswith("99") for b in made)


@pytest.mark.parametrize("body", [
    {"bsn": "111222333"}, {"zaaknummer": "ZAAK-2025-0000001"},
    {"achternaam": "de Boer", "geboortedatum": "1970-01-01"},
    {"postcode": "2801 ab", "huisnummer": 12},
])
def test_search_shapes_accepted(body: dict[str, object]) -> None:
    query = KlantQuery.model_validate(body)
    if "postcode" in body:
        assert query.postcode == "2801AB"


@pytest.mark.parametrize("body", [
    {}, {"bsn": "123456789"}, {"bsn": "111222333", "zaaknummer": "Z1"},
    {"achternaam": "Boer"}, {"postcode": "2801AB"}, {"postcode": "0801AB", "huisnummer": 1},
    {"zaaknummer": "../etc/passwd"}, {"achternaam": "x\x00y", "geboortedatum": "1970-01-01"},
    {"unknown": 1},
])
def test_search_shapes_rejected(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        KlantQuery.model_validate(body)


def test_validation_error_does_not_echo_bsn_in_message() -> None:
    with pytest.raises(ValidationError) as exc:
        KlantQuery.model_validate({"bsn": "123456789"})
    assert all("123456789" not in e["msg"] for e in exc.value.errors())


def test_deeplink_templates() -> None:
    DeeplinkSection(klant="https://kiss.example/p/{klant_ref}",
                    zaak="https://kiss.example/z/{zaak_identificatie}?u={zaak_uuid}")
    with pytest.raises(ValidationError, match="unknown placeholder"):
        DeeplinkSection(klant="https://kiss.example/p/{bsn}")
    with pytest.raises(ValidationError, match="http"):
        DeeplinkSection(klant="javascript:alert({klant_ref})")


def test_demo_config_has_zaken_section() -> None:
    os.environ.setdefault("KCC_DEMO", "1")
    config = parse_config(DEMO.read_text(encoding="utf-8"), "demo.toml")
    assert isinstance(config.zaken, ZakenConfig)
    assert config.zaken.source == "postgres"
    assert "{klant_ref}" in config.zaken.deeplinks.klant


def test_unknown_zaken_key_names_the_line() -> None:
    text = DEMO.read_text(encoding="utf-8").replace(
        '\nsource = "postgres"', '\nsource = "postgres"\nsorce = "zgw"')
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "kcc.toml")
    assert any("zaken.sorce" in p and "kcc.toml:" in p for p in exc.value.problems)


def test_klant_never_serialises_its_bsn() -> None:
    from telephony.zaken.schemas import Klant

    klant = Klant(ref="r1", soort="natuurlijk_persoon", naam="Kees", bsn="999990019")
    assert "999990019" not in repr(klant) and "999990019" not in str(klant.to_dict())
    assert "999990019" not in str(klant.summary().to_dict())
