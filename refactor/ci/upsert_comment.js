'use strict';
/**
 * The dfix action's pull-request comment: ONE per pull request (and SARIF category), found by the
 * hidden marker on its first line, updated in place; created only when there is something to
 * report. Run from actions/github-script (see action.yml):
 *
 *   const upsert = require(process.env.DFIX_UPSERT_SCRIPT);
 *   await upsert({ github, context, core });
 *
 * Environment (set by action.yml):
 *   DFIX_COMMENT_FILE  body written by action_report.py (marker line first, already cut to fit)
 *   DFIX_MARKER        e.g. "<!-- dfix-report -->"
 *   DFIX_HAS_REPORT    "true" when there are findings or errors; a clean run only updates an
 *                      existing comment (so that it no longer lists fixed findings), never creates one
 *   DFIX_ARTIFACT_URL  link to the workflow artifact with the full report (may be empty)
 *   DFIX_RUN_URL       link to the workflow run (its job summary holds the report)
 *
 * Never throws: a token that cannot comment (pull requests from forks get a read-only token, or the
 * workflow lacks `pull-requests: write`) gives a warning and a note in the job summary. Outputs:
 * comment-action (created | updated | unchanged | none | failed) and comment-url.
 */
const fs = require('node:fs');

const LIMIT = 65536; // GitHub's cap on a comment body, in characters; checked here in UTF-8 bytes (never fewer)

function utf8Length(s) {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * body + footer, within `limit` bytes. action_report.py already cut the body at a file boundary
 * with room for the footer; this is the safety net: drop whole "### " file sections from the end,
 * and cut bytes only when a single section is too large.
 */
function fit(body, footer, limit = LIMIT) {
  if (utf8Length(body) + utf8Length(footer) <= limit) return body + footer;
  const note = '\n> The report was cut to fit in a comment: the full report is linked below.\n\n';
  const room = limit - utf8Length(footer) - utf8Length(note);
  let cut = body;
  while (utf8Length(cut) > room) {
    const i = cut.lastIndexOf('\n### ');
    if (i <= 0) {
      cut = Buffer.from(cut, 'utf8').subarray(0, Math.max(0, room)).toString('utf8').replace(/\uFFFD+$/, '');
      break;
    }
    cut = cut.slice(0, i + 1);
  }
  return cut + note + footer;
}

function footerFor(env, pr) {
  const links = [];
  if (env.DFIX_ARTIFACT_URL) links.push(`[full report (workflow artifact)](${env.DFIX_ARTIFACT_URL})`);
  if (env.DFIX_RUN_URL) links.push(`[job summary](${env.DFIX_RUN_URL})`);
  const sha = pr && pr.head && typeof pr.head.sha === 'string' ? ` · for ${pr.head.sha.slice(0, 12)}` : '';
  return `\n<sub>dfix${links.length ? ' · ' + links.join(' · ') : ''}${sha}</sub>\n`;
}

async function findComment(github, params, marker) {
  const pages = github.paginate.iterator(github.rest.issues.listComments, { ...params, per_page: 100 });
  for await (const page of pages) {
    const hit = (page.data || []).find((c) => typeof c.body === 'string' && c.body.startsWith(marker));
    if (hit) return hit;
  }
  return null;
}

async function upsertComment({ github, context, core, env = process.env }) {
  const marker = env.DFIX_MARKER || '<!-- dfix-report -->';
  const hasReport = env.DFIX_HAS_REPORT === 'true';
  const pr = context.payload && context.payload.pull_request;
  if (!pr || !pr.number) {
    core.info('dfix: not a pull request: no comment');
    core.setOutput('comment-action', 'none');
    return 'none';
  }
  const { owner, repo } = context.repo;
  let body = fs.readFileSync(env.DFIX_COMMENT_FILE, 'utf8');
  if (!body.startsWith(marker)) body = `${marker}\n${body}`;
  body = fit(body, footerFor(env, pr));

  let doing = 'read the comments of';
  try {
    const existing = await findComment(github, { owner, repo, issue_number: pr.number }, marker);
    let action;
    let url = '';
    if (existing && existing.body === body) {
      action = 'unchanged';
      url = existing.html_url || '';
    } else if (existing) {
      doing = 'update its comment on';
      const { data } = await github.rest.issues.updateComment({ owner, repo, comment_id: existing.id, body });
      action = 'updated';
      url = (data && data.html_url) || existing.html_url || '';
    } else if (hasReport) {
      doing = 'comment on';
      const { data } = await github.rest.issues.createComment({ owner, repo, issue_number: pr.number, body });
      action = 'created';
      url = (data && data.html_url) || '';
    } else {
      action = 'none'; // clean, and nothing stale to correct
    }
    core.setOutput('comment-action', action);
    core.setOutput('comment-url', url);
    core.info(`dfix: PR comment ${action}${url ? ': ' + url : ''}`);
    return action;
  } catch (err) {
    const status = err && err.status ? `HTTP ${err.status}` : 'error';
    const message = (err && err.message) || String(err);
    const head = pr.head && pr.head.repo && pr.head.repo.full_name;
    const base = (pr.base && pr.base.repo && pr.base.repo.full_name) || `${owner}/${repo}`;
    const why = head && head !== base
      ? 'pull requests from forks get a read-only token'
      : 'the workflow needs `permissions: pull-requests: write`';
    core.warning(`dfix could not ${doing} pull request #${pr.number} (${status}: ${message}); ${why}. The report is in the job summary.`);
    try {
      await core.summary
        .addRaw(`\n> **dfix could not ${doing} this pull request** (${status}): ${why}. The report above is what the comment would say.\n`)
        .write();
    } catch (_) {
      // the summary is best effort too
    }
    core.setOutput('comment-action', 'failed');
    core.setOutput('comment-url', '');
    return 'failed';
  }
}

module.exports = upsertComment;
module.exports.upsertComment = upsertComment;
module.exports.fit = fit;
module.exports.LIMIT = LIMIT;
