#!/usr/bin/env python3
"""Where a provider's CPU goes, from `perf script` output of a call-graph profile (stdin).

Each sample is put in one category by its stack (the first rule that matches, in the order
below) and in the route whose handler it ran under; prints the shares of every category, then
of each route and category. Used by bench/profile.sh (BENCHMARKS.md, "Where the CPU goes")."""
import collections
import sys

RULES = [  # (category, any of these in a frame of the stack)
    ("RS256 signing", ("sign_jwt", "sign_with_header")),
    ("SQLite checkpoints", ("checkpoint",)),
    ("SQLite begin/commit", ("execute_batch",)),
    ("SQLite statements", ("sqlite3", "rusqlite")),
    ("PostgreSQL client (sqlx)", ("sqlx_postgres", "sqlx_core")),
    ("log lines", ("tracing_subscriber", "log_writer")),
    ("metrics", ("prometheus_client", "metrics::")),
    ("JSON", ("serde_json",)),
    ("runtime: waiting, waking", ("epoll_wait", "park", "futex", "spawn_blocking", "Condvar")),
    ("socket writes", ("writev", "sendmsg", "poll_flush")),
    ("socket reads, HTTP parsing", ("recvfrom", "poll_read", "Http1Transaction>::parse")),
    ("allocation", ("malloc", "free", "realloc")),
]


def category(frames):
    for name, needles in RULES:
        if any(n in f for f in frames for n in needles):
            return name
    return "other (handlers, HTTP, middleware)"


def route(frames):
    handlers = [f for f in frames if "verity_server::routes::" in f]
    if handlers:
        name = handlers[-1].split(" ", 1)[0].split("+0x")[0]
        return name.replace("verity_server::routes::", "").replace("::{{closure}}", "")
    if any("middleware" in f for f in frames):
        return "(middleware)"
    if any("hyper" in f for f in frames):
        return "(connections)"
    return "(background)"


def main():
    cats, routes, total, frames = collections.Counter(), collections.Counter(), 0, []

    def done():
        nonlocal total
        if frames:
            total += 1
            c = category(frames)
            cats[c] += 1
            routes[(route(frames), c)] += 1

    for line in sys.stdin:
        if not line.strip():
            done()
            frames = []
        elif line[:1] in "\t ":
            parts = line.strip().split(" ", 1)
            if len(parts) == 2:
                frames.append(parts[1])
        else:
            frames = []
    done()
    if not total:
        sys.exit("no samples")
    print(f"{total} samples")
    for c, n in cats.most_common():
        print(f"{100 * n / total:6.1f} %  {c}")
    print("\nby route:")
    for (r, c), n in routes.most_common(30):
        print(f"{100 * n / total:6.1f} %  {r:45} {c}")


main()
