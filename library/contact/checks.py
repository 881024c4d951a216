"""contact: checks beyond the schema, run wherever tenant settings are validated (texts in every
language the council offers are the schema's bilingual rule)."""

from .hours import WEEKDAYS, parse_spans


def _week(path: str, week: dict) -> list[tuple[str, str]]:
    problems = []
    for day in WEEKDAYS:
        spans = parse_spans(week.get(day))
        for span in spans:
            if span.closes <= span.opens:
                problems.append((f"{path}.{day}", f"{span.opens:%H:%M}-{span.closes:%H:%M} closes before it opens"))
        for earlier, later in zip(spans, spans[1:]):
            if later.opens < earlier.closes:
                problems.append((f"{path}.{day}", "ranges overlap or are out of order"))
    return problems


def check(settings: dict, languages: list[str]) -> list[tuple[str, str]]:
    problems = _week("opening_hours", settings.get("opening_hours", {}))
    if "live_chat" in settings:
        problems += _week("live_chat.hours", settings["live_chat"]["hours"])
    seen = set()
    for i, closure in enumerate(settings.get("closures", [])):
        if closure["date"] in seen:
            problems.append((f"closures[{i}].date", f"{closure['date']} is listed twice"))
        seen.add(closure["date"])
    return problems
