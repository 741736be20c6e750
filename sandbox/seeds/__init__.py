"""Seed documents: ``empty``, the built-in ``demo`` MSP, a named real-tenant seed (``us-ast``,
``us-manual-tax``, ``uk-vat``, ``ca-gst``, ``au-gst``: ``sandbox.seeds.profiles``), ``multi-company``
(the us-ast tenant with two more QBO companies: ``sandbox.seeds.multi_company``), or a JSON file path."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from sandbox.seeds import demo_autotask, demo_qbo, multi_company, profile_autotask, profile_qbo
from sandbox.seeds.profiles import PROFILE_NAMES, PROFILES

SEED_NAMES = ("empty", "demo", *PROFILE_NAMES, multi_company.NAME)


def load_seed(name_or_path: str, today: date | None = None) -> dict[str, Any]:
    if name_or_path == "empty":
        return {}
    if name_or_path == "demo":
        return build_demo_seed(today or date.today())
    if name_or_path == multi_company.NAME:
        return multi_company.build(build_profile_seed("us-ast", today or date.today()))
    if name_or_path in PROFILES:
        return build_profile_seed(name_or_path, today or date.today())
    path = Path(name_or_path)
    if not path.is_file():
        raise ValueError(f"seed {name_or_path!r} is neither one of {', '.join(SEED_NAMES)} nor a JSON file")
    return json.loads(path.read_text())


def build_demo_seed(today: date) -> dict[str, Any]:
    """The built-in ``demo`` seed: both halves, built from the shared names in ``sandbox.seeds.demo``."""
    return {"autotask": demo_autotask.build(today), "qbo": demo_qbo.build(today)}


def build_profile_seed(name: str, today: date) -> dict[str, Any]:
    """A named real-tenant seed: the demo tenant turned into the MSP of profile ``name``."""
    profile = PROFILES[name]
    demo = build_demo_seed(today)
    autotask = profile_autotask.build(demo["autotask"], profile)
    return {"autotask": autotask, "qbo": profile_qbo.build(demo["qbo"], autotask, profile, today)}
