// Says each <time data-style> of the page in the reader's time zone and language. The server
// wrote the moment in UTC words ("5 December 2026 at 14:03 UTC"); without scripts those stay.
'use strict';
(function () {
  const styles = {
    day: { year: 'numeric', month: 'long', day: 'numeric' },
    minute: {
      year: 'numeric', month: 'long', day: 'numeric',
      hour: 'numeric', minute: '2-digit', timeZoneName: 'short',
    },
  };
  function localize() {
    for (const el of document.querySelectorAll('time[datetime][data-style]')) {
      const when = new Date(el.getAttribute('datetime'));
      const style = styles[el.dataset.style];
      if (!style || Number.isNaN(when.getTime())) continue;
      if (!el.title) el.title = el.textContent;
      el.textContent = new Intl.DateTimeFormat(undefined, style).format(when);
    }
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', localize);
  } else {
    localize();
  }
})();
