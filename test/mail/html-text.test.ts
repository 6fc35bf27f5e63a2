import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readHtml, htmlToText, decodeAttribute } from '../../src/mail/html-text.js';
import { parseMessage } from '../../src/mail/parse.js';
import { parseColor, tinyFontSize } from '../../src/mail/css.js';

/** HTML read as a reader sees it: every entity decoded, hidden text left out and counted. */

const LIMITS = { max_mime_depth: 50, max_mime_parts: 500, max_parse_ms: 1000, max_text_size: 1_048_576, max_urls: 200 };

test('every HTML entity is decoded: named, numeric, hex, and the legacy forms without a semicolon', () => {
  assert.equal(htmlToText('<p>M&uuml;ller &eacute;t&eacute; &rsquo;quoted&lsquo; &#8364;5 &#x41;&#X42; caf&eacute &amp co &hellip;</p>'), 'Müller été ’quoted‘ €5 AB café & co …');
  assert.equal(htmlToText('1 &lt; 2 &gt; 0 &quot;x&quot; &apos;y&apos; &nbsp;'), '1 < 2 > 0 "x" \'y\'');
  // An unknown name stays as written; a legacy name at its start is decoded, as a browser shows it.
  assert.equal(htmlToText('&zz; &notanentity;'), '&zz; ¬anentity;');
  // In an attribute (a URL), "&copy=" is a query parameter, not ©.
  assert.equal(decodeAttribute('https://x.test/?a=1&copy=2&amp;b=3'), 'https://x.test/?a=1&copy=2&b=3');
});

test('soft hyphens and zero-width characters do not split words in what rules and Bayes read', async () => {
  const raw = ['From: a@b.test', 'To: c@d.test', 'Subject: x', 'MIME-Version: 1.0', 'Content-Type: text/html; charset=utf-8', '', '<p>V&shy;i&#8203;agra and Ci\u00ADalis\u200B</p>', ''].join('\r\n');
  const m = await parseMessage(Buffer.from(raw), LIMITS);
  assert.equal(m.visibleText(), 'Viagra and Cialis');
});

test('text a reader cannot see is left out and counted', () => {
  const cases: Array<[string, string, number]> = [
    ['<div style="display:none">secret words</div>shown', 'shown', 11],
    ['<span style="DISPLAY: NONE !important">secret</span>shown', 'shown', 6],
    ['<p style="visibility:hidden">gone<span style="visibility:visible">back</span></p>', 'back', 4],
    ['<span style="font-size:0">tiny</span><span style="font-size:1px">tiny</span><span style="font-size:12px">read</span>', 'read', 8],
    ['<div style="font-size:0"><span style="font-size:14px">readable again</span></div>', 'readable again', 0],
    ['<font color="#ffffff">white on white</font> black', 'black', 12],
    ['<body bgcolor="#000000"><font color="black">dark</font><font color="white">light</font></body>', 'light', 4],
    ['<span style="color:#fefefe">almost white</span>ok', 'ok', 11],
    ['<span style="color: rgb(255, 255, 255)">rgb white</span>ok', 'ok', 8],
    ['<td bgcolor="#0055e7"><font color="#ffffff">white on blue</font></td>', 'white on blue', 0],
    // White text on a background image: the image's colours are unknown, so it counts as seen.
    ['<td background="bg.gif"><font color="#ffffff">on an image</font></td>', 'on an image', 0],
    ['<div style="background:url(x.png) #fff; color:#fff">on an image</div>', 'on an image', 0],
    ['<div style="max-height:0;overflow:hidden">preheader</div>body', 'body', 9],
    ['<div style="opacity:0">faded</div>seen', 'seen', 5],
    ['<div hidden>attr</div>seen', 'seen', 4],
    // A new <p> closes the hidden one, as in a browser.
    ['<p style="display:none">hidden<p>visible', 'visible', 6],
    // A closing tag that matches nothing open changes nothing.
    ['<div style="display:none">a</span>b</div>c', 'c', 2],
    // A nested table with its own background brings dark text back into view.
    ['<td bgcolor="#183C8C"><font color="#183C8C"><table bgcolor="#FFFFFF"><tr><td>Dear reader</td></tr></table></font></td>', 'Dear reader', 0],
  ];
  for (const [html, text, hidden] of cases) {
    const r = readHtml(html);
    assert.equal(r.text, text, html);
    assert.equal(r.hiddenLetters, hidden, html);
  }
  assert.equal(readHtml('<div style="display:none">Buy   cheap\nwatches</div>').hiddenSample, 'Buy cheap watches');
});

test('scripts, styles, the head and comments are not text; a stray "<" is', () => {
  assert.equal(htmlToText('<html><head><title>t</title><style>p{color:red}</style></head><body><!-- c --><script>var a="<p>"</script>a < b <3</body></html>'), 'a < b <3');
  assert.equal(htmlToText('<!DOCTYPE html><![CDATA[x]]>text<?xml v?>'), 'text');
});

test('colours and font sizes', () => {
  assert.equal(parseColor('#FFF'), 0xffffff);
  assert.equal(parseColor('ffffff'), 0xffffff);
  assert.equal(parseColor('White'), 0xffffff);
  assert.equal(parseColor('rgba(0, 0, 255, 0.5)'), 0x0000ff);
  assert.equal(parseColor('#12345'), null);
  assert.equal(parseColor('transparent'), null);
  for (const v of ['0', '0px', '1px', '2pt', '0.1em', '10%']) assert.ok(tinyFontSize(v), v);
  for (const v of ['9px', '10pt', '1em', 'small', '100%']) assert.ok(!tinyFontSize(v), v);
});

test('hostile HTML costs time in proportion to its size', () => {
  const mb = 1_000_000;
  const attacks: Record<string, string> = {
    'unclosed tags': '<div style="display:none">'.repeat(mb / 26),
    'closing tags that match nothing': '<div>'.repeat(300) + '</span>'.repeat(mb / 7),
    'closing tags that each close everything': ('<b>'.repeat(50) + '</b>').repeat(mb / 154),
    'tags without an end': '<a href="x'.repeat(mb / 10),
    'stray angle brackets': '< '.repeat(mb / 2),
    'entities': '&amp;&#1234;&notanentity;&'.repeat(mb / 26),
    'long style attributes': `<p style="${'color:red;'.repeat(mb / 10)}">x</p>`,
    'unclosed comment': '<!--' + 'x'.repeat(mb),
    'script openers': '<script>'.repeat(mb / 8),
  };
  for (const [name, html] of Object.entries(attacks)) {
    const started = performance.now();
    readHtml(html);
    const ms = performance.now() - started;
    // A linear pass over 1 MB takes tens of milliseconds; anything quadratic takes minutes.
    assert.ok(ms < 2000, `${name}: ${Math.round(ms)} ms`);
  }
});
