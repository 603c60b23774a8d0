// The operations dashboard (GET /dashboard): reads GET /reports/kpis with a support or admin key
// kept in this tab's sessionStorage. Plain browser script; Chart.js is served from the npm package.
'use strict';

(function () {
  const KEY = 'orders.dashboard.key';
  const REFRESH_MS = 60_000;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const temporalWeb = params.get('temporalWeb') || `${location.protocol}//${location.hostname}:8233`;
  const namespace = params.get('namespace') || 'default';
  const charts = {};
  let timer = null;
  let renders = 0;

  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.size = 11;

  const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)} %`);
  const num = (x, digits = 0) => (x === null || x === undefined ? '—' : x.toFixed(digits));
  const hours = (x) => (x === null || x === undefined ? '—' : `${x.toFixed(1)} h`);
  const money = (minor, currency) => `${(minor / 100).toFixed(2)} ${currency || ''}`.trim();
  const ymd = (date) =>
    `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;
  const localMidnight = (text) => {
    const [y, m, d] = text.split('-').map(Number);
    return new Date(y, m - 1, d);
  };

  function show(section) {
    $('login').hidden = section !== 'login';
    $('filters').hidden = section !== 'data';
    $('data').hidden = section !== 'data';
  }

  function say(text) {
    $('message').textContent = text;
    $('message').hidden = !text;
  }

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function fillTable(id, rows) {
    const body = $(id).querySelector('tbody');
    body.replaceChildren(
      ...rows.map((cells) => {
        const tr = document.createElement('tr');
        tr.append(
          ...cells.map((c) => (c instanceof Node ? wrap(c) : cell(String(c), typeof c === 'number' ? 'num' : ''))),
        );
        return tr;
      }),
    );
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      const td = cell('none');
      td.colSpan = $(id).querySelectorAll('th').length;
      td.className = 'muted';
      tr.append(td);
      body.append(tr);
    }
  }

  function wrap(node) {
    const td = document.createElement('td');
    td.append(node);
    return td;
  }

  /** A headline tile; `status` compares the value with its target. */
  function tile(kpi, label, text, target, value) {
    const div = document.createElement('div');
    div.className = 'tile';
    div.dataset.kpi = kpi;
    if (target && value !== null && value !== undefined) {
      const ok = target.better === 'higher' ? value >= target.target : value <= target.target;
      div.classList.add(ok ? 'good' : 'bad');
    }
    const l = document.createElement('div');
    l.className = 'label';
    l.textContent = label;
    const v = document.createElement('div');
    v.className = 'value';
    v.textContent = text;
    div.append(l, v);
    if (target) {
      const t = document.createElement('div');
      t.className = 'target';
      const shown =
        kpi.startsWith('processing') || kpi.startsWith('lead')
          ? hours(target.target)
          : target.target < 1
            ? pct(target.target)
            : num(target.target);
      t.textContent = `target ${target.better === 'higher' ? '≥' : '≤'} ${shown}`;
      div.append(t);
    }
    return div;
  }

  function chart(id, config) {
    if (charts[id]) charts[id].destroy();
    charts[id] = new Chart($(id), config);
  }

  const COLORS = ['#2f5bea', '#137333', '#e37400', '#b3261e', '#7b1fa2', '#00838f', '#6d4c41', '#546e7a'];
  const line = (labels, sets) => ({
    type: 'line',
    data: {
      labels,
      datasets: sets.map(([label, data], i) => ({
        label,
        data,
        borderColor: COLORS[i],
        backgroundColor: COLORS[i],
        pointRadius: 2,
        spanGaps: true,
        tension: 0,
      })),
    },
    options: {
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 10 } } },
      scales: { x: { ticks: { maxRotation: 0, autoSkip: true } } },
    },
  });

  function render(report) {
    const t = report.totals;
    const g = report.targets;
    const r = report.returns;
    $('tiles').replaceChildren(
      tile('placed', 'Orders placed', num(t.placed)),
      tile('shipped', 'Shipped', num(t.shipped)),
      tile('delivered', 'Delivered', num(t.delivered)),
      tile('cancelled', 'Cancelled', num(t.cancelled)),
      tile('returned', 'Orders with returns', num(t.returned)),
      tile('orderAccuracy', 'Order accuracy', pct(t.orderAccuracy), g.orderAccuracy, t.orderAccuracy),
      tile('pickingAccuracy', 'Picking accuracy', pct(t.pickingAccuracy), g.pickingAccuracy, t.pickingAccuracy),
      tile('perfectOrderRate', 'Perfect orders', pct(t.perfectOrderRate), g.perfectOrderRate, t.perfectOrderRate),
      tile(
        'onTimeDeliveryRate',
        'On-time delivery',
        pct(t.onTimeDeliveryRate),
        g.onTimeDeliveryRate,
        t.onTimeDeliveryRate,
      ),
      tile('cancellationRate', 'Cancellation rate', pct(t.cancellationRate), g.cancellationRate, t.cancellationRate),
      tile('returnRate', 'Return rate (units)', pct(t.returnRate), g.returnRate, t.returnRate),
      tile(
        'exceptionsPer100',
        'Delivery exceptions / 100',
        num(t.exceptionsPer100, 1),
        g.exceptionsPer100,
        t.exceptionsPer100,
      ),
      tile('reshipsPer100', 'Reships / 100', num(t.reshipsPer100, 1), g.reshipsPer100, t.reshipsPer100),
      tile(
        'processingHoursP90',
        'Processing p50 / p90',
        `${hours(t.processingHours.p50)} / ${hours(t.processingHours.p90)}`,
        g.processingHoursP90,
        t.processingHours.p90,
      ),
      tile(
        'leadTimeHoursP90',
        'Lead time p50 / p90',
        `${hours(t.leadTimeHours.p50)} / ${hours(t.leadTimeHours.p90)}`,
        g.leadTimeHoursP90,
        t.leadTimeHours.p90,
      ),
      tile('refunded', 'Refunded (returns)', money(r.refunded, report.currency)),
      tile('needsAttention', 'Needs attention now', num(report.open.needsAttentionCount)),
      tile('backorders', 'Backorders waiting', num(report.open.backorders.waiting)),
    );

    const labels = report.series.map((b) => b.bucket.slice(5));
    const series = (pick) => report.series.map(pick);
    const times100 = (pick) => series((b) => (pick(b) === null ? null : +(pick(b) * 100).toFixed(2)));
    chart(
      'chart-orders',
      line(labels, [
        ['placed', series((b) => b.placed)],
        ['shipped', series((b) => b.shipped)],
        ['delivered', series((b) => b.delivered)],
        ['cancelled', series((b) => b.cancelled)],
        ['with returns', series((b) => b.returned)],
      ]),
    );
    chart(
      'chart-quality',
      line(labels, [
        ['order accuracy', times100((b) => b.orderAccuracy)],
        ['perfect orders', times100((b) => b.perfectOrderRate)],
        ['on time', times100((b) => b.onTimeDeliveryRate)],
        ['return rate', times100((b) => b.returnRate)],
        ['cancellation rate', times100((b) => b.cancellationRate)],
      ]),
    );
    chart(
      'chart-times',
      line(labels, [
        ['processing p50', series((b) => b.processingHours.p50)],
        ['lead time p50', series((b) => b.leadTimeHours.p50)],
      ]),
    );
    chart('chart-returns', {
      type: 'bar',
      data: {
        labels: r.byReason.map((x) => x.reason),
        datasets: [{ label: 'units', data: r.byReason.map((x) => x.units), backgroundColor: COLORS[2] }],
      },
      options: { indexAxis: 'y', plugins: { legend: { display: false } } },
    });
    chart('chart-cancellations', {
      type: 'doughnut',
      data: {
        labels: report.cancellations.byStage.map((x) => x.stage),
        datasets: [{ data: report.cancellations.byStage.map((x) => x.orders), backgroundColor: COLORS }],
      },
      options: { plugins: { legend: { position: 'right', labels: { boxWidth: 10 } } } },
    });

    fillTable(
      'cancel-reasons',
      report.cancellations.byReason.map((x) => [x.reason, x.orders]),
    );
    fillTable(
      'open',
      report.open.byStatus.map((x) => [x.status, x.orders]),
    );
    fillTable(
      'skus',
      r.bySku.map((x) => [x.sku, x.unitsSold, x.unitsReturned, pct(x.rate)]),
    );
    const b = report.open.backorders;
    $('backorders').textContent =
      b.waiting > 0 ? `${b.waiting} backordered, the oldest for ${hours(b.oldestAgeHours)}` : 'No backorders waiting.';
    $('attention-count').textContent = String(report.open.needsAttentionCount);
    fillTable(
      'attention',
      report.open.needsAttention.map((x) => {
        const a = document.createElement('a');
        a.href = `${temporalWeb}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(x.workflowId)}`;
        a.target = '_blank';
        a.rel = 'noopener';
        a.textContent = x.orderId;
        return [a, x.reason || '', hours(x.ageHours)];
      }),
    );
    document.querySelectorAll('.gran').forEach((el) => (el.textContent = report.range.granularity));
    const scope =
      [report.range.channel, report.range.warehouseId].filter(Boolean).join(', ') || 'all channels and warehouses';
    $('status').textContent =
      `Orders placed ${report.range.from} → ${report.range.to} (${scope}, buckets in ${report.range.tz}); updated ${new Date(report.generatedAt).toLocaleTimeString()}.`;
    renders += 1;
    document.body.dataset.loaded = String(renders);
  }

  async function call(path) {
    const key = sessionStorage.getItem(KEY);
    const response = await fetch(path, { headers: { authorization: `Bearer ${key}`, accept: 'application/json' } });
    const body = await response.json().catch(() => ({}));
    return { status: response.status, body };
  }

  async function load() {
    if (!sessionStorage.getItem(KEY)) {
      show('login');
      return;
    }
    const from = localMidnight($('from').value);
    const to = localMidnight($('to').value);
    to.setDate(to.getDate() + 1);
    const query = new URLSearchParams({
      from: from.toISOString(),
      to: to.toISOString(),
      granularity: $('granularity').value,
      tz: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
    });
    if ($('channel').value) query.set('channel', $('channel').value);
    if ($('warehouse').value) query.set('warehouseId', $('warehouse').value);
    let answer;
    try {
      answer = await call(`/reports/kpis?${query}`);
    } catch (error) {
      say(`The API did not answer: ${error.message}`);
      return;
    }
    if (answer.status === 401 || answer.status === 403) {
      sessionStorage.removeItem(KEY);
      show('login');
      const why =
        answer.status === 401
          ? 'The key was not accepted (401).'
          : 'This key’s role may not read the reports (403): use a support or admin key.';
      say(`${why} ${answer.body.detail || ''}`.trim());
      return;
    }
    if (answer.status !== 200) {
      const fields = (answer.body.errors || []).map((e) => `${e.field}: ${e.message}`).join('; ');
      say(`${answer.body.title || `Error ${answer.status}`}${fields ? ` — ${fields}` : ''}`);
      return;
    }
    say('');
    show('data');
    render(answer.body);
  }

  async function loadWarehouses() {
    const answer = await call('/products').catch(() => null);
    if (!answer || answer.status !== 200) return;
    const ids = [...new Set(answer.body.products.flatMap((p) => p.stock.map((s) => s.warehouseId)))].sort();
    const select = $('warehouse');
    const chosen = select.value;
    select.replaceChildren(new Option('all', ''), ...ids.map((id) => new Option(id, id)));
    select.value = chosen;
  }

  function schedule() {
    if (timer) clearInterval(timer);
    timer = $('auto').checked ? setInterval(() => void load(), REFRESH_MS) : null;
  }

  const today = new Date();
  const monthAgo = new Date(today);
  monthAgo.setDate(today.getDate() - 29);
  $('to').value = params.get('to') || ymd(today);
  $('from').value = params.get('from') || ymd(monthAgo);

  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $('key').value.trim());
    $('key').value = '';
    void loadWarehouses();
    void load();
  });
  $('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    void load();
  });
  $('forget').addEventListener('click', () => {
    sessionStorage.removeItem(KEY);
    say('');
    show('login');
  });
  $('auto').addEventListener('change', schedule);

  if (sessionStorage.getItem(KEY)) void loadWarehouses();
  void load();
  schedule();
})();
