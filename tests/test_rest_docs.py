"""docs/rest-api.md is what tools/gen_rest_docs.py renders from the OpenAPI
document (engine/src/api/openapi.json) now."""

from __future__ import annotations

import importlib.util
import json

from harness import REPO

GENERATOR = REPO / "tools" / "gen_rest_docs.py"


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_rest_docs", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rest_reference_matches_openapi_document():
    gen = load_generator()
    expected = gen.render(json.loads(gen.SPEC.read_text(encoding="utf-8")))
    current = gen.OUT.read_text(encoding="utf-8") if gen.OUT.exists() else ""
    assert current == expected, (
        "docs/rest-api.md is out of date with engine/src/api/openapi.json: "
        "regenerate it with `python3 tools/gen_rest_docs.py` and commit the result")


def test_every_operation_has_a_section():
    gen = load_generator()
    spec = json.loads(gen.SPEC.read_text(encoding="utf-8"))
    headings = [line for line in gen.render(spec).splitlines() if line.startswith("### ")]
    for path, item in spec["paths"].items():
        for method in gen.METHODS:
            if method not in item:
                continue
            m = method.upper()
            assert any(f"`{m} {path}`" in h or (f"`{m}`" in h and f"`{path}`" in h)
                       for h in headings), f"no section for {m} {path}"
