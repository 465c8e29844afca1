/* global window, document, HTMLDialogElement */
/*
 * Powiadom widget. On the news site:
 *   <script src="https://powiadom.example/embed.js" data-topic="dla-mediow" async></script>
 *   <a data-powiadom href="https://powiadom.example/subscribe?topic=dla-mediow">Powiadom</a>
 * Every [data-powiadom] element becomes a button that opens the subscription form (/subscribe?embed=1,
 * an iframe) in a modal dialog: focus stays in the dialog, Escape and the close button close it and
 * focus returns to the button. Without JavaScript (or <dialog>) the link simply leads to /subscribe.
 * Optional attributes: data-topic (on the script or on each element), data-lang="pl|en" (default: the
 * page's <html lang>).
 */
(function () {
  'use strict';
  var script = document.currentScript || document.querySelector('script[src$="/embed.js"]');
  if (!script || typeof HTMLDialogElement === 'undefined') return;
  var base = script.src.replace(/\/embed\.js(\?.*)?$/, '');
  var origin = new URL(base).origin;
  var TEXTS = {
    pl: { title: 'Powiadomienia e-mail', close: 'Zamknij', frame: 'Formularz zapisu na powiadomienia' },
    en: { title: 'E-mail notifications', close: 'Close', frame: 'Subscription form' },
  };
  var dialog = null;
  var frame = null;
  var opener = null;

  function pageLang() {
    var lang = script.getAttribute('data-lang') || document.documentElement.lang || 'pl';
    return lang.toLowerCase().indexOf('en') === 0 ? 'en' : 'pl';
  }

  function formUrl(element, embed) {
    var url = new URL(base + '/subscribe');
    var topic = element.getAttribute('data-topic') || script.getAttribute('data-topic');
    if (topic) url.searchParams.set('topic', topic);
    if (pageLang() === 'en') url.searchParams.set('lang', 'en');
    if (embed) url.searchParams.set('embed', '1');
    return url.href;
  }

  function addStylesheet() {
    if (document.querySelector('link[data-powiadom-css]')) return;
    var link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = base + '/embed.css';
    link.setAttribute('data-powiadom-css', '');
    document.head.appendChild(link);
  }

  function buildDialog() {
    var texts = TEXTS[pageLang()];
    dialog = document.createElement('dialog');
    dialog.className = 'powiadom-dialog';
    dialog.setAttribute('aria-labelledby', 'powiadom-dialog-title');
    var bar = document.createElement('div');
    bar.className = 'powiadom-dialog-bar';
    var title = document.createElement('h2');
    title.id = 'powiadom-dialog-title';
    title.textContent = texts.title;
    var close = document.createElement('button');
    close.type = 'button';
    close.className = 'powiadom-dialog-close';
    close.textContent = texts.close;
    close.addEventListener('click', closeDialog);
    bar.appendChild(title);
    bar.appendChild(close);
    dialog.appendChild(bar);
    // Escape while focus is on this page: the dialog's own cancel event.
    dialog.addEventListener('cancel', function (event) {
      event.preventDefault();
      closeDialog();
    });
    // Closed some other way (a browser may close a modal on a repeated Escape without a cancel event).
    dialog.addEventListener('close', function () {
      if (!dialog.open) cleanUpAfterClosing();
    });
    document.body.appendChild(dialog);
  }

  // A new frame on every opening: the form starts afresh, and Chromium never has to show again a
  // cross-origin frame that was laid out while the closed dialog hid it (it could stay 0×0).
  function addFrame(element) {
    frame = document.createElement('iframe');
    frame.className = 'powiadom-dialog-frame';
    frame.title = TEXTS[pageLang()].frame;
    frame.src = formUrl(element, true);
    dialog.appendChild(frame);
  }

  function removeFrame() {
    if (frame && frame.parentNode) frame.parentNode.removeChild(frame);
    frame = null;
  }

  function openDialog(element) {
    if (!dialog) buildDialog();
    opener = element;
    removeFrame();
    addFrame(element);
    document.documentElement.classList.add('powiadom-open');
    dialog.showModal();
    dialog.querySelector('.powiadom-dialog-close').focus();
  }

  // Cleans up at once rather than on the 'close' event, which comes a task later: a quick reopening
  // would otherwise lose its new frame to the old closing.
  function closeDialog() {
    if (dialog && dialog.open) dialog.close();
    cleanUpAfterClosing();
  }

  function cleanUpAfterClosing() {
    removeFrame();
    document.documentElement.classList.remove('powiadom-open');
    if (opener) opener.focus();
    opener = null;
  }

  function enhance(element) {
    if (element.hasAttribute('data-powiadom-ready')) return;
    element.setAttribute('data-powiadom-ready', '');
    var isLink = element.tagName === 'A';
    if (isLink && (!element.getAttribute('href') || element.getAttribute('href') === '#')) element.href = formUrl(element, false);
    if (element.tagName !== 'BUTTON') {
      element.setAttribute('role', 'button');
      if (!isLink) element.tabIndex = 0;
    }
    element.setAttribute('aria-haspopup', 'dialog');
    element.addEventListener('click', function (event) {
      if (event.ctrlKey || event.metaKey || event.shiftKey) return; // a new tab gets the plain form
      event.preventDefault();
      openDialog(element);
    });
    element.addEventListener('keydown', function (event) {
      // Links react to Enter by themselves; a button role also promises Space.
      if (event.key === ' ' || (!isLink && event.key === 'Enter')) {
        event.preventDefault();
        openDialog(element);
      }
    });
  }

  // Escape pressed inside the form (another document) arrives as a message from the frame.
  window.addEventListener('message', function (event) {
    if (event.origin === origin && event.data && event.data.powiadom === 'close') closeDialog();
  });

  function start() {
    addStylesheet();
    Array.prototype.forEach.call(document.querySelectorAll('[data-powiadom]'), enhance);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
