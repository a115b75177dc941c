// casetrail console: the auditor's verification, done by this browser alone.
//
// The public key is the one the auditor pinned here (localStorage), never one a server sends.
// For a case, the console passes on what the case service serves (GET /v1/audit/cases/{id}:
// events with inclusion proofs, the checkpoint JSON and the signed case statement; GET
// /v1/audit/checkpoint?size=N: the checkpoint as a C2SP signed note). This script checks:
//   1. the note's Ed25519 signature by the pinned key (c2sp.org/signed-note), and that the
//      proofs' checkpoint has the note's tree size and root;
//   2. the checkpoint JSON's and the case statement's Ed25519 signatures (casetrail/merkle.py);
//   3. every event under the checkpoint: its leaf, SHA-256(0x00 || leaf_data), is included in
//      the tree (RFC 6962 / RFC 9162 section 2.1.3.2), with leaf_data as merkle.py documents;
//   4. versions 1, 2, 3... at rising positions, and exactly the statement's count of events
//      under the checkpoint (nothing cut off).
// Hashes with crypto.subtle.digest("SHA-256"), signatures with crypto.subtle.verify("Ed25519").
(() => {
  "use strict";
  const STORAGE = "casetrail.console.pinnedKey";
  const i18nNode = document.getElementById("i18n");
  const i18n = i18nNode ? JSON.parse(i18nNode.textContent) : {};
  const say = (key, values = {}) =>
    (i18n[key] || key).replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
  const enc = new TextEncoder();
  // A failure with a message id (p_*) and its values, shown in the page's language.
  class Problem extends Error {
    constructor(code, values = {}) { super(code); this.code = code; this.values = values; }
  }
  const describe = (err) => err instanceof Problem ? say("p_" + err.code, err.values) : err.message;

  // ------------------------------------------------------------------ bytes
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  function unhex(text, length, what) {
    if (typeof text !== "string" || !/^([0-9a-f]{2})*$/.test(text) ||
        (length !== undefined && text.length !== 2 * length)) {
      throw new Error(`${what} is not ${length ? length + " bytes of " : ""}lowercase hex`);
    }
    return Uint8Array.from(text.match(/../g) || [], (h) => parseInt(h, 16));
  }
  function unbase64(text, what) {
    let raw;
    try { raw = atob(text); } catch (e) { throw new Error(`${what} is not base64`); }
    const bytes = Uint8Array.from(raw, (c) => c.charCodeAt(0));
    if (btoa(raw) !== text) throw new Error(`${what} is not canonical base64`);
    return bytes;
  }
  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }
  const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  function uint(value, size, what) {
    let n = BigInt(value);
    if (n < 0n || n >= (1n << BigInt(8 * size))) throw new Error(`${what} out of range`);
    const out = new Uint8Array(size);
    for (let i = size - 1; i >= 0; i--) { out[i] = Number(n & 0xffn); n >>= 8n; }
    return out;
  }
  const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));

  async function ed25519(publicKey, signature, message) {
    const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false,
                                              ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
  }

  // ------------------------------------------------------------------ keys
  const validName = (name) => typeof name === "string" && name.length > 0 && !name.includes("+") &&
    !/[\s\u0000-\u001f]/.test(name);
  const noteKeyHash = async (name, publicKey) =>
    (await sha256(concat(enc.encode(name), Uint8Array.of(0x0a, 0x01), publicKey))).slice(0, 4);

  // A key as an auditor writes it: a note verifier key <name>+<hash>+<base64(0x01||key)>, or
  // 64 hex digits of the raw Ed25519 public key.
  async function parseKey(text) {
    text = (text || "").trim();
    if (text.includes("+")) {
      const first = text.indexOf("+");
      const second = text.indexOf("+", first + 1);
      if (first < 0 || second < 0) throw new Error("a verifier key reads <name>+<hash>+<key>");
      const name = text.slice(0, first);
      const hash = text.slice(first + 1, second);
      if (!validName(name)) throw new Error("the verifier key's name is not valid");
      const key = unbase64(text.slice(second + 1), "the verifier key's key");
      if (key.length !== 33 || key[0] !== 0x01) throw new Error("not an Ed25519 verifier key");
      const publicKey = key.slice(1);
      if (hash !== hex(await noteKeyHash(name, publicKey))) {
        throw new Error("the verifier key's hash does not match its name and key");
      }
      return { name, publicKey };
    }
    if (/^[0-9a-fA-F]{64}$/.test(text)) return { name: null, publicKey: unhex(text.toLowerCase(), 32, "key") };
    throw new Error("expected a verifier key <name>+<hash>+<key> or 64 hex digits");
  }
  const fingerprint = async (publicKey) => hex(await sha256(publicKey)).slice(0, 16);

  // ------------------------------------------------------------------ signed notes
  async function openCheckpointNote(note, key) {
    const split = note.lastIndexOf("\n\n");
    if (split < 0) throw new Problem("note_malformed");
    const text = note.slice(0, split + 1);
    const block = note.slice(split + 2);
    if (!block.endsWith("\n")) throw new Problem("note_malformed");
    const lines = text.slice(0, -1).split("\n");
    if (lines.length < 3) throw new Problem("note_malformed");
    const [origin, size, rootB64] = lines;
    const name = key.name || origin;
    if (key.name && key.name !== origin) throw new Problem("note_other_log", { origin, name: key.name });
    const wanted = await noteKeyHash(name, key.publicKey);
    let sawName = false;
    for (const line of block.slice(0, -1).split("\n")) {
      if (!line.startsWith("\u2014 ")) throw new Problem("note_malformed");
      const [signer, encoded] = line.slice(2).split(" ");
      if (signer !== name) continue;
      sawName = true;
      const signature = unbase64(encoded || "", "a note signature");
      if (signature.length !== 68 || !equal(signature.slice(0, 4), wanted)) continue;
      if (await ed25519(key.publicKey, signature.slice(4), enc.encode(text))) {
        if (!/^(0|[1-9][0-9]*)$/.test(size)) throw new Problem("note_malformed");
        const root = unbase64(rootB64, "the root");
        if (root.length !== 32) throw new Problem("note_malformed");
        return { origin, size: Number(size), root };
      }
      throw new Problem("note_signature");
    }
    throw new Problem(sawName ? "note_other_key" : "note_no_signature");
  }

  // ------------------------------------------------------------------ Merkle proofs
  function leafData(e) {
    const id = String(e.case_id).replace(/-/g, "");
    const type = enc.encode(e.type);
    const payload = unbase64(e.payload, `the payload of version ${e.version}`);
    return concat(uint(e.position, 8, "position"), unhex(id, 16, "case id"),
                  uint(e.version, 4, "version"), uint(type.length, 2, "type length"), type,
                  uint(payload.length, 4, "payload length"), payload);
  }
  const leafHash = async (e) => sha256(concat(Uint8Array.of(0), leafData(e)));
  const nodeHash = async (left, right) => sha256(concat(Uint8Array.of(1), left, right));

  // RFC 9162 section 2.1.3.2
  async function verifyInclusion(leaf, index, size, proof, root) {
    let fn = BigInt(index);
    let sn = BigInt(size) - 1n;
    if (fn > sn) return false;
    let r = leaf;
    for (const p of proof) {
      if (sn === 0n) return false;
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(p, r);
        while (fn !== 0n && (fn & 1n) === 0n) { fn >>= 1n; sn >>= 1n; }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n; sn >>= 1n;
    }
    return sn === 0n && equal(r, root);
  }

  const checkpointMessage = (c) => enc.encode("casetrail-checkpoint/v1\n" +
    `${c.tree_size}\n${c.root}\n${c.last_position}\n${c.issued_at}\n${c.key_id}\n`);
  const statementMessage = (s) => enc.encode("casetrail-case-statement/v1\n" +
    `${s.case_id}\n${s.tree_size}\n${s.root}\n${s.event_count}\n${s.last_version}\n` +
    `${s.last_position}\n${s.key_id}\n`);

  // The verdict on one case: {status: verified | partial | failed, size, problems[], events{}}
  async function verifyCase(caseId, data, key) {
    const problems = [];
    const events = {};
    const note = await openCheckpointNote(data.note, key);  // throws: nothing else is trusted
    const cp = data.audit.checkpoint;
    if (cp.tree_size !== note.size || cp.root !== hex(note.root)) {
      problems.push(new Problem("proofs_checkpoint", { size: cp.tree_size, signed: note.size }));
    }
    if (!await ed25519(key.publicKey, unhex(cp.signature, 64, "the checkpoint signature"), checkpointMessage(cp))) {
      problems.push(new Problem("checkpoint_signature"));
    }
    const st = data.audit.case_statement;
    if (!st) {
      problems.push(new Problem("no_statement"));
    } else {
      if (!await ed25519(key.publicKey, unhex(st.signature, 64, "the statement signature"), statementMessage(st))) {
        problems.push(new Problem("statement_signature"));
      }
      if (st.case_id !== caseId || st.tree_size !== note.size || st.root !== hex(note.root)) {
        problems.push(new Problem("statement_other"));
      }
    }
    const list = [...data.audit.events].sort((a, b) => a.version - b.version);
    let covered = 0;
    let lastCovered = null;
    let previous = null;
    for (const [i, e] of list.entries()) {
      if (e.version !== i + 1) problems.push(new Problem("versions", { version: e.version, place: i + 1 }));
      if (previous && !(e.position > previous.position)) problems.push(new Problem("order", { version: e.version, previous: previous.version }));
      if (e.case_id !== caseId) problems.push(new Problem("other_case", { version: e.version }));
      previous = e;
      if (e.position > cp.last_position) { events[e.version] = { state: "after_checkpoint" }; continue; }
      covered += 1;
      lastCovered = e;
      if (!Array.isArray(e.proof) || typeof e.leaf_index !== "number") {
        events[e.version] = { state: "not_included", why: say("p_no_proof_short") };
        problems.push(new Problem("no_proof", { version: e.version, position: e.position }));
        continue;
      }
      let ok = false;
      try {
        const proof = e.proof.map((h, j) => unhex(h, 32, `proof hash ${j}`));
        ok = await verifyInclusion(await leafHash(e), e.leaf_index, note.size, proof, note.root);
      } catch (err) {
        events[e.version] = { state: "not_included", why: err.message };
        problems.push(new Problem("bad_data", { version: e.version, detail: err.message }));
        continue;
      }
      events[e.version] = ok ? { state: "included", index: e.leaf_index }
                             : { state: "not_included", why: say("p_proof_fails_short") };
      if (!ok) problems.push(new Problem("proof_fails", { version: e.version, type: e.type.split(".").pop(), position: e.position }));
    }
    if (st && (st.event_count !== covered || (lastCovered && (st.last_version !== lastCovered.version || st.last_position !== lastCovered.position)))) {
      problems.push(new Problem("count", { count: st.event_count, covered }));
    }
    const after = list.filter((e) => e.position > cp.last_position).length;
    return { status: problems.length ? "failed" : after ? "partial" : "verified",
             size: note.size, problems, events, after, covered };
  }

  // ------------------------------------------------------------------ page wiring
  const pinned = () => localStorage.getItem(STORAGE);
  async function showPinned() {
    const node = document.getElementById("pinned-key-status");
    if (!node) return null;
    const text = pinned();
    if (!text) { node.textContent = say("no_key"); return null; }
    try {
      const key = await parseKey(text);
      node.textContent = say("pinned", { name: key.name || "—", fingerprint: await fingerprint(key.publicKey) });
      node.dataset.fingerprint = await fingerprint(key.publicKey);
      return key;
    } catch (err) {
      node.textContent = `${say("no_key")} (${err.message})`;
      return null;
    }
  }

  function mark(version, result) {
    const cell = document.querySelector(`[data-verify-version="${version}"]`);
    if (!cell) return;
    cell.dataset.state = result ? result.state : "missing";
    cell.textContent = !result ? "✗ " + say("not_included")
      : result.state === "included" ? `✓ ${say("included")} #${result.index}`
      : result.state === "after_checkpoint" ? "◷ " + say("after_checkpoint")
      : `✗ ${say("not_included")}: ${result.why}`;
  }

  async function runCaseVerification(section) {
    const out = document.getElementById("verify-result");
    const key = await showPinned();
    if (!key) { out.className = "verdict bad"; out.dataset.status = "no_key"; out.textContent = say("no_key"); return; }
    out.className = "verdict"; out.dataset.status = "running"; out.textContent = say("running");
    const caseId = section.dataset.caseId;
    let data;
    try {
      const response = await fetch(`/cases/${caseId}/proofs.json`, { credentials: "same-origin", cache: "no-store" });
      data = await response.json();
      if (!response.ok) throw new Error(data.message || data.error || response.status);
    } catch (err) {
      out.className = "verdict bad"; out.dataset.status = "failed";
      out.textContent = `${say("fetch_failed")}: ${err.message}`;
      return;
    }
    let verdict;
    try {
      verdict = await verifyCase(caseId, data, key);
    } catch (err) {
      verdict = { status: "failed", problems: [err], events: {}, size: data.audit?.checkpoint?.tree_size };
    }
    document.querySelectorAll("[data-verify-version]").forEach((cell) =>
      mark(cell.dataset.verifyVersion, verdict.events[cell.dataset.verifyVersion]));
    out.dataset.status = verdict.status;
    out.dataset.size = String(verdict.size ?? "");
    out.className = "verdict " + (verdict.status === "failed" ? "bad" : "ok");
    out.replaceChildren();
    const head = document.createElement("p");
    head.id = "verify-verdict";
    head.textContent = verdict.status === "verified" ? "✓ " + say("verified", { size: verdict.size })
      : verdict.status === "partial" ? "✓ " + say("partial", { size: verdict.size, after: verdict.after })
      : "✗ " + say("failed");
    out.append(head);
    if (verdict.problems.length) {
      const list = document.createElement("ul");
      list.id = "verify-problems";
      for (const problem of verdict.problems) {
        const item = document.createElement("li");
        item.textContent = describe(problem);
        if (problem instanceof Problem) item.dataset.problem = problem.code;
        list.append(item);
      }
      out.append(list);
    }
  }

  async function init() {
    const section = document.getElementById("verify");
    if (section) {
      document.getElementById("verify-button").addEventListener("click", () => runCaseVerification(section));
      if (pinned()) runCaseVerification(section); else showPinned();
    }
    const form = document.getElementById("pin-form");
    if (form) {
      const field = document.getElementById("pinned-key");
      const message = document.getElementById("pin-message");
      field.value = pinned() || "";
      showPinned();
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        try {
          await parseKey(field.value);
          localStorage.setItem(STORAGE, field.value.trim());
          message.textContent = say("saved");
        } catch (err) {
          message.textContent = `${say("bad_key")}: ${err.message}`;
        }
        showPinned();
      });
      document.getElementById("unpin-button").addEventListener("click", () => {
        localStorage.removeItem(STORAGE);
        field.value = "";
        message.textContent = say("forgotten");
        showPinned();
      });
    }
  }
  window.casetrailVerify = { parseKey, verifyCase, verifyInclusion, leafHash };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
