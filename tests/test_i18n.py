"""The English catalog: it covers every message in the current source, keeps the placeholders, compiles.

The msgids are the Vietnamese source strings (Vietnamese is the default locale and has no catalog);
English reads repository/translations/en/LC_MESSAGES/messages.po. The messages are extracted here
from the source itself with the mapping in babel.cfg, so a string added to the code or a template
without an English translation fails this test until `make extract-messages` is run and it is translated.
"""
from __future__ import annotations

import gettext
import io
import re
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "babel.cfg"
PO_PATH = ROOT / "repository" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
PO_NAME = PO_PATH.relative_to(ROOT).as_posix()
# The functions that mark a string for translation (babel's keyword specs: which arguments are msgids).
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
# A printf-style conversion: "%(name)s", "%(n)d", "%s", "%.1f", or the escaped "%%".
_PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0 +\-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])")


@lru_cache(maxsize=1)
def source_messages() -> dict[tuple[str, str | None], list[str]]:
    """Every (msgid, context) marked for translation in the source, with where it occurs."""
    with BABEL_CFG.open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, str(BABEL_CFG))
    found: dict[tuple[str, str | None], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        msgid = message[0] if isinstance(message, (tuple, list)) else message
        if msgid:
            found.setdefault((msgid, context), []).append(f"{filename}:{lineno}")
    return found


@lru_cache(maxsize=1)
def english_catalog() -> Catalog:
    with PO_PATH.open("rb") as po:
        return read_po(po, locale="en")


def _strings(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _placeholders(text: str) -> set[str]:
    """The named placeholders with their conversion ("%(n)d"), unnamed ones counted ("%s#2"), and "%%"."""
    seen: set[str] = set()
    for match in _PLACEHOLDER.finditer(text):
        name, conv = match.group("name"), match.group("conv")
        if conv == "%":
            seen.add("%%")
        elif name is not None:
            seen.add(f"%({name}){conv}")
        else:
            count = sum(1 for item in seen if item.startswith(f"%{conv}#"))
            seen.add(f"%{conv}#{count + 1}")
    return seen


def _stray_percent(text: str) -> bool:
    """A '%' that starts no placeholder: Jinja's newstyle gettext would fail on it at render time."""
    return "%" in _PLACEHOLDER.sub("", text)


def test_source_messages_are_found():
    # Guards the test below against passing vacuously (a broken babel.cfg or extractor finds nothing).
    files = {location.split(":")[0] for locations in source_messages().values() for location in locations}
    assert any(name.endswith(".py") for name in files), "no messages extracted from Python sources"
    assert any(name.startswith("templates/") for name in files), "no messages extracted from templates"


def test_every_source_message_has_an_english_translation():
    catalog = english_catalog()
    missing = []
    for (msgid, context), locations in sorted(source_messages().items(), key=lambda item: item[1][0]):
        entry = catalog.get(msgid, context)
        if entry is None:
            problem = "not in the catalog"
        elif entry.fuzzy:
            problem = "marked fuzzy"
        elif not _strings(entry.string) or not all(text.strip() for text in _strings(entry.string)):
            problem = "empty msgstr"
        else:
            continue
        missing.append(f"  - {msgid!r} ({problem}; {', '.join(locations[:3])})")
    assert not missing, (
        f"{len(missing)} message(s) in the source have no usable English translation in {PO_NAME}:\n"
        + "\n".join(missing)
        + f"\nRun `make extract-messages`, then translate these entries in {PO_NAME} "
        "(fill msgstr and remove any '#, fuzzy' flag) and run `make test`."
    )


def test_translations_keep_the_placeholders():
    catalog = english_catalog()
    problems = []
    for entry in catalog:
        if not entry.id or not entry.string:
            continue
        ids, strings = _strings(entry.id), _strings(entry.string)
        wanted = set().union(*(_placeholders(text) for text in ids))
        if entry.pluralizable:
            got_each = [_placeholders(text) for text in strings if text]
            ok = all(got <= wanted for got in got_each) and set().union(*got_each) == wanted
        else:
            ok = _placeholders(strings[0]) == wanted
        if not ok:
            problems.append(f"  - {ids[0]!r}: expects {sorted(wanted)}, translation {strings!r}")
        if any(_stray_percent(text) for text in strings) and not any(_stray_percent(text) for text in ids):
            problems.append(f"  - {ids[0]!r}: a lone '%' in the translation {strings!r} (write '%%')")
    # Babel's own checks: python-format flags and plural forms are consistent with the strings.
    for entry, errors in catalog.check():
        problems.extend(f"  - {entry.id!r}: {error}" for error in errors)
    assert not problems, f"placeholders differ between msgid and msgstr in {PO_NAME}:\n" + "\n".join(problems)


def test_catalog_compiles():
    catalog = english_catalog()
    # `pybabel compile` silently skips a catalog whose header is fuzzy: English would never load.
    assert not catalog.fuzzy, f"the header of {PO_NAME} is marked fuzzy; remove '#, fuzzy' above msgid \"\""
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    assert buffer.tell() > 0
    buffer.seek(0)
    compiled = gettext.GNUTranslations(buffer)
    for entry in catalog:
        if entry.id and not entry.pluralizable and entry.string and not entry.fuzzy and entry.context is None:
            assert compiled.gettext(entry.id) == entry.string
