// Copy buttons of the console's credentials page: each `button[data-copy]` copies the text of the
// element whose id it names, says "Copied" on itself and in the page's `#copy-status` live region.
// The buttons stay hidden without scripts; the values stay selectable text either way.
'use strict';
(function () {
  function select(el) {
    const range = document.createRange();
    range.selectNodeContents(el);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  async function copy(el) {
    const text = el.textContent.trim();
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (_) {
        // Refused (no permission): select the text and try the older way.
      }
    }
    select(el);
    try {
      return document.execCommand('copy');
    } catch (_) {
      return false;
    }
  }
  function setup() {
    const status = document.getElementById('copy-status');
    for (const button of document.querySelectorAll('button[data-copy]')) {
      const target = document.getElementById(button.dataset.copy);
      if (!target) continue;
      const label = button.textContent;
      const name = button.dataset.name || 'Value';
      let timer;
      button.hidden = false;
      button.addEventListener('click', async () => {
        const copied = await copy(target);
        button.textContent = copied ? 'Copied' : 'Selected';
        if (status) {
          status.textContent = copied
            ? `${name} copied to the clipboard.`
            : `${name} selected: press Ctrl+C (or ⌘C) to copy it.`;
        }
        clearTimeout(timer);
        timer = setTimeout(() => { button.textContent = label; }, 5000);
      });
    }
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', setup);
  } else {
    setup();
  }
})();
