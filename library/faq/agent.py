"""faq's part in building a council's Dialogflow agent (see docs/processes.md, "agent.py").

``faq-topic`` is the council's own list: one entry per item of ``processes.faq.entries``, the
entry's ``id`` as the value, its question and keywords in that language as synonyms.
"""


def entities(settings, language):
    entries = []
    for entry in settings.get("entries", []):
        question = (entry.get("question") or {}).get(language)
        keywords = (entry.get("keywords") or {}).get(language) or []
        synonyms = [s for s in [question, *keywords] if s]
        if synonyms:
            entries.append({"value": entry["id"], "synonyms": synonyms})
    return {"faq-topic": entries}
