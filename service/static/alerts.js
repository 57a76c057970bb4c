// minutes-qa: "Alert me" — save the topic of the history view as an alert (POST /alerts), list the
// saved alerts with their Atom feeds, and delete one. When the server has an admin token set, it
// answers 401 to saving, deleting and listing: the page then asks for the token and keeps it in
// sessionStorage (this tab only). A single alert's feed stays open (its id is unguessable).
// A server without the alerts API (404) hides the box.
"use strict";

const TOKEN_KEY = "minutes-qa-admin-token";

function alertHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { "Authorization": `Bearer ${token}` } : {};
}

async function alertApi(path, options = {}) {
  try {
    return await api(path, { ...options, headers: alertHeaders() });
  } catch (err) {
    if (err.status === 401) {
      $("alert-token-row").hidden = false;
      err.message = "This server needs its admin token to manage alerts: enter it above and try again.";
    }
    throw err;
  }
}

function showAlertBox(topic) {
  const box = $("alert-box");
  state.alertTopic = topic;
  box.hidden = !topic || state.alertsMissing === true;
  if (box.hidden) return;
  $("alert-topic").textContent = `“${topic}”`;
  $("alert-status").textContent = "";
  loadAlerts();
}

async function loadAlerts() {
  const list = $("alert-list");
  let alerts;
  try {
    alerts = await alertApi("/alerts");
  } catch (err) {
    if (err.status === 404 || err.status === 405) {  // this server has no alerts API
      state.alertsMissing = true;
      $("alert-box").hidden = true;
      return;
    }
    list.replaceChildren(el("li", { class: "muted" }, "Your alerts could not be listed: " + err.message));
    return;
  }
  const items = Array.isArray(alerts) ? alerts : alerts.alerts || [];
  list.replaceChildren(...items.map(alertLine));
  if (!items.length) list.append(el("li", { class: "muted" }, "No alerts saved yet."));
}

function alertLine(a) {
  const remove = el("button", { type: "button", class: "alert-delete", "aria-label": `Delete the alert ${a.title || a.query}` }, "Delete");
  remove.addEventListener("click", async () => {
    try {
      await alertApi(`/alerts/${encodeURIComponent(a.id)}`, { method: "DELETE" });
      $("alert-status").textContent = `Deleted the alert “${a.title || a.query}”.`;
      loadAlerts();
    } catch (err) {
      $("alert-status").textContent = "Sorry — " + err.message;
    }
  });
  const matches = Number.isInteger(a.match_count) ? ` · ${a.match_count} matching passage${a.match_count === 1 ? "" : "s"}` : "";
  return el("li", { class: "alert-line" }, el("span", {}, `${a.title || a.query}${matches} `),
    el("a", { href: a.feed_url, class: "feed-link" }, "Atom feed"), " ", remove);
}

async function saveAlert(event) {
  event.preventDefault();
  const token = $("alert-token").value.trim();
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  const payload = {
    query: state.alertTopic,
    filters: currentFilters() || {},
    webhook_url: $("alert-webhook").value.trim() || null,
    title: $("alert-title").value.trim() || null,
  };
  try {
    const saved = await alertApi("/alerts", { method: "POST", body: JSON.stringify(payload) });
    $("alert-status").replaceChildren(`Saved: you will be told when new papers discuss “${saved.query}”. `,
      el("a", { href: saved.feed_url, class: "feed-link" }, "Its Atom feed"), ".");
    $("alert-title").value = "";
    $("alert-webhook").value = "";
    loadAlerts();
  } catch (err) {
    $("alert-status").textContent = "The alert was not saved: " + err.message;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("alert-form").addEventListener("submit", saveAlert);
  // The list needs the token too when the server has one: entering it lists the alerts at once.
  $("alert-token").addEventListener("change", () => {
    const token = $("alert-token").value.trim();
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
    if (!$("alert-box").hidden) loadAlerts();
  });
  if (sessionStorage.getItem(TOKEN_KEY)) $("alert-token").value = sessionStorage.getItem(TOKEN_KEY);
});
