"""The shared entities' part in building a council's agent (``townhall_tools.agent.build``).

``entities(processes, language, shipped)``: ``processes`` = the settings of each process the
council switches on, ``shipped`` = the library's entries of each shared entity in ``language``.
Returns the council's own entries of the shared entities it changes; each entry may carry
``own``: how many of its first synonyms the council wrote itself (they win a clash with another
entity's library synonym; see docs/agents.md).

``bin-type`` holds only the bins the council collects (the keys of the ``bins`` settings of its
bin processes): each with the council's own name and words for it in that language first, then
the library's synonyms of that kind of bin. A bin the council does not have is not in its agent.
"""


def entities(processes, language, shipped):
    if "bin-type" not in shipped:
        return {}
    library = {e["value"]: list(e["synonyms"]) for e in shipped["bin-type"]}
    own: dict[str, list[str]] = {}
    for settings in processes.values():
        bins = (settings or {}).get("bins")
        if not isinstance(bins, dict):
            continue
        for key, bin in bins.items():
            words = own.setdefault(str(key), [])
            bin = bin if isinstance(bin, dict) else {}
            name = (bin.get("name") or {}).get(language)
            for word in [name, *((bin.get("words") or {}).get(language) or [])]:
                if word and word not in words:
                    words.append(word)
    if not own:
        return {}
    entries = []
    for key in sorted(own):
        synonyms = list(dict.fromkeys([*own[key], *library.get(key, [key])]))
        entries.append({"value": key, "synonyms": synonyms, "own": len(own[key])})
    return {"bin-type": entries}
