// minutes-qa web chat. Everything from the server is inserted with textContent:
// paper text is never parsed as HTML, so a paper containing <script> shows it literally.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { history: [], documents: new Map(), docCache: new Map(), meetingOf: new Map() };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function formatDate(iso) {
  if (!iso) return "date not stated";
  const d = new Date(iso + "T00:00:00");
  return d.toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric" });
}

function pageLabel(page, pageEnd) {
  if (page === null || page === undefined) return "";
  return pageEnd && pageEnd !== page ? `pp. ${page}–${pageEnd}` : `p. ${page}`;
}

function whereLabel(c) {
  const doc = state.documents.get(c.document_id);
  const kind = doc && doc.doc_type === "minutes" ? "minute" : "section";
  const where = c.item ? `${kind} ${c.item}` : c.section || "";
  return [where, pageLabel(c.page, c.page_end)].filter(Boolean).join(", ");
}

function citationLine(c) {
  return [c.title, c.body, formatDate(c.meeting_date), whereLabel(c)].filter(Boolean).join(" · ");
}

async function api(path, options = {}) {
  const headers = { "Accept": "application/json", "Content-Type": "application/json", ...(options.headers || {}) };
  const response = await fetch(path, { ...options, headers });
  const body = await response.json().catch(() => ({}));  // (a 204 has no body)
  if (!response.ok) {
    const error = new Error(body.error ? body.error.message : `the server answered ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function meetingLink(documentId) {
  // The meeting a cited paper belongs to, as a link to its meeting page (null when unknown).
  const m = state.meetingOf.get(documentId);
  if (!m) return null;
  return el("a", { href: m.url, class: "meeting-link", "aria-label": `Meeting page: ${meetingName(m)}`, onclick: (e) => { e.preventDefault(); navigate(m.url); } }, "Meeting page");
}

function revealAnswer(item) {
  // The question box is sticky at the bottom of the window: scroll until the end of the newest
  // answer sits above it (a long answer's top may leave the window; its end, the part just added, may not).
  const box = $("ask-form").getBoundingClientRect();
  const limit = Math.min(window.innerHeight, box.top) - 8;
  const bottom = item.getBoundingClientRect().bottom;
  if (bottom > limit) window.scrollBy({ top: bottom - limit, behavior: "instant" });
}

// ---- filters ---------------------------------------------------------------------------
function currentFilters() {
  const f = {};
  if ($("f-doc").value) f.document_id = $("f-doc").value;
  if ($("f-body").value) f.body = $("f-body").value;
  if ($("f-from").value) f.date_from = $("f-from").value;
  if ($("f-to").value) f.date_to = $("f-to").value;
  const n = Object.keys(f).length;
  $("filter-summary").textContent = n ? `(${n} active)` : "";
  return n ? f : null;
}

// ---- conversation ----------------------------------------------------------------------
function renderAnswer(item, result) {
  const box = el("div", { class: "turn-a" + (result.abstained ? " abstained" : "") });
  const text = el("p", { class: "answer-text" });
  if (result.abstained) {
    text.append("The papers don't cover this.");
    // The refusal says why ("…: no indexed paper mentions potholes.", "…: the closest passages
    // give no sum of money."): the part after the colon, as a sentence.
    const reason = result.answer.replace(/^The papers don't cover this:\s*/, "");
    const why = reason && reason !== result.answer ? reason.charAt(0).toUpperCase() + reason.slice(1) : "Nothing in the indexed papers answers the question.";
    box.append(text, el("p", { class: "muted" }, `${why} The closest passages are listed below; they are not an answer.`));
  } else {
    // Split "… [1] … [2]" so each marker becomes a real link to its citation's permalink.
    const parts = result.answer.split(/(\[\d+\])/);
    for (const part of parts) {
      const m = part.match(/^\[(\d+)\]$/);
      const c = m && result.citations.find((x) => x.n === Number(m[1]));
      if (c) text.append(el("a", { href: c.url, class: "cite-marker", "data-cite": String(c.n), "aria-label": `source ${c.n}: ${citationLine(c)}`, onclick: (e) => openCitation(e, c) }, `[${c.n}]`));
      else text.append(part);
    }
    box.append(text);
    const short = shortAnswer(result);
    if (short) {
      // The exact short answer (a date, amount, name, cell or list) inside the quoted evidence.
      box.prepend(el("p", { class: "short-answer" }, el("span", { class: "muted" }, "Short answer: "),
        el("strong", {}, short.text), " ", el("a", { href: short.url, class: "cite-marker", onclick: (e) => openCitation(e, short.citation, short) }, `[${short.citation.n}]`)));
    }
  }
  const listed = result.abstained ? result.related : result.citations;
  if (listed.length) {
    const ol = el("ol", { class: "citations", "aria-label": result.abstained ? "Related passages" : "Sources" });
    listed.forEach((c, i) => {
      const link = el("a", { href: c.url, class: "cite-link", onclick: (e) => openCitation(e, c) }, `${result.abstained ? "" : "[" + c.n + "] "}${citationLine(c)}`);
      ol.append(el("li", {}, link, " ", meetingLink(c.document_id) || "", quoteWithSpan(c, result.answer_span)));
    });
    box.append(result.abstained ? el("p", { class: "muted" }, "Related passages:") : "", ol);
  }
  const actions = el("div", { class: "answer-actions" });
  if (!result.abstained) {
    const copy = el("button", { type: "button", class: "copy" }, "Copy answer with citations");
    copy.addEventListener("click", async () => {
      const lines = [result.answer, "", ...result.citations.map((c) => `[${c.n}] ${citationLine(c)} — “${c.quote.replace(/\s+/g, " ").trim()}” (${location.origin}${c.url})`)];
      try { await navigator.clipboard.writeText(lines.join("\n")); copy.textContent = "Copied"; }
      catch { copy.textContent = "Copy failed (clipboard not available)"; }
    });
    actions.append(copy);
  }
  const details = el("details", { class: "query-used" }, el("summary", {}, "Query used"), el("p", {}, result.query));
  const topic = historyUrl(result.query);  // with the filters the answer was asked with (views.js)
  actions.append(el("a", { href: topic, class: "history-link", onclick: (e) => { e.preventDefault(); navigate(topic); } }, "History of this topic"));
  if (result.explain) box.append(explainPanel(result.explain));
  actions.append(details, el("span", { class: "muted" }, `confidence ${Math.round(result.confidence * 100)}% · ${Math.round(result.took_ms)} ms`));
  box.append(actions);
  item.replaceChildren(box);
}

function shortAnswer(result) {
  const span = result.answer_span;
  if (!span) return null;
  const c = result.citations.find((x) => x.n === span.citation);
  if (!c || span.start < c.start || span.end > c.end) return null;
  const text = c.quote.slice(span.start - c.start, span.end - c.start).replace(/\s+/g, " ").trim();
  return { text, citation: c, url: `/documents/${encodeURIComponent(c.document_id)}#${span.start}-${span.end}` };
}

function quoteWithSpan(c, span) {
  // The quote, with the short answer marked when it lies inside this citation.
  const q = el("span", { class: "quote" });
  if (span && span.citation === c.n && span.start >= c.start && span.end <= c.end) {
    const a = span.start - c.start, b = span.end - c.start;
    q.append("“" + c.quote.slice(0, a).replace(/\s+/g, " ").trimStart(), el("mark", { class: "answer-span" }, c.quote.slice(a, b).replace(/\s+/g, " ")), c.quote.slice(b).replace(/\s+/g, " ").trimEnd() + "”");
  } else {
    q.append("“" + c.quote.replace(/\s+/g, " ").trim() + "”");
  }
  return q;
}

function explainPanel(x) {
  // Explain mode: how the answer was found (question analysis, ranking, scored candidates, decision).
  const a = x.analysis;
  const named = Object.entries(a.constraints).filter(([, v]) => v.length).map(([k, v]) => `${k}: ${v.join(", ")}`).join("; ");
  const list = (items, fmt) => { const ol = el("ol", {}); items.forEach((i) => ol.append(el("li", {}, fmt(i)))); return ol; };
  return el("details", { class: "explain", open: "" }, el("summary", {}, "How this answer was found"),
    el("p", {}, `Asked for: ${a.answer_type}` + (a.fact_roles.length ? ` (meeting fact: ${a.fact_roles.join(", ")})` : "") + (a.extreme ? `, ${a.extreme}` : "") + `. Names: ${named || "no meeting, body or paper"}. Searched as: “${a.standalone}”.`),
    el("p", { class: "muted" }, "Best passages found:"),
    list(x.retrieval.slice(0, 5), (h) => `${h.document_id}${h.section ? " · " + h.section : ""} (fused ${h.fused})`),
    el("p", { class: "muted" }, "Best candidate answers (probability):"),
    list(x.candidates.slice(0, 5), (c) => `${Math.round(c.probability * 100)}% · ${c.kind} · ${c.text}`),
    el("p", {}, `Decision: ${x.decision.abstained ? "abstained" : "answered"} — ${x.decision.reason}.`));
}

async function ask(question) {
  $("empty").hidden = true;
  const log = $("log");
  log.append(el("li", { class: "turn-q" }, question));
  const item = el("li", { class: "turn-a-wrap" }, el("div", { class: "turn-a muted" }, "Searching the papers…"));
  log.append(item);
  revealAnswer(item);
  const payload = { question, history: state.history.slice(-16) };
  if ($("explain") && $("explain").checked) payload.explain = true;
  const filters = currentFilters();
  if (filters) payload.filters = filters;
  try {
    const result = await api("/ask", { method: "POST", body: JSON.stringify(payload) });
    renderAnswer(item, result);
    revealAnswer(item);
    state.history.push({ role: "user", content: question }, { role: "assistant", content: result.answer.slice(0, 2000) });
  } catch (err) {
    item.replaceChildren(el("div", { class: "turn-a error", role: "alert" }, "Sorry — " + err.message));
    revealAnswer(item);
  }
}

// ---- source panel ----------------------------------------------------------------------
function showPaperUrl(url) {
  // A paper's permalink, remembering the view it was opened from: going back to it restores that view.
  history.pushState({ viewUrl: state.viewUrl || "/" }, "", url);
}

async function loadDocument(id) {
  if (!state.docCache.has(id)) state.docCache.set(id, await api(`/documents/${encodeURIComponent(id)}`));
  return state.docCache.get(id);
}

async function showSource(id, start, end, pageIndex) {
  const doc = await loadDocument(id);
  $("browse").hidden = true;
  $("source").hidden = false;
  $("source-title").textContent = doc.title;
  $("source-meta").textContent = [doc.body, formatDate(doc.meeting_date), doc.doc_type].filter(Boolean).join(" · ");
  const box = $("source-text");
  const valid = Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start < end && end <= doc.text.length;
  // A paper with pages (a PDF) is shown a page at a time: the page(s) the highlight is on.
  const pages = doc.pages || [];
  const paged = Number.isInteger(pageIndex);
  const first = paged ? pageIndex : valid ? pages.findIndex((p) => p.start <= start && start < p.end) : 0;
  const last = paged ? pageIndex : valid ? Math.max(first, pages.findIndex((p) => p.start < end && end <= p.end)) : 0;
  const [from, to] = pages.length && first >= 0 ? [pages[first].start, pages[last].end] : [0, doc.text.length];
  showPageNav(doc, pages.length && first >= 0 ? first : -1, last);
  if (valid) {
    const mark = el("mark", { id: "highlight" }, doc.text.slice(start, end));
    box.replaceChildren(doc.text.slice(from, start), mark, doc.text.slice(end, to));
    mark.scrollIntoView({ block: "center" });
  } else if (pages.length && !doc.text.slice(from, to).trim()) {
    // a page with no text layer (a scan) that the index left out: say so rather than show nothing
    box.replaceChildren(el("p", { class: "muted" }, "This page has no text layer (a scanned page?), so it was not read. Rebuild the index with --ocr to read it."));
  } else {
    box.replaceChildren(doc.text.slice(from, to));
    box.scrollTop = 0;
  }
  const outline = $("source-outline");
  outline.replaceChildren(...doc.sections.map((s) => el("li", { class: `depth-${s.depth}` },
    el("a", { href: `/documents/${doc.id}#${s.start}-${s.end}`, onclick: (e) => { e.preventDefault(); showSource(doc.id, s.start, s.end); } }, s.title))));
}

function showPageNav(doc, first, last) {
  const nav = $("source-pages");
  nav.hidden = first < 0;
  if (first < 0) return;
  const pages = doc.pages;
  $("page-label").textContent = `${pageLabel(pages[first].number, pages[last].number)} of ${pages.length}`;
  const go = (i) => () => {
    showPaperUrl(`/documents/${doc.id}#page-${pages[i].number}`);  // a page is a permalink too
    showSource(doc.id, NaN, NaN, i).catch((err) => alert(err.message));
  };
  $("page-prev").disabled = first === 0;
  $("page-next").disabled = last === pages.length - 1;
  $("page-prev").onclick = first > 0 ? go(first - 1) : null;
  $("page-next").onclick = last < pages.length - 1 ? go(last + 1) : null;
  const link = $("page-original");
  link.hidden = !doc.source_url;
  if (doc.source_url) link.href = `${doc.source_url}#page=${pages[first].number}`;
}

function openCitation(event, c, short) {
  // The source panel highlights the short answer when one is given, else the whole quote.
  event.preventDefault();
  const [start, end, url] = short ? [short.url.split("#")[1].split("-").map(Number), short.url].flat() : [c.start, c.end, c.url];
  showPaperUrl(url);
  showSource(c.document_id, start, end).catch((err) => alert(err.message));
}

function openFromLocation() {
  const m = location.pathname.match(/^\/documents\/([a-z0-9-]+)$/);
  if (!m) { $("source").hidden = true; return; }
  const span = location.hash.match(/^#(\d+)-(\d+)$/);
  const page = location.hash.match(/^#page-(\d+)$/);
  const opened = page
    ? loadDocument(m[1]).then((doc) => showSource(m[1], NaN, NaN, Math.max(0, (doc.pages || []).findIndex((p) => p.number === Number(page[1])))))
    : showSource(m[1], span ? Number(span[1]) : NaN, span ? Number(span[2]) : NaN);
  opened.catch((err) => {
    $("source").hidden = false;
    $("source-text").textContent = "This paper could not be opened: " + err.message;
  });
}

// ---- browse & start-up -----------------------------------------------------------------
async function init() {
  const [docs, meetings, suggestions] = await Promise.all([api("/documents"), api("/meetings"), api("/suggestions")]);
  const bodies = new Set();
  for (const d of docs) {
    state.documents.set(d.id, d);
    $("f-doc").append(el("option", { value: d.id }, `${d.title} (${formatDate(d.meeting_date)})`));
    if (d.body) bodies.add(d.body);
    $("papers").append(el("li", {}, el("a", { href: d.url, onclick: (e) => { e.preventDefault(); showPaperUrl(d.url); showSource(d.id); } }, d.title), ` — ${d.body || ""}, ${formatDate(d.meeting_date)}`));
  }
  for (const b of [...bodies].sort()) $("f-body").append(el("option", { value: b }, b));
  for (const m of meetings) {
    for (const d of m.documents) state.meetingOf.set(d, m);
    const items = el("ul");
    for (const it of m.items) items.append(el("li", {}, el("a", { href: it.url, onclick: (e) => { e.preventDefault(); showPaperUrl(it.url); showSource(it.document_id, it.start, it.end); } }, it.title)));
    $("meetings").append(el("li", {}, el("a", { href: m.url, onclick: (e) => { e.preventDefault(); navigate(m.url); } }, meetingName(m)), items));
  }
  for (const q of suggestions.questions) {
    $("starters").append(el("li", {}, el("button", { type: "button", onclick: () => ask(q) }, q)));
  }
  route();
}

document.addEventListener("DOMContentLoaded", () => {
  $("ask-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = $("question").value.trim();
    if (!q) return;
    $("question").value = "";
    ask(q);
  });
  $("question").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("ask-form").requestSubmit(); }
  });
  $("new-conversation").addEventListener("click", () => {
    if (state.view !== "chat") navigate("/");
    state.history = [];
    $("log").replaceChildren();
    $("empty").hidden = false;
    $("question").focus();
  });
  $("source-close").addEventListener("click", () => { $("source").hidden = true; history.pushState(null, "", state.viewUrl || "/"); });
  $("browse-toggle").addEventListener("click", () => {
    const open = $("browse").hidden;
    $("browse").hidden = !open;
    $("source").hidden = true;
    $("browse-toggle").setAttribute("aria-expanded", String(open));
  });
  $("f-clear").addEventListener("click", () => { for (const id of ["f-doc", "f-body", "f-from", "f-to"]) $(id).value = ""; currentFilters(); });
  for (const id of ["f-doc", "f-body", "f-from", "f-to"]) $(id).addEventListener("change", currentFilters);
  window.addEventListener("popstate", route);
  init().catch((err) => { $("log").append(el("li", { class: "turn-a error", role: "alert" }, "The service is not ready: " + err.message)); });
});
