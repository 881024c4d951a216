"""missed_bin's settings checks beyond the schema: the shared bins settings' rules, and the Open311
settings naming only the council's bins, with an attribute value for every bin it collects."""

from townhall.upstreams.bins.checks import settings_problems


def check(settings, languages):
    problems = settings_problems(settings, languages)
    open311, bins = settings["open311"], settings["bins"]
    attribute = open311.get("bin_attribute")
    if attribute:
        for kind in bins:
            if kind not in attribute["values"]:
                problems.append(
                    (
                        f"open311.bin_attribute.values.{kind}",
                        f"residents can report the {kind} bin: give the attribute's value for it",
                    )
                )
    named = [
        ("service_codes", open311.get("service_codes") or {}),
        ("bin_attribute.values", attribute["values"] if attribute else {}),
    ]
    for where, table in named:
        for kind in table:
            if kind not in bins:
                problems.append((f"open311.{where}.{kind}", f"{kind!r} is not one of the bins under 'bins'"))
    return problems
