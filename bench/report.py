"""The benchmark's results as the Markdown table written to bench/results.md."""

from __future__ import annotations

from typing import Any


def markdown(results: dict[str, Any]) -> str:
    d, a, s, c = results["detection"], results["actuation"], results["sideBySide"], results["calls"]
    lines = [
        "# Benchmark results", "",
        f"Emulated Azure, latency profile `emulation/profiles/azure.json` x {results['scale']}; median of "
        f"{results['runs']} runs each; changes run {results.get('executor', 'queued')}. Rerun with `make bench`.", "",
        "| measure | result | reference | ratio | goal |", "| --- | --- | --- | --- | --- |",
        f"| detection (NVA stop to the lock) | {d['medianSeconds']:.2f} s | bound {d['boundSeconds']:.2f} s "
        f"(interval {d['intervalSeconds']:g} s x {d['unhealthyThreshold']} + timeout {d['probeTimeoutSeconds']:g} s) | "
        f"{d['medianSeconds'] / d['boundSeconds']:.2f} | <= 1 |",
    ]
    for n, v in a.items():
        lines.append(f"| lock to first Resource Manager write, {n} route tables | {v['lockToFirstWriteSeconds']:.2f} s | | | |")
    for n, v in a.items():
        lines.append(f"| actuation (lock to FailoverCompleted), {n} route tables | {v['medianSeconds']:.2f} s | "
                     f"physical limit {v['physicalLimitSeconds']:.2f} s | {v['ratio']:.2f} | <= 1.15 |")
    for n, v in s.items():
        lines.append(f"| ours / serial SDK-poller failover, {n} route tables | {v['oursSeconds']:.2f} s | "
                     f"{v['serialSdkPollerSeconds']:.2f} s | {v['ratio']:.2f} | < 1 |")
    if results.get("floating"):
        f = results["floating"]
        lines.append(f"| actuation, floating IP (remove, then add; no route table) | {f['medianSeconds']:.2f} s, "
                     f"{f['writesPerFailover']} writes | physical limit {f['physicalLimitSeconds']:.2f} s (2 NIC writes) "
                     f"| {f['ratio']:.2f} | <= 1.15 |")
        for name, v in (f.get("vipOnly") or {}).items():  # bench/floating.py: the public IP on the VIP only, both ways
            lines.append(f"| actuation, floating IP with the public IP on the VIP only, {name} | {v['medianSeconds']:.2f} s, "
                         f"{v['writesPerFailover']} writes, {v['movesPerFailover']} moves | physical limit "
                         f"{v['physicalLimitSeconds']:.2f} s ({v['limit']}) | {v['ratio']:.2f} | <= 1.15 |")
    if results.get("roleFlip"):
        r = results["roleFlip"]
        lines.append(f"| appliance-led: role flip to FailoverStarted (both NVAs alive) | {r['medianToStartedSeconds']:.2f} s, "
                     f"max {r['maxToStartedSeconds']:.2f} s of {r['runs']} | schedule period {r['intervalSeconds']:g} s | "
                     f"{r['ratioToInterval']:.2f} | max <= period + probe timeout + queue pickup |")
    if results.get("throttled"):
        t = results["throttled"]
        lines.append(f"| throttled: {t['tables']} route tables over {t['subscriptions']} subscriptions | {t['seconds']:.1f} s | "
                     f"bound {t['boundSeconds']:.1f} s ({t.get('binding', 'ARM write bucket')}) | {t['ratio']:.2f} | <= 1.1 |")
        lines.append(f"| throttled: answers of 429 | {t['throttled']} of {t.get('writes', 0) + t.get('reads', 0)} requests | "
                     f"{t.get('writes', 0)} writes, {t.get('reads', 0)} reads | {t.get('throttledShare', 0):.2%} | < 1% |")
    for n, v in c.items():
        lines.append(f"| calls per failover, {n} route tables | {v['writesPerFailover']:g} writes, {v['readsPerFailover']:g} reads "
                     f"| steady cycle: {v['writesPerSteadyCycle']} writes, {v['readsPerSteadyCycle']} reads | "
                     f"{v['readsPerFailover'] / max(1, v['writesPerFailover']):.2f} reads/write | 0 steady writes; "
                     "reads <= 2/write + constant |")
    st = results["startup"]
    lines.append(f"| start-up: import function_app + one probe cycle | {st['app']['medianSeconds']:.2f} s, "
                 f"{st['app']['peakMemoryMiB']:.0f} MiB | dependencies alone {st['deps']['medianSeconds']:.2f} s, "
                 f"{st['deps']['peakMemoryMiB']:.0f} MiB | {st['app']['medianSeconds'] / st['deps']['medianSeconds']:.2f} | |")
    return "\n".join(lines) + "\n"

