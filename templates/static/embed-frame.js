/* global window, document */
// Runs inside the subscription form when it is shown in the Powiadom widget's dialog (/subscribe?embed=1):
// Escape pressed inside the frame closes the dialog of the page that embeds it.
(function () {
  'use strict';
  if (window.parent === window) return;
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape') window.parent.postMessage({ powiadom: 'close' }, '*');
  });
})();
