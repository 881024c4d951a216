"""polling_station: checks beyond the schema, run wherever tenant settings are validated."""


def check(settings: dict, languages: list[str]) -> list[tuple[str, str]]:
    """Every resident-facing text in every language the council offers."""
    problems = []
    for language in languages:
        for key in ("poll_hours", "advice"):
            if key in settings and language not in settings[key]:
                problems.append((key, f"missing {language!r}: the council offers that language"))
    return problems
