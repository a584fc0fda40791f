"""Configured sentences → names Asterisk can play.

The flow asks for "the `invalid` sentence in English" or for free text it composed
("we are open again tomorrow at nine"); this fills the placeholders, falls back to Dutch
when a text has no English version (a Dutch sentence beats silence), and lets the
:class:`~ivr.prompts.PromptRenderer` turn it into cached audio.
"""

from __future__ import annotations

from ivr.config import Lang, Texts
from ivr.prompts import PromptRenderer


def pick(text: dict[Lang, str], lang: Lang) -> str:
    return text.get(lang) or text["nl"]


class Speaker:
    def __init__(self, renderer: PromptRenderer, texts: Texts) -> None:
        self.renderer = renderer
        self.texts = texts

    async def say(self, text: str, lang: Lang) -> str:
        """The Asterisk name of ``text`` spoken in ``lang`` (rendered once, then cached)."""
        return (await self.renderer.render(text, lang)).name

    async def text(self, name: str, lang: Lang, /, **params: object) -> str:
        """The configured sentence ``name``, placeholders filled, as an Asterisk name."""
        template: dict[Lang, str] = getattr(self.texts, name)
        # The English sentence only when it exists: otherwise the caller hears Dutch.
        spoken_lang: Lang = lang if lang in template else "nl"
        return await self.say(fill(pick(template, lang), params), spoken_lang)


def fill(template: str, params: dict[str, object]) -> str:
    """``str.format`` without surprises: unknown placeholders stay as they are."""
    out = template
    for name, value in params.items():
        out = out.replace("{" + name + "}", str(value))
    return out
