"""bin_collection's settings checks beyond the schema: the shared bins settings' rules."""

from townhall.upstreams.bins.checks import settings_problems


def check(settings, languages):
    return settings_problems(settings, languages)
