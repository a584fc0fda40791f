"""Map dotted TOML key paths to the line they are written on.

``tomllib`` gives values but no positions, and an admin who mistypes one value in a
300-line municipality file deserves ``kcc.toml:42`` rather than a path to search for.
This is a deliberately small scanner: it follows table headers (``[a.b]``,
``[[queues]]``) and ``key = value`` lines, which is how people write config files.
Keys inside multi-line inline tables map to the line of their parent key; that is
close enough to point an admin at the right place.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY = re.compile(rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")


def _split_key(key: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", key)
    return [p.strip("\"'") for p in parts]


def line_index(text: str) -> dict[tuple[str | int, ...], int]:
    """Return ``{path: line}`` where path is a tuple like ``("queues", 2, "name")``."""
    index: dict[tuple[str | int, ...], int] = {}
    array_counts: dict[tuple[str | int, ...], int] = {}
    current: tuple[str | int, ...] = ()
    in_multiline = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if in_multiline:
            if '"""' in stripped or "'''" in stripped:
                in_multiline = False
            continue
        if not stripped or stripped.startswith("#"):
            continue
        header = _HEADER.match(line)
        if header:
            names = _split_key(header.group(2))
            path: list[str | int] = []
            # Resolve array-of-tables prefixes to their current element.
            for position, name in enumerate(names, start=1):
                path.append(name)
                key = tuple(path)
                # The last name of a [[header]] opens a new element; count names, not path
                # parts (the path also holds the indices of enclosing arrays).
                is_new_element = header.group(1) == "[[" and position == len(names)
                if key in array_counts and not is_new_element:
                    path.append(array_counts[key] - 1)
            if header.group(1) == "[[":
                key = tuple(path)
                array_counts[key] = array_counts.get(key, 0) + 1
                path.append(array_counts[key] - 1)
            current = tuple(path)
            index.setdefault(current, lineno)
            continue
        key_match = _KEY.match(line)
        if key_match:
            full = current + tuple(_split_key(key_match.group(1)))
            index.setdefault(full, lineno)
            rest = line[key_match.end():]
            if rest.count('"""') == 1 or rest.count("'''") == 1:
                in_multiline = True
    return index


def find_line(index: dict[tuple[str | int, ...], int], loc: tuple[str | int, ...]) -> int | None:
    """Best line for ``loc``: the exact key, else its nearest written ancestor."""
    probe = tuple(loc)
    while probe:
        if probe in index:
            return index[probe]
        probe = probe[:-1]
    return None
