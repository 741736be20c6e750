"""Seed documents: ``empty``, the built-in ``demo`` MSP, or a JSON file path."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from sandbox.seeds import demo_autotask, demo_qbo


def load_seed(name_or_path: str, today: date | None = None) -> dict[str, Any]:
    if name_or_path == "empty":
        return {}
    if name_or_path == "demo":
        return build_demo_seed(today or date.today())
    path = Path(name_or_path)
    if not path.is_file():
        raise ValueError(f"seed {name_or_path!r} is neither 'demo', 'empty' nor a JSON file")
    return json.loads(path.read_text())


def build_demo_seed(today: date) -> dict[str, Any]:
    """The built-in ``demo`` seed: both halves, built from the shared names in ``sandbox.seeds.demo``."""
    return {"autotask": demo_autotask.build(today), "qbo": demo_qbo.build(today)}
