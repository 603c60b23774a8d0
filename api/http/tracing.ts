import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import { operationFor } from '../contract.js';

const tracer = trace.getTracer('order-fulfillment-api');

/**
 * A server span per request, named by the contract's route (`POST /orders`), continuing a caller's
 * `traceparent`. Everything the handler does runs in it, so the Temporal client interceptor makes
 * the workflow start its child and the trace runs on into the worker. Without a tracer provider
 * (no `OTEL_EXPORTER_OTLP_*` endpoint) the API's tracer is a no-op and this costs nothing.
 */
export function traceRequests(): RequestHandler {
  return (req, res, next) => {
    const match = operationFor(req.method, req.path);
    const route = match && 'operation' in match ? match.operation.path : 'unmatched';
    const parent = propagation.extract(context.active(), req.headers);
    const span = tracer.startSpan(
      `${req.method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'http.route': route } },
      parent,
    );
    res.on('finish', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  };
}
