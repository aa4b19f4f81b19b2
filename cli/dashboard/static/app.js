// gantry dashboard (docs/decisions/056-dashboard.md): polls /api/overview every 2 s and renders it. Plain JS, no
// framework, no build step; every text from data is set with textContent, never parsed as HTML. Actions (approve,
// reject, abort) send the server's token from the page's <meta> tag in X-Gantry-Dashboard-Token.
/* global document, location, window */
(function () {
  'use strict';

  var POLL_MS = 2000;
  var tokenMeta = document.querySelector('meta[name="gantry-dashboard-token"]');
  var TOKEN = tokenMeta ? tokenMeta.getAttribute('content') || '' : '';
  var STATE_WORDS = { EMPTY: 'empty', HEALTHY: 'healthy', IN_FLIGHT: 'in flight', WAITING: 'waiting', DEGRADED: 'degraded' };

  var followed = followedFromHash();
  var comments = {}; // approval key → the comment typed so far (kept across re-renders)
  var reasons = {}; // release id → the abort reason typed so far
  var timer = null;
  var busy = false;

  function $(id) {
    return document.getElementById(id);
  }

  /** An element with attributes and children (strings become text nodes). */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === undefined || v === null || v === false) return;
        if (k === 'text') node.textContent = String(v);
        else if (k === 'className') node.className = v;
        else if (k.slice(0, 2) === 'on') node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? '' : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return node;
  }

  function replace(container, nodes) {
    while (container.firstChild) container.removeChild(container.firstChild);
    nodes.forEach(function (n) {
      container.appendChild(n);
    });
  }

  function clock(iso) {
    if (!iso) return '—';
    return String(iso).replace(/^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?Z$/, '$1 $2Z');
  }

  function ago(iso, nowIso) {
    if (!iso) return '';
    var m = Math.max(0, Math.floor((Date.parse(nowIso) - Date.parse(iso)) / 60000));
    if (m < 1) return 'just now';
    if (m < 60) return m + ' min ago';
    if (m < 48 * 60) return Math.floor(m / 60) + ' h' + (m % 60 ? ' ' + (m % 60) + ' min' : '') + ' ago';
    return Math.floor(m / 1440) + ' days ago';
  }

  function shortDigest(d) {
    // As the CLI prints it (cli/commands/common.ts shortDigest): sha256: and the first 12 hex digits.
    return d ? String(d).replace(/^(sha256:[0-9a-f]{12})[0-9a-f]{52}$/, '$1') : '(digest not resolved)';
  }

  /** Full digests in a sentence shortened as the CLI prints them (cli/render/text.ts shortDigests); the data keeps them whole. */
  function shortDigests(text) {
    return String(text).replace(/\b(sha256:[0-9a-f]{12})[0-9a-f]{52}\b/g, '$1');
  }

  function role(arn) {
    var m = /:(?:role|assumed-role|user)\/(?:.*\/)?([^/]+)$/.exec(String(arn));
    return m ? m[1] : String(arn);
  }

  function followedFromHash() {
    var m = /^#release=([A-Za-z0-9_-]{1,80})$/.exec(location.hash);
    return m ? m[1] : null;
  }

  function follow(id) {
    location.hash = id ? 'release=' + id : '';
    followed = id;
    refreshSoon(0);
  }

  function showError(text) {
    var e = $('error');
    e.textContent = text || '';
    e.hidden = !text;
  }

  function toast(text, bad) {
    var t = $('toast');
    t.textContent = text;
    t.className = 'toast' + (bad ? ' bad' : '');
    t.hidden = false;
  }

  function getJson(url) {
    return fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store', credentials: 'omit' }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error((body && body.message) || 'HTTP ' + r.status);
        return body;
      });
    });
  }

  function post(url, body) {
    return fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-Gantry-Dashboard-Token': TOKEN },
      body: JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    }).then(function (r) {
      return r.json().then(function (b) {
        return { ok: r.ok, status: r.status, body: b };
      });
    });
  }

  // ---- the stage matrix (cli/stage-matrix.ts StageMatrix) ----
  function renderMatrix(matrix, nowIso, allowActions) {
    if (!matrix) return [el('p', { className: 'empty', text: 'The stage matrix is not available from this backend.' })];
    if (!matrix.services || matrix.services.length === 0) return [el('p', { className: 'empty', text: 'No services in the configuration.' })];
    var rows = matrix.services.map(function (svc) {
      var cells = svc.stages.map(function (c, i) {
        var state = c.state || 'EMPTY';
        var running = c.running;
        var lines = [
          el('div', { className: 'cell-head' }, el('span', { className: 'stage-name', text: c.stage }), c.production ? el('span', { className: 'prod', text: 'prod' }) : null),
          el('div', { className: 'state', text: state, title: STATE_WORDS[state] || state }),
        ];
        if (running) {
          lines.push(el('div', { className: 'digest' }, el('code', { text: running.short || shortDigest(running.digest) }), running.tag ? ' ' + running.tag : ''));
          if (running.since) lines.push(el('div', { className: 'since', text: 'since ' + clock(running.since) + ' (' + ago(running.since, nowIso) + ')' }));
        } else {
          lines.push(el('div', { className: 'digest none', text: 'nothing promoted' }));
        }
        if (c.lastKnownGood && running && c.lastKnownGood.digest !== running.digest) {
          lines.push(el('div', { className: 'lkg' }, 'last known good ', el('code', { text: c.lastKnownGood.short || shortDigest(c.lastKnownGood.digest) })));
        }
        (c.inFlight || []).forEach(function (f) {
          lines.push(
            el(
              'div',
              { className: 'flight' },
              el('a', { href: '#release=' + f.releaseId, text: f.kind + ' ' + f.releaseId, 'data-release': f.releaseId }),
              ': ' + shortDigests(f.message || f.stageStatus),
            ),
          );
        });
        var prev = i > 0 ? svc.stages[i - 1] : null;
        var candidate = prev && prev.lastKnownGood && (!running || prev.lastKnownGood.digest !== running.digest) && !(c.inFlight || []).length ? prev.lastKnownGood : null;
        if (allowActions && candidate) lines.push(promoteButton(svc.service, c.stage, prev.stage, candidate));
        if (!(c.inFlight || []).length && state === 'DEGRADED') {
          lines.push(el('div', { className: 'flight', text: c.reason || (c.lastOutcome ? 'last: ' + c.lastOutcome.status + ' (' + c.lastOutcome.releaseId + ')' : '') }));
        }
        return el.apply(
          null,
          ['div', { className: 'cell state-' + state, 'data-service': svc.service, 'data-stage': c.stage, 'data-state': state, title: c.reason || null }].concat(lines),
        );
      });
      return el('div', { className: 'matrix-row' }, el('div', { className: 'service', text: svc.service }), el.apply(null, ['div', { className: 'cells' }].concat(cells)));
    });
    return rows;
  }

  /** `gantry promote` from the page: the previous stage's last known good, released from this stage on (decision 054). */
  function promoteButton(service, to, from, digest) {
    var label = 'Promote ' + (digest.tag || digest.short || shortDigest(digest.digest)) + ' from ' + from;
    return el('button', {
      type: 'button',
      className: 'promote',
      text: label,
      'data-digest': digest.digest,
      onclick: function () {
        var body = { service: service, digest: digest.digest, to: to, reason: 'promoted from the dashboard: ' + from + ' to ' + to };
        act('/api/promote', body, label + ' to ' + to).then(function (r) {
          if (r.ok && r.body && r.body.releaseId) follow(r.body.releaseId);
        });
      },
    });
  }

  // A release's head line: service, kind, tag (else short digest), status; `statusId` names the status element.
  function releaseHead(r, statusId, tail) {
    var status = { className: 'status s-' + r.status, text: r.status };
    if (statusId) status.id = statusId;
    return el(
      'div',
      { className: 'card-head' },
      el('strong', { text: r.service }),
      ' ' + r.kind + ' ',
      el('code', { text: r.tag || shortDigest(r.digest) }),
      ' ',
      el('span', status),
      tail,
    );
  }

  // ---- releases in flight ----
  function renderInFlight(o) {
    if (!o.inFlight.length) return [el('p', { className: 'empty', text: 'Nothing in flight.' })];
    return o.inFlight.map(function (r) {
      var cur = r.current;
      var card = el(
        'div',
        { className: 'card release' + (followed === r.releaseId ? ' followed' : ''), 'data-release': r.releaseId },
        releaseHead(r, null, ''),
        el('div', { className: 'rid' }, el('a', { href: '#release=' + r.releaseId, text: r.releaseId })),
        el(
          'div',
          { className: 'progress' },
          el('progress', { max: String(r.progress.total), value: String(r.progress.done), 'aria-label': 'stages done' }),
          el('span', { text: ' ' + r.progress.done + ' of ' + r.progress.total + ' stages' }),
        ),
        cur ? el('div', { className: 'activity' }, el('span', { className: 'phase', text: cur.stage + ' · ' + cur.phase }), ' ' + shortDigests(cur.activity)) : null,
      );
      if (o.canAbort) card.appendChild(abortForm(r.releaseId));
      return card;
    });
  }

  function abortForm(id) {
    var input = el('input', { type: 'text', className: 'reason', placeholder: 'reason (recorded)', 'aria-label': 'abort reason', 'data-key': 'abort:' + id, maxlength: '1000' });
    input.value = reasons[id] || '';
    input.addEventListener('input', function () {
      reasons[id] = input.value;
    });
    var button = el('button', {
      type: 'button',
      className: 'danger',
      text: 'Abort',
      onclick: function () {
        if (!input.value.trim()) return toast('Abort: give a reason first', true);
        act('/api/releases/' + encodeURIComponent(id) + '/abort', { reason: input.value.trim() }, 'Abort ' + id).then(function (r) {
          if (r.ok) delete reasons[id];
        });
      },
    });
    return el('div', { className: 'actions' }, input, button);
  }

  // ---- approvals waiting ----
  function renderApprovals(o) {
    if (!o.approvals.length) return [el('p', { className: 'empty', text: 'No approval waiting.' })];
    return o.approvals.map(function (a) {
      var key = a.releaseId + '/' + a.stage;
      var card = el(
        'div',
        { className: 'card approval', 'data-release': a.releaseId, 'data-stage': a.stage },
        el('div', { className: 'card-head' }, el('strong', { text: a.service + ' · ' + a.stage }), ' ', el('span', { className: 'status s-WAITING', text: 'WAITING' })),
        el('div', { className: 'rid' }, el('a', { href: '#release=' + a.releaseId, text: a.releaseId })),
        el('div', { className: 'activity', text: shortDigests(a.message) }),
        el('div', {
          className: 'who',
          text:
            'approvers: ' +
            (a.approvers.map(role).join(' or ') || '(any)') +
            ' · ' +
            a.done +
            ' of ' +
            a.required +
            ' approval' +
            (a.required === 1 ? '' : 's') +
            ' · since ' +
            clock(a.waitingSince),
        }),
        a.planSha256
          ? el(
              'div',
              { className: 'plan' },
              'Terraform plan sha256 ',
              el('code', { text: a.planSha256 }),
              a.plan ? ' — ' + a.plan.adds + ' to add, ' + a.plan.changes + ' to change, ' + a.plan.destroys + ' to destroy' : '',
            )
          : null,
      );
      if (o.allowActions) {
        var input = el('input', {
          type: 'text',
          className: 'comment',
          placeholder: 'comment (recorded)',
          'aria-label': 'comment',
          'data-key': 'comment:' + key,
          maxlength: '1000',
        });
        input.value = comments[key] || '';
        input.addEventListener('input', function () {
          comments[key] = input.value;
        });
        var decide = function (verb) {
          return function () {
            var body = { stage: a.stage };
            if (input.value.trim()) body.comment = input.value.trim();
            if (a.planSha256) body.planSha256 = a.planSha256;
            act('/api/releases/' + encodeURIComponent(a.releaseId) + '/' + verb, body, verb + ' ' + a.stage + ' of ' + a.releaseId).then(function (r) {
              if (r.ok) delete comments[key];
            });
          };
        };
        card.appendChild(
          el(
            'div',
            { className: 'actions' },
            input,
            el('button', { type: 'button', className: 'approve', text: 'Approve', onclick: decide('approve') }),
            el('button', { type: 'button', className: 'reject', text: 'Reject', onclick: decide('reject') }),
          ),
        );
      }
      return card;
    });
  }

  // ---- history ----
  function renderHistory(o) {
    if (!o.history.length) return [el('p', { className: 'empty', text: 'No finished release yet.' })];
    var head = el(
      'tr',
      null,
      el('th', { text: 'release' }),
      el('th', { text: 'service' }),
      el('th', { text: 'status' }),
      el('th', { text: 'image' }),
      el('th', { text: 'ended' }),
      el('th', { text: 'report' }),
    );
    var rows = o.history.map(function (h) {
      return el(
        'tr',
        { 'data-release': h.releaseId },
        el('td', null, el('a', { href: '#release=' + h.releaseId, text: h.releaseId })),
        el('td', { text: h.service + (h.kind !== 'release' ? ' (' + h.kind + ')' : '') }),
        el('td', null, el('span', { className: 'status s-' + h.status, text: h.status })),
        el('td', null, el('code', { text: h.tag || shortDigest(h.digest) })),
        el('td', { text: clock(h.endedAt) }),
        el('td', null, el('a', { href: '/releases/' + encodeURIComponent(h.releaseId) + '/report', target: '_blank', rel: 'noopener noreferrer', text: 'report' })),
      );
    });
    return [el('table', { className: 'history' }, el('thead', null, head), el.apply(null, ['tbody', null].concat(rows)))];
  }

  // ---- the followed release (/api/releases/:id, as gantry status --json) ----
  function renderRelease(v) {
    var rows = v.stages.map(function (s) {
      return el(
        'tr',
        { 'data-stage': s.name, 'data-status': s.status },
        el('td', { text: s.name }),
        el('td', null, el('span', { className: 'status s-' + s.status, text: s.status })),
        el('td', { text: shortDigests(s.activity), title: s.activity }),
      );
    });
    return [
      releaseHead(v, 'release-status', v.reason ? ' ' + v.reason : ''),
      el('div', {
        className: 'who',
        text: 'started ' + clock(v.startedAt) + ' by ' + (v.initiator ? role(v.initiator) : '(unattributed)') + (v.endedAt ? ' · ended ' + clock(v.endedAt) : ''),
      }),
      el('table', { className: 'stages' }, el.apply(null, ['tbody', null].concat(rows))),
      el(
        'div',
        { className: 'links' },
        el('a', { href: '/releases/' + encodeURIComponent(v.releaseId) + '/report', target: '_blank', rel: 'noopener noreferrer', text: 'report' }),
        ' · ',
        el('button', {
          type: 'button',
          className: 'link',
          text: 'stop following',
          onclick: function () {
            follow(null);
          },
        }),
      ),
    ];
  }

  function render(o) {
    $('source').textContent = o.source;
    $('now').textContent = clock(o.now) + (o.simulated ? ' (virtual)' : '');
    var mode = $('mode');
    mode.textContent = o.allowActions ? 'actions allowed' : 'read-only';
    mode.className = 'mode ' + (o.allowActions ? 'actions' : 'readonly');
    var banner = $('banner');
    banner.hidden = !o.simulated;
    if (o.simulated) {
      banner.textContent =
        'SIMULATION — local Gantry. Its clock does not move by itself: virtual now is ' +
        clock(o.now) +
        '. An approval re-runs the simulation up to now; move the clock on with gantry simulate --state <dir> --advance PT5M.';
    }
    var active = document.activeElement;
    var activeKey = active && active.getAttribute ? active.getAttribute('data-key') : null;
    replace($('matrix'), renderMatrix(o.matrix, o.now, o.allowActions));
    replace($('approvals'), renderApprovals(o));
    replace($('inflight'), renderInFlight(o));
    replace($('history'), renderHistory(o));
    if (activeKey) {
      var again = document.querySelector('[data-key="' + activeKey.replace(/"/g, '') + '"]');
      if (again) again.focus();
    }
  }

  function renderFollowed() {
    var section = $('release-section');
    if (!followed) {
      section.hidden = true;
      return Promise.resolve();
    }
    return getJson('/api/releases/' + encodeURIComponent(followed)).then(
      function (v) {
        section.hidden = false;
        $('release-id').textContent = v.releaseId;
        replace($('release'), renderRelease(v));
      },
      function (e) {
        section.hidden = false;
        $('release-id').textContent = followed;
        replace($('release'), [el('p', { className: 'empty', text: e.message })]);
      },
    );
  }

  function refresh() {
    return getJson('/api/overview')
      .then(function (o) {
        showError('');
        render(o);
        return renderFollowed();
      })
      .catch(function (e) {
        showError('Cannot read the dashboard server: ' + e.message);
      });
  }

  // One polling loop: a refresh asked for now (an action, following a release) replaces the loop, never adds one.
  var generation = 0;
  function refreshSoon(ms) {
    var mine = ++generation;
    if (timer) clearTimeout(timer);
    timer = setTimeout(function tick() {
      timer = null;
      refresh().then(function () {
        if (mine === generation && !timer) timer = setTimeout(tick, POLL_MS);
      });
    }, ms);
  }

  /** POST an action; resolves to { ok, body } and refreshes the page. */
  function act(url, body, what) {
    if (busy) {
      toast('Another action is in progress', true);
      return Promise.resolve({ ok: false, body: null });
    }
    busy = true;
    document.body.classList.add('busy');
    toast(what + '…', false);
    return post(url, body)
      .then(
        function (r) {
          var text =
            (r.body &&
              (r.body.message ||
                (r.body.lines || [])
                  .map(function (l) {
                    return l.text;
                  })
                  .join('\n'))) ||
            'HTTP ' + r.status;
          toast(text, !r.ok);
          return { ok: r.ok, body: r.body };
        },
        function (e) {
          toast(what + ' failed: ' + e.message, true);
          return { ok: false, body: null };
        },
      )
      .then(function (result) {
        busy = false;
        document.body.classList.remove('busy');
        refreshSoon(0);
        return result;
      });
  }

  window.addEventListener('hashchange', function () {
    followed = followedFromHash();
    refreshSoon(0);
  });
  refreshSoon(0);
})();
