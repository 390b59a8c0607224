import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

export { SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
/** For tests and embedders that collect spans in memory. */
export { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** A W3C `traceparent` header value (version 00). */
export const TRACEPARENT_PATTERN = '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$';
const TRACEPARENT = new RegExp(TRACEPARENT_PATTERN);

const propagator = new W3CTraceContextPropagator();
const getter = { get: (carrier: Record<string, string>, key: string) => carrier[key], keys: (carrier: Record<string, string>) => Object.keys(carrier) };
const setter = { set: (carrier: Record<string, string>, key: string, value: string) => (carrier[key] = value) };

export interface SpanOptions {
  /** The parent: a context, or a `traceparent` value (from a job, a frame, a request header). */
  parent?: Context | string | undefined;
  kind?: SpanKind;
  /** Epoch ms, for spans that began before they could be created (queue wait). */
  startTime?: number;
  /** Ids, counts, timings and model names only: never message text or personal data. */
  attributes?: Attributes;
}

/**
 * One process's traces: OpenTelemetry spans with W3C trace context, exported over OTLP/HTTP
 * only when OTEL_EXPORTER_OTLP_ENDPOINT is set. Off (the default), every span is the API's
 * non-recording span and `traceparentOf` returns undefined, so nothing is added to jobs or
 * frames. Context is passed explicitly (a parent per span), never through async hooks: the hot
 * path stays free of context-manager bookkeeping.
 */
export class Tracing {
  private readonly tracer: Tracer;

  private constructor(
    readonly enabled: boolean,
    private readonly provider: BasicTracerProvider | null,
  ) {
    this.tracer = provider ? provider.getTracer('scalable-chatbot-svc') : trace.getTracer('scalable-chatbot-svc-off');
  }

  /** Tracing off: spans record nothing, nothing is propagated. */
  static off(): Tracing {
    return new Tracing(false, null);
  }

  /** OTLP/HTTP export to `<endpoint>/v1/traces` (batched) when an endpoint is set, else off. */
  static fromEndpoint(serviceName: string, endpoint: string | undefined): Tracing {
    if (!endpoint) return Tracing.off();
    const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` });
    return Tracing.withProcessor(serviceName, new BatchSpanProcessor(exporter));
  }

  /** Every span handed to `exporter` as it ends (tests: an InMemorySpanExporter). */
  static withExporter(serviceName: string, exporter: SpanExporter): Tracing {
    return Tracing.withProcessor(serviceName, new SimpleSpanProcessor(exporter));
  }

  private static withProcessor(serviceName: string, processor: BatchSpanProcessor | SimpleSpanProcessor): Tracing {
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': serviceName }), spanProcessors: [processor] });
    return new Tracing(true, provider);
  }

  startSpan(name: string, options: SpanOptions = {}): Span {
    const parent = typeof options.parent === 'string' ? contextOf(options.parent) : (options.parent ?? ROOT_CONTEXT);
    return this.tracer.startSpan(
      name,
      { kind: options.kind ?? SpanKind.INTERNAL, ...(options.startTime !== undefined ? { startTime: options.startTime } : {}), ...(options.attributes ? { attributes: options.attributes } : {}) },
      parent,
    );
  }

  /** The context to parent further spans on. */
  contextOf(span: Span): Context {
    return trace.setSpan(ROOT_CONTEXT, span);
  }

  /** The span's `traceparent`, to carry in a job or a frame; undefined while tracing is off. */
  traceparentOf(span: Span): string | undefined {
    if (!this.enabled || !span.isRecording()) return undefined;
    const carrier: Record<string, string> = {};
    propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, setter);
    return carrier.traceparent;
  }

  /** Exports what is buffered now. */
  async flush(): Promise<void> {
    await this.provider?.forceFlush();
  }

  /** Flushes what is buffered and stops exporting. Safe to call twice. */
  async close(): Promise<void> {
    await this.provider?.shutdown();
  }
}

/** The context a `traceparent` value names; the root context for anything malformed. */
export function contextOf(traceparent: string | undefined): Context {
  if (!traceparent || !TRACEPARENT.test(traceparent)) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, { traceparent }, getter);
}

/** Ends a span with an error status and the error's class name only (messages may quote user text). */
export function endWithError(span: Span, err: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' });
  span.end();
}
