"""The admin console's static files (``web/``) as the local API server answers them."""

from __future__ import annotations

from pathlib import Path

from mailgate.console_headers import SECURITY_HEADERS

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
}
CONSOLE_DIR = Path(__file__).resolve().parent.parent / "web"


def console_file(root: Path, url_path: str) -> tuple[int, dict[str, str], bytes] | None:
    """The file of ``root`` that ``url_path`` names (``/`` is ``index.html``); None when there
    is none: hidden names, paths leaving ``root`` and unlisted kinds of file are never served."""
    relative = url_path.lstrip("/") or "index.html"
    parts = relative.split("/")
    if any(not part or part.startswith(".") or "\\" in part or "\0" in part for part in parts):
        return None
    base = root.resolve()
    path = base.joinpath(*parts).resolve()
    content_type = CONTENT_TYPES.get(path.suffix)
    if content_type is None or not path.is_relative_to(base) or not path.is_file():
        return None
    headers = {"Content-Type": content_type, "Cache-Control": "no-cache", **SECURITY_HEADERS}
    return 200, headers, path.read_bytes()
