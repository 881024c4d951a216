"""which_council: checks beyond the schema, run wherever tenant settings are validated."""


def check(settings: dict, languages: list[str]) -> list[tuple[str, str]]:
    """Every resident-facing text in every language the council offers."""
    problems = []
    for language in languages:
        for tier, text in sorted(settings.get("tiers", {}).items()):
            if language not in text:
                problems.append((f"tiers.{tier}", f"missing {language!r}: the council offers that language"))
        for code, council in sorted((settings.get("councils") or {}).items()):
            if language not in council["name"]:
                problems.append((f"councils.{code}.name", f"missing {language!r}: the council offers that language"))
    return problems
