"""Readable text for people: aligned tables of status, history, readiness and the changes of a failover."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell; the last column is not padded."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) if i < len(widths) - 1 else c for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
             for r in cells]
    return "\n".join(lines)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def ago(value: str | None, now: datetime | None = None) -> str:
    """'12 s ago', '4 min ago', '3 h ago', '2 d ago'; '-' for no time."""
    when = parse_time(value)
    if when is None:
        return "-"
    seconds = max(0.0, ((now or datetime.now(UTC)) - when).total_seconds())
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def clock(value: str | None) -> str:
    when = parse_time(value)
    return when.strftime("%Y-%m-%d %H:%M:%SZ") if when else "-"


def seconds(ms: Any) -> str:
    return f"{ms / 1000:.1f} s" if isinstance(ms, int | float) else "-"


def health(value: Any) -> str:
    return {True: "healthy", False: "FAILED", None: "unknown"}.get(value, str(value))


def short(value: Any) -> str:
    """A resource id as its type and name; anything else as text."""
    if value is None:
        return "-"
    text = str(value)
    if text.startswith("/subscriptions/"):
        parts = text.strip("/").split("/")
        return "/".join(parts[-2:]) if len(parts) >= 2 else text
    return text


def flat(value: Any) -> str:
    """A change's before/after as 'name: value' pairs, ids shortened."""
    if isinstance(value, Mapping):
        inner = [(k, v) for k, v in value.items()]
        if len(inner) == 1 and isinstance(inner[0][1], Mapping):
            return flat(inner[0][1])  # {"publicIps": {...}} -> its content
        return ", ".join(f"{k}: {flat(v)}" for k, v in inner) or "-"
    if isinstance(value, list):
        return ", ".join(flat(v) for v in value) or "-"
    return short(value)


def changes(items: Sequence[Mapping[str, Any]]) -> str:
    if not items:
        return "no changes: Azure already matches"
    rows = [(short(c.get("resource")), c.get("action"), flat(c.get("before")), flat(c.get("after"))) for c in items]
    return table(("RESOURCE", "ACTION", "BEFORE", "AFTER"), rows)


def readiness_cell(readiness: Mapping[str, Any] | None) -> str:
    if not readiness:
        return "-"
    if readiness.get("ready"):
        return "ready"
    return "NOT READY: " + ", ".join(readiness.get("failing") or [])


def last_failover(record: Mapping[str, Any] | None) -> str:
    if not record:
        return "never"
    return (f"{record.get('from')} -> {record.get('to')} ({record.get('trigger')}) {ago(record.get('completedAt'))}, "
            f"took {seconds(record.get('durationMs'))}")


def agreement(c: Mapping[str, Any]) -> tuple[str, str] | None:
    """The appliances' own election (nvas[].role) against where Azure has the cluster: a word and a plain sentence;
    None without role probes."""
    asked = [n for n in c.get("nvas", []) if n.get("role") is not None]
    if not asked:
        return None
    claims = [n["name"] for n in asked if n.get("role") == "active"]
    unknown = [n["name"] for n in asked if n.get("role") == "unknown"]
    active = c.get("active")
    if len(claims) > 1:
        return "SPLIT BRAIN", f"SPLIT BRAIN: {' and '.join(claims)} all claim active; nothing moves; Azure has {active}"
    if claims and claims[0] != active:
        return "DISAGREE", f"DISAGREE: the appliances elect {claims[0]}, Azure has {active}"
    if not claims:
        why = f" ({', '.join(unknown)}: role unknown)" if unknown else ""
        return "no claim", f"no appliance claims active{why}; Azure has {active}"
    if unknown:
        return "agree", f"{active} claims active, as in Azure; the role of {', '.join(unknown)} is unknown"
    return "agree", f"the appliances agree with Azure: {active} claims active"


def clusters(items: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for c in items:
        nvas = " ".join(f"{n['name']}:{'ok' if n.get('healthy') else ('down' if n.get('healthy') is False else '?')}"
                        + (f"/{n['role']}" if n.get("role") else "") for n in c.get("nvas", []))
        said = agreement(c)
        phase = "FAILING OVER" if c.get("phase") == "failing_over" else c.get("phase")
        rows.append((c.get("name"), c.get("active"), phase, "PAUSED" if c.get("paused") else "no", c.get("epoch"), nvas,
                     said[0] if said else "-", readiness_cell(c.get("readiness")), last_failover(c.get("lastFailover"))))
    return table(("CLUSTER", "ACTIVE", "PHASE", "PAUSED", "EPOCH", "NVAS", "APPLIANCES", "READINESS", "LAST FAILOVER"), rows)


def paused(c: Mapping[str, Any]) -> str:
    """The pause line: no, or YES with the reason an operator gave (Status.pausedReason, contract rev. 3)."""
    if not c.get("paused"):
        return "no"
    reason = c.get("pausedReason")
    return f"YES ({reason}): no automatic change" if reason else "YES: no automatic change"


def status(c: Mapping[str, Any]) -> str:
    phase = "FAILING OVER" if c.get("phase") == "failing_over" else c.get("phase")
    head = [f"cluster    {c.get('name')}", f"active     {c.get('active')}  (epoch {c.get('epoch')}, {phase})",
            f"paused     {paused(c)}",
            f"readiness  {readiness_cell(c.get('readiness'))}", f"last       {last_failover(c.get('lastFailover'))}"]
    said = agreement(c)
    head += [f"appliances {said[1]}", ""] if said else [""]
    rows = [(n.get("name"), "active" if n.get("name") == c.get("active") else "standby", health(n.get("healthy")), n.get("role") or "-",
             n.get("consecutiveFailures"), n.get("consecutiveSuccesses"), ago(n.get("lastProbeAt")), n.get("lastError") or "")
            for n in c.get("nvas", [])]
    return "\n".join(head) + table(("NVA", "ROLE", "HEALTH", "APPLIANCE SAYS", "FAILS", "OKS", "LAST PROBE", "LAST ERROR"), rows)


def history(answer: Mapping[str, Any]) -> str:
    records = answer.get("failovers") or []
    if not records:
        return f"{answer.get('cluster')}: no failovers recorded"
    rows = [(r.get("epoch"), clock(r.get("startedAt")), r.get("from"), r.get("to"), r.get("trigger"), seconds(r.get("durationMs")),
             len(r.get("changes") or []), r.get("reason") or "") for r in records]
    return table(("EPOCH", "STARTED", "FROM", "TO", "TRIGGER", "DURATION", "WRITES", "REASON"), rows) + timeline(records[0])


def timeline(record: Mapping[str, Any], width: int = 30) -> str:
    """The newest failover drawn as text: detection, start, each Azure write from its start to its end, completion."""
    start, end = parse_time(record.get("startedAt")), parse_time(record.get("completedAt"))
    if start is None or end is None:
        return ""
    detected = parse_time(record.get("detectedAt"))
    origin = min(start, detected) if detected else start
    span = max((end - origin).total_seconds(), 0.001)

    def at(when: datetime) -> float:
        return (when - origin).total_seconds()

    def bar(begin: float, finish: float) -> str:
        left = round(begin / span * width)
        return " " * left + "#" * max(1, round(finish / span * width) - left)

    rows: list[tuple[Any, ...]] = []
    if detected:
        rows.append((f"+{at(detected):.1f} s", "detected", f"{record.get('from')} failed its first probe", "", bar(at(detected), at(detected))))
    rows.append((f"+{at(start):.1f} s", "started", f"{record.get('trigger')} failover to {record.get('to')}", "", bar(at(start), at(start))))
    for w in record.get("writes") or []:
        begin, finish = parse_time(w.get("startedAt")), parse_time(w.get("completedAt"))
        if begin and finish:
            rows.append((f"+{at(begin):.1f} s", w.get("action"), short(w.get("resource")), seconds(w.get("durationMs")),
                         bar(at(begin), at(finish))))
    rows.append((f"+{at(end):.1f} s", "completed", f"{record.get('to')} active, Azure verified", "", bar(at(end), at(end))))
    return f"\n\ntimeline of epoch {record.get('epoch')}:\n" + table(("AT", "STEP", "WHAT", "TOOK", "|" + "-" * (width - 2) + "|"), rows)


def readiness(answer: Mapping[str, Any]) -> str:
    verdict = "READY" if answer.get("ready") else "NOT READY"
    rows = [(c.get("name"), "ok" if c.get("ok") else "FAIL", c.get("detail") or "") for c in answer.get("checks") or []]
    return (f"{answer.get('cluster')}: {verdict} (checked {clock(answer.get('checkedAt'))})\n"
            + table(("CHECK", "OK", "DETAIL"), rows))


def failover(answer: Mapping[str, Any]) -> str:
    if answer.get("status") == "running":  # 202: it goes on; the status and the history show its outcome
        return (f"{answer.get('cluster')}: {answer.get('from')} -> {answer.get('to')}, epoch {answer.get('epoch')} still running "
                f"at the app's wait limit; it goes on: see `nva-failover status {answer.get('cluster')}` and its history")
    kind = "dry run, nothing written" if answer.get("dryRun") else f"done in {seconds(answer.get('durationMs'))}"
    head = f"{answer.get('cluster')}: {answer.get('from')} -> {answer.get('to')}, epoch {answer.get('epoch')} ({kind})"
    skipped = answer.get("skipped") or []
    tail = ("\n\nskipped (not read or written; the next reconcile writes them once it can):\n"
            + table(("RESOURCE", "REASON"), [(s.get("resource"), s.get("reason")) for s in skipped])) if skipped else ""
    return head + "\n" + changes(answer.get("changes") or []) + tail
