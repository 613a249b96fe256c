// The upload page's script, as the text the browser runs (plain ES2017, no template literals
// inside, no innerHTML: the page's CSP requires Trusted Types, so only DOM methods are used).
// Allowed by its hash in the page's Content-Security-Policy (see ../page.ts).
//
// One file per request (POST / multipart, the relative path as the file name, SPEC §4), three
// in flight, XMLHttpRequest for upload progress (fetch has none), cancel and retry per file,
// and the stored names from the server's JSON answer.
export const CLIENT = String.raw`
(function () {
'use strict';
var d = document, root = d.documentElement;
root.classList.add('js');
// Opened as /?token=...: the server set the cookie; keep the secret out of the address bar and history.
if (/[?&]token=/.test(location.search) && history.replaceState) history.replaceState(null, '', location.pathname);
function $(id) { return d.getElementById(id); }
var cfg = JSON.parse($('config').textContent);
// Three at once, but below a small --max-connections one connection stays free (the page's own,
// or another phone's), or each extra file would be turned away with 503.
var LIMIT = Math.max(1, Math.min(3, (cfg.maxConnections || 4) - 1)), NB = '\u00a0';
var limit = cfg.maxFileSizeText && cfg.maxFileSizeText.replace(' ', NB);
var list = $('list'), queueEl = $('queue'), live = $('live'), sumEl = $('sum'), allBar = $('allbar'), clearBtn = $('clear'), retryBtn = $('retry'), alertEl = $('alert');
var items = [], seq = 0, timer = 0, lock = null, title = d.title, wasBusy = false;
// The receiver was lost (restarted, the phone left the Wi-Fi): nothing new starts until it answers.
var offline = false;
var rules = cfg.allow ? cfg.allow.split(',').map(function (r) { return r.trim().toLowerCase(); }).filter(Boolean) : null;

function el(tag, cls, text) {
  var e = d.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  return e;
}
// A limit given in binary units (1.5 GiB) makes every size binary, or a 1.6 GB file would look
// over a limit it is under.
var BINARY = /iB$/.test(cfg.maxFileSizeText || '');
function size(n) {
  var u = BINARY ? ['B', 'KiB', 'MiB', 'GiB', 'TiB'] : ['B', 'kB', 'MB', 'GB', 'TB'], k = BINARY ? 1024 : 1000, i = 0;
  while (n >= k - 0.5 && i < u.length - 1) { n /= k; i++; }
  return (i ? String(Number(n.toPrecision(3))) : String(Math.round(n))) + NB + u[i];
}
function dur(s) {
  s = Math.max(1, Math.ceil(s));
  if (s < 60) return s + NB + 's';
  if (s < 3600) return Math.floor(s / 60) + NB + 'min' + (s < 600 && s % 60 ? ' ' + (s % 60) + NB + 's' : '');
  return Math.floor(s / 3600) + NB + 'h ' + Math.floor(s % 3600 / 60) + NB + 'min';
}
var unsafe = cfg.unsafe ? new RegExp(cfg.unsafe, 'g') : null;
/** The name the receiver judges: the last part, cleaned as it cleans names (trail.txt. is trail.txt). */
function judged(name) {
  var base = name.split(/[\\/]/).pop();
  if (base.normalize) base = base.normalize('NFC');
  base = base.replace(unsafe, '');
  var end = base.length;
  while (end > 0 && (base.charAt(end - 1) === '.' || base.charAt(end - 1) === ' ')) end--;
  return base.slice(0, end).toLowerCase();
}
function allowed(f) {
  if (!rules) return true;
  // A type the browser doesn't know is sent as application/octet-stream, so it is judged as that.
  var base = judged(f.name), type = (f.type || 'application/octet-stream').split(';')[0].trim().toLowerCase(), slash = type.indexOf('/');
  return rules.some(function (r) {
    if (r.charAt(0) === '.') return base.length > r.length && base.slice(-r.length) === r;
    if (r === '*/*') return true;
    if (slash < 1) return false;
    var rs = r.indexOf('/');
    return r.slice(0, rs) === type.slice(0, slash) && (r.slice(rs + 1) === '*' || r.slice(rs + 1) === type.slice(slash + 1));
  });
}
var TOO_LARGE = 'Too large: this receiver takes files up to ' + limit + '.';
var NOT_ALLOWED = 'Not accepted here: this receiver takes only ' + cfg.allow + '.';
var TOO_MANY = cfg.maxFiles === null ? '' : 'Held back: this receiver takes ' + (cfg.maxFiles === 1 ? 'one file' : cfg.maxFiles + ' files') + ' at a time. Retry sends it.';
var NEEDS_LINK = 'This receiver needs its link or QR code: open the address shown where it runs, then try again.';
var NEEDS_LOGIN = 'The user name or password is no longer accepted: reload the page to sign in again.';
var LOST = cfg.once
  ? 'The receiver is not answering: it takes one upload and then stops, so it may have finished. If it is started again, the files go on by themselves.'
  : 'Lost the connection to the receiver: waiting for it to come back. The files go on by themselves then.';
var UNREADABLE = 'This file can no longer be read on this device (moved, deleted or changed since it was picked): pick it again.';
var ONCE = 'This receiver takes one upload and then stops.';
var BUSY = 'The receiver is busy (too many connections at once): the files wait and go on by themselves.';
// --once: a file has gone out or is on its way (also once its row is cleared).
var sentOne = false;
function spent() {
  return sentOne || items.some(function (o) { return o.state === 'queued' || o.state === 'sending' || o.state === 'saving' || o.state === 'done'; });
}
function refusal(f) {
  if (cfg.maxFileSize !== null && f.size > cfg.maxFileSize) {
    // Just over the limit, the rounded sizes read the same ("1 kB ... up to 1 kB"): say the bytes.
    if (size(f.size) === size(cfg.maxFileSize)) return 'Too large (' + f.size.toLocaleString('en-US') + NB + 'bytes): this receiver takes files up to ' + cfg.maxFileSize.toLocaleString('en-US') + NB + 'bytes.';
    return 'Too large (' + size(f.size) + '): this receiver takes files up to ' + limit + '.';
  }
  if (!allowed(f)) return NOT_ALLOWED;
  return '';
}

/** The server stores names NFC-normalised: a Mac's decomposed "ä" is not a rename. */
function same(stored, sent) {
  return stored === (sent.normalize ? sent.normalize('NFC') : sent);
}

function shown(on) {
  // With files in the list, the pickers shrink so the list is in view.
  queueEl.hidden = !on;
  root.classList.toggle('has', on);
}
function say(text) {
  var p = el('p', '', text);
  live.appendChild(p);
  while (live.childNodes.length > 4) live.removeChild(live.firstChild);
}
function warn(text) {
  // Shown already: said again, a screen reader would announce it again.
  if (!alertEl.hidden && alertEl.textContent === text) return;
  alertEl.textContent = text;
  alertEl.hidden = false;
}

function add(entries) {
  if (!entries.length) return;
  shown(true);
  // oneReason: every file not sent has the same reason, which the announcement can then give.
  var refused = 0, taken = 0, last = null, oneReason = true;
  function notSent(it, state, msg) {
    it.state = state; it.msg = msg;
    if (last && last.msg !== msg) oneReason = false;
    refused++; last = it;
  }
  // --once: the first file sent ends the run, so only one may be on its way or sent.
  var already = cfg.once && spent();
  entries.forEach(function (en) {
    var it = { id: ++seq, file: en.file, path: en.path || en.file.name, size: en.file.size, state: 'queued', frac: 0, msg: '', samples: [] };
    row(it);
    // --max-files counts the files of one request; the page sends each file on its own, so it
    // holds a pick to the same number, as the server holds the plain form's post.
    // Those past it wait with a Retry, which sends one on its own.
    var why = refusal(it.file);
    if (why) notSent(it, 'refused', why);
    else if (cfg.once && (already || taken >= 1)) notSent(it, 'refused', ONCE);
    else if (cfg.maxFiles !== null && taken >= cfg.maxFiles) notSent(it, 'failed', TOO_MANY);
    else taken++;
    items.push(it);
    paint(it);
  });
  if (refused) say(refused === 1 ? last.path + ' not sent: ' + last.msg : refused + ' files were not sent' + (oneReason ? ': ' + last.msg : '.'));
  pump();
  schedule();
}

function row(it) {
  var li = el('li'), nm = el('span', 'nm', it.path), x = el('button', 'x');
  // A right-to-left name keeps its own order, and does not reorder what is around it.
  nm.dir = 'auto';
  var bar = el('div', 'bar'), fill = el('i'), meta = el('p', 'meta'), pc = el('span', 'pc'), msg = el('span', 'msg');
  nm.id = 'n' + it.id;
  x.type = 'button';
  x.addEventListener('click', function () { act(it); });
  bar.setAttribute('role', 'progressbar');
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', '100');
  bar.setAttribute('aria-labelledby', nm.id);
  bar.appendChild(fill);
  meta.appendChild(pc); meta.appendChild(msg);
  li.appendChild(nm); li.appendChild(bar); li.appendChild(meta); li.appendChild(x); li.appendChild(tick());
  list.appendChild(li);
  it.el = { li: li, nm: nm, x: x, bar: bar, fill: fill, pc: pc, msg: msg };
}

var SVG = 'http://www.w3.org/2000/svg';
function tick() {
  var svg = d.createElementNS(SVG, 'svg'), c = d.createElementNS(SVG, 'circle'), p = d.createElementNS(SVG, 'path');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'ok');
  svg.setAttribute('aria-hidden', 'true');
  c.setAttribute('cx', '12'); c.setAttribute('cy', '12'); c.setAttribute('r', '10');
  p.setAttribute('d', 'm7.5 12.5 3 3 6-6.5');
  svg.appendChild(c); svg.appendChild(p);
  return svg;
}
function pct(it) {
  if (it.state === 'done') return 100;
  if (it.state === 'refused' || it.state === 'queued') return 0;
  return Math.min(99, Math.floor(it.frac * 100));
}
/** Bytes per second over the last 4 s, up to now: an upload that stops falls to 0, not to its last pace. */
function rate(it) {
  var s = it.samples, now = Date.now(), i = 0;
  while (i < s.length && now - s[i][0] > 4000) i++;
  if (i >= s.length - 1) return 0;
  var a = s[i], b = s[s.length - 1];
  return now > a[0] ? (b[1] - a[1]) / ((now - a[0]) / 1000) : 0;
}
/** How long no byte has gone out (a phone that left the Wi-Fi, a receiver that froze). */
function stalled(it) {
  var s = it.samples;
  return s.length ? (Date.now() - s[s.length - 1][0]) / 1000 : 0;
}

function paint(it) {
  var e = it.el, p = pct(it), st = it.state, info = '', btn = '', label = '', renamed = '';
  e.li.setAttribute('data-state', st);
  e.fill.style.width = (st === 'failed' || st === 'refused' ? 100 : p) + '%';
  // A failed or refused file has no progress to tell: a screen reader heard "99%, … not sent".
  if (st === 'failed' || st === 'refused') e.bar.removeAttribute('aria-valuenow');
  else e.bar.setAttribute('aria-valuenow', String(p));
  e.pc.textContent = p + '%';
  if (st === 'queued') { info = (offline ? 'Waiting for the receiver' : 'Waiting') + ' · ' + size(it.size); btn = 'Cancel'; }
  else if (st === 'sending') {
    var r = rate(it), sent = it.frac * it.size;
    info = size(sent) + ' of ' + size(it.size);
    var quiet = stalled(it);
    if (quiet >= 5) info += ' · no progress for ' + dur(quiet);
    else if (r > 0) info += ' · ' + size(r) + '/s · ' + dur((it.size - sent) / r) + NB + 'left';
    btn = 'Cancel';
  } else if (st === 'saving') {
    // Every byte is out: the receiver may already have stored it, so there is nothing to cancel.
    info = 'Saving…';
  }
  else if (st === 'done') {
    var s = it.stored;
    info = 'Saved · ' + size(s.size);
    e.nm.textContent = s.name;
    if (!same(s.name, it.path)) { info += ' · renamed from '; renamed = it.path; }
  } else if (st === 'cancelled') { info = 'Cancelled'; btn = 'Retry'; }
  else if (st === 'failed') { info = it.msg; btn = 'Retry'; }
  else if (st === 'refused') { info = it.msg; btn = 'Remove'; }
  e.msg.textContent = info;
  // The client's own name, isolated: a bidi control in it must not reorder the sentence.
  if (renamed) { e.msg.appendChild(el('bdi', '', renamed)); info += renamed; }
  e.bar.setAttribute('aria-valuetext', st === 'failed' || st === 'refused' ? info : p + '%' + (info ? ', ' + info : ''));
  // A keyboard user's focus must not fall to the page's start when the button it was on goes.
  if (!btn && !e.x.hidden && d.activeElement === e.x) refocus(e.li.nextElementSibling || e.li.previousElementSibling);
  e.x.hidden = !btn;
  if (btn) {
    e.x.textContent = btn;
    label = btn + ' ' + (st === 'done' ? it.stored.name : it.path);
    e.x.setAttribute('aria-label', label);
  }
}

function act(it) {
  var st = it.state;
  // While the file's readability is checked its request is over: abort() would fire nothing.
  if (st === 'sending' && it.checking) { it.state = 'cancelled'; say(it.path + ' cancelled.'); done(it); return; }
  if (st === 'sending') { it.xhr.abort(); return; }
  if (st === 'saving') return;
  if (st === 'queued') { it.state = 'cancelled'; paint(it); schedule(); return; }
  if (st === 'refused') {
    var near = it.el.li.nextElementSibling || it.el.li.previousElementSibling, had = d.activeElement === it.el.x;
    items.splice(items.indexOf(it), 1);
    list.removeChild(it.el.li);
    if (!items.length) shown(false);
    if (had) refocus(near);
    schedule();
    return;
  }
  if (st === 'failed' || st === 'cancelled') {
    requeue(it);
    paint(it); pump(); schedule();
  }
}
/** Back in the queue for a Retry; under --once only if no other file has gone or is going. */
function requeue(it) {
  if (cfg.once && spent()) { it.state = 'refused'; it.msg = ONCE; return; }
  queueAgain(it);
}
function queueAgain(it) {
  it.state = 'queued'; it.frac = 0; it.msg = ''; it.samples = [];
}

/** A keyboard user's focus must not fall to the page's start when the button it was on goes away. */
function refocus(li) {
  var x = li && li.querySelector('button');
  if (x && !x.hidden) x.focus();
  else $('files').focus();
}

function active() {
  return items.filter(function (it) { return it.state === 'sending' || it.state === 'saving'; }).length;
}
function pump() {
  var n = active();
  for (var i = 0; i < items.length && n < LIMIT && !offline; i++) {
    if (items[i].state === 'queued') { send(items[i]); n++; }
  }
  wake(n > 0);
}

function send(it) {
  var x = new XMLHttpRequest(), fd = new FormData();
  it.xhr = x;
  it.state = 'sending';
  it.samples = [[Date.now(), 0]];
  x.open('POST', '/');
  x.setRequestHeader('Accept', 'application/json');
  x.upload.onprogress = function (ev) {
    if (!ev.lengthComputable || !ev.total) return;
    it.frac = ev.loaded / ev.total;
    var now = Date.now(), s = it.samples;
    s.push([now, it.frac * it.size]);
    while (s.length > 2 && now - s[0][0] > 4000) s.shift();
    schedule();
  };
  x.upload.onload = function () {
    if (it.state === 'sending') { it.frac = 1; it.state = 'saving'; schedule(); }
  };
  x.onload = function () { answer(it, x.status, x.responseText, x.getResponseHeader('WWW-Authenticate'), x.getResponseHeader('Retry-After')); };
  x.onerror = function () {
    // A file the browser can no longer read (deleted or changed since it was picked, a cloud photo
    // that cannot be fetched) fails the request as a lost connection would: it is that file's
    // failure, not the receiver's, or the queue would send it again after every probe, forever.
    if (it.state === 'sending') {
      it.checking = true;
      readable(it.file, function (ok) {
        it.checking = false;
        // Cancelled meanwhile (act()): nothing more to decide.
        if (it.state !== 'sending') return;
        if (ok) broke(it);
        else fail(it, 0, UNREADABLE);
      });
    } else broke(it);
  };
  x.onabort = function () {
    if (it.state !== 'sending' && it.state !== 'saving') return;
    it.state = 'cancelled';
    say(it.path + ' cancelled.');
    done(it);
  };
  fd.append('file', it.file, it.path);
  x.send(fd);
}

/** Calls back with whether the browser can still read the file's first byte. */
function readable(file, then) {
  var r = new FileReader();
  r.onload = function () { then(true); };
  r.onerror = function () { then(false); };
  r.readAsArrayBuffer(file.slice(0, 1));
}

/** The connection broke: the receiver is gone (restarted, the phone left the Wi-Fi). */
function broke(it) {
  // First: nothing new may start while the receiver is gone.
  lost();
  if (it.state === 'saving') {
    // Every byte was out: the receiver may have stored it, so it is not sent again unasked.
    fail(it, 0, 'The connection broke as the file was being saved: it may be there. Retry sends it again.');
  } else if (it.state === 'sending') {
    // Cut off mid-file, nothing of it is kept: it waits for the receiver with the rest.
    it.state = 'queued'; it.frac = 0; it.samples = [];
    done(it);
  }
}

/** One alert, then a probe every 3 s; the first answer of any kind resumes the queue. */
function lost() {
  if (offline) return;
  offline = true;
  warn(LOST);
  (function probe() {
    setTimeout(function () {
      var x = new XMLHttpRequest();
      x.open('HEAD', '/');
      x.onload = function () {
        offline = false;
        if (alertEl.textContent === LOST) alertEl.hidden = true;
        items.forEach(function (o) { if (o.state === 'queued') o.dirty = true; });
        pump();
        schedule();
      };
      x.onerror = probe;
      x.send();
    }, 3000);
  })();
  schedule();
}

function answer(it, status, text, challenge, retryAfter) {
  var body = null;
  try { body = JSON.parse(text); } catch (e) { body = null; }
  var stored = body && body.files && body.files[0];
  if (status === 201 && stored) {
    // Whatever stopped the others (a full disk, a lost cookie) is over; "busy" only once a file it
    // held back goes through (another may have had a connection all along).
    if (alertEl.textContent !== BUSY || it.busy) alertEl.hidden = true;
    it.busy = false;
    it.state = 'done';
    sentOne = true;
    it.stored = stored;
    say(same(stored.name, it.path) ? it.path + ' saved.' : it.path + ' saved as ' + stored.name + '.');
    done(it);
    return;
  }
  // Over the connection cap (it says when to come back); any other 503 (stopping, --stdout taken)
  // will not clear by waiting.
  if (status === 503 && retryAfter) { later(it); return; }
  var err = (body && body.error) || {};
  fail(it, status, explain(status, err.code, err.message, challenge));
}

/** Over the cap, nothing was stored: the file goes back in the queue, and nothing starts for 3 s. */
function later(it) {
  if (it.state !== 'sending' && it.state !== 'saving') return;
  queueAgain(it);
  it.busy = true;
  if (!offline) {
    offline = true;
    warn(BUSY);
    setTimeout(function () {
      // The alert stays until a file goes through (answer() hides it): while the receiver stays
      // busy, each new 503 would otherwise show it, and announce it, again.
      offline = false;
      items.forEach(function (o) { if (o.state === 'queued') o.dirty = true; });
      pump();
      schedule();
    }, 3000);
  }
  done(it);
}

function explain(status, code, message, challenge) {
  if (status === 401) return /^basic/i.test(challenge || '') ? NEEDS_LOGIN : NEEDS_LINK;
  if (code === 'FILE_TOO_LARGE') return cfg.maxFileSizeText ? TOO_LARGE : message;
  if (code === 'TYPE_NOT_ALLOWED' || status === 415) return cfg.allow ? NOT_ALLOWED : message || 'This type of file is not accepted here.';
  if (status === 507) return 'The receiving computer’s disk is full: nothing more can be stored there.';
  if (status === 503) return message || 'The receiver is busy or stopping. Retry in a moment.';
  if (status === 408) return 'The connection was too slow and timed out. Retry on a better connection.';
  return message || 'The receiver answered with an error (' + status + ').';
}

function fail(it, status, msg) {
  if (it.state !== 'sending' && it.state !== 'saving') return;
  it.state = status === 413 || status === 415 ? 'refused' : 'failed';
  it.msg = msg;
  say(it.path + ' not sent: ' + msg);
  if (status === 401 || status === 507) {
    // Every other file would fail the same way: stop here, each can be retried later.
    warn(msg);
    items.forEach(function (o) {
      if (o.state === 'queued') { o.state = 'failed'; o.msg = msg; paint(o); }
    });
  }
  done(it);
}

function done(it) {
  it.dirty = true;
  schedule();
  pump();
}

function schedule() {
  if (!timer) timer = setTimeout(render, 120);
}
function render() {
  timer = 0;
  var total = 0, sent = 0, ok = 0, bad = 0, busy = 0, waiting = 0, rates = 0, finished = 0;
  items.forEach(function (it) {
    var st = it.state;
    if (it.dirty || st === 'sending' || st === 'saving') { it.dirty = false; paint(it); }
    if (st === 'refused' || st === 'cancelled') { finished++; if (st === 'refused') bad++; return; }
    total += it.size;
    if (st === 'done') { ok++; finished++; sent += it.size; }
    // Failed rows stay for their Retry: "Clear finished" leaves them, so they do not count for it.
    else if (st === 'failed') bad++;
    else { busy++; if (st === 'queued') waiting++; sent += it.frac * it.size; if (st === 'sending') rates += rate(it); }
  });
  var text, failed = items.filter(function (it) { return it.state === 'failed'; }).length;
  if (busy) {
    // What is sending now, not the whole queue: "3 sending, 50 waiting, 12 sent".
    text = offline
      ? 'Waiting for the receiver'
      : (busy - waiting) + ' sending' + (waiting ? ', ' + waiting + ' waiting' : '') + (ok ? ', ' + ok + ' sent' : '');
    text += ' · ' + size(sent) + ' of ' + size(total);
    if (rates > 0 && !offline) text += ' · ' + size(rates) + '/s · ' + dur((total - sent) / rates) + NB + 'left';
    d.title = Math.floor(total ? sent / total * 100 : 0) + '% · ' + title;
  } else {
    text = ok + (ok === 1 ? ' file' : ' files') + ' sent' + (bad ? ', ' + bad + ' not sent' : '') + '.';
    d.title = title;
    if (wasBusy && ok > 1 && !bad) say('All ' + ok + ' files sent.');
  }
  wasBusy = busy > 0;
  sumEl.textContent = text;
  allBar.style.width = (total ? Math.min(100, sent / total * 100) : 0) + '%';
  clearBtn.hidden = !finished;
  retryBtn.hidden = failed < 2;
  if (busy) schedule();
}

function wake(on) {
  var wl = navigator.wakeLock;
  if (on && !lock && wl && d.visibilityState === 'visible') {
    lock = wl.request('screen').then(function (l) { return l; }, function () { return null; });
  } else if (!on && lock) {
    lock.then(function (l) { if (l) l.release(); });
    lock = null;
  }
}
d.addEventListener('visibilitychange', function () {
  if (d.visibilityState === 'visible' && lock) { lock = null; wake(active() > 0); }
});
window.addEventListener('beforeunload', function (ev) {
  if (items.some(function (it) { return it.state === 'queued' || it.state === 'sending' || it.state === 'saving'; })) {
    ev.preventDefault();
    ev.returnValue = '';
  }
});

retryBtn.addEventListener('click', function () {
  items.forEach(function (it) {
    if (it.state === 'failed') { requeue(it); paint(it); }
  });
  if (d.activeElement === retryBtn) refocus(list.firstElementChild);
  pump();
  schedule();
});
clearBtn.addEventListener('click', function () {
  var had = d.activeElement === clearBtn;
  items = items.filter(function (it) {
    var keep = it.state === 'queued' || it.state === 'sending' || it.state === 'saving' || it.state === 'failed';
    if (!keep) list.removeChild(it.el.li);
    return keep;
  });
  if (!items.length) shown(false);
  if (had) refocus(list.firstElementChild);
  schedule();
});

function fromInput(input, relative) {
  var out = [];
  for (var i = 0; i < input.files.length; i++) {
    var f = input.files[i];
    out.push({ file: f, path: (relative && f.webkitRelativePath) || f.name });
  }
  input.value = '';
  return out;
}
['media', 'files', 'folder'].forEach(function (id) {
  var input = $(id);
  if (input) input.addEventListener('change', function () { add(fromInput(input, id === 'folder')); });
});
// Without scripting the input names itself; with it, the big label in view does.
$('files').removeAttribute('aria-label');
$('form').addEventListener('submit', function (ev) { ev.preventDefault(); add(fromInput($('files'), false)); });
var folder = $('folder');
if (folder && !('webkitdirectory' in folder)) {
  folder.parentNode.removeChild(folder.nextElementSibling);
  folder.parentNode.removeChild(folder);
}

// Drag and drop of files and folders anywhere on the page.
var depth = 0, dropEl = $('drop');
function hasFiles(ev) {
  var t = ev.dataTransfer && ev.dataTransfer.types;
  return !!t && Array.prototype.indexOf.call(t, 'Files') !== -1;
}
function over(on) {
  dropEl.hidden = !on;
  root.classList.toggle('over', on);
}
d.addEventListener('dragenter', function (ev) {
  if (!hasFiles(ev)) return;
  ev.preventDefault();
  depth++;
  over(true);
});
d.addEventListener('dragover', function (ev) {
  if (!hasFiles(ev)) return;
  ev.preventDefault();
  ev.dataTransfer.dropEffect = 'copy';
});
d.addEventListener('dragleave', function (ev) {
  if (!hasFiles(ev)) return;
  if (--depth <= 0) { depth = 0; over(false); }
});
d.addEventListener('drop', function (ev) {
  if (!hasFiles(ev)) return;
  ev.preventDefault();
  depth = 0;
  over(false);
  collect(ev.dataTransfer).then(add, function () { warn('Those files could not be read.'); });
});
d.addEventListener('paste', function (ev) {
  var files = ev.clipboardData && ev.clipboardData.files;
  if (files && files.length) add(Array.prototype.map.call(files, function (f) { return { file: f, path: f.name }; }));
});

function flat(lists) {
  return lists.reduce(function (a, b) { return a.concat(b); }, []);
}
function collect(dt) {
  var its = dt.items, entries = [], loose = [];
  if (its && its.length && its[0].webkitGetAsEntry) {
    // Entries must be taken now: the DataTransfer is emptied once this event handler returns.
    for (var i = 0; i < its.length; i++) {
      if (its[i].kind !== 'file') continue;
      var en = its[i].webkitGetAsEntry();
      if (en) entries.push(en);
      else {
        var f = its[i].getAsFile();
        if (f) loose.push({ file: f, path: f.name });
      }
    }
    return Promise.all(entries.map(walk)).then(function (lists) { return loose.concat(flat(lists)); });
  }
  return Promise.resolve(Array.prototype.map.call(dt.files, function (f) { return { file: f, path: f.name }; }));
}
function walk(entry) {
  return new Promise(function (resolve) {
    if (entry.isFile) {
      entry.file(function (f) { resolve([{ file: f, path: entry.fullPath.replace(/^\/+/, '') || f.name }]); }, function () { resolve([]); });
      return;
    }
    if (!entry.isDirectory) { resolve([]); return; }
    var reader = entry.createReader(), found = [];
    (function more() {
      // readEntries hands out at most 100 entries a call: call it until it gives none.
      reader.readEntries(function (batch) {
        if (batch.length) { found = found.concat(Array.prototype.slice.call(batch)); more(); return; }
        Promise.all(found.map(walk)).then(function (lists) { resolve(flat(lists)); });
      }, function () { resolve([]); });
    })();
  });
}
})();
`
