"""report_problem: checks beyond the schema, run wherever tenant settings are validated."""

from __future__ import annotations


def check(settings: dict, languages: list[str]) -> list[tuple[str, str]]:
    problems = []
    county = settings["endpoints"].get("county")
    routing = settings.get("categories") or {}
    routed = bool(routing.get("county_groups") or routing.get("county_service_codes"))
    if county is None and routed:
        problems.append(
            (
                "categories",
                "county_groups or county_service_codes need endpoints.county, "
                "the county's Open311 endpoint; add it or remove them",
            )
        )
    if county is not None:
        if not routed:
            problems.append(
                (
                    "endpoints.county",
                    "nothing goes to the county: list the groups or service codes "
                    "it owns in categories.county_groups or categories.county_service_codes",
                )
            )
        if "county_name" not in settings:
            problems.append(("county_name", "needed with endpoints.county: residents are told where reports go"))
    if "notify" in settings and settings.get("ask_contact") is False:
        problems.append(
            (
                "notify",
                "ask_contact is false, so no confirmation would ever be sent; remove notify or ask for contact details",
            )
        )
    return problems
