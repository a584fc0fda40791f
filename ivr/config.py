"""The ``[ivr]`` section: menus, flows and texts as data.

A municipality changes its menu ("press 4 for the WOZ") far more often than its software,
so the whole caller dialogue is config: ``[[ivr.menus]]`` with numbered options that lead
to a queue, a sub-menu or a self-service action, and ``[[ivr.flows]]`` that say which
municipality starts at which menu with which welcome. Everything is checked at load
(references, duplicate keys, reserved keys), and because the models are pydantic the
existing loader turns each mistake into ``kcc.toml:LINE: ivr.menus[1].options[0]...``.

Cross-references to the rest of the config (queue and municipality ids) are checked by
:func:`reference_problems`, which ``telephony.config.Config`` calls: this module must not
import ``telephony.config`` (that module imports this one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ivr.prompts import PromptsConfig, validate_text
from ivr.speech import SpeechConfig

Lang = Literal["nl", "en"]
Ident = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]
# "0" always means "a person" and "*" / "#" are navigation, so options use 1-9.
OptionKey = Annotated[str, Field(pattern=r"^[1-9]$")]
Action = Literal["hours", "address", "zaak_status", "callback", "agent"]
Loc = tuple[str | int, ...]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _speakable(value: dict[str, str]) -> dict[str, str]:
    if "nl" not in value:
        raise ValueError("a Dutch text (nl) is required; en is optional")
    for text in value.values():
        # Placeholders ({name}) are filled at call time; validate the rest as speech.
        validate_text(text.replace("{", "").replace("}", ""))
    return value


Text = Annotated[dict[Lang, str], Field(min_length=1), AfterValidator(_speakable)]


class MenuOption(_Strict):
    """One key of a menu. Exactly one of ``queue``, ``menu`` or ``action`` says where it goes."""

    key: OptionKey
    label: Text  # spoken as "Voor <label>, kies <key>."
    words: list[str] = []  # what a caller may SAY for this option (speech menus)
    queue: Ident | None = None
    menu: Ident | None = None
    action: Action | None = None
    # What the call is about, for the agent and the reports; default: the queue/menu id.
    subject: Ident | None = None


    @model_validator(mode="after")
    def _one_target(self) -> MenuOption:
        targets = [t for t in (self.queue, self.menu, self.action) if t is not None]
        if len(targets) != 1:
            raise ValueError("an option needs exactly one of queue, menu or action")
        return self

    @property
    def subject_id(self) -> str:
        return self.subject or self.queue or self.menu or self.action or ""


class Menu(_Strict):
    id: Ident
    prompt: Text  # the question ("Waarover belt u?"); the options are read after it
    options: list[MenuOption] = Field(min_length=1, max_length=9)
    # Offer speech here (when a model is loaded): the caller may say an option's words.
    speech: bool = False




class Flow(_Strict):
    """Where the callers of some municipalities start."""

    municipalities: list[Ident] = Field(min_length=1)
    welcome: Text  # "{municipality}" is replaced by the municipality's spoken name
    menu: Ident



class Texts(_Strict):
    """The fixed sentences of the dialogue, with placeholders; override any in the config."""

    which_municipality: Text = {"nl": "Voor welke gemeente belt u?",
                                "en": "Which municipality are you calling for?"}
    option: Text = {"nl": "Voor {label}, kies {key}.", "en": "For {label}, press {key}."}
    agent_option: Text = {"nl": "Voor een medewerker, kies nul.",
                          "en": "To speak to an agent, press zero."}
    language: Text = {"nl": "For English, press 9."}
    invalid: Text = {"nl": "Dat is geen geldige keuze.", "en": "That is not a valid choice."}
    no_input: Text = {"nl": "Ik heb geen keuze gehoord.", "en": "I did not hear a choice."}
    to_agent: Text = {"nl": "U wordt doorverbonden met een medewerker.",
                      "en": "You are being put through to an agent."}
    closed: Text = {"nl": "Het Klant Contact Centrum is nu gesloten.",
                    "en": "The customer contact centre is closed now."}
    opens_again: Text = {"nl": "Wij zijn weer bereikbaar {when}.",
                         "en": "We are available again {when}."}
    callback_offer: Text = {"nl": "Wilt u teruggebeld worden? Kies dan 1.",
                            "en": "Would you like us to call you back? Then press 1."}
    callback_confirm: Text = {
        "nl": "Uw terugbelverzoek is genoteerd. Wij bellen u binnen {days} werkdagen terug.",
        "en": "Your call-back request has been noted. We will call you back within {days} "
              "working days."}
    goodbye: Text = {"nl": "Dank u wel voor het bellen. Tot ziens.",
                     "en": "Thank you for calling. Goodbye."}
    hours_intro: Text = {"nl": "Onze openingstijden zijn:", "en": "Our opening hours are:"}
    address: Text = {"nl": "Het adres van {name} is {address}.",
                     "en": "The address of {name} is {address}."}
    zaak_number: Text = {"nl": "Toets uw zaaknummer, gevolgd door een hekje.",
                         "en": "Enter your case number, followed by the hash key."}
    zaak_postcode: Text = {"nl": "Toets de vier cijfers van uw postcode.",
                           "en": "Enter the four digits of your postcode."}
    zaak_house_number: Text = {"nl": "Toets uw huisnummer, gevolgd door een hekje.",
                               "en": "Enter your house number, followed by the hash key."}
    zaak_status: Text = {"nl": "De status van uw zaak is: {status}.",
                         "en": "The status of your case is: {status}."}
    zaak_end_date: Text = {"nl": "De verwachte einddatum is {date}.",
                           "en": "The expected end date is {date}."}
    zaak_not_found: Text = {
        "nl": "Wij kunnen deze zaak met deze gegevens niet vinden.",
        "en": "We cannot find this case with these details."}
    zaak_too_many: Text = {
        "nl": "U heeft te vaak een zaak opgevraagd. Een medewerker helpt u graag verder.",
        "en": "You have asked for a case too often. An agent will gladly help you."}
    after_service: Text = {
        "nl": "Kies 1 om te herhalen, 2 voor het vorige menu, of 0 voor een medewerker.",
        "en": "Press 1 to repeat, 2 for the previous menu, or 0 for an agent."}
    wait_time: Text = {"nl": "De verwachte wachttijd is {minutes}.",
                       "en": "The expected waiting time is {minutes}."}
    wait_callback: Text = {"nl": "Wilt u liever teruggebeld worden? Kies dan 1.",
                           "en": "Would you rather be called back? Then press 1."}



class IvrConfig(_Strict):
    enabled: bool = True
    # Wrong or missing answers per question before the caller goes to an agent (never a
    # hang-up: a caller who cannot work a menu is exactly who needs a person).
    max_tries: int = Field(default=2, ge=1, le=5)
    input_timeout: float = Field(default=5.0, ge=1.0, le=30.0)  # seconds after a prompt
    language_timeout: float = Field(default=1.5, ge=0.5, le=10.0)
    language_key: OptionKey = "9"
    ask_language: bool = True
    max_digits: int = Field(default=16, ge=4, le=32)  # zaaknummer and the like
    # Zaak status lookups (zaaknummer + postcode digits + house number can be guessed):
    # at most this many per call, and per caller number per day (all anonymous callers
    # share one daily count). Past either, the caller hears zaak_too_many.
    zaak_tries_per_call: int = Field(default=3, ge=1, le=20)
    zaak_tries_per_number_per_day: int = Field(default=6, ge=1, le=1000)
    # Seconds of caller speech recorded at a speech menu, and silence that ends it.
    record_seconds: int = Field(default=4, ge=1, le=20)
    record_silence: int = Field(default=2, ge=1, le=10)
    # Where Record() writes (host path) and the same directory as Asterisk sees it.
    speech_audio_dir: Path = Path("/var/spool/asterisk/kcc-speech")
    speech_audio_asterisk_dir: str = Field(default="/var/spool/asterisk/kcc-speech",
                                           pattern=r"^/[A-Za-z0-9_./-]+$")
    keep_speech_audio: bool = False  # AVG: caller audio is deleted after recognition
    # The queue "0" and exhausted tries lead to; default: the general queue.
    agent_queue: Ident | None = None
    # EWT above this (seconds) offers a call-back while waiting.
    callback_offer_seconds: int = Field(default=300, ge=0, le=7200)
    # How often a waiting caller hears position and expected wait (queues.conf).
    wait_announce_seconds: int = Field(default=45, ge=5, le=600)
    # app_queue plays the position message the moment a caller joins and cannot ring an
    # agent who frees up meanwhile: measured +7 s to answer (scripts/bench_acd.py). Off by
    # default; the expected-wait message (periodic, after wait_announce_seconds) stays.
    announce_position: bool = False
    texts: Texts = Texts()
    prompts: PromptsConfig = PromptsConfig()
    speech: SpeechConfig = SpeechConfig()
    menus: list[Menu] = []
    flows: list[Flow] = []

    @model_validator(mode="after")
    def _internal_refs(self) -> IvrConfig:
        ids = [m.id for m in self.menus]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise ValueError(f"menus: id {dup!r} is used twice")
        return self

    def menu(self, menu_id: str) -> Menu:
        return next(m for m in self.menus if m.id == menu_id)

    def flow_for(self, municipality: str) -> Flow | None:
        return next((f for f in self.flows if municipality in f.municipalities), None)


def reference_problems(ivr: IvrConfig, queues: set[str],
                       municipalities: set[str]) -> list[tuple[Loc, str]]:
    """Dangling references in the IVR config, each with its location for the error line."""
    problems: list[tuple[Loc, str]] = []
    menu_ids = {m.id for m in ivr.menus}
    if ivr.agent_queue is not None and ivr.agent_queue not in queues:
        problems.append((("ivr", "agent_queue"), f"unknown queue {ivr.agent_queue!r}"))
    for i, menu in enumerate(ivr.menus):
        keys: set[str] = set()
        for j, option in enumerate(menu.options):
            loc: Loc = ("ivr", "menus", i, "options", j)
            if option.key in keys:
                problems.append(((*loc, "key"), f"key {option.key} is used twice in menu "
                                 f"{menu.id!r}"))
            keys.add(option.key)
            if option.queue is not None and option.queue not in queues:
                problems.append(((*loc, "queue"), f"unknown queue {option.queue!r} "
                                 f"(known: {', '.join(sorted(queues))})"))
            if option.menu is not None and option.menu not in menu_ids:
                problems.append(((*loc, "menu"), f"unknown menu {option.menu!r}"))
            if option.menu == menu.id:
                problems.append(((*loc, "menu"), "a menu cannot lead to itself"))
            if menu.speech and not option.words:
                problems.append(((*loc, "words"), "a speech menu needs words for each option"))
    seen: dict[str, int] = {}
    for i, flow in enumerate(ivr.flows):
        if flow.menu not in menu_ids:
            problems.append((("ivr", "flows", i, "menu"), f"unknown menu {flow.menu!r}"))
        for ref in flow.municipalities:
            if ref not in municipalities:
                problems.append((("ivr", "flows", i, "municipalities"),
                                 f"unknown municipality {ref!r}"))
            elif ref in seen:
                problems.append((("ivr", "flows", i, "municipalities"),
                                 f"municipality {ref!r} already has a flow (flows[{seen[ref]}])"))
            seen.setdefault(ref, i)
    if ivr.menus and ivr.flows:
        missing = sorted(municipalities - set(seen))
        if missing:
            problems.append((("ivr", "flows"), f"no flow for municipality {', '.join(missing)}"))
    return problems
