"""faq: checks beyond the schema, run wherever tenant settings are validated."""


def check(settings: dict, languages: list[str]) -> list[tuple[str, str]]:
    problems = []
    seen = set()
    for i, entry in enumerate(settings.get("entries", [])):
        if entry["id"] in seen:
            problems.append((f"entries[{i}].id", f"{entry['id']!r} is used by another entry"))
        seen.add(entry["id"])
        for language in languages:
            for key in ("question", "answer"):
                if language not in entry[key]:
                    problems.append((f"entries[{i}].{key}", f"missing {language!r}: the council offers that language"))
            for j, link in enumerate(entry.get("links", [])):
                if language not in link["title"]:
                    problems.append((f"entries[{i}].links[{j}].title", f"missing {language!r}"))
    return problems
