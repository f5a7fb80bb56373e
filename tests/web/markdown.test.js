// The page's markdown renderer (apps/web/markdown.js): model text can never
// become HTML of its own; the subset it formats comes out as expected.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const { render } = require(path.join(__dirname, '..', '..', 'apps', 'web', 'markdown.js'));

test('html in model output is escaped, never parsed', () => {
  const attacks = [
    '<img src=x onerror="alert(1)">',
    '<script>alert(1)</script>',
    '[click](javascript:alert(1))',
    '[x](https://a.example/"onmouseover="alert(1))',
    '```\n</code></pre><script>alert(1)</script>\n```',
    '`<b>` **<i>x</i>**',
    '<a href="https://evil.example">x</a>',
  ];
  for (const a of attacks) {
    const html = render(a);
    assert.ok(!/<(img|script|i|b)[\s>]/i.test(html), html);
    assert.ok(!/href="(?!https?:)/i.test(html), html);
    assert.ok(!/ on[a-z]+="/i.test(html), html);
    assert.ok(!/<a href="https:\/\/evil/.test(html), html);
  }
});

test('markdown subset', () => {
  assert.equal(render('**bold** and *it*'), '<p><strong>bold</strong> and <em>it</em></p>');
  assert.equal(render('# Title'), '<h1>Title</h1>');
  assert.equal(render('- a\n- b'), '<ul><li>a</li><li>b</li></ul>');
  assert.equal(render('1. a\n2. b'), '<ol><li>a</li><li>b</li></ol>');
  assert.equal(render('use `x < y`'), '<p>use <code>x &lt; y</code></p>');
  assert.match(render('[site](https://example.org/a?b=1&c=2)'),
    /<a href="https:\/\/example.org\/a\?b=1&amp;c=2" target="_blank" rel="noopener noreferrer nofollow">site<\/a>/);
  const code = render('before\n```python\nif a < b:\n    print("*no* **format**")\n```\nafter');
  assert.match(code, /<span class="code-lang">python<\/span>/);
  assert.match(code, /<pre><code>if a &lt; b:\n    print\(&quot;\*no\* \*\*format\*\*&quot;\)\n<\/code><\/pre>/);
  assert.match(code, /<p>after<\/p>$/);
  // An unclosed fence while streaming is still a code block.
  assert.match(render('```js\nlet x = 1'), /<pre><code>let x = 1<\/code><\/pre>/);
});
