import { defaultPayloadConverter } from '@temporalio/common';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderWorkflowId } from '../domain/ids.js';
import { initialOrderView, type OrderPolicy } from '../domain/order.js';
import { orderCurrentDetails, orderDetails, orderSummary } from '../domain/operator-view.js';
import { activitySummary } from '../workflows/activity-summaries.js';
import { testDataConverter } from './support/credentials.js';
import { orderRequest, PRODUCTION_POLICY, workflowInput } from './support/orders.js';
import { startSystem, type System } from './support/system.js';

/**
 * What an operator sees of an order in Temporal Web: a static summary and details from the start,
 * current details the workflow keeps up to date, a summary on every activity; never personal data.
 */
const request = orderRequest({ orderId: 'ov-1001' });
const personal = [request.customer.email, request.customer.name, request.shippingAddress.line1];
const totals = { subtotal: 4250, shipping: 500, total: 4750, currency: 'USD' };

describe('the words an operator reads', () => {
  it.each([
    [
      orderRequest({ orderId: 'o-1' }),
      totals,
      'Order o-1: 2× MUG-CERAMIC, 1× BOOK-TEMPORAL · 47.50 USD · web · standard',
    ],
    [orderRequest({ orderId: 'o-2' }), null, 'Order o-2: 2× MUG-CERAMIC, 1× BOOK-TEMPORAL · web · standard'],
    [
      orderRequest({
        orderId: 'o-3',
        channel: 'marketplace',
        items: ['A', 'B', 'C', 'D', 'E'].map((sku) => ({ sku, quantity: 1 })),
      }),
      totals,
      'Order o-3: 1× A, 1× B, 1× C and 2 more · 47.50 USD · marketplace · standard',
    ],
  ])('summarizes an order in one line', (order, orderTotals, expected) => {
    expect(orderSummary(order, orderTotals)).toBe(expected);
  });

  it('names no personal data in the summary, the details or the current details', () => {
    const view = initialOrderView(workflowInput(request, '2026-01-01T00:00:00.000Z'));
    const texts = [
      orderSummary(request, totals),
      orderDetails(request, { totals, lines: [{ sku: 'MUG-CERAMIC', quantity: 2, unitPrice: 1200 }] }),
      orderCurrentDetails(view, null),
      orderCurrentDetails(
        { ...view, status: 'needs_attention', attention: 'pick keeps failing' },
        'pick keeps failing',
      ),
    ];
    for (const text of texts) for (const datum of personal) expect(text).not.toContain(datum);
    expect(texts[1]).toContain('customer ID cust-42');
  });

  it.each([
    ['confirmed', 'Waiting for the free-cancel buffer, until 2026-01-01T00:30:00.000Z'],
    ['backordered', 'Waiting for a restock'],
    ['needs_attention', 'Waiting for an operator'],
    ['completed', 'Waiting for nothing'],
  ] as const)('says what an order in %s waits for', (status, expected) => {
    const view = initialOrderView(workflowInput(request, '2026-01-01T00:00:00.000Z'));
    expect(orderCurrentDetails({ ...view, status }, null)).toContain(expected);
  });

  it('keeps the last problem after the order resumed', () => {
    const view = initialOrderView(workflowInput(request, '2026-01-01T00:00:00.000Z'));
    expect(orderCurrentDetails({ ...view, status: 'processing' }, 'pick keeps failing')).toContain(
      'Last problem: pick keeps failing',
    );
  });

  it.each([
    ['capturePayment', { orderId: 'o-1', amount: 4750, currency: 'USD' }, 'capture 47.50 USD for order o-1'],
    [
      'recordOrderUpdate',
      { order: {}, view: { orderId: 'o-1', status: 'shipped', timeline: [{ type: 'label_created' }] } },
      'read model: order o-1 shipped (label_created)',
    ],
    [
      'notifyCustomer',
      { orderId: 'o-1', kind: 'shipped', recipient: 'ada@example.com', subject: 's', body: 'b' },
      'tell the customer of order o-1: shipped',
    ],
    ['noSuchActivity', { orderId: 'o-1' }, undefined],
  ])('summarizes a call of %s', (name, input, expected) => {
    expect(activitySummary(name, [input])).toBe(expected);
  });
});

describe('an order in Temporal Web', () => {
  const policy: OrderPolicy = { ...PRODUCTION_POLICY, cancellationBuffer: '1s', returnWindow: '1s' };
  let system: System;

  beforeAll(async () => {
    system = await startSystem({ policy });
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('has a summary and details from its start, current details as it moves, and a summary on each activity', async () => {
    expect((await system.api('POST', '/orders', request, { as: 'service' })).status).toBe(202);
    const handle = system.env.client.workflow.getHandle(orderWorkflowId(request.orderId));

    const description = await handle.describe();
    const summary = await description.staticSummary();
    const details = await description.staticDetails();
    expect(summary).toMatch(/^Order ov-1001: 2× MUG-CERAMIC, 1× BOOK-TEMPORAL · \d+\.\d\d USD · web · standard$/);
    expect(details).toContain('| MUG-CERAMIC | 2 |');
    for (const datum of personal) {
      expect(summary).not.toContain(datum);
      expect(details).not.toContain(datum);
    }

    await system.waitForOrder(request.orderId, (status) => status === 'completed');
    const metadata = await handle.query(workflowMetadataQuery);
    expect(metadata.currentDetails).toContain('**completed** · last step order_completed');

    // Summaries go through the payload codec like every payload: Temporal Web shows them through /codec.
    // The order's history: its only shipment ran inside it (Patch.LoneShipmentInOrder), so it has every activity an order runs.
    const events = (await handle.fetchHistory()).events!;
    const [codec] = testDataConverter.payloadCodecs!;
    // Activities, and the local activities the order writes its read model with (Patch.FeedbackInOutbox): their markers.
    const isLocalActivity = (event: (typeof events)[number]) =>
      event.markerRecordedEventAttributes?.markerName === 'core_local_activity';
    const scheduled = await Promise.all(
      events.flatMap((event) =>
        event.activityTaskScheduledEventAttributes || isLocalActivity(event)
          ? [
              (async () => ({
                type: event.activityTaskScheduledEventAttributes?.activityType?.name ?? 'local activity',
                summary: event.userMetadata?.summary
                  ? defaultPayloadConverter.fromPayload<string>((await codec!.decode([event.userMetadata.summary]))[0]!)
                  : undefined,
              }))(),
            ]
          : [],
      ),
    );
    // Every activity of a one-parcel order (6) and its local writes, however many the timing makes.
    expect(scheduled.filter((activity) => activity.type !== 'local activity').length).toBeGreaterThanOrEqual(6);
    expect(scheduled.some((activity) => activity.type === 'local activity')).toBe(true);
    expect(scheduled.filter((activity) => !activity.summary)).toEqual([]);
    const summaries = scheduled.map((activity) => activity.summary!);
    expect(summaries).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^capture \d+\.\d\d USD for order ov-1001$/),
        'read model: order ov-1001 completed (order_completed)',
      ]),
    );
    for (const text of summaries) for (const datum of personal) expect(text).not.toContain(datum);
  });
});
