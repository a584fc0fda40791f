/* Shared by the agent panel and the wallboard.
 *
 * Rules of this code base:
 *  - every piece of data goes into the page as text (textContent / createTextNode via el()),
 *    never through innerHTML: caller IDs, names and transcripts are attacker-controlled;
 *  - the token lives in sessionStorage (per tab, gone when the tab closes) and travels as an
 *    Authorization header or the WebSocket's first message, never in a URL.
 */
"use strict";

const KCC = (() => {
  const STORE = "kcc.session";

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "className") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key.startsWith("on") && typeof value === "function") {
        node.addEventListener(key.slice(2), value);
      } else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function setText(id, value) {
    const node = document.getElementById(id);
    if (node) node.textContent = value === undefined || value === null ? "" : String(value);
    return node;
  }

  /* A link only for http(s) URLs: a "javascript:" deep link from a source must not run. */
  function safeLink(url, label) {
    try {
      const parsed = new URL(String(url), window.location.href);
      if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return null;
      return el("a", { href: parsed.href, target: "_blank", rel: "noopener noreferrer" },
        label);
    } catch (_e) {
      return null;
    }
  }

  function session() {
    try {
      const raw = sessionStorage.getItem(STORE);
      return raw ? JSON.parse(raw) : null;
    } catch (_e) {
      return null;
    }
  }

  function saveSession(value) {
    if (value) sessionStorage.setItem(STORE, JSON.stringify(value));
    else sessionStorage.removeItem(STORE);
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message || code || `HTTP ${status}`);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const s = session();
    if (s && s.token) headers.Authorization = `Bearer ${s.token}`;
    const init = { method, headers, cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let data = null;
    try {
      data = await response.json();
    } catch (_e) {
      data = null;
    }
    if (!response.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(response.status, err.code, err.message);
    }
    return data;
  }

  async function login(user, password) {
    saveSession(null);
    const result = await api("POST", "/api/auth/login", { login: user, password });
    saveSession({ token: result.token, login: result.login, role: result.role });
    return result;
  }

  async function logout() {
    try {
      await api("POST", "/api/auth/logout");
    } catch (_e) {
      /* the token may have expired already */
    }
    saveSession(null);
  }

  /* The live connection: auth as the first message, reconnect with back-off. */
  function connectHub(handlers) {
    let ws = null;
    let stopped = false;
    let delay = 1000;
    function open() {
      if (stopped) return;
      const url = `${window.location.protocol === "https:" ? "wss" : "ws"}://${window.location.host}/ws`;
      ws = new WebSocket(url);
      ws.addEventListener("open", () => {
        const s = session();
        ws.send(JSON.stringify({ type: "auth", token: s ? s.token : "" }));
      });
      ws.addEventListener("message", (event) => {
        let msg;
        try {
          msg = JSON.parse(event.data);
        } catch (_e) {
          return;
        }
        if (msg.type === "hello") delay = 1000;
        if (handlers.message) handlers.message(msg);
      });
      ws.addEventListener("close", (event) => {
        if (handlers.status) handlers.status("closed", event.code);
        if (event.code === 4401) {
          stopped = true;
          if (handlers.unauthorised) handlers.unauthorised();
          return;
        }
        if (!stopped) {
          setTimeout(open, delay);
          delay = Math.min(delay * 2, 15000);
        }
      });
      ws.addEventListener("open", () => handlers.status && handlers.status("open"));
    }
    open();
    return {
      send(msg) {
        if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
      },
      close() {
        stopped = true;
        if (ws) ws.close();
      },
    };
  }

  function seconds(value) {
    if (value === null || value === undefined || Number.isNaN(Number(value))) return "–";
    const total = Math.max(0, Math.round(Number(value)));
    const m = Math.floor(total / 60);
    const s = total % 60;
    return m ? `${m}:${String(s).padStart(2, "0")} min` : `${s} s`;
  }

  function dateTime(value) {
    if (!value) return "";
    const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    if (Number.isNaN(d.getTime())) return String(value);
    return d.toLocaleString("nl-NL", { dateStyle: "short", timeStyle: "short" });
  }

  function date(value) {
    if (!value) return "";
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return String(value);
    return d.toLocaleDateString("nl-NL");
  }

  const STATES = {
    logged_out: "Afgemeld",
    available: "Beschikbaar",
    ringing: "Gaat over",
    on_call: "In gesprek",
    paused: "Pauze",
    wrap_up: "Nawerk",
    unavailable: "Niet bereikbaar",
  };

  function stateLabel(state) {
    return STATES[state] || String(state || "onbekend");
  }

  return {
    el, setText, safeLink, session, saveSession, api, ApiError, login, logout, connectHub,
    seconds, dateTime, date, stateLabel,
  };
})();
