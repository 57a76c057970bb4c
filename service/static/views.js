// minutes-qa: the page's views besides the chat — a topic's history across meetings and a
// meeting's page — and the routing that opens the view a URL names (permalinks):
//   /                       the chat
//   /documents/{id}#a-b     the chat (or the view already open) with the paper in the source panel
//   /history?q=…&body=…     the history of a topic, with the filters as /search takes them
//   /meetings/{id}          a meeting: attendance, apologies, items, decisions and papers
// As in app.js, everything from the server is inserted with textContent, never parsed as HTML.
"use strict";

const VIEWS = ["chat", "history", "meeting"];
const FILTER_PARAMS = { "f-doc": "document_id", "f-body": "body", "f-from": "date_from", "f-to": "date_to" };

function navigate(url) {
  history.pushState(null, "", url);
  route({ focus: true });
}

function showView(name, url, focus) {
  for (const v of VIEWS) $(`${v}-view`).hidden = v !== name;
  for (const a of document.querySelectorAll("[data-view]")) {
    if (a.dataset.view === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  state.view = name;
  state.viewUrl = url;
  // A view opened by the user gets the focus on its heading, so a screen reader announces it.
  if (focus && name !== "chat") $(`${name}-heading`).focus();
}

function openView(url, focus) {
  // The left-hand view a URL names (path and query): the chat, a topic's history or a meeting.
  const u = new URL(url, location.origin);
  const meeting = u.pathname.match(/^\/meetings\/([a-z0-9-]+)$/);
  if (u.pathname === "/history") {
    showView("history", url, focus);
    openHistory(u.search);
  } else if (meeting) {
    showView("meeting", url, focus);
    showMeeting(meeting[1], url);
  } else {
    showView("chat", "/", focus);
  }
}

function route(options = {}) {
  const focus = options && options.focus === true;
  if (location.pathname.startsWith("/documents/")) {
    // A paper opened from a view keeps that view beside it (the view's URL is in the history entry).
    const from = (history.state && history.state.viewUrl) || state.viewUrl || "/";
    if (from !== state.viewUrl) openView(from, false);
  } else {
    openView(location.pathname + location.search, focus);
  }
  openFromLocation();
}

function meetingName(m) {
  return `${m.body || "Unknown body"}, ${meetingDate(m)}`;
}

function meetingDate(m) {
  if (m.meeting_date) return formatDate(m.meeting_date);
  const b = m.date_bounds;
  if (b && b.after && b.before) return `date not stated (between ${formatDate(b.after)} and ${formatDate(b.before)})`;
  return "date not stated";
}

function sourceLink(url, text, documentId, cls = "cite-link") {
  // A link to a span of a paper that opens it in the source panel (the URL is its permalink).
  const m = url.match(/#(\d+)-(\d+)$/);
  return el("a", { href: url, class: cls, onclick: (e) => {
    e.preventDefault();
    showPaperUrl(url);
    showSource(documentId, m ? Number(m[1]) : NaN, m ? Number(m[2]) : NaN).catch((err) => alert(err.message));
  } }, text);
}

// What a fact's value is, by its role (indexer/facts.py); the value itself links to where it is said.
const ROLE_LABELS = { chair: "Chair", vice_chair: "Vice chair", present: "Present", also_attended: "Also attended",
  started: "Started", ended: "Ended", venue: "Venue", resolution: "Resolved", resolutions: "Resolved" };

function factLine(f) {
  const label = ROLE_LABELS[f.role];
  return el("li", {}, label ? el("span", { class: "fact-label" }, `${label}: `) : "",
    sourceLink(f.url, f.value.replace(/\s+/g, " ").trim(), f.document_id, "fact-link"));
}

// ---- history -----------------------------------------------------------------------------
function historyUrl(topic) {
  const params = new URLSearchParams({ q: topic });
  const filters = currentFilters() || {};
  for (const key of Object.values(FILTER_PARAMS)) if (filters[key]) params.set(key, filters[key]);
  return `/history?${params}`;
}

function openHistory(search) {
  const params = new URLSearchParams(search);
  const topic = params.get("q") || "";
  // The URL's filters become the page's, every one of them (a filter the URL lacks is cleared), so
  // the permalink shows what its author saw and "Alert me" saves the filters of the list it shows.
  for (const [id, key] of Object.entries(FILTER_PARAMS)) $(id).value = params.get(key) || "";
  currentFilters();
  $("history-q").value = topic;
  if (!topic.trim()) {
    $("history-list").replaceChildren();
    $("history-status").textContent = "Type a topic to see every meeting that discussed it, in date order.";
    showAlertBox(null);
    return;
  }
  loadHistory(search);
}

async function loadHistory(search) {
  const list = $("history-list");
  $("history-status").textContent = "Searching the papers…";
  list.replaceChildren();
  let result;
  try {
    result = await api(`/history${search}`);
  } catch (err) {
    $("history-status").textContent = "Sorry — " + err.message;
    showAlertBox(null);
    return;
  }
  if (state.viewUrl !== `/history${search}`) return;  // the user has moved on meanwhile
  const n = result.meetings.length;
  $("history-status").textContent = n
    ? `“${result.query}” was discussed at ${n} meeting${n === 1 ? "" : "s"}, oldest first.`
    : `No meeting in the indexed papers discussed “${result.query}”.`;
  for (const m of result.meetings) list.append(historyEntry(m));
  showAlertBox(result.query);
}

function historyEntry(m) {
  const head = el("h3", {}, el("a", { href: m.url, onclick: (e) => { e.preventDefault(); navigate(m.url); } }, meetingName(m)));
  const entry = el("li", { class: "history-entry" + (m.undated ? " undated" : "") }, head);
  if (m.undated) {
    entry.append(el("p", { class: "undated-note" }, m.order_date
      ? "Undated: placed by the dates the papers prove it lies between."
      : "Undated: the papers give no date, so it is listed last."));
  }
  if (m.item_title && m.item_url) {
    const doc = state.documents.get(m.quotes[0].document_id);
    const kind = doc && doc.doc_type === "minutes" ? "Minute" : "Item";
    entry.append(el("p", { class: "history-item" }, m.item ? `${kind} ${m.item}: ` : "Under: ",
      sourceLink(m.item_url, m.item_title, m.quotes[0].document_id, "item-link")));
  }
  const ol = el("ol", { class: "citations", "aria-label": "Quoted from the papers" });
  for (const c of m.quotes) {
    ol.append(el("li", {}, el("a", { href: c.url, class: "cite-link", onclick: (e) => openCitation(e, c) }, `[${c.n}] ${[c.title, whereLabel(c)].filter(Boolean).join(" · ")}`), quoteWithSpan(c, null)));
  }
  entry.append(ol);
  if (m.decisions.length) {
    entry.append(el("p", { class: "muted" }, m.decisions.length === 1 ? "Decision recorded:" : "Decisions recorded:"),
      el("ul", { class: "decisions" }, ...m.decisions.map(factLine)));
  }
  return entry;
}

// ---- meeting page ------------------------------------------------------------------------
async function showMeeting(id, url) {
  const box = $("meeting-body");
  $("meeting-heading").textContent = "Meeting";
  box.replaceChildren(el("p", { class: "muted" }, "Loading the meeting…"));
  let m;
  try {
    m = await api(`/meetings/${encodeURIComponent(id)}`);
  } catch (err) {
    box.replaceChildren(el("p", { class: "error", role: "alert" }, "This meeting could not be opened: " + err.message));
    return;
  }
  if (state.viewUrl !== url) return;  // the user has moved on meanwhile
  $("meeting-heading").textContent = meetingName(m);
  const facts = (title, list) => list.length
    ? [el("h3", {}, title), el("ul", { class: "facts" }, ...list.map(factLine))]
    : [];
  const others = m.facts.filter((f) => ["started", "ended", "venue"].includes(f.role));
  box.replaceChildren(
    ...facts("Chair", m.chair),
    ...facts("Attendance", m.attendance),
    ...facts("Apologies", m.apologies),
    ...facts("Time and place", others),
  );
  if (!m.chair.length && !m.attendance.length && !m.apologies.length) {
    box.append(el("p", { class: "muted" }, "The papers of this meeting record no chair, attendance or apologies."));
  }
  box.append(el("h3", {}, "Items"));
  if (m.items.length) {
    const items = el("ul", { class: "meeting-items" });
    for (const it of m.items) {
      const li = el("li", {}, sourceLink(it.url, it.title, it.document_id, "item-link"));
      if (it.decisions.length) li.append(el("ul", { class: "decisions", "aria-label": "Decisions" }, ...it.decisions.map(factLine)));
      items.append(li);
    }
    box.append(items);
  } else {
    box.append(el("p", { class: "muted" }, "No numbered items were found in this meeting's papers."));
  }
  const inItems = new Set(m.items.flatMap((it) => it.decisions.map((f) => `${f.document_id}:${f.start}`)));
  const loose = m.decisions.filter((f) => !inItems.has(`${f.document_id}:${f.start}`));
  box.append(...facts("Other decisions", loose));
  box.append(el("h3", {}, "Papers"), el("ul", { class: "papers" }, ...m.papers.map((p) =>
    el("li", {}, sourceLink(p.url, p.title, p.id, "paper-link"), ` (${p.doc_type})`))));
}

document.addEventListener("DOMContentLoaded", () => {
  for (const a of document.querySelectorAll("[data-view]")) {
    a.addEventListener("click", (e) => { e.preventDefault(); navigate(a.getAttribute("href")); });
  }
  $("history-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const topic = $("history-q").value.trim();
    if (topic) navigate(historyUrl(topic));
  });
});
