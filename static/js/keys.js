// Keyboard shortcuts (listed in the "?" sheet, templates/partials/shortcuts.html): new chat,
// focus the message box, stop the reply, focus search, show the sheet.
"use strict";

(function () {
  function isTyping(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function showShortcuts() {
    const sheet = document.getElementById("shortcuts");
    if (sheet && !sheet.open) sheet.showModal();
  }

  function focusSearch() {
    const field = document.getElementById("search-q") || document.querySelector(".nav-search input");
    if (!field) return;
    // On a phone the top search is inside the folded menu: open it first.
    const menu = document.querySelector(".nav-toggle");
    if (menu && !field.checkVisibility() && menu.getAttribute("aria-expanded") !== "true") menu.click();
    field.focus();
    field.select();
  }

  document.addEventListener("click", function (event) {
    if (event.target instanceof Element && event.target.closest(".shortcuts-open")) showShortcuts();
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) return;
    if (document.querySelector("dialog[open]")) return;  // the dialog handles its own Esc
    const typing = isTyping(event.target);
    const command = event.ctrlKey || event.metaKey;
    if (command && event.shiftKey && !event.altKey && event.code === "KeyO") {
      event.preventDefault();
      const home = document.querySelector(".brand");
      if (home) location.assign(home.href);
    } else if (event.key === "Escape" && event.shiftKey) {
      const input = document.getElementById("composer-input");
      if (input) {
        event.preventDefault();
        input.focus();
      }
    } else if (event.key === "Escape") {
      const stop = document.getElementById("stop-button");
      if (stop) {
        event.preventDefault();
        stop.click();
      }
    } else if (!typing && !command && !event.altKey && event.key === "/") {
      event.preventDefault();
      focusSearch();
    } else if (!typing && !command && !event.altKey && event.key === "?") {
      event.preventDefault();
      showShortcuts();
    }
  });
})();
