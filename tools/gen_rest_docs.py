#!/usr/bin/env python3
"""Render the OpenAPI document of the REST API (engine/src/api/openapi.json)
as docs/rest-api.md: per endpoint its method, path, authentication,
parameters, request body, responses with their fields, and a curl example.

    python3 tools/gen_rest_docs.py            # rewrite docs/rest-api.md
    python3 tools/gen_rest_docs.py --check    # exit 1 if it is out of date

Standard library only; the output depends on the document alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "engine" / "src" / "api" / "openapi.json"
OUT = ROOT / "docs" / "rest-api.md"

METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
BASE = "http://127.0.0.1:8080"


class Doc:
    def __init__(self, spec: dict):
        self.spec = spec

    def resolve(self, node: dict) -> dict:
        """Follow local `$ref`s until a real node."""
        seen = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen or not ref.startswith("#/"):
                raise ValueError(f"cannot resolve {ref}")
            seen.add(ref)
            target = self.spec
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def type_of(self, schema: dict) -> str:
        """A short type description such as `string or null`."""
        schema = self.resolve(schema)
        if "enum" in schema:
            return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
        types = schema.get("type")
        if types is None:
            return "any JSON value"
        if isinstance(types, str):
            types = [types]
        names = []
        for t in types:
            if t == "array":
                names.append("array of " + self.type_of(schema.get("items", {})))
            elif t == "object" and isinstance(schema.get("additionalProperties"), dict) \
                    and not schema.get("properties"):
                names.append("object of " + self.type_of(schema["additionalProperties"]))
            elif t == "integer" and schema.get("format"):
                names.append(f"integer ({schema['format']})")
            elif t == "string" and schema.get("format") in ("uuid", "binary"):
                names.append(f"string ({schema['format']})")
            else:
                names.append(t)
        return " or ".join(names)

    def fields(self, schema: dict, prefix: str = "") -> list[tuple[str, str, bool, str]]:
        """Rows (name, type, required, description) of an object's fields,
        nested objects and arrays of objects flattened with dotted names."""
        schema = self.resolve(schema)
        rows = []
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            full = f"{prefix}{name}"
            resolved = self.resolve(prop)
            description = prop.get("description") or resolved.get("description", "")
            if "default" in resolved:
                default = json.dumps(resolved["default"])
                description = f"{description} Default `{default}`.".strip()
            rows.append((full, self.type_of(prop), name in required, description))
            if resolved.get("properties"):
                rows.extend(self.fields(resolved, f"{full}."))
            items = self.resolve(resolved.get("items", {}))
            if items.get("properties"):
                rows.extend(self.fields(items, f"{full}[]."))
        return rows

    def example(self, schema: dict):
        """An example value: the schema's own, else one built from its
        required fields."""
        schema = self.resolve(schema)
        if schema.get("examples"):
            return schema["examples"][0]
        if "example" in schema:
            return schema["example"]
        if "enum" in schema:
            return schema["enum"][0]
        t = schema.get("type")
        if isinstance(t, list):
            t = next((x for x in t if x != "null"), "null")
        if t == "object":
            req = schema.get("required", [])
            return {k: self.example(v) for k, v in schema.get("properties", {}).items()
                    if k in req}
        if t == "array":
            return [self.example(schema.get("items", {}))]
        return {"string": "text", "integer": 0, "number": 0, "boolean": False}.get(t)


def cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return out


def anchor(title: str) -> str:
    """The anchor GitHub gives a heading."""
    text = title.lower().replace(" ", "-")
    return "".join(c for c in text if c.isalnum() or c in "-_")


def parameters(doc: Doc, item: dict, operation: dict) -> list[dict]:
    params = {}
    for p in item.get("parameters", []) + operation.get("parameters", []):
        p = doc.resolve(p)
        params[(p["in"], p["name"])] = p
    return list(params.values())


def is_open(doc: Doc, operation: dict) -> bool:
    return operation.get("security", doc.spec.get("security", [])) == []


def curl(doc: Doc, method: str, path: str, params: list[dict], operation: dict) -> str:
    url = path
    for p in params:
        if p["in"] == "path":
            value = p.get("example", p["name"].upper())
            url = url.replace("{" + p["name"] + "}", str(value))
    parts = ["curl"]
    if method != "get":
        parts.append(f"-X {method.upper()}")
    if not is_open(doc, operation):
        parts.append('-H "Authorization: Bearer $DIALTONE_KEY"')
    body = operation.get("requestBody")
    if body:
        content = doc.resolve(body)["content"]
        ctype = next(iter(content))
        if ctype == "application/json":
            data = json.dumps(doc.example(content[ctype].get("schema", {})))
            parts.append("-H 'Content-Type: application/json'")
            parts.append("-d '" + data.replace("'", "'\\''") + "'")
        elif ctype in ("application/javascript", "text/javascript"):
            parts.append(f"-H 'Content-Type: {ctype}'")
            parts.append("--data-binary @scenario.js")
        elif ctype != "*/*":
            parts.append(f"-H 'Content-Type: {ctype}'")
    parts.append(f"'{BASE}{url}'")
    return " \\\n  ".join([" ".join(parts[:2])] + parts[2:]) if len(parts) > 3 \
        else " ".join(parts)


def heading(methods: list[str], path: str) -> str:
    if len(methods) == 1:
        return f"`{methods[0].upper()} {path}`"
    return ", ".join(f"`{m.upper()}`" for m in methods) + f" `{path}`"


def render_operation(doc: Doc, methods: list[str], path: str, item: dict,
                     op: dict) -> list[str]:
    method = methods[0]
    out = [f"### {heading(methods, path)}", ""]
    out += [f"**{op.get('summary', '')}**", ""] if op.get("summary") else []
    if op.get("description"):
        out += [op["description"], ""]
    out += ["Authentication: " + ("none." if is_open(doc, op)
                                   else "`Authorization: Bearer KEY`."), ""]
    params = parameters(doc, item, op)
    if params:
        out += ["Parameters:", ""]
        out += table(["name", "in", "type", "required", "description"],
                     [[f"`{p['name']}`", p["in"], doc.type_of(p.get("schema", {})),
                       "yes" if p.get("required") else "no", p.get("description", "")]
                      for p in params])
        out.append("")
    body = op.get("requestBody")
    if body:
        body = doc.resolve(body)
        types = ", ".join(f"`{t}`" for t in body["content"])
        need = "required" if body.get("required") else "optional"
        out += [f"Request body ({need}): {types}." + (
            " " + body["description"] if body.get("description") else ""), ""]
        for ctype, media in body["content"].items():
            schema = doc.resolve(media.get("schema", {}))
            if ctype == "application/json" and schema.get("properties"):
                rows = doc.fields(schema)
                out += table(["field", "type", "required", "description"],
                             [[f"`{n}`", t, "yes" if r else "no", d] for n, t, r, d in rows])
                if schema.get("description"):
                    out += ["", schema["description"]]
                if schema.get("additionalProperties") is False:
                    out += ["", "Unknown fields are refused (422)."]
                out.append("")
    out += ["Responses:", ""]
    rows = []
    bodies = []
    for status, resp in op["responses"].items():
        resp = doc.resolve(resp)
        content = resp.get("content", {})
        ctypes = ", ".join(f"`{t}`" for t in content) or "no body"
        schema_ref = next((m["schema"]["$ref"] for m in content.values()
                           if isinstance(m.get("schema"), dict) and "$ref" in m["schema"]), None)
        name = schema_ref.rsplit("/", 1)[-1] if schema_ref else ""
        shape = "[error](#errors)" if name == "Error" else (f"`{name}`" if name else "")
        rows.append([f"`{status}`", resp.get("description", ""), ctypes, shape])
        if name and name != "Error":
            for statuses, known, _ in bodies:
                if known == name:
                    statuses.append(status)
                    break
            else:
                bodies.append(([status], name, doc.resolve({"$ref": schema_ref})))
    out += table(["status", "meaning", "content", "body"], rows)
    out.append("")
    for statuses, name, schema in bodies:
        if not schema.get("properties"):
            continue
        codes = ", ".join(f"`{s}`" for s in statuses)
        out += [f"{codes} body, `{name}`:", ""]
        out += table(["field", "type", "always", "description"],
                     [[f"`{n}`", t, "yes" if r else "no", d] for n, t, r, d in doc.fields(schema)])
        if schema.get("description"):
            out += ["", schema["description"]]
        out.append("")
    out += ["Example:", "", "```sh", curl(doc, method, path, params, op), "```", ""]
    return out


def render(spec: dict) -> str:
    doc = Doc(spec)
    info = spec["info"]
    out = [
        f"# {info['title']}",
        "",
        "<!-- Generated by tools/gen_rest_docs.py from engine/src/api/openapi.json;"
        " do not edit by hand. -->",
        "",
        info.get("description", ""),
        "",
        "The machine-readable document is served at `GET /v1/openapi.json` (OpenAPI 3.1, no"
        " API key needed). Examples use `$DIALTONE_KEY` for an API key and"
        f" `{BASE}` for the `--http` address.",
        "",
    ]
    scheme = spec["components"]["securitySchemes"]["bearer"]
    out += ["## Authentication", "", scheme.get("description", ""), "",
            "A missing or unknown key answers `401` `unauthorized`.", ""]
    error = spec["components"]["schemas"]["Error"]
    out += ["## Errors", "", error.get("description", "") +
            " The body is `application/json`:", ""]
    out += table(["field", "type", "always", "description"],
                 [[f"`{n}`", t, "yes" if r else "no", d] for n, t, r, d in doc.fields(error)])
    out += ["", "```json", '{"error": {"code": "not_found", "message": "application \\"pbx\\" not found"}}',
            "```", ""]

    tags = [t["name"] for t in spec.get("tags", [])]
    tag_text = {t["name"]: t.get("description", "") for t in spec.get("tags", [])}
    by_tag: dict[str, list] = {t: [] for t in tags}
    for path, item in spec["paths"].items():
        # Operations of one path that differ only in method and id (an
        # any-method route) are shown once.
        groups: list[tuple[list[str], dict, str]] = []
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            key = json.dumps({k: v for k, v in op.items() if k != "operationId"},
                             sort_keys=True)
            for methods, _, known in groups:
                if known == key:
                    methods.append(method)
                    break
            else:
                groups.append(([method], op, key))
        for methods, op, _ in groups:
            tag = (op.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append((methods, path, item, op))

    out += ["## Endpoints", ""]
    for tag, ops in by_tag.items():
        if not ops:
            continue
        out.append(f"- **{tag}**: " + ", ".join(
            f"[{heading(m, p)}](#{anchor(heading(m, p))})" for m, p, _, _ in ops))
    out.append("")
    for tag, ops in by_tag.items():
        if not ops:
            continue
        out += [f"## {tag.capitalize()}", ""]
        if tag_text.get(tag):
            out += [tag_text[tag], ""]
        for methods, path, item, op in ops:
            out += render_operation(doc, methods, path, item, op)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if docs/rest-api.md differs from what would be written")
    args = parser.parse_args()
    text = render(json.loads(SPEC.read_text(encoding="utf-8")))
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT.relative_to(ROOT)} is out of date: run python3 tools/gen_rest_docs.py",
                  file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
