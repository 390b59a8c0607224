import { ProxyTracerProvider, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
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
  private constructor(
    readonly enabled: boolean,
    private readonly tracer: Tracer,
    /** The SDK provider; a promise while the OTLP exporter loads (see fromEndpoint). */
    private readonly provider: BasicTracerProvider | Promise<BasicTracerProvider> | null,
  ) {}

  /** Tracing off: spans record nothing, nothing is propagated. */
  static off(): Tracing {
    return new Tracing(false, trace.getTracer(TRACER_NAME_OFF), null);
  }

  /**
   * OTLP/HTTP export to `<endpoint>/v1/traces` (batched) when an endpoint is set, else off.
   * The exporter (about 45 ms of CPU to load, in every process that starts, traced or not) is
   * imported only here, so the tracer is the API's proxy until it is in: the gateway and the
   * worker await `ready()` before they serve, so no span of theirs falls before it.
   */
  static fromEndpoint(serviceName: string, endpoint: string | undefined): Tracing {
    if (!endpoint) return Tracing.off();
    const proxy = new ProxyTracerProvider();
    const provider = import('@opentelemetry/exporter-trace-otlp-http').then(({ OTLPTraceExporter }) => {
      const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` });
      const loaded = providerWith(serviceName, new BatchSpanProcessor(exporter));
      proxy.setDelegate(loaded);
      return loaded;
    });
    // A failed load is reported by ready(), flush() and close(), not as an unhandled rejection.
    provider.catch(() => {});
    return new Tracing(true, proxy.getTracer(TRACER_NAME), provider);
  }

  /** Every span handed to `exporter` as it ends (tests: an InMemorySpanExporter). */
  static withExporter(serviceName: string, exporter: SpanExporter): Tracing {
    const provider = providerWith(serviceName, new SimpleSpanProcessor(exporter));
    return new Tracing(true, provider.getTracer(TRACER_NAME), provider);
  }

  /** Resolves once spans record (at once unless the OTLP exporter is still loading). */
  async ready(): Promise<void> {
    await this.provider;
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
    await (await this.provider)?.forceFlush();
  }

  /** Flushes what is buffered and stops exporting. Safe to call twice. */
  async close(): Promise<void> {
    await (await this.provider)?.shutdown();
  }
}

const TRACER_NAME = 'scalable-chatbot-svc';
const TRACER_NAME_OFF = 'scalable-chatbot-svc-off';

function providerWith(serviceName: string, processor: BatchSpanProcessor | SimpleSpanProcessor): BasicTracerProvider {
  return new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': serviceName }), spanProcessors: [processor] });
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
