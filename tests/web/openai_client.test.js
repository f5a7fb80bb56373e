// The official `openai` npm client against `dseek serve`: models list, chat
// non-streaming and streaming, reasoning_content (R1 template), completions,
// and the error classes it maps statuses to.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { config, startServer, requirePackage } = require('./helpers');

const OpenAI = requirePackage('openai');

test('openai client', async (t) => {
  const server = await startServer(['--api-key', 'test-key', '-c', '512', '--parallel', '2']);
  t.after(() => server.stop());
  const client = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'test-key', maxRetries: 0 });

  await t.test('models list', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.deepEqual(ids, ['model']);
    const one = await client.models.retrieve('model');
    assert.equal(one.object, 'model');
  });

  await t.test('chat, not streaming', async () => {
    const r = await client.chat.completions.create({
      model: 'model', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 8, seed: 1, temperature: 0.8,
      top_p: 0.95, presence_penalty: 0.1, frequency_penalty: 0.1, stop: ['\n\n\n'],
    });
    assert.equal(r.object, 'chat.completion');
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(typeof r.choices[0].message.content, 'string');
    assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
    assert.ok(r.usage.prompt_tokens > 0);
    assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 8);
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  });

  await t.test('chat, streaming with usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'model', messages: [{ role: 'user', content: 'Count' }], max_completion_tokens: 10, stream: true,
      stream_options: { include_usage: true },
    });
    let text = '', finish = null, usage = null, role = null, n = 0;
    for await (const chunk of stream) {
      n++;
      assert.equal(chunk.object, 'chat.completion.chunk');
      if (chunk.usage) usage = chunk.usage;
      const ch = chunk.choices[0];
      if (!ch) continue;
      if (ch.delta.role) role = ch.delta.role;
      if (ch.delta.content) text += ch.delta.content;
      if (ch.finish_reason) finish = ch.finish_reason;
    }
    assert.ok(n >= 3);
    assert.equal(role, 'assistant');
    assert.ok(text.length > 0);
    assert.equal(finish, 'length');
    assert.equal(usage.completion_tokens, 10);
  });

  await t.test('completions', async () => {
    const r = await client.completions.create({ model: 'model', prompt: 'Once upon a time', max_tokens: 6 });
    assert.equal(r.object, 'text_completion');
    assert.equal(typeof r.choices[0].text, 'string');
    assert.equal(r.usage.completion_tokens, 6);
  });

  await t.test('error mapping', async () => {
    const bad = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(bad.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e instanceof OpenAI.NotFoundError && e.status === 404 && e.code === 'model_not_found');
    await assert.rejects(
      client.chat.completions.create({ model: 'model', messages: [{ role: 'user', content: 'x' }], temperature: 7 }),
      (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === 'temperature');
    await assert.rejects(
      client.chat.completions.create({ model: 'model', messages: [{ role: 'user', content: 'x' }], n: 3 }),
      (e) => e instanceof OpenAI.BadRequestError && e.param === 'n');
    await assert.rejects(
      client.chat.completions.create({ model: 'model', messages: [{ role: 'user', content: 'word '.repeat(800) }] }),
      (e) => e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded' && /512/.test(e.message));
  });
});

test('openai client: reasoning_content from an R1 template', async (t) => {
  const server = await startServer(['--chat-template', config.r1Template(), '-c', '512']);
  t.after(() => server.stop());
  const client = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'unused', maxRetries: 0 });
  // Random weights never close </think> by themselves: a bias on the single
  // </think> token ends the reasoning after a few tokens.
  const request = {
    model: 'model', messages: [{ role: 'user', content: 'Think first' }], max_tokens: 24, seed: 7,
    logit_bias: { [config.thinkEnd]: 5 },
  };
  const r = await client.chat.completions.create(request);
  const msg = r.choices[0].message;
  assert.equal(typeof msg.reasoning_content, 'string');
  assert.ok(msg.reasoning_content.length > 0, 'reasoning_content is empty');
  assert.ok(msg.content.length > 0, 'content is empty');
  assert.ok(!msg.reasoning_content.includes('</think>'));

  const stream = await client.chat.completions.create({ ...request, stream: true });
  let reasoning = '', content = '', firstContentAt = -1, lastReasoningAt = -1, i = 0;
  for await (const chunk of stream) {
    const d = chunk.choices[0] && chunk.choices[0].delta;
    i++;
    if (!d) continue;
    if (d.reasoning_content) { reasoning += d.reasoning_content; lastReasoningAt = i; }
    if (d.content) { content += d.content; if (firstContentAt < 0) firstContentAt = i; }
  }
  assert.equal(reasoning, msg.reasoning_content);
  assert.equal(content, msg.content);
  assert.ok(lastReasoningAt < firstContentAt, 'reasoning streams before the answer');
});
