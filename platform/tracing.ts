import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';

export interface Tracing {
  resource: Resource;
  /** Workflow spans reach it through the worker's exporter sink; everything else through the global provider. */
  spanProcessor: SpanProcessor;
  shutdown(): Promise<void>;
}

/**
 * OpenTelemetry tracing for one process: a global tracer provider (W3C trace context, async
 * context across awaits) sending spans to `exporter`. `tracingFromConfig` picks the OTLP exporter
 * from the standard `OTEL_*` variables, or none.
 */
export function startTracing(
  serviceName: string,
  exporter: SpanExporter,
  processor: (exporter: SpanExporter) => SpanProcessor = (e) => new BatchSpanProcessor(e),
): Tracing {
  const resource = Resource.default().merge(new Resource({ 'service.name': serviceName }));
  const spanProcessor = processor(exporter);
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  return { resource, spanProcessor, shutdown: () => provider.shutdown() };
}

/**
 * Tracing over OTLP/HTTP when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`
 * is set (the exporter reads the rest of its `OTEL_EXPORTER_OTLP_*` settings, headers and
 * timeouts, itself); off otherwise, or when `OTEL_TRACES_EXPORTER=none`.
 */
export function tracingFromConfig(
  settings: {
    OTEL_EXPORTER_OTLP_ENDPOINT?: string;
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;
    OTEL_TRACES_EXPORTER?: string;
    OTEL_SERVICE_NAME?: string;
  },
  defaultServiceName: string,
): Tracing | null {
  if (settings.OTEL_TRACES_EXPORTER === 'none') return null;
  const url =
    settings.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (settings.OTEL_EXPORTER_OTLP_ENDPOINT
      ? `${settings.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces`
      : undefined);
  if (!url) return null;
  return startTracing(settings.OTEL_SERVICE_NAME ?? defaultServiceName, new OTLPTraceExporter({ url }));
}
