"""Extract the Terraform schema of the resource types infra/ uses from the providers' own Go source.

    python infra/testing/extract_schema.py google  GIT_DIR TAG  > infra/testing/schema/google-<version>.json
    python infra/testing/extract_schema.py random  GIT_DIR TAG  > infra/testing/schema/random-<version>.json

GIT_DIR is a clone of github.com/hashicorp/terraform-provider-google (or -random) with its tags;
TAG is the release tag (v7.45.0). Nothing is downloaded: the Go files are read with `git show`.

The google provider is written with terraform-plugin-sdk v2: each resource is a Go function
returning ``&schema.Resource{Schema: map[string]*schema.Schema{...}}``, registered with
``registry.Schema{Name: "google_x", Schema: ResourceX()}``. This script reads those literals with
a small Go tokenizer (composite literals, calls, identifiers; function bodies it does not need are
skipped) and converts them the way the SDK's ``coreConfigSchema`` does for Terraform: a list or
set whose Elem is a ``*schema.Resource`` is a nested block (unless ``ConfigMode: SchemaConfigModeAttr``
or computed only), ``Required`` blocks get ``min_items`` 1, every resource gets the optional and
computed ``id`` attribute, and ``Timeouts`` become a ``timeouts`` block. ``verify.ValidateEnum`` and
``validation.StringInSlice`` lists are kept as ``enum`` so the stand-in provider checks them too.

The random provider is written with terraform-plugin-framework; its one resource we use,
``random_password``, is read from ``internal/provider/resource_password.go`` the same way (the
framework's ``schema.StringAttribute{Computed: true, Sensitive: true}`` and so on).

The output is ``terraform providers schema -json``'s shape (``format_version``, ``provider_schemas``)
plus ``source`` saying where it came from. Types the extractor cannot read stop it with an error
naming the Go file, so a partial schema is never written.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys

# Every resource and data source type infra/ uses, and no other. A new type
# in infra/ fails tests/test_terraform_offline.py until it is added here and the schema re-extracted.
GOOGLE_RESOURCES = [
    "google_cloud_run_service_iam_member",
    "google_cloudfunctions2_function",
    "google_dialogflow_agent",
    "google_dialogflow_fulfillment",
    "google_firestore_database",
    "google_firestore_field",
    "google_logging_metric",
    "google_monitoring_alert_policy",
    "google_project_iam_member",
    "google_project_service",
    "google_secret_manager_secret",
    "google_secret_manager_secret_iam_member",
    "google_secret_manager_secret_version",
    "google_service_account",
    "google_storage_bucket",
    "google_storage_bucket_iam_member",
    "google_storage_bucket_object",
]
GOOGLE_DATA_SOURCES: list[str] = []  # none used; data sources are derived from resources at run time in the SDK

TOKEN = re.compile(
    r"""(?P<ws>\s+)|(?P<comment>//[^\n]*|/\*.*?\*/)|(?P<raw>`[^`]*`)|(?P<str>"(?:[^"\\\n]|\\.)*")"""
    r"""|(?P<rune>'(?:[^'\\\n]|\\.)+')|(?P<num>\d[\w.]*)|(?P<ident>[A-Za-z_][\w]*)"""
    r"""|(?P<op>:=|==|!=|<=|>=|&&|\|\||\.\.\.|[{}()\[\],:;.&*+\-/%<>=!|^])""",
    re.S,
)


class ExtractError(Exception):
    pass


def tokens(source: str) -> list[str]:
    out, pos = [], 0
    while pos < len(source):
        m = TOKEN.match(source, pos)
        if not m:
            raise ExtractError(f"cannot tokenise Go near {source[pos : pos + 40]!r}")
        pos = m.end()
        if m.lastgroup not in ("ws", "comment"):
            out.append(m.group())
    return out


OPEN, CLOSE = {"{": "}", "(": ")", "[": "]"}, {"}", ")", "]"}


def skip_balanced(toks: list[str], i: int) -> int:
    """toks[i] opens a bracket: the index after its match."""
    depth = 0
    while i < len(toks):
        if toks[i] in OPEN:
            depth += 1
        elif toks[i] in CLOSE:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ExtractError("unbalanced brackets")


def parse_value(toks: list[str], i: int):
    """One Go expression up to a ',' ')' or '}' at depth 0: ('lit', type, elements) for a composite
    literal, ('call', name, args), ('func',) for a function literal, or ('atom', text)."""
    start = i
    prefix: list[str] = []
    while i < len(toks) and toks[i] not in (",", ")", "}", ";"):
        t = toks[i]
        if t == "func" and (not prefix or prefix == ["&"]):
            i += 1
            while toks[i] != "{":  # signature, then the body
                i = skip_balanced(toks, i) if toks[i] in OPEN else i + 1
            return ("func",), skip_balanced(toks, i)
        if t == "{":
            elements, i = parse_elements(toks, i)
            node = ("lit", "".join(p for p in prefix if p != "&"), elements)
            prefix = []
            if _continues(toks, i):
                return ("atom", " ".join(toks[start:i])), _skip_rest(toks, i)
            return node, i
        if t == "(":
            name = "".join(prefix)
            args, i = parse_args(toks, i)
            node = ("call", name, args)
            if _continues(toks, i):
                return ("atom", " ".join(toks[start : _skip_rest(toks, i)])), _skip_rest(toks, i)
            return node, i
        if t == "[":
            j = skip_balanced(toks, i)
            prefix += toks[i:j]
            i = j
            continue
        prefix.append(t)
        i += 1
    return ("atom", " ".join(prefix)), i


def _continues(toks: list[str], i: int) -> bool:
    """After a literal or call, does the expression go on (a method, an index, an operator)? Go ends
    a statement at a newline, which the tokens no longer hold: a word or string starts the next."""
    return i < len(toks) and toks[i] not in (",", ")", "}", ";") and not re.match(r'[A-Za-z_"`]', toks[i])


def _skip_rest(toks: list[str], i: int) -> int:
    while i < len(toks) and toks[i] not in (",", ")", "}", ";"):
        i = skip_balanced(toks, i) if toks[i] in OPEN else i + 1
    return i


def parse_args(toks: list[str], i: int):
    assert toks[i] == "("
    i += 1
    args = []
    while toks[i] != ")":
        value, i = parse_value(toks, i)
        args.append(value)
        if toks[i] == ",":
            i += 1
    return args, i + 1


def parse_elements(toks: list[str], i: int):
    """Elements of a composite literal: a list of (key or None, value)."""
    assert toks[i] == "{"
    i += 1
    out = []
    while toks[i] != "}":
        key = None
        if toks[i + 1] == ":" and (toks[i].startswith('"') or re.match(r"[A-Za-z_]", toks[i])):
            key = json.loads(toks[i]) if toks[i].startswith('"') else toks[i]
            i += 2
        value, i = parse_value(toks, i)
        out.append((key, value))
        if toks[i] == ",":
            i += 1
    return out, i + 1


class GoPackage:
    """The non-test Go files of one folder at one tag, searched for functions and variables."""

    def __init__(self, repo: str, tag: str, folder: str):
        names = subprocess.run(
            ["git", "-C", repo, "ls-tree", "--name-only", f"{tag}:{folder}"], capture_output=True, text=True, check=True
        ).stdout.split()
        self.folder = folder
        self.files = {}
        for name in names:
            if name.endswith(".go") and not name.endswith("_test.go"):
                text = subprocess.run(
                    ["git", "-C", repo, "show", f"{tag}:{folder}/{name}"], capture_output=True, text=True, check=True
                ).stdout
                self.files[f"{folder}/{name}"] = text
        self._toks = {path: tokens(text) for path, text in self.files.items()}

    def find_func(self, name: str):
        """(path, the value its first `return` gives) of `func name(...) ... {`."""
        for path, toks in self._toks.items():
            for i in range(len(toks) - 2):
                if toks[i] == "func" and toks[i + 1] == name and toks[i + 2] == "(":
                    j = skip_balanced(toks, i + 2)
                    while toks[j] != "{":
                        j = skip_balanced(toks, j) if toks[j] in OPEN else j + 1
                    end = skip_balanced(toks, j)
                    k = j + 1
                    while k < end:
                        if toks[k] == "return":
                            value, _ = parse_value(toks, k + 1)
                            return path, value
                        if toks[k] == ":=" and toks[k - 1] in ("provider", "resource", "r", "s"):
                            # `provider := &schema.Provider{...}` then statements: the literal alone
                            m = k + 1
                            while toks[m] not in ("{", "(") and m < k + 6:
                                m += 1
                            if toks[m] == "{":
                                elements, _ = parse_elements(toks, m)
                                return path, ("lit", "".join(toks[k + 1 : m]).lstrip("&"), elements)
                        k += 1
        return None

    def find_var(self, name: str):
        for path, toks in self._toks.items():
            for i in range(len(toks) - 2):
                if toks[i] == "var" and toks[i + 1] == name and toks[i + 2] == "=":
                    value, _ = parse_value(toks, i + 3)
                    return path, value
        return None

    def registrations(self):
        """{(name, kind): schema expression} from registry.Schema{...}.Register() in init()."""
        out = {}
        for toks in self._toks.values():
            for i in range(len(toks) - 3):
                if toks[i] == "registry" and toks[i + 1] == "." and toks[i + 2] == "Schema" and toks[i + 3] == "{":
                    elements, _ = parse_elements(toks, i + 3)
                    fields = dict(elements)
                    if "Name" in fields and "Schema" in fields:
                        out[(json.loads(fields["Name"][1]), fields["Type"][1].replace(" ", ""))] = fields["Schema"]
        return out


class Extractor:
    def __init__(self, repo: str, tag: str):
        self.repo, self.tag = repo, tag
        self.packages: dict[str, GoPackage] = {}

    def package(self, folder: str) -> GoPackage:
        if folder not in self.packages:
            self.packages[folder] = GoPackage(self.repo, self.tag, folder)
        return self.packages[folder]

    # -- resolving Go expressions to schema literals ------------------------------------------------

    def resolve(self, node, pkg: GoPackage):
        """Follow calls and identifiers to the literal they return: (literal node, its package)."""
        seen = 0
        while node[0] in ("call", "atom") and seen < 10:
            seen += 1
            name = node[1].replace(" ", "")
            if node[0] == "call" and (
                name == "tpgresource.MergeSchemas" or name.startswith("tpgiamresource.ResourceIam")
            ):
                return node, pkg
            where = pkg
            if "." in name:
                alias, name = name.split(".", 1)
                where = self.package(ALIASES.get(alias, f"google/{alias}"))
            found = where.find_func(name) if node[0] == "call" else where.find_var(name)
            if found is None:
                raise ExtractError(f"{pkg.folder}: cannot find {node[1]}")
            node, pkg = found[1], where
        return node, pkg

    def schema_map(self, node, pkg: GoPackage) -> dict:
        node, pkg = self.resolve(node, pkg)
        if node[0] == "call" and node[1] == "tpgresource.MergeSchemas":
            merged = {}
            for arg in node[2]:
                merged.update(self.schema_map(arg, pkg))
            return merged
        if node[0] != "lit":
            raise ExtractError(f"{pkg.folder}: expected a schema map, found {node}")
        out = {}
        for key, value in node[2]:
            value, where = self.resolve(value, pkg) if value[0] != "lit" else (value, pkg)
            out[key] = self.attribute(dict(value[2]), where, key)
        return out

    def attribute(self, fields: dict, pkg: GoPackage, name: str) -> dict:
        def flag(key):
            return fields.get(key, ("atom", "false"))[1] == "true"

        kind = fields["Type"][1].replace(" ", "").replace("schema.", "")
        out = {
            "kind": kind,
            "required": flag("Required"),
            "optional": flag("Optional"),
            "computed": flag("Computed"),
            "sensitive": flag("Sensitive"),
            "write_only": flag("WriteOnly"),
        }
        for key in ("MaxItems", "MinItems"):
            if key in fields:
                out[key] = int(fields[key][1])
        if "ConfigMode" in fields and "Attr" in fields["ConfigMode"][1]:
            out["config_mode_attr"] = True
        if "Deprecated" in fields:
            out["deprecated"] = True
        enum = self.enum(fields.get("ValidateFunc"))
        if enum:
            out["enum"] = enum
        if "Elem" in fields:
            elem, where = self.resolve(fields["Elem"], pkg) if fields["Elem"][0] != "lit" else (fields["Elem"], pkg)
            if elem[0] != "lit":
                raise ExtractError(f"{pkg.folder}: {name}: cannot read Elem {fields['Elem']}")
            if elem[1].endswith("Resource"):
                out["elem_resource"] = self.schema_map(dict(elem[2])["Schema"], where)
            else:
                out["elem"] = self.attribute(dict(elem[2]), where, name + ".elem")
        return out

    @staticmethod
    def enum(node):
        if not node or node[0] != "call":
            return None
        if node[1] in ("verify.ValidateEnum", "validation.StringInSlice") and node[2] and node[2][0][0] == "lit":
            values = [json.loads(v[1]) for _, v in node[2][0][2] if v[0] == "atom" and v[1].startswith('"')]
            return [v for v in values if v != ""] + ([""] if "" in values else [])
        return None

    def resource(self, expression, pkg: GoPackage) -> dict:
        node, where = self.resolve(expression, pkg)
        if node[0] == "call" and node[1].startswith("tpgiamresource.ResourceIam"):
            iam = self.package("google/tpgiamresource")
            base = {"tpgiamresource.ResourceIamMember": "IamMemberBaseSchema"}[node[1]]
            schema = self.schema_map(("atom", base), iam)
            schema.update(self.schema_map(node[2][0], where))
            return {"schema": schema, "timeouts": [], "version": 0}
        if node[0] != "lit":
            raise ExtractError(f"{where.folder}: expected &schema.Resource{{...}}, found {node}")
        fields = dict(node[2])
        timeouts = []
        if "Timeouts" in fields:
            timeouts = sorted(k.lower() for k, _ in fields["Timeouts"][2] if k)
        version = int(fields["SchemaVersion"][1]) if "SchemaVersion" in fields else 0
        return {"schema": self.schema_map(fields["Schema"], where), "timeouts": timeouts, "version": version}


ALIASES = {
    "tpgresource": "google/tpgresource",
    "tpgiamresource": "google/tpgiamresource",
    "verify": "google/verify",
}

PRIMITIVE = {"TypeString": "string", "TypeInt": "number", "TypeFloat": "number", "TypeBool": "bool"}
COLLECTION = {"TypeList": "list", "TypeSet": "set", "TypeMap": "map"}


def cty_type(attr: dict):
    if attr["kind"] in PRIMITIVE:
        return PRIMITIVE[attr["kind"]]
    collection = COLLECTION[attr["kind"]]
    if "elem_resource" in attr:
        return [collection, ["object", {k: cty_type(v) for k, v in sorted(attr["elem_resource"].items())}]]
    if "elem" in attr:
        return [collection, cty_type(attr["elem"])]
    return [collection, "string"]


def block(schema: dict, timeouts=(), add_id=False) -> dict:
    """The SDK's coreConfigSchema: {attributes, block_types} as `terraform providers schema -json`."""
    attributes, blocks = {}, {}
    for name, attr in sorted(schema.items()):
        nested = "elem_resource" in attr and attr["kind"] in ("TypeList", "TypeSet")
        if nested and not attr.get("config_mode_attr") and not (attr["computed"] and not attr["optional"]):
            nb = {"nesting_mode": COLLECTION[attr["kind"]], "block": block(attr["elem_resource"])}
            min_items, max_items = attr.get("MinItems", 0), attr.get("MaxItems", 0)
            if attr["required"] and min_items == 0:
                min_items = 1
            if attr["optional"] and min_items > 0:
                min_items = 0
            if min_items:
                nb["min_items"] = min_items
            if max_items:
                nb["max_items"] = max_items
            blocks[name] = nb
            continue
        out = {"type": cty_type(attr)}
        for key in ("required", "optional", "computed", "sensitive", "write_only", "deprecated"):
            if attr.get(key):
                out[key] = True
        if attr.get("enum"):
            out["enum"] = attr["enum"]
        attributes[name] = out
    if add_id and "id" not in attributes:
        attributes["id"] = {"type": "string", "optional": True, "computed": True}
    if timeouts:
        blocks["timeouts"] = {
            "nesting_mode": "single",
            "block": {"attributes": {t: {"type": "string", "optional": True} for t in timeouts}},
        }
    result = {"attributes": attributes}
    if blocks:
        result["block_types"] = blocks
    return result


def google(repo: str, tag: str) -> dict:
    ex = Extractor(repo, tag)
    provider_pkg = ex.package("google/provider")
    found = provider_pkg.find_func("Provider")
    provider_fields = dict(found[1][2])
    provider = block(ex.schema_map(provider_fields["Schema"], provider_pkg))
    services = subprocess.run(
        ["git", "-C", repo, "ls-tree", "--name-only", f"{tag}:google/services"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    wanted = {(n, "registry.SchemaTypeResource") for n in GOOGLE_RESOURCES}
    wanted |= {(n, "registry.SchemaTypeIAMResource") for n in GOOGLE_RESOURCES}
    wanted |= {(n, "registry.SchemaTypeDataSource") for n in GOOGLE_DATA_SOURCES}
    resources, data_sources = {}, {}
    # Only the service folders whose files name a wanted type are read.
    names = "|".join(GOOGLE_RESOURCES + GOOGLE_DATA_SOURCES)
    hits = subprocess.run(
        ["git", "-C", repo, "grep", "-l", "-E", f'Name: +"({names})"', tag, "--", "google/services"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    folders = sorted({h.split(":", 1)[1].rsplit("/", 1)[0] for h in hits})
    for folder in folders:
        if folder.rsplit("/", 1)[1] not in services:
            continue
        pkg = ex.package(folder)
        for (name, kind), expression in pkg.registrations().items():
            if (name, kind) not in wanted:
                continue
            try:
                got = ex.resource(expression, pkg)
            except (ExtractError, KeyError, IndexError, ValueError) as e:
                raise ExtractError(f"{folder}: {name}: {e}") from e
            schema = {"version": got["version"], "block": block(got["schema"], got["timeouts"], add_id=True)}
            (data_sources if kind.endswith("DataSource") else resources)[name] = schema
    missing = sorted(set(GOOGLE_RESOURCES) - set(resources)) + sorted(set(GOOGLE_DATA_SOURCES) - set(data_sources))
    if missing:
        raise ExtractError(f"not found in {tag}: {missing}")
    return {
        "provider": {"version": 0, "block": provider},
        "resource_schemas": resources,
        "data_source_schemas": data_sources,
    }


FRAMEWORK_TYPES = {
    "StringAttribute": "string",
    "BoolAttribute": "bool",
    "Int64Attribute": "number",
    "NumberAttribute": "number",
    "Float64Attribute": "number",
}


def random(repo: str, tag: str) -> dict:
    """random_password, from the plugin-framework schema in internal/provider/resource_password.go."""
    text = subprocess.run(
        ["git", "-C", repo, "show", f"{tag}:internal/provider/resource_password.go"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    toks = tokens(text)
    for i in range(len(toks) - 1):
        if toks[i] == "func" and toks[i + 1] == "passwordSchemaV3":
            break
    else:
        raise ExtractError("internal/provider/resource_password.go: no passwordSchemaV3")
    j = i
    while toks[j] != "return":
        j += 1
    node, _ = parse_value(toks, j + 1)
    fields = dict(node[2])
    attributes = {}
    for name, value in fields["Attributes"][2]:
        kind = value[1].replace("schema.", "")
        if kind not in FRAMEWORK_TYPES and kind != "MapAttribute":
            raise ExtractError(f"random_password.{name}: unsupported {kind}")
        props = dict(value[2])
        out = {"type": FRAMEWORK_TYPES.get(kind, ["map", "string"])}
        for key in ("Required", "Optional", "Computed", "Sensitive"):
            if props.get(key, ("atom", "false"))[1] == "true":
                out[key.lower()] = True
        attributes[name] = out
    version = int(fields["Version"][1]) if "Version" in fields else 0
    return {
        "provider": {"version": 0, "block": {"attributes": {}}},
        "resource_schemas": {"random_password": {"version": version, "block": {"attributes": attributes}}},
        "data_source_schemas": {},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("provider", choices=["google", "random"])
    parser.add_argument("repo", help="git directory of the provider's repository")
    parser.add_argument("tag", help="release tag, e.g. v7.45.0")
    args = parser.parse_args(argv)
    commit = subprocess.run(
        ["git", "-C", args.repo, "rev-list", "-n", "1", args.tag], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        schemas = google(args.repo, args.tag) if args.provider == "google" else random(args.repo, args.tag)
    except ExtractError as e:
        print(f"extract_schema: {e}", file=sys.stderr)
        return 1
    document = {
        "format_version": "1.0",
        "source": {
            "repository": f"github.com/hashicorp/terraform-provider-{args.provider}",
            "tag": args.tag,
            "commit": commit,
            "version": args.tag.lstrip("v"),
            "extracted_by": "infra/testing/extract_schema.py (Go source read with git show; no provider binary)",
        },
        "provider_schemas": {f"registry.terraform.io/hashicorp/{args.provider}": schemas},
    }
    json.dump(document, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
