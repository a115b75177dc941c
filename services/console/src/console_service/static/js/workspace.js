// casetrail console: the collector's workspace. Before dialling, the contact permission for
// the channel and party chosen in the contact form is asked again (the contact service's
// GET /v1/cases/{id}/contact-permission, through the console) and shown above the forms.
(() => {
  "use strict";
  const panel = document.getElementById("permission");
  if (!panel) return;
  const i18n = JSON.parse(document.getElementById("i18n").textContent);
  const say = (key) => i18n[key] || key;
  const zone = panel.dataset.zone || "UTC";
  const channel = document.getElementById("channel");
  const party = document.getElementById("party");

  function instant(iso) {
    const when = new Date(iso);
    const local = new Intl.DateTimeFormat("sv-SE", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
    }).format(when);
    const utc = when.toISOString().replace("T", " ").slice(0, 19);
    return `${local} ${zone} · ${utc} UTC`;
  }

  function show(answer) {
    panel.replaceChildren();
    const title = document.createElement("h3");
    title.textContent = say("permission_title");
    panel.append(title);
    const verdict = document.createElement("p");
    if (answer.error) {
      verdict.className = "alert";
      verdict.dataset.allowed = "unknown";
      verdict.textContent = `${say("unavailable")}: ${answer.error}`;
      panel.append(verdict);
      return;
    }
    verdict.id = "permission-verdict";
    verdict.className = "verdict " + (answer.allowed ? "ok" : "bad");
    verdict.dataset.allowed = String(answer.allowed);
    verdict.textContent = `${answer.allowed ? "✓ " + say("allowed") : "✗ " + say("denied")} · ` +
      `${say("channel." + answer.channel)} · ${say("party." + answer.party)}`;
    panel.append(verdict);
    if (answer.denials.length) {
      const list = document.createElement("ul");
      list.className = "denials";
      for (const denial of answer.denials) {
        const item = document.createElement("li");
        const rule = document.createElement("strong");
        rule.textContent = `${say("rule")} ${denial.rule_id}`;
        item.append(rule, ` (${denial.kind}): ${denial.reason}`);
        list.append(item);
      }
      panel.append(list);
    }
    const next = document.createElement("p");
    const when = document.createElement("span");
    when.id = "permission-next";
    when.textContent = answer.earliest_allowed_at ? instant(answer.earliest_allowed_at) : say("never");
    next.append(`${say("next_allowed")}: `, when);
    panel.append(next);
    const pack = document.createElement("p");
    pack.className = "muted";
    pack.textContent = `${say("pack")} ${answer.pack_id} v${answer.pack_version}`;
    panel.append(pack);
  }

  async function refresh() {
    const asked = party.value === "none" ? "debtor" : party.value;  // nobody reached: ask for the debtor
    panel.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(`/cases/${panel.dataset.caseId}/permission.json?channel=${encodeURIComponent(channel.value)}&party=${encodeURIComponent(asked)}`,
                                   { credentials: "same-origin", cache: "no-store" });
      show(await response.json());
    } catch (err) {
      show({ error: err.message });
    } finally {
      panel.removeAttribute("aria-busy");
    }
  }
  channel.addEventListener("change", refresh);
  party.addEventListener("change", refresh);
})();
