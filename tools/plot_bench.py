"""Plot of build/bench.json (tools/bench.py calls this at the end of `make bench`).

    .venv/bin/python tools/plot_bench.py [build/bench.json] [build/bench.png]

Left: handshake time per mode (median, log scale) for pure-Python crypto, the C module and
MicroPython's built-in `tls` client, full and resumed. Right: the smallest contiguous free
heap the handshake works in and the heap an open connection keeps, with the targets of the
performance issue as dashed lines. CPython + matplotlib (pinned in requirements-test.txt).
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")  # no display: write the file only
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIENTS = (("microdtls", "pure Python", "#4C72B0"),
           ("microdtls-native", "native C module", "#DD8452"),
           ("builtin", "built-in tls (mbedtls, GCM)", "#55A868"))
HEAP_TARGET = {"psk": 8 * 1024, "ecdhe-cert": 16 * 1024, "ecdhe-rpk": 16 * 1024}


def _time_groups(results):
    """[(label, {client: median ms})] in plot order."""
    h, res = results["handshake"], results.get("resumption", {})
    groups = []
    for mode, label in (("psk", "PSK"), ("ecdhe-cert", "ECDHE cert\n(3-deep chain)"),
                        ("ecdhe-rpk", "ECDHE RPK\n(gnutls-serv)")):
        groups.append((label, {c: h[mode + "/" + c]["median_ms"] for c, _, _ in CLIENTS
                               if mode + "/" + c in h}))
        resumed = {c: res[mode + "/" + c]["median_ms"] for c, _, _ in CLIENTS
                   if mode + "/" + c in res}
        if resumed:
            groups.append((label.split("\n")[0] + "\nresumed", resumed))
    return groups


def _bars(ax, groups, clients, fmt):
    width = 0.8 / len(clients)
    for i, (client, name, colour) in enumerate(clients):
        xs, ys = [], []
        for g, (_, values) in enumerate(groups):
            if values.get(client) is not None:
                xs.append(g + (i - (len(clients) - 1) / 2) * width)
                ys.append(values[client])
        bars = ax.bar(xs, ys, width, label=name, color=colour)
        for bar, y in zip(bars, ys):
            ax.annotate(fmt(y), (bar.get_x() + bar.get_width() / 2, y), ha="center",
                        va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([label for label, _ in groups], fontsize=8)


def plot(results, out_path):
    fig, (ax_t, ax_h) = plt.subplots(1, 2, figsize=(13, 5.2))

    _bars(ax_t, _time_groups(results), CLIENTS,
          lambda y: "%.1f" % y if y < 10 else "%.0f" % y)
    ax_t.set_yscale("log")
    lo, hi = ax_t.get_ylim()
    ax_t.set_ylim(lo, hi * 6)  # room for the legend above the bars
    ax_t.set_ylabel("handshake time, ms (median, log scale)")
    ax_t.set_title("Handshake time, unix port x64, 127.0.0.1", fontsize=10)
    ax_t.legend(fontsize=8, loc="upper left", ncol=3)

    heap = results["smallest_free_heap_bytes"]
    modes = [m for m in ("psk", "ecdhe-cert", "ecdhe-rpk") if "%s/microdtls" % m in heap]
    groups = []
    for m in modes:
        values = {}
        for client in ("microdtls", "microdtls-native"):
            key = "%s/%s" % (m, client)
            values[client] = heap[key] / 1024 if heap[key] else None
            conn = results["handshake"].get(key, {}).get("conn_heap_bytes")
            values[client + "/conn"] = conn / 1024 if conn is not None else None
        groups.append(({"psk": "PSK", "ecdhe-cert": "ECDHE cert",
                        "ecdhe-rpk": "ECDHE RPK"}[m], values))
    heap_clients = (("microdtls", "smallest working free heap, pure", "#4C72B0"),
                    ("microdtls-native", "smallest working free heap, native", "#DD8452"),
                    ("microdtls/conn", "kept by an open connection, pure", "#A6BDDB"),
                    ("microdtls-native/conn", "kept by an open connection, native", "#FDD0A2"))
    _bars(ax_h, groups, heap_clients, lambda y: "%.1f" % y)
    for g, m in enumerate(modes):
        ax_h.hlines(HEAP_TARGET[m] / 1024, g - 0.45, g + 0.45, colors="black",
                    linestyles="dashed", linewidth=1)
    ax_h.plot([], [], "k--", linewidth=1, label="target (issue 7)")
    top = max([v for _, values in groups for v in values.values() if v] + [16])
    ax_h.set_ylim(0, top * 1.45)  # room for the legend above the bars
    ax_h.set_ylabel("KiB of GC heap (64-bit unix port)")
    ax_h.set_title("Heap: smallest that works (PSK: + 5 echoed records) and kept per "
                   "connection", fontsize=10)
    ax_h.legend(fontsize=7, loc="upper center", ncol=2)

    host = results.get("host", {})
    fig.suptitle("microdtls `make bench`, BENCH_RUNS=%s, %s (shared, noisy host)"
                 % (results.get("runs"), host.get("cpu", "")), fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    fig.savefig(out_path, dpi=90)
    plt.close(fig)
    return out_path


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    src = argv[0] if argv else os.path.join(ROOT, "build", "bench.json")
    dst = argv[1] if len(argv) > 1 else os.path.join(ROOT, "build", "bench.png")
    with open(src) as f:
        results = json.load(f)
    print("written", plot(results, dst))
    return 0


if __name__ == "__main__":
    sys.exit(main())
