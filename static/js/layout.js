// Layout on small screens and long pages: the top menu and the chat drawer open and close,
// table cells carry their column's name (stacked rows on a phone), and a model's details open
// next to the row that asked for them.
"use strict";

(function () {
  function setOpen(toggle, open) {
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    const panel = document.getElementById(toggle.getAttribute("aria-controls"));
    if (panel) panel.classList.toggle("open", open);
  }

  function openToggles() {
    return document.querySelectorAll(".nav-toggle[aria-expanded=true], .drawer-toggle[aria-expanded=true]");
  }

  document.addEventListener("click", function (event) {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const toggle = target.closest(".nav-toggle, .drawer-toggle");
    if (toggle) {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      setOpen(toggle, open);
      if (open && toggle.classList.contains("drawer-toggle")) {
        document.querySelector("#sidebar a")?.focus();
      }
      return;
    }
    // A click outside an open menu or drawer closes it.
    openToggles().forEach(function (open) {
      const panel = document.getElementById(open.getAttribute("aria-controls"));
      if (panel && !panel.contains(target)) setOpen(open, false);
    });
  });

  // Esc closes an open menu or drawer first (keys.js leaves a handled Esc alone).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.shiftKey) return;
    const toggles = openToggles();
    if (!toggles.length) return;
    event.preventDefault();
    toggles.forEach(function (toggle) {
      const panel = document.getElementById(toggle.getAttribute("aria-controls"));
      const hadFocus = panel && panel.contains(document.activeElement);
      setOpen(toggle, false);
      if (hadFocus) toggle.focus();
    });
  });

  // Each cell knows its column's name, shown beside it when a phone stacks the table's rows.
  function labelCells() {
    document.querySelectorAll("table.list").forEach(function (table) {
      const names = Array.from(table.querySelectorAll("thead th")).map(function (th) {
        return th.textContent.trim();
      });
      if (!names.length) return;
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.from(row.children).forEach(function (cell, index) {
          if (names[index] && !cell.hasAttribute("colspan")) cell.dataset.label = names[index];
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", labelCells);
  document.addEventListener("htmx:load", labelCells);  // rows htmx adds or replaces

  // The models page: "Details" opens under the row clicked, not at the top of a long page: the
  // panel moves into a row of its own below it before the request; its answer replaces it there.
  let detailsAsked = false;
  document.addEventListener("htmx:beforeRequest", function (event) {
    const link = event.detail && event.detail.elt;
    const row = link instanceof Element ? link.closest("tr") : null;
    const panel = document.getElementById("model-details");
    if (!row || !panel || link.getAttribute("hx-target") !== "#model-details") return;
    const oldRow = panel.closest("tr.details-row");
    const detailsRow = document.createElement("tr");
    detailsRow.className = "details-row";
    const cell = document.createElement("td");
    cell.colSpan = row.children.length;
    detailsRow.appendChild(cell);
    row.after(detailsRow);
    cell.appendChild(panel);
    if (oldRow) oldRow.remove();
    detailsAsked = true;
  });
  document.addEventListener("htmx:afterSettle", function () {
    const panel = document.getElementById("model-details");
    if (!detailsAsked || !panel || panel.hidden) return;
    detailsAsked = false;
    const heading = panel.querySelector("h2");
    if (heading) {
      heading.tabIndex = -1;  // keyboard users land on what they opened
      heading.focus({ preventScroll: true });
    }
    panel.scrollIntoView({ block: "nearest" });
  });
})();
