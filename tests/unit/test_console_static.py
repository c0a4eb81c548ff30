"""The console's files as the local server serves them, and its message catalog."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from local import console_messages
from local.console_files import CONSOLE_DIR, console_file


def test_the_message_catalog_is_the_one_generated_from_the_catalog() -> None:
    written = console_messages.MESSAGES_PATH.read_text(encoding="utf-8")
    assert written == console_messages.render(console_messages.document()), (
        "web/messages.json is stale: run `make console-messages`"
    )


def test_every_label_the_scripts_use_is_in_the_catalog_in_both_languages() -> None:
    messages = json.loads(console_messages.MESSAGES_PATH.read_text(encoding="utf-8"))
    used: set[str] = set()
    for script in (CONSOLE_DIR / "js").glob("*.js"):
        source = script.read_text(encoding="utf-8")
        used |= set(re.findall(r'\bt(?:\(|: \[?)"([a-z_]+\.[a-z0-9_.]+)"', source))
        used |= set(re.findall(r'"(col\.[a-z0-9_]+)"', source))
    assert len(used) > 50
    missing = []
    for key in sorted(used):
        table, name = ("columns", key[4:]) if key.startswith("col.") else ("ui", key)
        entry = messages[table].get(name)
        if not entry or not entry["en"] or not entry["ja"]:
            missing.append(key)
    assert missing == []


def test_the_root_is_the_console_page_with_its_security_headers() -> None:
    status, headers, body = console_file(CONSOLE_DIR, "/")  # type: ignore[misc]
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert b'<script type="module" src="js/app.js">' in body


@pytest.mark.parametrize(
    "path",
    [
        "/../pyproject.toml",
        "/js/../../README.md",
        "/%2e%2e/README.md",
        "/.hidden.js",
        "//etc/passwd",
        "/js/\\app.js",
        "/missing.js",
        "/js",  # a directory
        "/js/app.py",
    ],
)
def test_nothing_outside_the_console_or_unlisted_is_served(path: str, tmp_path: Path) -> None:
    (tmp_path / "web" / "js").mkdir(parents=True)
    (tmp_path / "web" / "js" / "app.py").write_text("secret")
    (tmp_path / "web" / ".hidden.js").write_text("secret")
    (tmp_path / "README.md").write_text("secret")
    assert console_file(tmp_path / "web", path) is None


def test_a_link_out_of_the_console_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "secret.js").write_text("secret")
    (tmp_path / "web" / "leak.js").symlink_to(tmp_path / "secret.js")
    assert console_file(tmp_path / "web", "/leak.js") is None
