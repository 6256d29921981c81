"""Room history: replayed on join (XEP-0045) and searchable (XEP-0313, RSM)."""

import sgtest

ROOM = "#history@echo.localhost"
MAM = "urn:xmpp:mam:2"
RSM = "http://jabber.org/protocol/rsm"
FWD = "urn:xmpp:forward:0"
MUC = "http://jabber.org/protocol/muc"


def join_raw(c, nick, history=""):
    """Join with a raw presence (to pass <history/>), wait for the self-presence."""
    c.send_raw(f'<presence to="{ROOM}/{nick}"><x xmlns="{MUC}">{history}</x></presence>')
    return c.wait_for_presence(
        lambda p: str(p["from"]) == f"{ROOM}/{nick}" and p["type"] != "unavailable", 10,
        "self-presence")


def say(c, nick, bodies):
    for b in bodies:
        c.send_message(ROOM, b, mtype="groupchat")
        c.wait_for_message(lambda m: m["type"] == "groupchat" and m["body"] == b
                           and str(m["from"]) == f"{ROOM}/{nick}", 10, f"reflection of {b}")


def leave(c, nick):
    c.send_raw(f'<presence to="{ROOM}/{nick}" type="unavailable"/>')
    c.wait_for_presence(lambda p: str(p["from"]) == f"{ROOM}/{nick}" and p["type"] == "unavailable",
                        10, "own exit")


def delayed_bodies(c, count):
    got = []
    for _ in range(count):
        m = c.wait_for_message(
            lambda m: m["from"].bare == ROOM and m["body"] and
            m.xml.find("{urn:xmpp:delay}delay") is not None and m not in got, 10, "history")
        got.append(m)
    return [m["body"] for m in got]


def mam(c, max_=None, after=None, before=None, queryid="q1"):
    fin, results = sgtest.mam_query(c, ROOM, queryid, max_=max_, before=before, after=after)
    return fin, [(r.get("id"), r.find(f"{{{FWD}}}forwarded/{{jabber:client}}message")
                  .find("{jabber:client}body").text,
                  r.find(f"{{{FWD}}}forwarded/{{urn:xmpp:delay}}delay") is not None)
                 for r in results]


def test_history_is_replayed_on_join(gateway, client):
    alice = client("alice")
    join_raw(alice, "alice")
    say(alice, "alice", ["one", "two", "three"])
    leave(alice, "alice")
    alice2 = client("alice", resource="later")
    join_raw(alice2, "alice")
    assert delayed_bodies(alice2, 3) == ["one", "two", "three"]
    # History comes before the subject, which closes the join.
    subj = alice2.wait_for_message(lambda m: m["from"].bare == ROOM and m["subject"], 10,
                                   "the subject")
    assert subj.xml.find("{urn:xmpp:delay}delay") is None


def test_join_asks_for_fewer_messages(gateway, client):
    alice = client("alice")
    join_raw(alice, "alice")
    say(alice, "alice", ["a", "b", "c"])
    leave(alice, "alice")
    join_raw(alice, "alice", '<history maxstanzas="1"/>')
    assert delayed_bodies(alice, 1) == ["c"]
    alice.no_message(lambda m: m["body"] in ("a", "b"), timeout=1)


def test_archive_query_pages_with_rsm(gateway, client):
    alice = client("alice")
    join_raw(alice, "alice")
    say(alice, "alice", [f"m{i}" for i in range(5)])
    fin, page1 = mam(alice, max_=2, queryid="p1")
    assert [b for _, b, _ in page1] == ["m0", "m1"]
    assert all(d for _, _, d in page1)
    assert fin.get("complete") is None  # said on the last page only
    last = fin.find(f"{{{RSM}}}set/{{{RSM}}}last").text
    fin, page2 = mam(alice, max_=10, after=last, queryid="p2")
    assert [b for _, b, _ in page2] == ["m2", "m3", "m4"]
    assert fin.get("complete") == "true"
    # The last page: an empty <before/>.
    fin, tail = mam(alice, max_=2, before="", queryid="p3")
    assert [b for _, b, _ in tail] == ["m3", "m4"]


def test_live_stanza_id_matches_the_archive(gateway, client):
    alice = client("alice")
    join_raw(alice, "alice")
    alice.send_message(ROOM, "find me", mtype="groupchat")
    live = alice.wait_for_message(lambda m: m["body"] == "find me", 10, "the live message")
    sid = live.xml.find("{urn:xmpp:sid:0}stanza-id")
    assert sid is not None and sid.get("by") == ROOM
    _, rows = mam(alice, queryid="s")
    assert (sid.get("id"), "find me") in [(i, b) for i, b, _ in rows]


def test_history_off_records_nothing(make_gateway, client):
    make_gateway(extra={"echo": {"history": "no"}})
    alice = client("alice")
    join_raw(alice, "alice")
    say(alice, "alice", ["not kept"])
    leave(alice, "alice")
    join_raw(alice, "alice")
    alice.no_message(lambda m: m["body"] == "not kept" and
                     m.xml.find("{urn:xmpp:delay}delay") is not None, timeout=1)
    try:
        mam(alice)
    except Exception as e:
        assert "service-unavailable" in str(e)
    else:
        raise AssertionError("a MAM query must fail when history is off")
