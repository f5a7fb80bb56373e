// Many clients at once: 16 parallel streams all complete and well-formed;
// 8 clients that drop their connection mid-stream leave no slot in use.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, readSse, metrics, waitFor } = require('./helpers');

const STREAMS = 16, TOKENS = 24, DROPPERS = 8;

function body(i, maxTokens) {
  return JSON.stringify({
    model: 'model', messages: [{ role: 'user', content: `Client ${i}: tell me something.` }],
    max_tokens: maxTokens, stream: true, stream_options: { include_usage: true }, seed: i,
  });
}

test('16 parallel streams, then 8 dropped streams', { timeout: 150000 }, async (t) => {
  const server = await startServer(['-c', '512', '--parallel', '4', '--max-queue', '64']);
  t.after(() => server.stop());
  const url = server.url + '/v1/chat/completions';
  const before = await metrics(server.url);

  const t0 = Date.now();
  const results = await Promise.all(Array.from({ length: STREAMS }, async (_, i) => {
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: body(i, TOKENS) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /text\/event-stream/);
    const events = [];
    const firstAt = { ms: -1 };
    await readSse(res, (e) => {
      if (firstAt.ms < 0 && e !== '[DONE]' && e.choices && e.choices[0] && e.choices[0].delta.content) firstAt.ms = Date.now() - t0;
      events.push(e);
    });
    return { events, ttft: firstAt.ms };
  }));
  const wall = (Date.now() - t0) / 1000;

  const ids = new Set();
  for (const { events } of results) {
    assert.equal(events[events.length - 1], '[DONE]', 'stream must end with [DONE]');
    const json = events.slice(0, -1);
    const id = json[0].id;
    ids.add(id);
    assert.equal(json[0].choices[0].delta.role, 'assistant');
    let finish = null;
    for (const e of json) {
      assert.equal(e.id, id);
      assert.equal(e.object, 'chat.completion.chunk');
      if (e.choices.length && e.choices[0].finish_reason) finish = e.choices[0].finish_reason;
    }
    assert.equal(finish, 'length');
    const usage = json[json.length - 1];
    assert.equal(usage.choices.length, 0);
    assert.equal(usage.usage.completion_tokens, TOKENS);
  }
  assert.equal(ids.size, STREAMS, 'every stream has its own id');
  const ttfts = results.map((r) => r.ttft).sort((a, b) => a - b);
  console.log(`${STREAMS} streams x ${TOKENS} tokens: ${wall.toFixed(2)} s wall, ` +
    `${(STREAMS * TOKENS / wall).toFixed(1)} tokens/s aggregate, first token median ${ttfts[STREAMS >> 1]} ms, ` +
    `max ${ttfts[STREAMS - 1]} ms`);

  // Dropped clients: each reads a few chunks of a long answer, then closes.
  const mid = await metrics(server.url);
  const t1 = Date.now();
  let lastDrop = 0;
  await Promise.all(Array.from({ length: DROPPERS }, async (_, i) => {
    const ac = new AbortController();
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: body(100 + i, 400), signal: ac.signal });
    assert.equal(res.status, 200);
    let content = 0;
    try {
      await readSse(res, (e) => {
        if (e !== '[DONE]' && e.choices && e.choices[0] && e.choices[0].delta.content) content++;
        if (content >= 3) { lastDrop = Date.now(); ac.abort(); return false; }
        return true;
      });
    } catch (e) {
      if (e.name !== 'AbortError') throw e;
    }
    assert.ok(content >= 3, 'the stream ended before the client dropped it');
  }));
  const freedMs = await waitFor(async () => {
    const m = await metrics(server.url);
    return m.dseek_requests_active === 0 && m.dseek_requests_queued === 0 && m.dseek_http_streams_open === 0;
  }, 5000, 'dropped streams to free their slots');
  const after = await metrics(server.url);
  const dropped = after.dseek_http_client_disconnects_total - mid.dseek_http_client_disconnects_total;
  const generated = after.dseek_completion_tokens_total - mid.dseek_completion_tokens_total;
  console.log(`${DROPPERS} dropped streams: all slots free ${Date.now() - lastDrop} ms after the last drop ` +
    `(${freedMs} ms polling), ${dropped} disconnects seen, ${generated} tokens generated of ${DROPPERS * 400} asked, ` +
    `${((Date.now() - t1) / 1000).toFixed(2)} s in all`);
  assert.equal(after.dseek_requests_active, 0);
  assert.equal(after.dseek_requests_queued, 0);
  assert.equal(dropped, DROPPERS);
  assert.ok(generated < DROPPERS * 400 / 2, 'dropped streams kept generating');
  assert.equal(before.dseek_requests_active, 0);
  const h = await fetch(server.url + '/health');
  assert.equal(h.status, 200);
});
