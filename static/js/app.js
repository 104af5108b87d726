// The chat's small behaviours htmx does not cover (layout.js: menus, drawer, tables; keys.js:
// keyboard shortcuts).
"use strict";

(function () {
  function composerInput() {
    return document.getElementById("composer-input");
  }

  function isStreaming() {
    return Boolean(document.getElementById("stop-button"));
  }

  // A whole message as the reader sees it, without the code blocks' own bars ("python Copy").
  function messageText(message) {
    const body = message.querySelector(".message-body");
    if (!body) return "";
    const copy = body.cloneNode(true);
    copy.querySelectorAll(".codeblock-bar").forEach(function (bar) { bar.remove(); });
    copy.querySelectorAll("[id]").forEach(function (node) { node.removeAttribute("id"); });
    copy.removeAttribute("id");
    // Off screen but rendered (innerText needs layout for its line breaks), with the same
    // white-space as the original (a user's own line breaks).
    copy.style.position = "fixed";
    copy.style.left = "-10000px";
    copy.style.width = body.clientWidth + "px";
    copy.style.whiteSpace = getComputedStyle(body).whiteSpace;
    document.body.appendChild(copy);
    const text = copy.innerText.trim();
    copy.remove();
    return text;
  }

  function showComposerError(text) {
    const box = document.getElementById("composer-errors");
    if (box) box.textContent = text;
  }

  // Refuse an empty or over-long message before it leaves the page; the server checks again.
  function composerProblem(form) {
    const input = form.querySelector("#composer-input");
    if (!input) return "";
    if (!input.value.trim()) return "Type a message first.";
    const limit = Number(form.dataset.maxChars || 0);
    if (limit && input.value.length > limit) {
      return "Your message is " + input.value.length.toLocaleString("en-US") +
        " characters long; the limit is " + limit.toLocaleString("en-US") +
        ". Shorten it and send again.";
    }
    return "";
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.id !== "composer") return;
    const problem = isStreaming() ? "" : composerProblem(form);
    if (isStreaming() || problem) {
      event.preventDefault();
      event.stopImmediatePropagation();
      if (problem) showComposerError(problem);
    }
  }, true);

  // Enter sends, Shift+Enter adds a new line.
  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (!(target instanceof HTMLTextAreaElement) || event.key !== "Enter") return;
    if (event.shiftKey || event.isComposing) return;
    const form = target.closest("form");
    if (!form || (form.id !== "composer" && !form.classList.contains("edit-form"))) return;
    event.preventDefault();
    if (form.id === "composer" && isStreaming()) return;
    form.requestSubmit();
  });

  // The thinking toggle only applies to models that can think.
  function syncThinkToggle() {
    const picker = document.getElementById("model-picker");
    const field = document.getElementById("think-field");
    if (!picker || !field) return;
    const option = picker.selectedOptions[0];
    field.hidden = !(option && option.dataset.thinking === "1");
  }
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "model-picker") syncThinkToggle();
  });
  document.addEventListener("DOMContentLoaded", syncThinkToggle);
  document.addEventListener("htmx:afterSettle", syncThinkToggle);

  // Keep the newest text in view while a reply streams, unless the reader scrolled up: then a
  // "Jump to latest" button offers the way back instead of pulling them down. Only a move up
  // stops following: the box shrinking under an on-screen keyboard, or text landing after our
  // own scroll, leaves it on. The position is read again just before each frame lands, because
  // the reader's scroll event arrives a frame late and the frame would pull them back down.
  let followStream = true;
  let settledTop = 0;
  function showJumpButton(show) {
    const button = document.getElementById("jump-latest");
    if (button) button.hidden = !show;
  }
  function isNearEnd(box) {
    return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }
  function readReader(box) {
    if (isNearEnd(box)) followStream = true;
    else if (box.scrollTop < settledTop - 1) followStream = false;
    settledTop = box.scrollTop;
  }
  document.addEventListener("scroll", function (event) {
    const box = event.target;
    if (box && box.id === "messages") {
      readReader(box);
      if (followStream) showJumpButton(false);
    }
  }, true);
  function scrollToEnd() {
    const box = document.getElementById("messages");
    if (!box || !followStream) return;
    box.scrollTop = box.scrollHeight;
    settledTop = box.scrollTop;
  }
  document.addEventListener("htmx:wsBeforeMessage", function () {
    const box = document.getElementById("messages");
    if (box) readReader(box);
  });
  document.addEventListener("htmx:wsAfterMessage", function () {
    scrollToEnd();
    if (!followStream && isStreaming()) showJumpButton(true);
  });
  document.addEventListener("click", function (event) {
    if (!(event.target instanceof Element) || !event.target.closest("#jump-latest")) return;
    followStream = true;
    scrollToEnd();
    showJumpButton(false);
    composerInput()?.focus();
  });

  // Screen readers hear a reply once it is written, not every token: #messages is not a live
  // region; #reply-status (role=status, polite) says when a reply starts and what it said.
  let announced = { id: "", state: "" };
  function announceReply(quiet) {
    const meta = document.querySelector("#messages > .message.assistant:last-child .message-meta");
    const status = document.getElementById("reply-status");
    if (!meta || !status) return;
    const state = (meta.className.match(/state-(\w+)/) || ["", ""])[1];
    const id = meta.id;
    if (announced.id === id && announced.state === state) return;
    const started = announced.id !== id;
    announced = { id: id, state: state };
    if (quiet) return;
    const message = meta.closest(".message");
    if (state === "streaming") {
      if (started) status.textContent = "Writing a reply…";
    } else if (state === "complete") {
      status.textContent = "Reply: " + messageText(message);
    } else if (state === "stopped") {
      status.textContent = "Reply stopped.";
    } else if (state === "failed" || state === "interrupted") {
      status.textContent = "The reply failed.";
    }
  }
  document.addEventListener("DOMContentLoaded", function () { announceReply(true); });
  document.addEventListener("htmx:wsAfterMessage", function () { announceReply(false); });
  // A link to one message (a search result) shows that message, not the end of the thread.
  function scrollToLinkedMessage() {
    const id = location.hash.startsWith("#message-") ? location.hash.slice(1) : "";
    const target = id && document.getElementById(id);
    if (!target) return false;
    target.scrollIntoView({ block: "center" });
    followStream = false;
    return true;
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (!scrollToLinkedMessage()) scrollToEnd();
  });
  document.addEventListener("htmx:afterSettle", scrollToEnd);

  // The browser tab shows the conversation's title, and follows it when a generated title or a
  // rename arrives (the header's title carries the tab title: there is one per chat page).
  function syncPageTitle() {
    const source = document.querySelector("[data-page-title]");
    if (source && document.title !== source.dataset.pageTitle) {
      document.title = source.dataset.pageTitle;
    }
  }
  document.addEventListener("htmx:wsAfterMessage", syncPageTitle);
  document.addEventListener("htmx:afterSettle", syncPageTitle);

  // After the server accepts a message it sends a fresh, empty composer: keep typing there.
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    const input = composerInput();
    if (input && event.detail && event.detail.target && event.detail.target.id === "composer-input") {
      input.focus();
    }
  });

  // A frame that replaces the element holding the keyboard focus (the catch-up a socket gets on
  // connect re-sends the latest reply) would drop focus to <body> mid-Tab: put it back on the
  // same control of the new element. The composer keeps its own rule (above).
  const FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex='-1'])";
  let heldFocus = null;
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    const target = event.detail && event.detail.target;
    const active = document.activeElement;
    heldFocus = null;
    if (!target || !target.id || !active || active === document.body || !target.contains(active)) return;
    if (target.querySelector("#composer-input")) return;
    heldFocus = { id: target.id, index: Array.from(target.querySelectorAll(FOCUSABLE)).indexOf(active) };
  });
  document.addEventListener("htmx:oobAfterSwap", function () {
    if (!heldFocus || (document.activeElement && document.activeElement !== document.body)) return;
    const replaced = document.getElementById(heldFocus.id);
    if (!replaced) return;
    const again = heldFocus.index < 0 ? replaced : replaced.querySelectorAll(FOCUSABLE)[heldFocus.index];
    heldFocus = null;
    if (again) again.focus({ preventScroll: true });
  });

  // Copy buttons: one per code block rendered by the server, one per message.
  document.addEventListener("click", function (event) {
    const button = event.target instanceof Element ? event.target.closest(".copy-code, .copy-message") : null;
    if (!button || !navigator.clipboard) return;
    let text = "";
    if (button.classList.contains("copy-code")) {
      text = button.closest(".codeblock")?.querySelector("pre")?.innerText || "";
    } else {
      const message = button.closest(".message");
      text = message ? messageText(message) : "";
    }
    if (!text) return;
    navigator.clipboard.writeText(text).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    });
  });
})();
