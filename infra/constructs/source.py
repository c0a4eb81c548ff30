"""Where the gateway's code lives, what of it ships in the assets, and construct naming."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Third-party packages for the Lambda layer, installed by `make lambda-deps`.
LAMBDA_DEPS_DIR = REPO_ROOT / "build" / "lambda-deps"

# Left out of the Lambda code asset and of the SMTP front's build context: at run time only
# pyproject.toml, mailgate/ and functions/ are needed. local/ (the local runtime, which brings
# moto) and ops/ (the operator tool) never ship. The patterns work under both the glob rules
# of file assets and the .dockerignore rules of image assets.
ASSET_EXCLUDE = (
    ".git",
    ".github",
    ".ci",
    ".venv",
    ".mailgate",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "*.egg-info",
    "node_modules",
    "build",
    "cdk.out",
    "bench",
    "docs",
    "infra",
    "local",
    "ops",
    "tests",
    "web",
    ".gitignore",
    "Makefile",
    "cdk.json",
    "*.md",
    "**/__pycache__",
    "**/*.pyc",
)


def pascal(resource_id: str) -> str:
    """``cursor-key`` -> ``CursorKey``: a declared id as a construct id."""
    return "".join(part.capitalize() for part in resource_id.replace("_", "-").split("-"))


def common_environment(region_code: str) -> dict[str, str]:
    """Variables every function and the SMTP front get besides those of their resources."""
    return {"POWERTOOLS_SERVICE_NAME": "mailgate", "MAILGATE_REGION_CODE": region_code}
