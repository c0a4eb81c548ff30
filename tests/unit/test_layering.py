"""The import rules of docs/architecture.md, read from the code's own import statements."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("mailgate", "functions", "local", "infra", "ops")
AWS_SDK = ("boto3", "botocore")
# Stage 2: conditions and the policy engine read evidence and do no I/O of their own.
NO_IO = (*AWS_SDK, "mailgate.aws", "mailgate.storage", "dns", "socket", "smtplib", "http", "urllib")


@dataclass(frozen=True)
class Import:
    path: str  # relative to the project root, with "/" separators
    module: str
    line: int


def imports_of(path: str, source: str) -> Iterator[Import]:
    package = path.removesuffix(".py").replace("/", ".")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                base = package.rsplit(".", node.level)[0]
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield Import(path, module, node.lineno)


def project_imports() -> list[Import]:
    found: list[Import] = []
    for package in PACKAGES:
        for file in sorted((ROOT / package).rglob("*.py")):
            path = file.relative_to(ROOT).as_posix()
            found.extend(imports_of(path, file.read_text()))
    return found


def within(module: str, *roots: str) -> bool:
    return any(module == root or module.startswith(root + ".") for root in roots)


def violation(imp: Import) -> str | None:
    """Why this import breaks a rule of docs/architecture.md, or None."""
    path, module = imp.path, imp.module
    top = path.split("/")[0]
    if top == "mailgate" and within(module, "functions", "local", "infra", "ops"):
        return "the shared package imports nothing of the functions, the local runtime or infra"
    if top == "infra" and within(module, "functions", "local", "ops"):
        return "infra builds from mailgate's declarations, never from function or local code"
    if top == "ops":
        if within(module, "functions", "local", "infra"):
            return "the operator tool acts through mailgate's stores, never through runtime code"
        if within(module, *AWS_SDK) and path != "ops/target.py":
            return "the operator tool uses boto3 only to find its target (ops/target.py)"
    if top == "functions":
        own = ".".join(path.split("/")[:2])
        if within(module, "local", "infra", "ops"):
            return "a function never imports the local runtime, infra or the operator tool"
        if within(module, "functions") and not within(module, own):
            return "a function imports no other function: share through mailgate"
    sdk_allowed = path == "mailgate/aws.py" or path.startswith("mailgate/storage/")
    if top in ("mailgate", "functions") and within(module, *AWS_SDK) and not sdk_allowed:
        return "boto3 is used only in mailgate/aws.py and mailgate/storage/"
    if top != "local" and within(module, "moto"):
        return "moto belongs to the local runtime only"
    if path.startswith(("functions/scan/conditions", "functions/scan/policy")) and within(
        module, *NO_IO
    ):
        return "conditions and the policy engine read evidence and do no I/O"
    return None


def test_every_import_follows_the_layering_rules() -> None:
    broken = [
        f"{imp.path}:{imp.line} imports {imp.module}: {reason}"
        for imp in project_imports()
        if (reason := violation(imp)) is not None
    ]
    assert broken == []


def test_the_rules_catch_what_they_forbid() -> None:
    cases = {
        ("mailgate/records.py", "from functions.receive import checks"): True,
        ("mailgate/search/pager.py", "from local.gateway import LocalGateway"): True,
        ("mailgate/catalog.py", "import boto3"): True,
        ("mailgate/storage/tracking.py", "from boto3.dynamodb.conditions import Key"): False,
        ("mailgate/aws.py", "import botocore.config"): False,
        ("functions/scan/stage.py", "from botocore.exceptions import ClientError"): True,
        ("functions/query/openapi.py", "from functions.export.routes import router"): True,
        ("functions/query/handler.py", "from functions.query.routes import router"): False,
        ("functions/query/handler.py", "from .routes import router"): False,
        ("functions/query/handler.py", "from ..export import routes"): True,
        ("infra/stack.py", "from functions.receive.front import start_fronts"): True,
        ("infra/stack.py", "from mailgate import resources"): False,
        ("local/gateway.py", "from functions.receive.front import start_fronts"): False,
        ("local/aws_emulator.py", "from moto.server import ThreadedMotoServer"): False,
        ("functions/deliver/stage.py", "import moto"): True,
        ("functions/scan/conditions.py", "from mailgate.storage.mail import MailStore"): True,
        ("functions/scan/policy/engine.py", "import dns.resolver"): True,
        ("functions/scan/evidence/spf.py", "import dns.resolver"): False,
        ("ops/cli.py", "from mailgate.tenant_admin import TenantAdmin"): False,
        ("ops/cli.py", "from local.gateway import ENDPOINTS_FILE"): True,
        ("ops/session.py", "from functions.query import quarantine_service"): True,
        ("ops/cli.py", "import boto3"): True,
        ("ops/target.py", "import boto3"): False,
        ("local/cli.py", "from ops.cli import ops"): False,
        ("functions/redeliver/wiring.py", "from ops.session import Session"): True,
        ("mailgate/redelivery.py", "from ops import target"): True,
    }
    for (path, source), forbidden in cases.items():
        (imp,) = imports_of(path, source)
        assert (violation(imp) is not None) is forbidden, (path, source)
