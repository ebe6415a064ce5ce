"""The user of traced.py with an OpenTelemetry SDK: every span it records is written as one JSON line to
the file named by ``SPANS_FILE`` (trace id, span id, name, status code)."""

import json
import os
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from traced import Traced  # Locust loads it from this folder, and runs it


class LineExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with open(os.environ["SPANS_FILE"], "a", encoding="utf-8") as out:
            for span in spans:
                context = span.get_span_context()
                assert context is not None
                line = {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}",
                        "name": span.name, "kind": span.kind.name, "status": span.status.status_code.name,
                        "http_status": (span.attributes or {}).get("http.response.status_code")}  # fmt: skip
                out.write(json.dumps(line) + "\n")
        return SpanExportResult.SUCCESS


provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(LineExporter()))
trace.set_tracer_provider(provider)


__all__ = ["Traced"]
