// The chat page of `dseek serve`: conversations in localStorage, answers
// streamed from /v1/chat/completions (server-sent events), R1 reasoning in a
// collapsible "thinking" block, stop, regenerate, copy, settings. Model text
// reaches the page only through textContent or DseekMarkdown.render (which
// escapes first), never as raw HTML.
'use strict';

(function () {
  const STORE = 'dseek.conversations.v1';
  const SETTINGS = 'dseek.settings.v1';
  const $ = (id) => document.getElementById(id);

  const state = {
    conversations: load(STORE, []),
    currentId: null,
    settings: Object.assign({ temperature: 0.7, maxTokens: 512, system: '', apiKey: '' }, load(SETTINGS, {})),
    model: '',
    controller: null,  // AbortController of the running answer
  };

  function load(key, fallback) {
    try {
      const v = JSON.parse(localStorage.getItem(key));
      return v === null || v === undefined ? fallback : v;
    } catch (e) {
      return fallback;
    }
  }
  function save() {
    try {
      localStorage.setItem(STORE, JSON.stringify(state.conversations));
    } catch (e) {
      setStatus('could not save the conversation: ' + e.message);
    }
  }
  function setStatus(text) { $('status').textContent = text; }

  function current() { return state.conversations.find((c) => c.id === state.currentId) || null; }

  function newConversation() {
    const c = { id: String(Date.now()) + Math.random().toString(16).slice(2, 8), title: 'New chat', messages: [] };
    state.conversations.unshift(c);
    state.currentId = c.id;
    save();
    renderAll();
    $('prompt').focus();
  }

  // ---- rendering ----------------------------------------------------------

  function renderSidebar() {
    const ul = $('conversations');
    ul.textContent = '';
    for (const c of state.conversations) {
      const li = document.createElement('li');
      li.className = c.id === state.currentId ? 'active' : '';
      const title = document.createElement('button');
      title.type = 'button';
      title.className = 'conv-title';
      title.textContent = c.title || 'Chat';
      title.addEventListener('click', () => { if (!state.controller) { state.currentId = c.id; renderAll(); } });
      const del = document.createElement('button');
      del.type = 'button';
      del.className = 'conv-delete';
      del.title = 'Delete';
      del.textContent = '\u00d7';
      del.addEventListener('click', () => {
        if (state.controller) return;
        state.conversations = state.conversations.filter((x) => x.id !== c.id);
        if (state.currentId === c.id) state.currentId = state.conversations.length ? state.conversations[0].id : null;
        save();
        renderAll();
      });
      li.append(title, del);
      ul.append(li);
    }
  }

  function copyText(text, button) {
    const done = () => { const old = button.textContent; button.textContent = 'Copied'; setTimeout(() => { button.textContent = old; }, 1200); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done));
    } else {
      fallbackCopy(text, done);
    }
  }
  function fallbackCopy(text, done) {
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.append(ta);
    ta.select();
    try { document.execCommand('copy'); } catch (e) { /* nothing else to try */ }
    ta.remove();
    done();
  }

  // One message element; returns handles to update it while streaming.
  function messageView(msg, isLastAssistant) {
    const div = document.createElement('div');
    div.className = 'message ' + msg.role;
    const role = document.createElement('div');
    role.className = 'role';
    role.textContent = msg.role === 'user' ? 'You' : 'dseek';
    div.append(role);

    let thinking = null, thinkingBody = null;
    if (msg.role === 'assistant') {
      thinking = document.createElement('details');
      thinking.className = 'thinking';
      const summary = document.createElement('summary');
      summary.textContent = 'Thinking';
      thinkingBody = document.createElement('div');
      thinkingBody.className = 'thinking-body';
      thinkingBody.textContent = msg.reasoning || '';
      thinking.append(summary, thinkingBody);
      thinking.hidden = !msg.reasoning;
      div.append(thinking);
    }
    const body = document.createElement('div');
    body.className = 'content';
    if (msg.role === 'assistant') body.innerHTML = DseekMarkdown.render(msg.content || '');
    else body.textContent = msg.content;
    div.append(body);

    const tools = document.createElement('div');
    tools.className = 'tools';
    const copy = document.createElement('button');
    copy.type = 'button';
    copy.className = 'copy';
    copy.textContent = 'Copy';
    copy.addEventListener('click', () => copyText(msg.content || '', copy));
    tools.append(copy);
    if (isLastAssistant) {
      const regen = document.createElement('button');
      regen.type = 'button';
      regen.className = 'regenerate';
      regen.textContent = 'Regenerate';
      regen.addEventListener('click', regenerate);
      tools.append(regen);
    }
    if (msg.note) {
      const note = document.createElement('span');
      note.className = 'note muted';
      note.textContent = msg.note;
      tools.append(note);
    }
    div.append(tools);
    return { div, body, thinking, thinkingBody, tools };
  }

  function renderMessages() {
    const box = $('messages');
    box.textContent = '';
    const c = current();
    const msgs = c ? c.messages : [];
    $('empty').hidden = msgs.length > 0;
    let lastAssistant = -1;
    msgs.forEach((m, i) => { if (m.role === 'assistant') lastAssistant = i; });
    msgs.forEach((m, i) => box.append(messageView(m, i === lastAssistant && !state.controller).div));
    box.scrollTop = box.scrollHeight;
  }

  function renderAll() {
    renderSidebar();
    renderMessages();
    $('model-name').textContent = state.model;
  }

  // ---- generation ---------------------------------------------------------

  function setBusy(busy) {
    $('send').hidden = busy;
    $('stop').hidden = !busy;
    $('prompt').disabled = false;
  }

  async function send(text) {
    let c = current();
    if (!c) { newConversation(); c = current(); }
    c.messages.push({ role: 'user', content: text });
    if (c.title === 'New chat') c.title = text.slice(0, 40) || 'Chat';
    save();
    await answer(c);
  }

  async function regenerate() {
    const c = current();
    if (!c || state.controller) return;
    while (c.messages.length && c.messages[c.messages.length - 1].role === 'assistant') c.messages.pop();
    if (!c.messages.length) return;
    save();
    await answer(c);
  }

  function requestMessages(c) {
    const out = [];
    if (state.settings.system) out.push({ role: 'system', content: state.settings.system });
    for (const m of c.messages) out.push({ role: m.role, content: m.content || '' });
    return out;
  }

  async function answer(c) {
    const msg = { role: 'assistant', content: '', reasoning: '' };
    c.messages.push(msg);
    const controller = new AbortController();
    state.controller = controller;
    setBusy(true);
    renderAll();
    const view = messageView(msg, false);
    const box = $('messages');
    box.lastChild.replaceWith(view.div);
    setStatus('');

    const body = {
      model: state.model || undefined,
      messages: requestMessages({ messages: c.messages.slice(0, -1) }),
      stream: true,
      stream_options: { include_usage: true },
      temperature: Number(state.settings.temperature),
      max_tokens: Number(state.settings.maxTokens) || undefined,
    };
    const headers = { 'Content-Type': 'application/json' };
    if (state.settings.apiKey) headers.Authorization = 'Bearer ' + state.settings.apiKey;
    let usage = null, finish = null;
    let pending = false;
    const paint = () => {
      pending = false;
      view.body.innerHTML = DseekMarkdown.render(msg.content);
      view.thinkingBody.textContent = msg.reasoning;
      view.thinking.hidden = !msg.reasoning;
      box.scrollTop = box.scrollHeight;
    };
    const schedulePaint = () => { if (!pending) { pending = true; requestAnimationFrame(paint); } };
    try {
      const res = await fetch('/v1/chat/completions', { method: 'POST', headers, body: JSON.stringify(body), signal: controller.signal });
      if (!res.ok) {
        let detail = res.status + ' ' + res.statusText;
        try { const j = await res.json(); if (j && j.error && j.error.message) detail = j.error.message; } catch (e) { /* not JSON */ }
        throw new Error(detail);
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const event = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          for (const line of event.split('\n')) {
            if (!line.startsWith('data:')) continue;
            const data = line.slice(5).trim();
            if (data === '[DONE]') continue;
            const j = JSON.parse(data);
            if (j.error) throw new Error(j.error.message || 'server error');
            if (j.usage) usage = j.usage;
            const ch = j.choices && j.choices[0];
            if (!ch) continue;
            if (ch.delta && typeof ch.delta.reasoning_content === 'string') msg.reasoning += ch.delta.reasoning_content;
            if (ch.delta && typeof ch.delta.content === 'string') msg.content += ch.delta.content;
            if (ch.finish_reason) finish = ch.finish_reason;
          }
          schedulePaint();
        }
      }
      msg.note = (finish === 'length' ? 'stopped at the token limit' : '') +
        (usage ? (finish === 'length' ? ' · ' : '') + usage.completion_tokens + ' tokens' : '');
    } catch (e) {
      if (e.name === 'AbortError') msg.note = 'stopped';
      else { msg.note = 'error: ' + e.message; setStatus('error: ' + e.message); }
    } finally {
      state.controller = null;
      setBusy(false);
      save();
      renderAll();
    }
  }

  function stop() {
    if (state.controller) state.controller.abort();
  }

  // ---- settings -----------------------------------------------------------

  function openSettings() {
    $('set-temperature').value = state.settings.temperature;
    $('set-max-tokens').value = state.settings.maxTokens;
    $('set-system').value = state.settings.system;
    $('set-api-key').value = state.settings.apiKey;
    $('settings').showModal();
  }
  function closeSettings() {
    if ($('settings').returnValue !== 'save') return;
    const t = Number($('set-temperature').value);
    const n = Math.floor(Number($('set-max-tokens').value));
    state.settings.temperature = Number.isFinite(t) ? Math.min(2, Math.max(0, t)) : 0.7;
    state.settings.maxTokens = Number.isFinite(n) && n > 0 ? n : 512;
    state.settings.system = $('set-system').value;
    state.settings.apiKey = $('set-api-key').value.trim();
    try { localStorage.setItem(SETTINGS, JSON.stringify(state.settings)); } catch (e) { /* private mode */ }
    loadModel();
  }

  async function loadModel() {
    try {
      const headers = state.settings.apiKey ? { Authorization: 'Bearer ' + state.settings.apiKey } : {};
      const res = await fetch('/v1/models', { headers });
      if (res.status === 401) { setStatus('this server needs an API key: open Settings'); return; }
      const j = await res.json();
      state.model = (j.data && j.data[0] && j.data[0].id) || '';
      $('model-name').textContent = state.model;
    } catch (e) {
      setStatus('cannot reach the server: ' + e.message);
    }
  }

  // ---- wiring -------------------------------------------------------------

  function init() {
    $('composer').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const text = $('prompt').value.trim();
      if (!text || state.controller) return;
      $('prompt').value = '';
      send(text);
    });
    $('prompt').addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        $('composer').requestSubmit();
      }
    });
    $('stop').addEventListener('click', stop);
    $('new-chat').addEventListener('click', () => { if (!state.controller) newConversation(); });
    $('open-settings').addEventListener('click', openSettings);
    $('settings').addEventListener('close', closeSettings);
    $('messages').addEventListener('click', (ev) => {
      const b = ev.target.closest('.copy-code');
      if (b) copyText(b.closest('.code-block').querySelector('code').textContent, b);
    });
    if (state.conversations.length) state.currentId = state.conversations[0].id;
    renderAll();
    loadModel();
  }

  document.addEventListener('DOMContentLoaded', init);
})();
