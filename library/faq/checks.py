"""faq: checks beyond the schema, run wherever tenant settings are validated (texts in every
language the council offers are the schema's bilingual rule)."""


def check(settings: dict, languages: list[str]) -> list[tuple[str, str]]:
    problems = []
    seen = set()
    for i, entry in enumerate(settings.get("entries", [])):
        if entry["id"] in seen:
            problems.append((f"entries[{i}].id", f"{entry['id']!r} is used by another entry"))
        seen.add(entry["id"])
    return problems
