"""CDK entry point (cdk.json: ``python infra/app.py``): one mailgate stack per region.

Regions come from the ``regions`` context of cdk.json, read here too so that running this file
directly (``make synth``, the infra tests) synthesizes the same app as the CDK CLI.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

# Run as a script, Python puts infra/ first on sys.path, where infra/constructs would shadow
# the `constructs` library; import from the repository root instead.
_REPO_ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(_REPO_ROOT)

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.constructs.source import LAMBDA_DEPS_DIR  # noqa: E402
from infra.stack import MailgateStack  # noqa: E402

CDK_JSON = _REPO_ROOT / "cdk.json"


def stack_name(region_code: str) -> str:
    """``jp`` -> ``MailgateJp``."""
    return f"Mailgate{region_code.capitalize()}"


def build_app(outdir: str | None = None, context: dict[str, Any] | None = None) -> cdk.App:
    """The app with one stack per region of the ``regions`` context, checked by cdk-nag;
    ``context`` replaces entries of cdk.json's."""
    # Without `make lambda-deps` the layer is empty: enough to synthesize, not to deploy.
    LAMBDA_DEPS_DIR.mkdir(parents=True, exist_ok=True)
    context = json.loads(CDK_JSON.read_text())["context"] | (context or {})
    app = cdk.App(outdir=outdir, context=context)
    regions: dict[str, str] = app.node.get_context("regions")
    front_settings: dict[str, dict[str, str]] = app.node.try_get_context("front_settings") or {}
    scan_settings: dict[str, dict[str, str]] = app.node.try_get_context("scan_settings") or {}
    tracking_shards: dict[str, dict[str, int]] = app.node.try_get_context("tracking_shards") or {}
    for region_code, region in regions.items():
        MailgateStack(
            app,
            stack_name(region_code),
            region_code=region_code,
            front_settings=front_settings.get(region_code, {}),
            scan_settings=scan_settings.get(region_code, {}),
            tracking_shards=tracking_shards.get(region_code, {}),
            env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=region),
            description=f"mailgate email security gateway ({region_code})",
        )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    build_app().synth()
