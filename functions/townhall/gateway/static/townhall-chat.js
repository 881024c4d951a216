/*
 * Townhall chat widget: one script, one stylesheet, no framework, no third-party requests.
 * Embed: <script src="https://GATEWAY/widget/townhall-chat.js" data-council="cardiff" defer></script>
 * The gateway's base URL is this script's own URL less "widget/townhall-chat.js"; the stylesheet
 * is loaded from beside it. Works under a strict Content Security Policy: no inline script or
 * style, no eval; the brand colour is set through the CSSOM (style.setProperty).
 * API: docs/chat-api.yaml. Embed guide and accessibility statement: docs/webchat.md.
 */
(function () {
  "use strict";

  var script =
    document.currentScript || document.querySelector('script[src*="townhall-chat.js"][data-council]');
  if (!script || window.TownhallChat) return;

  var SRC = script.src;
  var BASE = new URL("../", SRC).href; // .../widget/townhall-chat.js -> ... (the gateway's base)
  var COUNCIL = (script.getAttribute("data-council") || "").trim();
  var SLOW_MS = 5000; // "still waiting" after this long
  var TIMEOUT_MS = 20000; // give up (and offer to try again) after this long
  var LIVE_KEEP_MS = 1500; // a live-region copy is removed after this (queued speech survives)
  var GOVUK_BLUE = "#1d70b8";
  var NARROW = "(max-width: 40.0525em), (max-height: 30em)"; // full-screen panel (see the CSS)

  var T = {
    en: {
      launcher: "Chat with us",
      subtitle: "Online assistant",
      close: "Close",
      closeHidden: " chat",
      switchTo: "Cymraeg",
      switchLang: "cy",
      switchHidden: "Newid i'r Gymraeg",
      human: "Talk to a person",
      restart: "Start again",
      privacy: "Privacy notice",
      newTab: " (opens in new tab)",
      conversation: "Conversation",
      label: "Your message",
      send: "Send",
      countHint: "You can enter up to {max} characters",
      remaining: "You have {n} {chars} remaining",
      tooMany: "You have {n} {chars} too many",
      char1: "character",
      charN: "characters",
      errorPrefix: "Error: ",
      tooLong: "Your message must be {max} characters or fewer",
      empty: "Enter a message",
      youSaid: "You said: ",
      botSaid: "Assistant said: ",
      youChose: "You chose: ",
      chosen: " (chosen)",
      options: "Options: ",
      link: "Link: ",
      notSent: "Not sent",
      connecting: "Connecting to the assistant",
      wait: "Wait for the answer to your last message before sending another.",
      slow: "Still waiting for an answer. It is taking longer than usual.",
      offline:
        "Your message was not sent because the chat service could not be reached. Check your internet connection and try again.",
      failing: "Sorry, the chat service is not working at the moment. Try again, or contact the council another way.",
      timeout: "The assistant did not answer in time. Try again, or contact the council another way.",
      limited: "You have sent a lot of messages. Wait a minute, then try again.",
      unknown: "Sorry, chat is not available for this council.",
      retry: "Try again",
    },
    cy: {
      launcher: "Sgwrsio â ni",
      subtitle: "Cynorthwyydd ar-lein",
      close: "Cau",
      closeHidden: "'r sgwrs",
      switchTo: "English",
      switchLang: "en",
      switchHidden: "Switch to English",
      human: "Siarad â pherson",
      restart: "Dechrau eto",
      privacy: "Hysbysiad preifatrwydd",
      newTab: " (yn agor mewn tab newydd)",
      conversation: "Sgwrs",
      label: "Eich neges",
      send: "Anfon",
      countHint: "Gallwch nodi hyd at {max} nod",
      remaining: "Mae gennych {n} {chars} ar ôl",
      tooMany: "Mae gennych {n} {chars} yn ormod",
      char1: "nod",
      charN: "nod",
      errorPrefix: "Gwall: ",
      tooLong: "Rhaid i'ch neges fod yn {max} nod neu lai",
      empty: "Rhowch neges",
      youSaid: "Dywedoch chi: ",
      botSaid: "Dywedodd y cynorthwyydd: ",
      youChose: "Dewisoch chi: ",
      chosen: " (wedi'i ddewis)",
      options: "Dewisiadau: ",
      link: "Dolen: ",
      notSent: "Heb ei anfon",
      connecting: "Yn cysylltu â'r cynorthwyydd",
      wait: "Arhoswch am yr ateb i'ch neges olaf cyn anfon un arall.",
      slow: "Yn dal i aros am ateb. Mae'n cymryd mwy o amser nag arfer.",
      offline:
        "Ni anfonwyd eich neges am nad oedd modd cysylltu â'r gwasanaeth sgwrsio. Gwiriwch eich cysylltiad â'r rhyngrwyd a rhowch gynnig arall arni.",
      failing:
        "Mae'n ddrwg gennym, nid yw'r gwasanaeth sgwrsio'n gweithio ar hyn o bryd. Rhowch gynnig arall arni, neu cysylltwch â'r cyngor mewn ffordd arall.",
      timeout: "Ni atebodd y cynorthwyydd mewn pryd. Rhowch gynnig arall arni, neu cysylltwch â'r cyngor mewn ffordd arall.",
      limited: "Rydych wedi anfon llawer o negeseuon. Arhoswch funud, yna rhowch gynnig arall arni.",
      unknown: "Mae'n ddrwg gennym, nid oes sgwrs ar gael i'r cyngor hwn.",
      retry: "Rhoi cynnig arall arni",
    },
  };

  var state = {
    lang: "en",
    languages: ["en"],
    config: null,
    maxLength: 256,
    token: null,
    busy: false,
    open: false,
    started: false,
    retry: null,
    slowTimer: 0,
  };

  // -- small DOM helpers ----------------------------------------------------------------------
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function attrs(e, map) {
    for (var k in map) if (map[k] != null) e.setAttribute(k, map[k]);
    return e;
  }
  function hiddenText(text, lang) {
    var s = el("span", "thc-vh", text);
    if (lang) s.lang = lang;
    return s;
  }
  function t(key, vars) {
    var s = (T[state.lang] || T.en)[key];
    if (vars) s = s.replace(/\{(\w+)\}/g, function (_, k) { return vars[k]; });
    return s;
  }
  function pick(value) {
    // a {"en": ..., "cy": ...} value in the UI language (or the first one given)
    if (!value || typeof value === "string") return value || "";
    return value[state.lang] || value.en || value[Object.keys(value)[0]] || "";
  }
  function msgLang(m) {
    return m && (m.lang === "cy" || m.lang === "en") ? m.lang : state.lang;
  }

  // -- colour: the council's brand, never below 4.5:1 against white text -----------------------
  function rgb(hex) {
    var m = /^#?([0-9a-f]{6}|[0-9a-f]{3})$/i.exec(String(hex || "").trim());
    if (!m) return null;
    var h = m[1].length === 3 ? m[1].replace(/./g, "$&$&") : m[1];
    return [0, 2, 4].map(function (i) { return parseInt(h.substr(i, 2), 16); });
  }
  function luminance(c) {
    var v = c.map(function (x) {
      x /= 255;
      return x <= 0.04045 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  }
  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }
  function hex(c) {
    return "#" + c.map(function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }
  function brandColour(wanted) {
    var c = rgb(wanted);
    if (!c) return { colour: GOVUK_BLUE, adjusted: wanted ? "invalid" : "default" };
    var white = [255, 255, 255];
    if (contrast(c, white) >= 4.5) return { colour: hex(c), adjusted: "no" };
    for (var i = 0; i < 30; i++) {
      c = c.map(function (x) { return Math.floor(x * 0.9); });
      if (contrast(c, white) >= 4.5) return { colour: hex(c), adjusted: "darker" };
    }
    return { colour: GOVUK_BLUE, adjusted: "fallback" };
  }

  // -- the widget's DOM --------------------------------------------------------------------------
  var ui = {};
  function build() {
    var root = attrs(el("div", "thc"), { id: "townhall-chat", "data-state": "loading" });
    ui.root = root;

    ui.launcher = attrs(el("button", "thc-launcher"), {
      type: "button",
      "aria-expanded": "false",
      "aria-controls": "thc-panel",
    });
    ui.launcherText = el("span");
    ui.launcher.appendChild(ui.launcherText);

    var panel = attrs(el("div", "thc-panel"), {
      id: "thc-panel",
      role: "dialog",
      "aria-modal": "false",
      "aria-labelledby": "thc-title",
    });
    panel.hidden = true;
    ui.panel = panel;

    var header = el("div", "thc-header");
    var titles = el("div", "thc-titles");
    ui.title = attrs(el("h2", "thc-title"), { id: "thc-title" });
    ui.titleName = el("span", "thc-title-name");
    ui.subtitle = el("span", "thc-subtitle");
    ui.title.appendChild(ui.titleName);
    ui.title.appendChild(ui.subtitle);
    titles.appendChild(ui.title);
    header.appendChild(titles);
    var headerButtons = el("div", "thc-header-buttons");
    ui.langButton = attrs(el("button", "thc-header-button thc-lang"), { type: "button" });
    ui.langButton.hidden = true;
    ui.close = attrs(el("button", "thc-header-button thc-close"), { type: "button" });
    headerButtons.appendChild(ui.langButton);
    headerButtons.appendChild(ui.close);
    header.appendChild(headerButtons);
    panel.appendChild(header);

    var bar = el("div", "thc-bar");
    ui.human = attrs(el("button", "thc-button thc-button--secondary thc-human"), { type: "button" });
    ui.restart = attrs(el("button", "thc-button thc-button--secondary thc-restart"), { type: "button" });
    bar.appendChild(ui.human);
    bar.appendChild(ui.restart);
    panel.appendChild(bar);

    ui.log = attrs(el("section", "thc-log"), { "aria-labelledby": "thc-log-label", tabindex: "0" });
    ui.logLabel = attrs(el("h3", "thc-vh"), { id: "thc-log-label" });
    ui.list = el("ol", "thc-messages");
    ui.log.appendChild(ui.logLabel);
    ui.log.appendChild(ui.list);
    panel.appendChild(ui.log);

    ui.status = attrs(el("p", "thc-status"), { role: "status" });
    panel.appendChild(ui.status);
    ui.alert = attrs(el("div", "thc-alert"), { role: "alert" });
    panel.appendChild(ui.alert);

    var form = attrs(el("form", "thc-form"), { novalidate: "" });
    ui.form = form;
    ui.label = attrs(el("label", "thc-label"), { for: "thc-input" });
    ui.error = attrs(el("p", "thc-error"), { id: "thc-error" });
    ui.error.hidden = true;
    var row = el("div", "thc-input-row");
    ui.input = attrs(el("textarea", "thc-input"), {
      id: "thc-input",
      name: "message",
      rows: "2",
      autocomplete: "off",
      spellcheck: "true",
      "aria-describedby": "thc-count",
    });
    ui.send = attrs(el("button", "thc-button thc-send"), { type: "submit" });
    row.appendChild(ui.input);
    row.appendChild(ui.send);
    ui.count = attrs(el("p", "thc-hint"), { id: "thc-count" });
    form.appendChild(ui.label);
    form.appendChild(ui.error);
    form.appendChild(row);
    form.appendChild(ui.count);
    panel.appendChild(form);

    var foot = el("p", "thc-foot");
    ui.privacy = attrs(el("a", "thc-link"), { target: "_blank", rel: "noopener" });
    ui.privacy.hidden = true;
    foot.appendChild(ui.privacy);
    panel.appendChild(foot);

    // one polite live region, apart from the transcript: one short copy per new bot message
    ui.live = attrs(el("div", "thc-vh"), { "aria-live": "polite", "aria-relevant": "additions", "data-thc-live": "" });

    root.appendChild(panel);
    root.appendChild(ui.launcher);
    root.appendChild(ui.live);
    document.body.appendChild(root);
    document.documentElement.classList.add("thc-host");

    ui.launcher.addEventListener("click", function () {
      if (state.open) close(true);
      else open();
    });
    ui.close.addEventListener("click", function () { close(true); });
    ui.langButton.addEventListener("click", switchLanguage);
    ui.restart.addEventListener("click", restart);
    ui.human.addEventListener("click", function () {
      sendText(t("human"));
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      submit();
    });
    ui.input.addEventListener("input", updateCount);
    ui.input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        submit();
      }
    });
    root.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && state.open) {
        e.preventDefault();
        close(true);
      } else if (e.key === "Tab" && state.open && narrow()) {
        trapTab(e);
      }
    });
    // Escape with focus on the page behind the docked panel closes it without moving focus, so
    // the panel never has to hide what has focus (WCAG 2.4.11)
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && state.open && !root.contains(document.activeElement)) close(false);
    });
    if (window.matchMedia) {
      var mq = window.matchMedia(NARROW);
      var onChange = function () { panel.setAttribute("aria-modal", mq.matches ? "true" : "false"); };
      if (mq.addEventListener) mq.addEventListener("change", onChange);
      onChange();
    }
    labels();
  }

  function narrow() {
    return !!(window.matchMedia && window.matchMedia(NARROW).matches);
  }

  // the panel covers the page when narrow (a modal dialog): Tab and Shift+Tab wrap inside it
  function trapTab(e) {
    var all = ui.panel.querySelectorAll('a[href], button, textarea, [tabindex="0"]');
    var f = [];
    for (var i = 0; i < all.length; i++) {
      var n = all[i];
      if (n.getAttribute("tabindex") === "-1" || n.disabled || !n.getClientRects().length) continue;
      f.push(n);
    }
    if (!f.length) return;
    var first = f[0], last = f[f.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  }

  // every label in the UI language
  function labels() {
    var c = state.config;
    ui.root.lang = state.lang;
    ui.launcherText.textContent = t("launcher");
    ui.titleName.textContent = c ? pick(c.name) : "";
    ui.subtitle.textContent = t("subtitle");
    ui.close.textContent = t("close");
    ui.close.appendChild(hiddenText(t("closeHidden")));
    ui.langButton.textContent = "";
    var sw = el("span", null, t("switchTo"));
    sw.lang = t("switchLang");
    ui.langButton.appendChild(sw);
    ui.langButton.hidden = !(state.languages.indexOf("cy") >= 0 && state.languages.indexOf("en") >= 0);
    ui.human.textContent = t("human");
    ui.restart.textContent = t("restart");
    ui.logLabel.textContent = t("conversation");
    ui.label.textContent = t("label");
    ui.send.textContent = t("send");
    var privacy = c && pick(c.privacy_url);
    ui.privacy.hidden = !privacy;
    if (privacy) {
      ui.privacy.href = privacy;
      ui.privacy.textContent = t("privacy");
      ui.privacy.appendChild(hiddenText(t("newTab")));
    }
    updateCount();
    if (!ui.error.hidden) showFieldError(ui.error.getAttribute("data-key"));
  }

  // -- character count (GOV.UK's pattern): hint and error both tied to the field ----------------
  function length(s) {
    return Array.from(s).length;
  }
  function updateCount() {
    var n = length(ui.input.value), max = state.maxLength, left = max - n;
    var text;
    if (n === 0) text = t("countHint", { max: max });
    else if (left >= 0) text = t("remaining", { n: left, chars: left === 1 ? t("char1") : t("charN") });
    else text = t("tooMany", { n: -left, chars: -left === 1 ? t("char1") : t("charN") });
    ui.count.textContent = text;
    ui.count.classList.toggle("thc-hint--over", left < 0);
    if (left < 0) showFieldError("tooLong");
    else if (!ui.error.hidden && (ui.error.getAttribute("data-key") === "tooLong" || n > 0)) clearFieldError();
  }
  function showFieldError(key) {
    ui.error.setAttribute("data-key", key);
    ui.error.textContent = "";
    ui.error.appendChild(hiddenText(t("errorPrefix")));
    ui.error.appendChild(document.createTextNode(t(key, { max: state.maxLength })));
    ui.error.hidden = false;
    ui.form.classList.add("thc-form--error");
    ui.input.setAttribute("aria-invalid", "true");
    ui.input.setAttribute("aria-describedby", "thc-error thc-count");
  }
  function clearFieldError() {
    ui.error.hidden = true;
    ui.error.removeAttribute("data-key");
    ui.form.classList.remove("thc-form--error");
    ui.input.removeAttribute("aria-invalid");
    ui.input.setAttribute("aria-describedby", "thc-count");
  }

  // -- open, close, language -------------------------------------------------------------------
  function open() {
    state.open = true;
    ui.panel.hidden = false;
    ui.launcher.setAttribute("aria-expanded", "true");
    document.documentElement.classList.add("thc-is-open");
    ui.input.focus();
    if (!state.started) start();
  }
  function close(returnFocus) {
    state.open = false;
    ui.panel.hidden = true;
    ui.launcher.setAttribute("aria-expanded", "false");
    document.documentElement.classList.remove("thc-is-open");
    if (returnFocus) ui.launcher.focus();
  }
  function switchLanguage() {
    if (state.busy) return setStatus(t("wait"));
    var next = state.lang === "cy" ? "en" : "cy";
    state.lang = next;
    labels();
    if (state.token) turn({ event: "WELCOME", language: next }, null);
  }

  // -- the gateway -----------------------------------------------------------------------------
  function ApiError(kind, status, code, message) {
    this.kind = kind; // offline | timeout | failing | limited | token | unknown | refused
    this.status = status;
    this.code = code;
    this.message = message || kind;
  }
  function api(method, path, body, token) {
    var ctrl = window.AbortController ? new AbortController() : null;
    var timer = setTimeout(function () { if (ctrl) ctrl.abort(); }, TIMEOUT_MS);
    var headers = {};
    if (body) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = "Bearer " + token;
    return fetch(BASE + path, {
      method: method,
      headers: headers,
      body: body ? JSON.stringify(body) : undefined,
      signal: ctrl ? ctrl.signal : undefined,
      credentials: "omit",
      cache: "no-store",
      mode: "cors",
    })
      .then(
        function (r) {
          return r.json().then(
            function (data) { return { r: r, data: data }; },
            function () { return { r: r, data: null }; }
          );
        },
        function () {
          throw new ApiError(ctrl && ctrl.signal.aborted ? "timeout" : "offline", 0);
        }
      )
      .then(function (x) {
        clearTimeout(timer);
        if (x.r.ok && x.data) return x.data;
        var code = x.data && x.data.error;
        var kind = "failing";
        if (code === "rate_limited" || x.r.status === 429) kind = "limited";
        else if (code === "token_invalid" || code === "token_expired") kind = "token";
        else if (code === "unknown_council") kind = "unknown";
        else if (x.r.status >= 400 && x.r.status < 500 && code !== "origin_not_allowed") kind = "refused";
        throw new ApiError(kind, x.r.status, code, x.data && x.data.message);
      }, function (e) {
        clearTimeout(timer);
        throw e;
      });
  }

  function loadConfig() {
    return api("GET", "v1/councils/" + encodeURIComponent(COUNCIL)).then(function (c) {
      state.config = c;
      state.languages = Array.isArray(c.languages) && c.languages.length ? c.languages : ["en"];
      if (state.languages.indexOf(state.lang) < 0) state.lang = c.default_language || state.languages[0];
      if (c.max_length) state.maxLength = c.max_length;
      var b = brandColour(c.brand_colour);
      ui.root.style.setProperty("--thc-brand", b.colour);
      ui.root.setAttribute("data-brand", b.adjusted);
      labels();
      ui.root.setAttribute("data-state", "ready");
      return c;
    });
  }

  function start() {
    state.started = true;
    state.busy = true;
    clearAlert();
    setStatus(t("connecting"));
    var go = state.config ? Promise.resolve(state.config) : loadConfig();
    return go
      .then(function () {
        return api("POST", "v1/councils/" + encodeURIComponent(COUNCIL) + "/conversations", { language: state.lang });
      })
      .then(function (d) {
        state.busy = false;
        setStatus("");
        accept(d);
      })
      .catch(function (e) {
        state.busy = false;
        setStatus("");
        state.started = false;
        showAlert(e, function () { start(); });
      });
  }

  function restart() {
    if (state.busy) return setStatus(t("wait"));
    clearAlert();
    var wasToken = state.token;
    ui.list.textContent = "";
    state.started = true;
    state.busy = true;
    var p = wasToken
      ? api("POST", "v1/conversations/restart", { language: state.lang }, wasToken)
      : api("POST", "v1/councils/" + encodeURIComponent(COUNCIL) + "/conversations", { language: state.lang });
    p.then(
      function (d) {
        state.busy = false;
        accept(d);
      },
      function (e) {
        state.busy = false;
        if (e.kind === "token") {
          state.token = null;
          state.started = false;
          return start();
        }
        state.started = false;
        showAlert(e, function () { start(); });
      }
    );
    ui.input.focus();
  }

  function sendText(text) {
    var bubble = renderUser(text);
    turn({ text: text }, bubble);
  }

  function submit() {
    var text = ui.input.value.trim();
    if (!text) return showFieldError("empty");
    if (length(text) > state.maxLength) return showFieldError("tooLong");
    if (state.busy) return setStatus(t("wait"));
    clearFieldError();
    ui.input.value = "";
    updateCount();
    ui.input.focus();
    sendText(text);
  }

  // one turn; on failure the same body is sent again by "Try again". A refused token is renewed
  // once per message: a fresh one refused too (the service's key changing) is an error to show.
  function turn(body, bubble, renewed) {
    if (state.busy) {
      setStatus(t("wait"));
      return;
    }
    if (!state.token) {
      // not started (or lost): start, then send
      state.busy = true;
      return api("POST", "v1/councils/" + encodeURIComponent(COUNCIL) + "/conversations", { language: state.lang })
        .then(function (d) {
          state.busy = false;
          state.started = true;
          state.token = d.token;
          turn(body, bubble, renewed);
        })
        .catch(function (e) {
          state.busy = false;
          failed(e, body, bubble);
        });
    }
    state.busy = true;
    clearAlert();
    if (bubble) bubble.classList.remove("thc-msg--failed");
    clearTimeout(state.slowTimer);
    ui.status.textContent = "";
    state.slowTimer = setTimeout(function () { setStatus(t("slow")); }, SLOW_MS);
    api("POST", "v1/conversations/turn", body, state.token).then(
      function (d) {
        clearTimeout(state.slowTimer);
        state.busy = false;
        setStatus("");
        if (bubble) markSent(bubble);
        accept(d);
      },
      function (e) {
        clearTimeout(state.slowTimer);
        state.busy = false;
        setStatus("");
        if (e.kind === "token" && !renewed) {
          state.token = null; // expired: a new conversation, then the same message once more
          return turn(body, bubble, true);
        }
        failed(e, body, bubble);
      }
    );
  }

  function failed(e, body, bubble) {
    if (bubble) {
      bubble.classList.add("thc-msg--failed");
      if (!bubble.querySelector(".thc-not-sent")) bubble.appendChild(el("span", "thc-not-sent", t("notSent")));
    }
    if (e.kind === "refused" && e.message) {
      showAlert(e, null);
      return;
    }
    showAlert(e, function () { turn(body, bubble); });
  }

  function markSent(bubble) {
    bubble.classList.remove("thc-msg--failed");
    var ns = bubble.querySelector(".thc-not-sent");
    if (ns) ns.parentNode.removeChild(ns);
  }

  function accept(d) {
    if (d.token) state.token = d.token;
    if (d.max_length) state.maxLength = d.max_length;
    if ((d.language === "cy" || d.language === "en") && d.language !== state.lang) {
      state.lang = d.language;
      labels();
    }
    updateCount();
    render(d.messages || []);
  }

  // -- status and errors -------------------------------------------------------------------------
  function setStatus(text) {
    ui.status.textContent = text || "";
    ui.status.classList.toggle("thc-status--shown", !!text);
  }
  function clearAlert() {
    ui.alert.textContent = "";
    ui.root.removeAttribute("data-error");
  }
  function showAlert(e, retry) {
    var key = { offline: "offline", timeout: "timeout", limited: "limited", unknown: "unknown" }[e.kind] || "failing";
    ui.alert.textContent = "";
    var box = el("div", "thc-alert-box");
    var p = el("p", "thc-alert-text", e.kind === "refused" && e.message ? e.message : t(key));
    box.appendChild(p);
    if (retry && e.kind !== "unknown") {
      var b = attrs(el("button", "thc-button thc-retry", t("retry")), { type: "button" });
      b.addEventListener("click", function () {
        ui.input.focus(); // focus goes back to the field with the click, before this button goes
        clearAlert();
        retry();
      });
      box.appendChild(b);
    }
    ui.alert.appendChild(box);
    ui.root.setAttribute("data-error", e.kind);
  }

  // -- messages ----------------------------------------------------------------------------------
  function item(who, lang) {
    var li = el("li", "thc-msg thc-msg--" + who);
    li.lang = lang;
    li.appendChild(hiddenText(who === "bot" ? t("botSaid") : t("youSaid"), state.lang));
    ui.list.appendChild(li);
    return li;
  }

  function renderUser(text) {
    var li = item("user", state.lang);
    li.appendChild(el("p", "thc-text", text));
    scrollTo(li);
    return li;
  }

  function linkButton(label, href, lang) {
    var a = attrs(el("a", "thc-button thc-button--link", label), { href: href });
    if (lang) a.lang = lang;
    if (!/^tel:/.test(href)) {
      a.target = "_blank";
      a.rel = "noopener";
      a.appendChild(hiddenText(t("newTab"), state.lang));
    }
    return a;
  }

  function render(messages) {
    // older suggestions are history now: out of the tab order
    var old = ui.list.querySelectorAll(".thc-quick button:not([aria-disabled])");
    for (var i = 0; i < old.length; i++) {
      old[i].setAttribute("aria-disabled", "true");
      old[i].setAttribute("tabindex", "-1");
    }
    var current = null, said = [], items = [];
    messages.forEach(function (m) {
      if (!m || typeof m !== "object") return;
      var lang = msgLang(m);
      // one bot message per answer and language: its texts, links, options and handoff together
      if (!current || current.lang !== lang) {
        if (current) items.push({ li: current, said: said });
        current = item("bot", lang);
        said = [];
      }
      if (m.type === "text") {
        current.appendChild(el("p", "thc-text", m.text || ""));
        said.push({ text: m.text || "", lang: lang });
      } else if (m.type === "quick_replies" && Array.isArray(m.options)) {
        current.appendChild(quickReplies(m.options, lang));
        said.push({
          text: t("options") + m.options.map(function (o) { return o.label; }).join(", "),
          lang: lang,
        });
      } else if (m.type === "link" && m.url) {
        var p = el("p", "thc-actions");
        p.appendChild(linkButton(m.label || m.url, m.url, lang));
        current.appendChild(p);
        said.push({ text: t("link") + (m.label || m.url), lang: lang });
      } else if (m.type === "handoff" && Array.isArray(m.actions)) {
        current.appendChild(handoff(m.actions, lang));
        said.push({
          text: m.actions.map(function (a) { return a.label; }).join(". "),
          lang: lang,
        });
      }
    });
    if (current) items.push({ li: current, said: said });
    items.forEach(function (x) { announce(x.said, "bot"); });
    if (items.length) scrollTo(items[0].li);
  }

  function quickReplies(options, lang) {
    var ul = el("ul", "thc-quick");
    options.forEach(function (o) {
      var li = el("li");
      var b = attrs(el("button", "thc-button thc-button--secondary", o.label), { type: "button", lang: lang });
      b.addEventListener("click", function () {
        if (b.getAttribute("aria-disabled") === "true") return;
        if (state.busy) return setStatus(t("wait"));
        var all = ul.querySelectorAll("button");
        for (var i = 0; i < all.length; i++) {
          all[i].setAttribute("aria-disabled", "true");
          all[i].setAttribute("tabindex", "-1");
        }
        b.classList.add("thc-chosen");
        b.appendChild(hiddenText(t("chosen"), state.lang));
        ui.input.focus(); // with the click: back to the field, never later
        announce([{ text: t("youChose") + o.label, lang: lang }], "user");
        var bubble = renderUser(o.label);
        bubble.lang = lang;
        turn({ quick_reply: o.value != null ? o.value : o.label }, bubble);
      });
      li.appendChild(b);
      ul.appendChild(li);
    });
    return ul;
  }

  function handoff(actions, lang) {
    var ul = el("ul", "thc-handoff");
    actions.forEach(function (a) {
      var li = el("li"), node = null;
      if (a.kind === "phone" && a.tel) node = linkButton(a.label, "tel:" + a.tel, lang);
      else if (a.url) node = linkButton(a.label, a.url, lang);
      else if (a.event) {
        node = attrs(el("button", "thc-button thc-button--secondary", a.label), { type: "button", lang: lang });
        node.addEventListener("click", function () {
          if (state.busy) return setStatus(t("wait"));
          ui.input.focus();
          var bubble = renderUser(a.label);
          bubble.lang = lang;
          turn({ event: a.event }, bubble);
        });
      }
      if (node) {
        li.appendChild(node);
        ul.appendChild(li);
      }
    });
    return ul;
  }

  // one short copy per message into the live region, in one DOM operation; removed after a while
  function announce(parts, who) {
    if (!parts.length) return;
    var p = el("p");
    p.setAttribute("data-kind", who);
    p.lang = parts[0].lang;
    if (who === "bot") p.appendChild(hiddenText(t("botSaid"), state.lang));
    parts.forEach(function (x, i) {
      var s = el("span", null, (i ? " " : "") + x.text);
      s.lang = x.lang;
      p.appendChild(s);
    });
    ui.live.appendChild(p);
    setTimeout(function () {
      if (p.parentNode) p.parentNode.removeChild(p);
    }, LIVE_KEEP_MS);
  }

  // bring a new message into view inside the widget only (never scroll the host page)
  function scrollTo(li) {
    [ui.log, ui.panel].forEach(function (box) {
      if (box.scrollHeight <= box.clientHeight) return;
      var top = li.getBoundingClientRect().top - box.getBoundingClientRect().top;
      box.scrollTop += top - 8;
    });
  }

  // -- start -------------------------------------------------------------------------------------
  function init() {
    var pageLang = (document.documentElement.lang || "").slice(0, 2).toLowerCase();
    var asked = (script.getAttribute("data-language") || pageLang || "en").slice(0, 2);
    state.lang = asked === "cy" ? "cy" : "en";
    state.languages = [state.lang];
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = new URL("townhall-chat.css", SRC).href;
    document.head.appendChild(css);
    build();
    if (!COUNCIL) {
      ui.root.setAttribute("data-state", "misconfigured");
      if (window.console) console.error("townhall-chat.js: add data-council=\"<council id>\" to the script tag");
      return;
    }
    loadConfig().catch(function () {
      // the launcher still opens; start() tries again and says what is wrong
      ui.root.setAttribute("data-state", "ready");
    });
  }

  window.TownhallChat = { version: "1", contrast: function (a, b) { return contrast(rgb(a), rgb(b)); } };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
