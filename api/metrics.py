"""A tiny Prometheus registry (text format 0.0.4) and the ASGI middleware that feeds it.

Labels are route templates, statuses and closed vocabularies (verdict kinds, item kinds, triggers) —
never an order id, item id or anything from a request body — so cardinality stays bounded and the
metrics endpoint can not become a side channel for customer data. Hand-written because four metric
families do not earn a dependency.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Iterable, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LabelValues = tuple[str, ...]

DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: LabelValues, extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _fmt(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Counter:
    def __init__(self, name: str, help_text: str, label_names: Sequence[str] = ()) -> None:
        self.name, self.help, self.label_names = name, help_text, tuple(label_names)
        self._values: dict[LabelValues, float] = {}
        self._lock = threading.Lock()

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        if len(labels) != len(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}")
        with self._lock:
            self._values[labels] = self._values.get(labels, 0.0) + amount

    def value(self, *labels: str) -> float:
        with self._lock:
            return self._values.get(labels, 0.0)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        with self._lock:
            items = sorted(self._values.items())
        for labels, v in items:
            yield f"{self.name}{_labels(self.label_names, labels)} {_fmt(v)}"


class Histogram:
    def __init__(
        self,
        name: str,
        help_text: str,
        label_names: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        self.name, self.help, self.label_names = name, help_text, tuple(label_names)
        self.buckets = tuple(sorted(buckets))
        # Per label set: non-cumulative bucket counts (+1 for +Inf), sum, count.
        self._data: dict[LabelValues, tuple[list[int], list[float]]] = {}
        self._lock = threading.Lock()

    def observe(self, value: float, *labels: str) -> None:
        if len(labels) != len(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}")
        i = bisect.bisect_left(self.buckets, value)
        with self._lock:
            counts, total = self._data.setdefault(labels, ([0] * (len(self.buckets) + 1), [0.0]))
            counts[i] += 1
            total[0] += value

    def count(self, *labels: str) -> int:
        with self._lock:
            entry = self._data.get(labels)
            return sum(entry[0]) if entry else 0

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        with self._lock:
            items = sorted((k, (list(c), t[0])) for k, (c, t) in self._data.items())
        for labels, (counts, total) in items:
            running = 0
            for bound, n in zip((*self.buckets, float("inf")), counts, strict=True):
                running += n
                le = f'le="{_fmt(bound)}"'
                yield f"{self.name}_bucket{_labels(self.label_names, labels, le)} {running}"
            yield f"{self.name}_sum{_labels(self.label_names, labels)} {_fmt(total)}"
            yield f"{self.name}_count{_labels(self.label_names, labels)} {running}"


class Metrics:
    """The service's metric families; one instance per app (tests get fresh ones)."""

    def __init__(self) -> None:
        self.requests = Counter(
            "cv_http_requests_total",
            "HTTP requests by route template and status",
            ("method", "route", "status"),
        )
        self.latency = Histogram(
            "cv_http_request_duration_seconds", "HTTP request latency by route template", ("method", "route")
        )
        self.uploads = Counter("cv_uploads_total", "Items accepted by kind", ("kind",))
        self.upload_rejections = Counter(
            "cv_upload_rejections_total", "Uploads refused at intake by problem code", ("code",)
        )
        self.verdicts = Counter("cv_verdicts_total", "Screening verdicts of accepted items", ("verdict",))
        self.purges = Counter("cv_purges_total", "Purges triggered through the API by trigger", ("trigger",))

    def families(self) -> tuple[Counter | Histogram, ...]:
        return (self.requests, self.latency, self.uploads, self.upload_rejections, self.verdicts, self.purges)

    def render(self) -> str:
        lines: list[str] = []
        for family in self.families():
            lines.extend(family.render())
        return "\n".join(lines) + "\n"


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def route_template(scope: Scope) -> str:
    """The matched route's path template ("/v1/orders/{order_id}"), set on the scope by the router;
    "unmatched" otherwise. Never the raw path: it holds order and item ids."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class MetricsMiddleware:
    """Counts and times every HTTP request by route template; streaming bodies are timed to their end."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = route_template(scope)
            method = str(scope.get("method", "?"))
            self.metrics.requests.inc(method, route, str(status))
            self.metrics.latency.observe(time.perf_counter() - start, method, route)
