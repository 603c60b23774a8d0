import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inArray, sql } from 'drizzle-orm';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ActivityDependencies } from '../activities/deps.js';
import { dispatchDueNotifications, type DispatcherOptions } from '../activities/notification-dispatcher.js';
import { createNotificationActivities } from '../activities/notifications.js';
import type { Notifier } from '../activities/ports.js';
import { createDatabase, type Database } from '../db/client.js';
import { createDatabaseIfMissing } from '../db/embedded.js';
import { migrateDatabase } from '../db/migrate.js';
import { notifications } from '../db/schema.js';
import { activityRunner } from './support/activity-env.js';
import { testDatabase } from './support/database.js';
import { newOrderId, orderRequest, workflowInput } from './support/orders.js';
import { createReadModelActivities, type ReadModelWrite } from '../activities/read-model.js';
import { orderView } from '../api/orders/read-model.js';
import { initialOrderView, type OrderWorkflowInput } from '../domain/order.js';

/**
 * Customer notices go through an outbox: the activity only records them, and a dispatcher hands
 * them to the notifier with retries, so a notifier outage never holds up an order.
 */
let db: Database;
const run = activityRunner();

beforeAll(async () => {
  db = await testDatabase();
});

afterAll(async () => {
  await db.close();
});

/** A notifier whose health the test controls; it remembers every key it accepted, in order. */
function controllableNotifier(options: { latencyMs?: number } = {}) {
  const accepted: string[] = [];
  let calls = 0;
  let down = false;
  const notifier: Notifier & { setDown(value: boolean): void; accepted: string[]; calls(): number } = {
    accepted,
    calls: () => calls,
    setDown(value) {
      down = value;
    },
    async send(message) {
      calls += 1;
      if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
      if (down) throw new Error('mail provider unavailable');
      accepted.push(message.idempotencyKey);
    },
  };
  return notifier;
}

function notice(orderId: string, kind: 'confirmation' | 'shipped' = 'confirmation') {
  return { orderId, kind, recipient: 'ada@example.com', subject: `Order ${orderId}: ${kind}`, body: 'Thank you.' };
}

async function rowsOf(orderIds: string[]) {
  return db.select().from(notifications).where(inArray(notifications.orderId, orderIds));
}

const fast: Partial<DispatcherOptions> = { backoff: { initialMs: 100, maxMs: 100 } };

describe('notifyCustomer', () => {
  it('records the notice as pending and returns at once while the notifier fails every call', async () => {
    const notifier = controllableNotifier();
    notifier.setDown(true);
    const { notifyCustomer } = createNotificationActivities({ db, notifier } as unknown as ActivityDependencies);
    const orderId = newOrderId('notify');

    const started = Date.now();
    await run(notifyCustomer, notice(orderId));
    // A retry of the activity records nothing new.
    await run(notifyCustomer, { ...notice(orderId), subject: 'retried' });
    expect(Date.now() - started).toBeLessThan(2_000);

    expect(notifier.calls()).toBe(0);
    const rows = await rowsOf([orderId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      kind: 'confirmation',
      subject: `Order ${orderId}: confirmation`,
      sentAt: null,
      attempts: 0,
      lastError: null,
    });
  });

  it('returns at once while the notifier hangs', async () => {
    const notifier: Notifier = { send: () => new Promise(() => {}) };
    const { notifyCustomer } = createNotificationActivities({ db, notifier } as unknown as ActivityDependencies);
    const orderId = newOrderId('notify');
    await run(notifyCustomer, { ...notice(orderId, 'shipped'), about: 'shp-1' });
    const rows = await rowsOf([orderId]);
    expect(rows).toMatchObject([{ kind: 'shipped:shp-1', sentAt: null }]);
  });
});

describe('the notification dispatcher', () => {
  it('backs off while the notifier fails and sends each pending notice exactly once when it recovers', async () => {
    const notifier = controllableNotifier();
    const { notifyCustomer } = createNotificationActivities({ db, notifier } as unknown as ActivityDependencies);
    const orderIds = [newOrderId('outage'), newOrderId('outage')];
    for (const orderId of orderIds) await run(notifyCustomer, notice(orderId));
    const keys = orderIds.map((orderId) => `${orderId}:confirmation`);
    const ours = () => notifier.accepted.filter((key) => keys.includes(key));

    notifier.setDown(true);
    await dispatchDueNotifications({ db, notifier }, fast);
    let rows = await rowsOf(orderIds);
    expect(rows.map((row) => [row.sentAt, row.attempts])).toEqual([
      [null, 1],
      [null, 1],
    ]);
    expect(rows.every((row) => row.lastError?.includes('mail provider unavailable'))).toBe(true);
    // Backing off: not tried again before its time, even though the notifier is back.
    notifier.setDown(false);
    await dispatchDueNotifications({ db, notifier }, fast);
    expect(ours()).toEqual([]);

    await new Promise((resolve) => setTimeout(resolve, 150));
    await dispatchDueNotifications({ db, notifier }, fast);
    await dispatchDueNotifications({ db, notifier }, fast);
    expect(ours().sort()).toEqual([...keys].sort());
    rows = await rowsOf(orderIds);
    for (const row of rows) {
      expect(row.sentAt).toBeInstanceOf(Date);
      expect(row.attempts).toBe(2);
      expect(row.lastError).toBeNull();
    }
  });

  it('sends a notice of an order only after the ones recorded before it', async () => {
    const notifier = controllableNotifier();
    const { notifyCustomer } = createNotificationActivities({ db, notifier } as unknown as ActivityDependencies);
    const orderId = newOrderId('ordered');
    await run(notifyCustomer, notice(orderId, 'confirmation'));
    await run(notifyCustomer, notice(orderId, 'shipped'));
    notifier.setDown(true);
    await dispatchDueNotifications({ db, notifier }, fast);
    notifier.setDown(false);
    // The confirmation is backing off; the shipping notice waits behind it.
    await dispatchDueNotifications({ db, notifier }, fast);
    expect(notifier.accepted.filter((key) => key.startsWith(orderId))).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 150));
    for (let i = 0; i < 3; i++) await dispatchDueNotifications({ db, notifier }, fast);
    expect(notifier.accepted.filter((key) => key.startsWith(orderId))).toEqual([
      `${orderId}:confirmation`,
      `${orderId}:shipped`,
    ]);
  });

  it('sends a notice scheduled ahead only when due, holding back none recorded after it, and never one withdrawn first', async () => {
    const notifier = controllableNotifier();
    const { recordOrderUpdate } = createReadModelActivities({ db } as ActivityDependencies);
    const write = (order: OrderWorkflowInput, extra: Partial<ReadModelWrite>) =>
      run(recordOrderUpdate, { order, view: initialOrderView(order), ...extra });
    // Far enough ahead that a loaded machine still runs the first rounds before it is due.
    const dueAt = Date.now() + 1500;
    const sendAt = () => new Date(dueAt).toISOString();
    const delivered = { kind: 'delivered', subject: 'Delivered', body: 'It is there.' } as const;
    const feedback = { kind: 'feedback_request', subject: 'How was it?', body: 'Tell us.' } as const;
    const returned = { kind: 'return_authorized', about: 'r1', subject: 'Return', body: 'Send it back.' } as const;
    // Delivered with the feedback request scheduled; a return authorized after it.
    const kept = workflowInput(orderRequest({ orderId: newOrderId('scheduled') }), new Date().toISOString());
    await write(kept, { notices: [delivered, { ...feedback, sendAt: sendAt() }] });
    await write(kept, { notices: [returned] });
    // The same, but every unit came back before the request was due: it is withdrawn.
    const withdrawn = workflowInput(orderRequest({ orderId: newOrderId('withdrawn') }), new Date().toISOString());
    await write(withdrawn, { notices: [delivered, { ...feedback, sendAt: sendAt() }] });
    await write(withdrawn, { withdraw: ['feedback_request'] });
    const ids = [kept.request.orderId, withdrawn.request.orderId];
    const sent = () => notifier.accepted.filter((key) => ids.some((id) => key.startsWith(id)));

    for (let i = 0; i < 3; i++) await dispatchDueNotifications({ db, notifier });
    // A round sends different orders' notices concurrently, so only each order's own sequence is fixed.
    const sentOf = (orderId: string) => sent().filter((key) => key.startsWith(`${orderId}:`));
    expect(sentOf(kept.request.orderId)).toEqual([
      `${kept.request.orderId}:delivered`,
      `${kept.request.orderId}:return_authorized:r1`,
    ]);
    expect(sentOf(withdrawn.request.orderId)).toEqual([`${withdrawn.request.orderId}:delivered`]);
    expect(sent()).toHaveLength(3);
    // Not due is not late: the order view lists it neither as sent nor as pending.
    const view = await orderView(db, kept.request.orderId);
    expect(view?.pendingNotifications).toEqual([]);
    expect(view?.notifications.map((n) => n.kind)).toEqual(['delivered', 'return_authorized:r1']);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt - Date.now()) + 100));
    for (let i = 0; i < 3; i++) await dispatchDueNotifications({ db, notifier });
    expect(sent().slice(3)).toEqual([`${kept.request.orderId}:feedback_request`]);
    expect((await orderView(db, kept.request.orderId))?.notifications.map((n) => n.kind)).toContain('feedback_request');
    expect((await rowsOf([withdrawn.request.orderId])).map((row) => row.kind)).toEqual(['delivered']);
  });

  it('never lets two dispatchers send the same notice, each running over the same rows at once', async () => {
    const notifier = controllableNotifier({ latencyMs: 5 });
    const { notifyCustomer } = createNotificationActivities({ db, notifier } as unknown as ActivityDependencies);
    const orderIds = Array.from({ length: 40 }, () => newOrderId('race'));
    await Promise.all(orderIds.map((orderId) => run(notifyCustomer, notice(orderId))));
    const keys = new Set(orderIds.map((orderId) => `${orderId}:confirmation`));

    const pending = async () => (await rowsOf(orderIds)).filter((row) => row.sentAt === null).length;
    const drain = async () => {
      let rounds = 0;
      while ((await pending()) > 0 && rounds++ < 100)
        await dispatchDueNotifications({ db, notifier }, { ...fast, batchSize: 4 });
    };
    await Promise.all([drain(), drain(), drain()]);

    const ours = notifier.accepted.filter((key) => keys.has(key));
    expect(ours).toHaveLength(keys.size);
    expect(new Set(ours).size).toBe(keys.size);
    expect((await rowsOf(orderIds)).every((row) => row.sentAt !== null && row.attempts === 1)).toBe(true);
  });
});

describe('the outbox migration', () => {
  it('counts the messages recorded before the outbox as sent, so none is sent again', async () => {
    // A database migrated up to the last migration before the outbox, holding a message then.
    const migrations = fileURLToPath(new URL('../db/migrations/', import.meta.url));
    const journal = JSON.parse(readFileSync(join(migrations, 'meta/_journal.json'), 'utf8')) as {
      entries: { tag: string }[];
    };
    const outbox = journal.entries.findIndex((entry) => entry.tag.endsWith('_notification_outbox'));
    const before = mkdtempSync(join(tmpdir(), 'migrations-'));
    mkdirSync(join(before, 'meta'));
    writeFileSync(
      join(before, 'meta/_journal.json'),
      JSON.stringify({ ...journal, entries: journal.entries.slice(0, outbox) }),
    );
    for (const entry of journal.entries.slice(0, outbox))
      copyFileSync(join(migrations, `${entry.tag}.sql`), join(before, `${entry.tag}.sql`));
    const admin = inject('databaseUrl');
    const name = `orders_outbox_${process.pid}`;
    await createDatabaseIfMissing(admin, name);
    const url = new URL(admin);
    url.pathname = `/${name}`;
    const old = createDatabase(url.toString(), { max: 1 });
    try {
      await migrate(old, { migrationsFolder: before });
      await old.execute(sql`
        insert into notifications (order_id, kind, recipient, subject, body, created_at)
        values ('legacy-1', 'confirmation', 'ada@example.com', 'Order legacy-1 confirmed', 'Thank you.', '2025-01-15T10:30:02Z')`);

      await migrateDatabase(old);

      const rows = await old.select().from(notifications);
      expect(rows).toMatchObject([
        { kind: 'confirmation', sentAt: new Date('2025-01-15T10:30:02Z'), attempts: 1, lastError: null },
      ]);
      const notifier = controllableNotifier();
      expect(await dispatchDueNotifications({ db: old, notifier })).toBe(0);
      expect(notifier.calls()).toBe(0);
    } finally {
      await old.close();
      rmSync(before, { recursive: true, force: true });
      const server = postgres(admin, { max: 1, onnotice: () => {} });
      await server.unsafe(`drop database if exists "${name}" with (force)`);
      await server.end();
    }
  });
});
