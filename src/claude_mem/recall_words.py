"""The words prompt recall reads past, and how it finds a word in a text: shared by
``recall`` (which memories) and ``recall_render`` (which of their lines; the hook imports it
only when a memory cleared the floor), neither importing the other. Standard library only.
"""

# Words of a request that say what to do, not what about: no weight in the floor.
ACTION_WORDS = frozenset("""
add added adding make making write writing create creating help need needs want wants let
lets get set use using run show give take put try see look find change update implement
build remind explain tell know think remember please thanks thank okay ok sure now new also
still again last time before earlier previously previous ago first later next thing things
something way one ones bit little quick quickly just maybe really actually going go
called named call happen happened happens mean means meant say said went came got stuff
""".split())


def find_word(low: str, stem: str) -> int:
    """Where ``stem`` starts a word of ``low`` (-1 if nowhere)."""
    at = low.find(stem)
    while at > 0 and low[at - 1].isalnum():
        at = low.find(stem, at + 1)
    return at
