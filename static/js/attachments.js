// Attachments in the composer: the Attach button, drag and drop, and paste upload each file at
// once; the server answers with a removable chip carrying the file's id, which the send carries.
"use strict";

(function () {
  function composer() {
    return document.getElementById("composer");
  }

  function showError(text) {
    const box = document.getElementById("composer-errors");
    if (!box) return;
    const line = document.createElement("p");
    line.textContent = text;
    box.replaceChildren(line);
  }

  function clearError() {
    const box = document.getElementById("composer-errors");
    if (box) box.replaceChildren();
  }

  // The same wording as the server's (Django's filesizeformat): 1 KB = 1024 bytes.
  function sizeText(bytes) {
    const units = ["bytes", "KB", "MB", "GB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return unit === 0 ? bytes + " bytes" : value.toFixed(1) + " " + units[unit];
  }

  function csrfToken() {
    const holder = document.body.getAttribute("hx-headers");
    try {
      return JSON.parse(holder || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function imageCount() {
    return document.querySelectorAll("#attachment-tray .attachment-chip.image").length;
  }

  function isImageFile(file) {
    return /^image\//.test(file.type || "");
  }

  function refusal(form, file) {
    const limit = Number(form.dataset.uploadMax || 0);
    if (limit && file.size > limit) {
      return "That file is " + sizeText(file.size) + "; the largest file you can attach is " +
        sizeText(limit) + ".";
    }
    const maxImages = Number(form.dataset.maxImages || 0);
    if (maxImages && isImageFile(file) && imageCount() >= maxImages) {
      return "A message can carry at most " + maxImages + " images. Remove one first.";
    }
    return "";
  }

  async function upload(file) {
    const form = composer();
    const tray = document.getElementById("attachment-tray");
    if (!form || !tray) return;
    const problem = refusal(form, file);
    if (problem) {
      showError(problem);
      return;
    }
    const body = new FormData();
    body.append("file", file, file.name || "pasted-image.png");
    const pending = document.createElement("div");
    pending.className = "attachment-uploading";
    pending.textContent = "Uploading " + (file.name || "image") + "…";
    tray.appendChild(pending);
    let chip = null;
    try {
      chip = await post(form, body, file.size);
    } finally {
      // The chip takes its placeholder's place, so chips keep the order the files were given
      // in; and only now, so a send held for uploads cannot go between an answer and its chip.
      if (chip) {
        pending.replaceWith(chip);
        if (window.htmx) window.htmx.process(chip);
        if (!sendWhenUploaded) clearError();
        updateWarning();
      } else {
        pending.remove();
      }
    }
  }

  async function post(form, body, size) {
    let response;
    try {
      response = await fetch(form.dataset.uploadUrl, {
        method: "POST",
        body: body,
        headers: { "X-CSRFToken": csrfToken() },
        credentials: "same-origin",
      });
    } catch (error) {
      showError("The file could not be sent to the server. Check the connection and try again.");
      return null;
    }
    if (response.status === 413) {
      // The server's own cap (chatsite.serve), answered before the file was read.
      const cap = /up to (\d+) bytes/.exec(await response.text());
      showError("That file is " + sizeText(size) + "; the server accepts uploads of up to " +
        (cap ? sizeText(Number(cap[1])) : sizeText(Number(form.dataset.uploadMax || 0))) + ".");
      return null;
    }
    if (response.redirected) {  // to the sign-in page: the session has ended
      showError("You are signed out. Sign in again, then attach the file.");
      return null;
    }
    const html = await response.text();
    const parsed = new DOMParser().parseFromString(html, "text/html");
    const chip = parsed.body.firstElementChild;
    if (response.status === 400) {  // our sentence saying why
      showError(parsed.body.textContent.trim() || "That file could not be attached.");
      return null;
    }
    if (!response.ok || !chip || !chip.classList.contains("attachment-chip")) {
      showError("That file could not be attached (the server answered " + response.status +
        "). Reload the page and try again.");
      return null;
    }
    return document.importNode(chip, true);
  }

  function uploadAll(files) {
    // One after another, so the chips keep the order the files were given in.
    return Array.from(files).reduce(function (previous, file) {
      return previous.then(function () { return upload(file); });
    }, Promise.resolve()).then(uploadsFinished);
  }

  document.addEventListener("change", function (event) {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.id !== "attachment-input") return;
    const files = Array.from(input.files || []);
    input.value = "";
    uploadAll(files);
  });

  document.addEventListener("paste", function (event) {
    const target = event.target;
    if (!(target instanceof Element) || !target.closest("#composer")) return;
    const files = Array.from((event.clipboardData && event.clipboardData.files) || []);
    if (!files.length) return;  // plain text pastes as usual
    event.preventDefault();
    uploadAll(files);
  });

  function dropZone(event) {
    const target = event.target;
    return target instanceof Element ? target.closest("#chat") : null;
  }

  function carriesFiles(event) {
    return Boolean(event.dataTransfer && Array.from(event.dataTransfer.types || []).includes("Files"));
  }

  document.addEventListener("dragover", function (event) {
    if (!dropZone(event) || !carriesFiles(event)) return;
    event.preventDefault();
    const form = composer();
    if (form) form.classList.add("dropping");
  });

  document.addEventListener("dragleave", function (event) {
    const form = composer();
    if (form && event.target === form) form.classList.remove("dropping");
  });

  document.addEventListener("drop", function (event) {
    if (!dropZone(event) || !carriesFiles(event)) return;
    event.preventDefault();
    const form = composer();
    if (form) form.classList.remove("dropping");
    uploadAll(event.dataTransfer.files);
  });

  // A message waits for its files: sent while one is still uploading, it would go without it,
  // so it is held and sent once the last upload has finished.
  let sendWhenUploaded = false;
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.id !== "composer") return;
    if (form.querySelector(".attachment-uploading")) {
      event.preventDefault();
      event.stopImmediatePropagation();
      sendWhenUploaded = true;
      showError("Sending once the files have finished uploading…");
    }
  }, true);

  function uploadsFinished() {
    const form = composer();
    if (!sendWhenUploaded || !form || form.querySelector(".attachment-uploading")) return;
    sendWhenUploaded = false;
    const box = document.getElementById("composer-errors");
    // Sent only if no upload was refused (its sentence is in the box): the user decides then.
    if (box && box.textContent.startsWith("Sending once")) {
      clearError();
      form.requestSubmit();
    }
  }

  // Before sending: say so when the attached text is more than the model can read at once.
  const DEFAULT_CONTEXT = 4096;

  function contextLength() {
    const numCtx = document.getElementById("id_num_ctx");
    if (numCtx && Number(numCtx.value) > 0) {
      return { tokens: Number(numCtx.value), source: "the Context length setting" };
    }
    const picker = document.getElementById("model-picker");
    const option = picker && picker.selectedOptions[0];
    if (option && Number(option.dataset.context) > 0) {
      return { tokens: Number(option.dataset.context), source: "the model's context length" };
    }
    return { tokens: DEFAULT_CONTEXT, source: "Ollama's default context" };
  }

  // Said before sending; the server refuses images for a model that cannot see them anyway.
  function visionProblem() {
    const picker = document.getElementById("model-picker");
    const option = picker && picker.selectedOptions[0];
    if (!option || option.dataset.vision !== "0" || !imageCount()) return "";
    const seeing = Array.from(picker.options).filter(function (o) {
      return o.dataset.vision === "1";
    }).map(function (o) { return o.value; });
    return "The chosen model cannot see images." + (seeing.length
      ? " Pick a model that can see images: " + seeing.join(", ") + "."
      : " No installed model can see images.");
  }

  function contextProblem() {
    let tokens = 0;
    document.querySelectorAll("#attachment-tray .attachment-chip").forEach(function (chip) {
      tokens += Number(chip.dataset.tokens || 0);
    });
    const context = contextLength();
    if (tokens <= context.tokens) return "";
    return "The attached text is about " + tokens.toLocaleString("en-US") +
      " tokens, more than the " + context.tokens.toLocaleString("en-US") + " tokens of " +
      context.source + ": the model will not see all of it. Raise Context length in " +
      "Settings, or attach less.";
  }

  function updateWarning() {
    const warning = document.getElementById("attachment-warning");
    if (!warning) return;
    const text = [visionProblem(), contextProblem()].filter(Boolean).join(" ");
    warning.textContent = text;
    warning.hidden = !text;
  }

  document.addEventListener("input", function (event) {
    if (event.target && event.target.id === "id_num_ctx") updateWarning();
  });
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "model-picker") updateWarning();
  });
  document.addEventListener("htmx:afterSwap", updateWarning);
  document.addEventListener("htmx:wsAfterMessage", updateWarning);
  document.addEventListener("DOMContentLoaded", updateWarning);
})();
