// Safe markdown for model output: the text is HTML-escaped first, then a
// small subset is formatted (fenced code, inline code, headings, lists,
// bold, italic, links to http(s) only, paragraphs). Nothing from the model
// can become a tag or an attribute of its own: every character it sends is
// escaped before any markup is added.
'use strict';

(function (global) {
  function escapeHtml(s) {
    return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  }

  // Inline formatting on already-escaped text (no code spans inside).
  function inline(s) {
    s = s.replace(/\*\*([^*\n]+)\*\*/g, '<strong>$1</strong>');
    s = s.replace(/(^|[^*])\*([^*\n]+)\*(?!\*)/g, '$1<em>$2</em>');
    s = s.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g,
      '<a href="$2" target="_blank" rel="noopener noreferrer nofollow">$1</a>');
    return s;
  }

  function inlineWithCode(escaped) {
    const parts = escaped.split(/(`[^`\n]+`)/g);
    return parts.map((p, i) => (i % 2 === 1 ? '<code>' + p.slice(1, -1) + '</code>' : inline(p))).join('');
  }

  function blocks(escaped) {
    const out = [];
    let para = [];
    let list = null;  // {tag, items}
    const flushPara = () => {
      if (para.length) out.push('<p>' + para.map(inlineWithCode).join('<br>') + '</p>');
      para = [];
    };
    const flushList = () => {
      if (list) out.push('<' + list.tag + '>' + list.items.map((t) => '<li>' + inlineWithCode(t) + '</li>').join('') +
        '</' + list.tag + '>');
      list = null;
    };
    for (const line of escaped.split('\n')) {
      let m;
      if (/^\s*$/.test(line)) { flushPara(); flushList(); continue; }
      if ((m = /^(#{1,6})\s+(.*)$/.exec(line))) {
        flushPara(); flushList();
        const n = m[1].length;
        out.push('<h' + n + '>' + inlineWithCode(m[2]) + '</h' + n + '>');
        continue;
      }
      if ((m = /^\s*[-*+]\s+(.*)$/.exec(line)) || (m = /^\s*\d+[.)]\s+(.*)$/.exec(line))) {
        const tag = /^\s*\d/.test(line) ? 'ol' : 'ul';
        flushPara();
        if (!list || list.tag !== tag) { flushList(); list = { tag, items: [] }; }
        list.items.push(m[1]);
        continue;
      }
      flushList();
      para.push(line);
    }
    flushPara(); flushList();
    return out.join('');
  }

  // Returns HTML. Fenced code blocks (``` with an optional language, closed
  // or still streaming) become <pre><code> with a copy button.
  function render(text) {
    const escaped = escapeHtml(String(text));
    const re = /```([\w+#.-]*)[^\n]*\n([\s\S]*?)(?:```|$)/g;
    let html = '';
    let last = 0;
    let m;
    while ((m = re.exec(escaped)) !== null) {
      html += blocks(escaped.slice(last, m.index));
      const lang = m[1] ? '<span class="code-lang">' + m[1] + '</span>' : '';
      html += '<div class="code-block"><div class="code-head">' + lang +
        '<button type="button" class="copy-code">Copy</button></div><pre><code>' + m[2] + '</code></pre></div>';
      last = re.lastIndex;
      if (m[0].length === 0) break;
    }
    html += blocks(escaped.slice(last));
    return html;
  }

  const api = { render, escapeHtml };
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
  global.DseekMarkdown = api;
})(typeof window !== 'undefined' ? window : globalThis);
