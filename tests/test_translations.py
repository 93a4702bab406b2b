"""Every message a person can meet has a Chinese translation.

Messages are English msgids. They are found where the code writes them:
_()/gettext() in templates and code (Babel's own extraction), error templates
(`template = "..."` and the first argument of an error), per-field problems
(`errors={"field": ["..."]}`) and marshmallow's `error=` / `error_messages=`.
"""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import timebank

PACKAGE = Path(timebank.__file__).parent
ROOT = PACKAGE.parent
CATALOG = PACKAGE / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
#: Errors for developers and the command line, not for the people using the pages.
INTERNAL = {"ValueError", "TypeError", "LookupError", "RuntimeError", "KeyError", "ClickException", "DemoRefused"}
ERROR_NAMES = ("Error", "Refused", "Expired", "Revoked", "InvalidInput", "NotFound", "NotAllowed", "Conflict", "Balance", "Transaction", "Amount", "Actor", "Closed", "Account", "Reversed", "Open")


def _strings(node: ast.AST) -> list[str]:
    """String constants in a literal: a string, or a list/tuple/dict of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [s for element in node.elts for s in _strings(element)]
    if isinstance(node, ast.Dict):
        return [s for value in node.values for s in _strings(value)]
    return []


def code_messages() -> dict[str, str]:
    """msgid -> where it was found, from the Python sources."""
    found: dict[str, str] = {}
    for source in PACKAGE.rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        where = str(source.relative_to(ROOT))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "template" for t in node.targets):
                for text in _strings(node.value):
                    found[text] = where
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else ""
            if name.endswith(ERROR_NAMES) and name not in INTERNAL and node.args:
                for text in _strings(node.args[0]):
                    found[text] = where
            for keyword in node.keywords:
                if keyword.arg in ("errors", "error", "error_messages"):
                    for text in _strings(keyword.value):
                        found[text] = where
    return found


def template_and_gettext_messages() -> dict[tuple[str | None, str], str]:
    """(context, msgid) -> where, from _(), gettext() and pgettext() calls in templates and code."""
    method_map = [("timebank/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "pgettext": ((1, "c"), 2)}
    found = {}
    for filename, _lineno, message, _comments, context in extract_from_dir(ROOT, method_map, keywords=keywords):
        if isinstance(message, str):
            found[(context, message)] = filename
    return found


def test_every_message_has_a_chinese_translation():
    with CATALOG.open("rb") as handle:
        translated = {(m.context, m.id) for m in read_po(handle) if m.id and m.string}
    wanted = {**{(None, text): where for text, where in code_messages().items()}, **template_and_gettext_messages()}
    missing = {
        (text if context is None else f"{context}|{text}"): where
        for (context, text), where in wanted.items()
        if text.strip() and (context, text) not in translated and any(c.isalpha() for c in text) and not text.isidentifier()
    }
    assert not missing, "untranslated:\n" + "\n".join(f"  {where}: {text!r}" for text, where in sorted(missing.items(), key=lambda kv: kv[1]))
