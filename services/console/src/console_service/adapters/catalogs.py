"""Message catalogs: every string the console shows, per language, in
`console_service/messages/<language>.json` (flat keys, `{name}` placeholders)."""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from importlib import resources
from typing import Any

LANGUAGES = ("zh", "en")  # Simplified Chinese first: the default
HTML_LANG = {"zh": "zh-CN", "en": "en"}


class Catalogs:
    """Looks messages up by language and key; a missing key is a bug the tests catch, shown
    as the key itself rather than a crash."""

    def __init__(self, messages: Mapping[str, Mapping[str, str]]):
        self.messages = messages

    @classmethod
    def load(cls) -> Catalogs:
        """The catalogs shipped with the console."""
        folder = resources.files("console_service") / "messages"
        return cls({lang: json.loads((folder / f"{lang}.json").read_text("utf-8"))
                    for lang in LANGUAGES})

    def translate(self, language: str, key: str, **values: Any) -> str:
        """The message `key` in `language`, placeholders filled."""
        text = self.messages.get(language, {}).get(key)
        if text is None:
            return key
        return text.format(**values) if values else text

    def missing(self) -> dict[str, list[str]]:
        """Keys some language has and another lacks, per language lacking them."""
        every = set().union(*(set(m) for m in self.messages.values()))
        return {lang: sorted(every - set(m)) for lang, m in self.messages.items()
                if every - set(m)}

    def placeholders_differ(self) -> list[str]:
        """Keys whose placeholders are not the same in every language."""
        def names(text: str) -> set[str]:
            return {f for _, f, _, _ in string.Formatter().parse(text) if f}

        keys = set.intersection(*(set(m) for m in self.messages.values()))
        return sorted(k for k in keys
                      if len({frozenset(names(m[k])) for m in self.messages.values()}) > 1)
