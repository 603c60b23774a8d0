/**
 * Postgres not answering: a connection refused, closed under a query, or a server shutting down or
 * starting (SQLSTATE 57P01-57P03, class 08). Momentary, like Temporal's: 503, not 500.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (
    let current = error, depth = 0;
    current && depth < 5;
    current = (current as { cause?: unknown }).cause, depth += 1
  ) {
    const code = String((current as { code?: unknown })?.code ?? '');
    if (
      /^(CONNECTION_(CLOSED|ENDED|DESTROYED)|CONNECT_TIMEOUT|ECONNREFUSED|ECONNRESET|EPIPE|57P0[123]|08...)$/.test(code)
    )
      return true;
  }
  return false;
}
